/**
 * One replay: stream a WAF log through the simulator, then judge the limited keys as the blocker
 * would. No AWS; the only I/O is reading the log file.
 */
import type { NormalizePolicy } from '../../lambdas/core/normalize';
import { RateSimulator, type RuleTally, type SimulatedRule } from './simulator';
import { judgeLimitedKeys, type ReplayVerdict } from './verdict';
import { emptyReadStats, readWafLog, type ReadStats } from './waf-log';

export interface ReplayResult extends ReplayVerdict {
  readonly rules: readonly SimulatedRule[];
  readonly read: ReadStats;
  readonly tallies: readonly RuleTally[];
  /** Keys limited by any rule (a key limited by two rules counts twice). */
  readonly keysLimited: number;
  /** Epoch milliseconds of the earliest and latest record, or undefined for an empty log. */
  readonly firstRecord: number | undefined;
  readonly lastRecord: number | undefined;
}

export interface ReplayOptions {
  /** Called about every `progressEvery` records with the counts so far. */
  readonly onProgress?: (stats: Readonly<ReadStats>) => void;
  /** @default 100000 */
  readonly progressEvery?: number;
}

/**
 * Replays the log at `path` through `rules` and normalizes what they limit with `policy`.
 *
 * @throws LogReadError when the file cannot be opened or decoded.
 */
export async function replayLog(
  path: string,
  rules: readonly SimulatedRule[],
  policy: NormalizePolicy,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const simulator = new RateSimulator(rules);
  const read = emptyReadStats();
  const every = options.progressEvery ?? 100_000;
  let firstRecord: number | undefined;
  let lastRecord: number | undefined;
  for await (const request of readWafLog(path, read)) {
    simulator.observe(request);
    if (firstRecord === undefined || request.timestamp < firstRecord) firstRecord = request.timestamp;
    if (lastRecord === undefined || request.timestamp > lastRecord) lastRecord = request.timestamp;
    if (options.onProgress !== undefined && read.records % every === 0) options.onProgress(read);
  }
  const limited = simulator.limitedKeys();
  return {
    ...judgeLimitedKeys(limited, policy),
    rules,
    read,
    tallies: simulator.tallies(),
    keysLimited: limited.length,
    firstRecord,
    lastRecord,
  };
}
