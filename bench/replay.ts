/**
 * `waf-autoblock replay` at scale: a generated 1,000,000-record WAF log (about 850 MB of JSON lines,
 * streamed to a temp file) replayed through the default rate rule in a child process, so that
 * the child's peak RSS is the replay's alone. Throughput is records per second of the whole
 * replay (read, parse, simulate, judge); memory must stay flat however large the log.
 *
 * The same records once more as 35 CloudWatch log streams put together deliver them (each
 * minute, stream after stream, so up to a minute out of time order): the reorder window must
 * give the same ranges, count no record late, and cost little time and memory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNormalizePolicy } from '#core/normalize';
import { replayLog } from '../cli/replay/replay';
import { wafLogLines, writeLines } from '../examples/generate-waf-log';
import { report, time } from './measure';

const RECORDS = 1_000_000;
const MINUTES = 60;
const CHILD_FLAG = '--replay-child';
const RUNS = 3;
/** Log streams per web ACL that CloudWatch Logs interleaves. */
const STREAMS = 35;

interface ChildFigures {
  readonly records: number;
  readonly ranges: number;
  readonly late: number;
  readonly maxRssKb: number;
}

/** In the child: one replay, then its figures as JSON on stdout. */
async function child(path: string): Promise<void> {
  const rule = {
    name: 'rate-all',
    limit: 2000,
    windowSeconds: 300,
    aggregateKey: 'IP',
    forwardedIpHeader: 'X-Forwarded-For',
  } as const;
  const result = await replayLog(path, [rule], createNormalizePolicy());
  const figures: ChildFigures = {
    records: result.read.records,
    ranges: result.rangeCount,
    late: result.ordering.late,
    maxRssKb: process.resourceUsage().maxRSS,
  };
  console.log(JSON.stringify(figures));
}

/** The first {@link RECORDS} lines of the sample's attacks plus a little more normal traffic than they need. */
function* sampleLines(): Generator<string> {
  let written = 0;
  for (const line of wafLogLines({ minutes: MINUTES, normalPerSecond: RECORDS / (MINUTES * 60) })) {
    if (written++ >= RECORDS) return;
    yield line;
  }
}

/** `lines` as {@link STREAMS} log streams deliver them: per minute of log time, one stream after another. */
function* interleaved(lines: Iterable<string>): Generator<string> {
  let streams: string[][] = Array.from({ length: STREAMS }, () => []);
  let minuteEnd: number | undefined;
  let index = 0;
  for (const line of lines) {
    const at = Number(/"timestamp":(\d+)/.exec(line)?.[1]);
    minuteEnd ??= at + 60_000;
    if (at >= minuteEnd) {
      for (const stream of streams) yield* stream;
      streams = Array.from({ length: STREAMS }, () => []);
      minuteEnd = at + 60_000;
    }
    streams[index++ % STREAMS]?.push(line);
  }
  for (const stream of streams) yield* stream;
}

async function writeLog(path: string, lines: Iterable<string>, label: string): Promise<void> {
  const started = performance.now();
  const written = await writeLines(path, lines);
  report(`replay: generate ${label} (records)`, `${written}`);
  report(
    `replay: generate ${label} (MB, seconds)`,
    `${(statSync(path).size / 1e6).toFixed(0)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** Replays `path` {@link RUNS} times in a child process and reports the median and the peak RSS. */
async function measure(path: string, label: string): Promise<ChildFigures> {
  const self = fileURLToPath(import.meta.url);
  let figures: ChildFigures | undefined;
  let peakKb = 0;
  const timing = await time(
    async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', self, CHILD_FLAG, path]);
      figures = JSON.parse(stdout) as ChildFigures;
      peakKb = Math.max(peakKb, figures.maxRssKb);
    },
    RUNS,
    0,
  );
  if (figures === undefined) throw new Error('the replay child reported nothing');
  report(`replay: 1M records${label} (median of 3, child process)`, `${(timing.medianMs / 1000).toFixed(2)} s`);
  report(
    `replay: throughput${label}`,
    `${Math.round(figures.records / (timing.medianMs / 1000))} rec/s`,
    '> 100,000 rec/s',
  );
  report(
    `replay: peak RSS of the replaying process${label}`,
    `${(peakKb / 1024).toFixed(0)} MB`,
    '< 200 MB, flat in log size',
  );
  report(`replay: ranges found${label}`, `${figures.ranges}`);
  return figures;
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  try {
    const path = join(dir, 'waf.jsonl');
    await writeLog(path, sampleLines(), 'log');
    const inOrder = await measure(path, '');
    rmSync(path);

    const mixed = join(dir, 'waf-35-streams.jsonl');
    await writeLog(mixed, interleaved(sampleLines()), `log of ${STREAMS} streams`);
    const fromStreams = await measure(mixed, `, ${STREAMS} streams`);
    report(
      `replay: ${STREAMS} streams: same ranges, late records`,
      `${fromStreams.ranges === inOrder.ranges ? 'yes' : 'NO'}, ${fromStreams.late}`,
      'yes, 0',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[3] !== undefined) await child(process.argv[3]);
