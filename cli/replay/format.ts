/** Renders a {@link ReplayResult} for people (aligned tables) or programs (JSON). */
import { count, table } from '../format';
import type { ReplayResult } from './replay';
import type { SimulatedRule } from './simulator';

function iso(epochMs: number | undefined): string {
  return epochMs === undefined ? '-' : new Date(epochMs).toISOString();
}

export function describeRule(rule: SimulatedRule): string {
  const scope = [
    rule.uriPathPrefix === undefined ? '' : ` path ${rule.uriPathPrefix}*`,
    rule.host === undefined ? '' : ` host ${rule.host}`,
  ].join('');
  const key = rule.aggregateKey === 'IP' ? 'client IP' : `first address of ${rule.forwardedIpHeader}`;
  return `${rule.name}: more than ${count.format(rule.limit)} requests in ${rule.windowSeconds} s per ${key}${scope}`;
}

/**
 * What the reader and the simulator could not do exactly, one line each, for stderr: entries
 * skipped, records counted at another time than their own, and FORWARDED_IP keys that the
 * clients chose. `logFile` is the file as the operator named it.
 */
export function warningLines(result: ReplayResult, logFile: string): string[] {
  const warnings: string[] = [];
  const { read, ordering } = result;
  if (read.malformed > 0) {
    const what = read.layout === 'document' ? 'entries without a WAF record' : 'malformed line(s)';
    warnings.push(
      `skipped ${count.format(read.malformed)} ${what} of ${logFile} (first at line ${read.malformedLines.join(', ')})`,
    );
  }
  if (ordering.late > 0) {
    const window = ordering.reorderWindowSeconds;
    // Seconds enough for the latest one, rounded up to a minute.
    const enough = Math.min(86_400, Math.ceil(ordering.maxLatenessMs / 60_000) * 60);
    warnings.push(
      `${count.format(ordering.late)} record(s) came more than ${window} s after a later one (up to ` +
        `${Math.ceil(ordering.maxLatenessMs / 1000)} s) and were counted ${window} s before the latest record ` +
        `instead of at their own time, which can over-count: replay with --reorder-window ${enough} to count them exactly`,
    );
  }
  result.tallies.forEach((tally, index) => {
    const rule = result.rules[index];
    if (tally.multiValued === 0 || rule === undefined) return;
    warnings.push(
      `rule ${tally.rule}: ${count.format(tally.multiValued)} of ${count.format(tally.counted + tally.unkeyed)} ` +
        `requests carried several addresses in ${rule.forwardedIpHeader}, and WAF keys them by the first, which ` +
        `the client wrote: the configuration says your proxy overwrites this header, so either it appends to it ` +
        `or requests reach WAF without passing it`,
    );
  });
  return warnings;
}

/** The one-line summary that ends the human report (and goes to stderr with `--format json`). */
export function summaryLine(result: ReplayResult): string {
  const reasons = Object.entries(result.refusedByReason).map(([reason, n]) => `${n} ${reason}`);
  return [
    `${count.format(result.read.records)} records read`,
    `${count.format(result.read.malformed)} malformed`,
    `${count.format(result.keysLimited)} keys limited`,
    `${count.format(result.rangeCount)} ranges would be blocked`,
    `refused: ${reasons.length === 0 ? 'none' : reasons.join(', ')}`,
  ].join(', ');
}

export function formatTable(result: ReplayResult): string {
  const out: string[] = [];
  out.push(`Replayed ${iso(result.firstRecord)} to ${iso(result.lastRecord)} through:`);
  for (const rule of result.rules) out.push(`  ${describeRule(rule)}`);
  out.push('');
  if (result.blocked.length === 0) {
    out.push('No range would have been blocked.');
  } else {
    out.push('Would have blocked:');
    out.push(
      table(
        ['RANGE', 'FROM (UTC)', 'RULE', 'KEYS', 'REQUESTS', 'OVER LIMIT'],
        result.blocked.map((b) => [
          b.range,
          iso(b.firstLimited),
          b.rule,
          count.format(b.keys),
          count.format(b.requests),
          count.format(b.overLimit),
        ]),
        [false, false, false, true, true, true],
      ),
    );
  }
  if (result.refused.length > 0) {
    out.push('');
    out.push('Limited, but the blocker would refuse to block:');
    out.push(
      table(
        ['ADDRESS', 'FROM (UTC)', 'RULE', 'REQUESTS', 'REASON'],
        result.refused.map((r) => [r.key, iso(r.firstLimited), r.rule, count.format(r.requests), r.reason]),
        [false, false, false, true, false],
      ),
    );
  }
  out.push('');
  out.push(`Summary: ${summaryLine(result)}`);
  return `${out.join('\n')}\n`;
}

export function formatJson(result: ReplayResult): string {
  const json = {
    summary: {
      records: result.read.records,
      malformed: result.read.malformed,
      malformedLines: result.read.malformedLines,
      keysLimited: result.keysLimited,
      ranges: result.rangeCount,
      refusedByReason: result.refusedByReason,
      firstRecord: result.firstRecord === undefined ? null : iso(result.firstRecord),
      lastRecord: result.lastRecord === undefined ? null : iso(result.lastRecord),
    },
    input: {
      layout: result.read.layout ?? null,
      gzipped: result.read.gzipped,
      fromLogsEvents: result.read.wrapped.message,
      fromLogsInsights: result.read.wrapped['@message'],
    },
    ordering: {
      ...result.ordering,
      reorderWindowSeconds: Number.isFinite(result.ordering.reorderWindowSeconds)
        ? result.ordering.reorderWindowSeconds
        : 'whole file',
    },
    rules: result.rules,
    tallies: result.tallies,
    blocked: result.blocked.map((b) => ({ ...b, firstLimited: iso(b.firstLimited) })),
    refused: result.refused.map((r) => ({ ...r, firstLimited: iso(r.firstLimited) })),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}
