/**
 * `waf-autoblock replay` at scale: a generated 1,000,000-record WAF log (about 700 MB of JSON lines,
 * streamed to a temp file) replayed through the default rate rule in a child process, so that
 * the child's peak RSS is the replay's alone. Throughput is records per second of the whole
 * replay (read, parse, simulate, judge); memory must stay flat however large the log.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNormalizePolicy } from '../lambdas/core/normalize';
import { replayLog } from '../cli/replay/replay';
import { wafLogLines, writeLines } from '../examples/generate-waf-log';
import { report, time } from './measure';

const RECORDS = 1_000_000;
const MINUTES = 60;
const CHILD_FLAG = '--replay-child';
const RUNS = 3;

interface ChildFigures {
  readonly records: number;
  readonly ranges: number;
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
    maxRssKb: process.resourceUsage().maxRSS,
  };
  console.log(JSON.stringify(figures));
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  try {
    const path = join(dir, 'waf.jsonl');
    // The sample's attacks plus a little more normal traffic than a million records need; cut at exactly RECORDS.
    const normalPerSecond = RECORDS / (MINUTES * 60);
    const started = performance.now();
    let written = 0;
    const lines = wafLogLines({ minutes: MINUTES, normalPerSecond });
    written = await writeLines(
      path,
      (function* () {
        for (const line of lines) {
          if (written >= RECORDS) return;
          written++;
          yield line;
        }
      })(),
    );
    report('replay: generate log (records)', `${written}`);
    report(
      'replay: generate log (MB, seconds)',
      `${(statSync(path).size / 1e6).toFixed(0)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

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
    report('replay: 1M records (median of 3, child process)', `${(timing.medianMs / 1000).toFixed(2)} s`);
    report('replay: throughput', `${Math.round(figures.records / (timing.medianMs / 1000))} rec/s`, '> 100,000 rec/s');
    report(
      'replay: peak RSS of the replaying process',
      `${(peakKb / 1024).toFixed(0)} MB`,
      '< 200 MB, flat in log size',
    );
    report('replay: ranges found', `${figures.ranges}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[3] !== undefined) await child(process.argv[3]);
