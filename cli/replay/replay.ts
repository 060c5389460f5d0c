/**
 * One replay: stream a WAF log through the simulator, then judge the limited keys as the blocker
 * would. No AWS; the only I/O is reading the log file.
 */
import type { NormalizePolicy } from '#core/normalize';
import {
  DEFAULT_REORDER_WINDOW_SECONDS,
  RateSimulator,
  type RecordOrdering,
  type RuleTally,
  type SimulatedRule,
  type UnaddressedClients,
} from './simulator';
import { DuplicateFilter } from './duplicates';
import { judgeLimitedKeys, type ReplayVerdict } from './verdict';
import { emptyReadStats, readWafLogBatches, type LogLayout, type LoggedRequest, type ReadStats } from './waf-log';

export interface ReplayResult extends ReplayVerdict {
  readonly rules: readonly SimulatedRule[];
  readonly read: ReadStats;
  readonly tallies: readonly RuleTally[];
  /** How far out of time order the records came, and how many were too late to count at their own time. */
  readonly ordering: RecordOrdering;
  /** Requests that rules keyed by client IP could not count: their `clientIp` is not an address. */
  readonly unaddressed: UnaddressedClients;
  /** Records dropped as copies of one read before (the same `httpRequest.requestId`); see duplicates.ts. */
  readonly duplicates: number;
  /**
   * Records that the labelling group ({@link ReplayOptions.labellingGroup}) ended itself (blocked,
   * challenged or sent a CAPTCHA): left out of every rate rule's count, since in the web ACL the
   * group runs first and such a request never reaches the rate rules.
   */
  readonly endedByGroup: number;
  /** {@link ReplayOptions.labellingGroup}, as given. */
  readonly labellingGroup: string | undefined;
  /** Records counted by their `action`: how many said what WAF did, and how many of those said BLOCK. */
  readonly actions: { readonly logged: number; readonly block: number };
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
  /**
   * Seconds a record may come after a later one and still be counted at its own time.
   * @default the whole file for a JSON document (an export, read in full time order at 8 bytes
   * per counted request); {@link DEFAULT_REORDER_WINDOW_SECONDS} for JSON lines, which stream
   */
  readonly reorderWindowSeconds?: number;
  /**
   * The web ACL rule name of the managed group evaluated before the rate rules
   * (`AWSManagedRulesAntiDDoSRuleSet`), when the configuration lists it: a record it terminated
   * is not counted by any rate rule.
   * @default none: every record is counted
   */
  readonly labellingGroup?: string;
}

/** The actions with which a rule ends a request (as WAF logs them); COUNT and ALLOW do not end it before the rate rules. */
const ENDING_ACTIONS: ReadonlySet<string> = new Set(['BLOCK', 'CHALLENGE', 'CAPTCHA']);

/** Whether `group` (a web ACL rule name) ended the request, so that no later rule saw it. */
export function endedByGroup(request: LoggedRequest, group: string | undefined): boolean {
  return (
    group !== undefined &&
    request.terminatingRuleId === group &&
    request.action !== undefined &&
    ENDING_ACTIONS.has(request.action)
  );
}

/** The reorder window a replay uses for a file of this layout, unless told otherwise. */
export function defaultReorderWindow(layout: LogLayout | undefined): number {
  // Logs Insights sorts newest first by default, and an export is bounded by the query's limit.
  return layout === 'document' ? Number.POSITIVE_INFINITY : DEFAULT_REORDER_WINDOW_SECONDS;
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
  const read = emptyReadStats();
  const every = options.progressEvery ?? 100_000;
  // Created once the first bytes have told the layout, which sets the default reorder window.
  let simulator: RateSimulator | undefined;
  let duplicates: DuplicateFilter | undefined;
  const simulatorFor = (layout: LogLayout | undefined) => {
    const reorderWindowSeconds = options.reorderWindowSeconds ?? defaultReorderWindow(layout);
    // A copy of a record is looked for as far back as a record can still be counted at its own time.
    duplicates ??= new DuplicateFilter(reorderWindowSeconds);
    return (simulator ??= new RateSimulator(rules, { reorderWindowSeconds }));
  };
  const actions = { logged: 0, block: 0 };
  let endedByLabellingGroup = 0;
  let firstRecord: number | undefined;
  let lastRecord: number | undefined;
  let reported = 0;
  for await (const batch of readWafLogBatches(path, read)) {
    const counting = simulatorFor(read.layout);
    for (const request of batch) {
      if (duplicates?.isDuplicate(request.requestId, request.timestamp) === true) continue;
      if (request.action !== undefined) {
        actions.logged++;
        if (request.action === 'BLOCK') actions.block++;
      }
      if (endedByGroup(request, options.labellingGroup)) endedByLabellingGroup++;
      else counting.observe(request);
      if (firstRecord === undefined || request.timestamp < firstRecord) firstRecord = request.timestamp;
      if (lastRecord === undefined || request.timestamp > lastRecord) lastRecord = request.timestamp;
    }
    if (options.onProgress !== undefined && read.records - reported >= every) {
      reported = read.records;
      options.onProgress(read);
    }
  }
  const counted = simulatorFor(read.layout);
  const limited = counted.limitedKeys();
  return {
    ...judgeLimitedKeys(limited, policy),
    rules,
    read,
    tallies: counted.tallies(),
    ordering: counted.ordering(),
    unaddressed: counted.unaddressedClients(),
    duplicates: duplicates?.dropped ?? 0,
    endedByGroup: endedByLabellingGroup,
    labellingGroup: options.labellingGroup,
    actions,
    keysLimited: limited.length,
    firstRecord,
    lastRecord,
  };
}
