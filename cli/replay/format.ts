/** Renders a {@link ReplayResult} for people (aligned tables) or programs (JSON). */
import { pathSearchString } from '#config/scope-down';
import { count, plural, table } from '../format';
import { MAX_ENTRY_CHARS } from './json-entries';
import { describeTextTimestamp, describeTimestamp } from './log-shape';
import type { ReplayResult } from './replay';
import { MAX_REORDER_WINDOW_SECONDS, type RecordOrdering, type RuleTally, type SimulatedRule } from './simulator';
import { EARLIEST_RECORD_MS, MALFORMED_REASONS, RECORDS_BEFORE_MS, type ReadStats } from './waf-log';

function iso(epochMs: number | undefined): string {
  return epochMs === undefined ? '-' : new Date(epochMs).toISOString();
}

/**
 * A rule in the words of the WAF console: `login: more than 100 requests in 300 s per client IP,
 * only requests whose URI path starts with "/login" and whose Host header is "shop.example.com"`.
 */
export function describeRule(rule: SimulatedRule): string {
  const scope = [
    // As the web ACL matches them: the prefix lower-cased, the host in any case (./scope-down-match).
    rule.uriPathPrefix === undefined
      ? undefined
      : `whose URI path starts with ${JSON.stringify(pathSearchString(rule.uriPathPrefix))}`,
    rule.host === undefined ? undefined : `whose Host header is ${JSON.stringify(rule.host.toLowerCase())}`,
    rule.labels === undefined
      ? undefined
      : `labelled ${rule.labels.map((label) => JSON.stringify(label)).join(' or ')}`,
  ].filter((part) => part !== undefined);
  const key = rule.aggregateKey === 'IP' ? 'client IP' : `first address of the ${rule.forwardedIpHeader} header`;
  const only = scope.length === 0 ? '' : `, only requests ${scope.join(' and ')}`;
  return `${rule.name}: more than ${count.format(rule.limit)} requests in ${rule.windowSeconds} s per ${key}${only}`;
}

/**
 * What the reader and the simulator could not do exactly, one line each, for stderr: entries
 * skipped, records counted at another time than their own, requests without an address to key
 * them by, and FORWARDED_IP keys that the clients chose. `logFile` is the file as the operator named it.
 */
export function warningLines(result: ReplayResult, logFile: string): string[] {
  const warnings: string[] = [];
  const skipped = skippedWarning(result.read, logFile);
  if (skipped !== undefined) warnings.push(skipped);
  if (result.duplicates > 0) {
    warnings.push(
      `dropped ${plural(result.duplicates, 'duplicate record')} (an httpRequest.requestId read before, as when ` +
        `exports overlap): each request is counted once`,
    );
  }
  if (result.endedByGroup > 0) {
    const group = result.labellingGroup ?? 'the labelling group';
    warnings.push(
      `left ${plural(result.endedByGroup, 'record')} out of every rate rule's count: ${group} ended ` +
        `${result.endedByGroup === 1 ? 'it' : 'them'} itself (terminatingRuleId ${group}, action BLOCK, CHALLENGE ` +
        `or CAPTCHA), and in the web ACL it runs before the rate rules, which never see such a request`,
    );
  }
  const blockOnly = blockOnlyWarning(result);
  if (blockOnly !== undefined) warnings.push(blockOnly);
  const late = lateWarning(result.ordering);
  if (late !== undefined) warnings.push(late);
  const { requests, first } = result.unaddressed;
  if (requests > 0) {
    warnings.push(
      `${plural(requests, 'request')} had a clientIp that is not an IP address (the first: ` +
        `${JSON.stringify((first ?? '').slice(0, 40))}), and the rules keyed by client IP did not count ` +
        (requests === 1 ? 'it' : 'them'),
    );
  }
  result.tallies.forEach((tally, index) => {
    const rule = result.rules[index];
    if (rule === undefined) return;
    warnings.push(...forwardedHeaderWarnings(tally, rule));
    if ((tally.unlabelled ?? 0) > 0) warnings.push(unlabelledWarning(tally));
    if ((tally.malformedLabels ?? 0) > 0) warnings.push(malformedLabelsWarning(tally));
    if (tally.multiValued === 0) return;
    warnings.push(
      `rule ${tally.rule}: ${count.format(tally.multiValued)} of ${count.format(tally.counted + tally.unkeyed)} ` +
        `requests carried several addresses in ${rule.forwardedIpHeader}, and WAF keys them by the first, which ` +
        `the client wrote: the configuration says your proxy overwrites this header, so either it appends to it ` +
        `or requests reach WAF without passing it`,
    );
  });
  return warnings;
}

/**
 * A FORWARDED_IP rule's requests that no key counted, and what WAF does with them: without the
 * header it does not apply the rule at all; with a header whose first entry is no address it
 * applies the rule's FallbackBehavior (MATCH: the rule's action, BLOCK; NO_MATCH: the request passes).
 */
function forwardedHeaderWarnings(tally: RuleTally, rule: SimulatedRule): string[] {
  const warnings: string[] = [];
  const header = rule.forwardedIpHeader;
  if (tally.withoutHeader > 0) {
    warnings.push(
      `rule ${tally.rule}: ${plural(tally.withoutHeader, 'request')} in scope had no ${header} header; WAF does ` +
        `not apply a FORWARDED_IP rule to such a request at all (not counted, not blocked), and neither did replay`,
    );
  }
  if (tally.noHeaderAddress > 0) {
    const fallback = rule.forwardedIpFallback ?? 'MATCH';
    const what =
      fallback === 'MATCH'
        ? 'blocks each such request by this rule at once, without counting it for any address'
        : 'lets each such request pass this rule, uncounted';
    warnings.push(
      `rule ${tally.rule}: ${plural(tally.noHeaderAddress, 'request')} in scope had the ${header} header with a ` +
        `first entry that is not an IP address; with the FallbackBehavior ${fallback} that the stack sets, WAF ${what}, ` +
        `so replay lists no range for them`,
    );
  }
  return warnings;
}

/**
 * A label-scoped rule's records without any label: WAF logs only the labels of the rules evaluated
 * before the one that ended the request, so replay cannot tell whether the labelling group would
 * have flagged them (docs/replay.md, "Label-scoped rules").
 */
function unlabelledWarning(tally: RuleTally): string {
  return (
    `rule ${tally.rule}: ${plural(tally.unlabelled ?? 0, 'record')} in scope carried no labels at all, so replay did ` +
    `not count them: a rule before the labelling group ended them (the blocklist), or the log has no labels; ` +
    `whether the group would have labelled them cannot be told from the log`
  );
}

/** A label-scoped rule's records whose `labels` could not be read: a damaged or rewritten log, not the blocklist. */
function malformedLabelsWarning(tally: RuleTally): string {
  return (
    `rule ${tally.rule}: ${plural(tally.malformedLabels ?? 0, 'record')} in scope had a labels field that is not a ` +
    `list of {"name": "..."} objects (an object, a string, an entry without a text name), so replay could not read ` +
    `their labels and did not count them: the log was rewritten or damaged after WAF wrote it`
  );
}

/**
 * Every record says BLOCK: the log was filtered to blocked requests (the stack's default
 * `logging.actions`), so the rate rules see only what was blocked already and count too little.
 */
function blockOnlyWarning(result: ReplayResult): string | undefined {
  const { logged, block } = result.actions;
  if (logged === 0 || block < logged) return undefined;
  return (
    `every record has action BLOCK: the log holds only requests WAF blocked (a logging filter that keeps BLOCK ` +
    `only, the default logging.actions), so the rate rules saw too few requests and their counts are too low; for ` +
    `a faithful replay log every request: set logging.actions to ["ALLOW","BLOCK","COUNT","CAPTCHA","CHALLENGE"] ` +
    `(a logging filter that keeps every action) while you tune`
  );
}

/** `skipped 3 malformed lines of <file>: 2 without a WAF record (lines 2 and 4), 1 over 16 MiB (line 7)`. */
function skippedWarning(read: ReadStats, logFile: string): string | undefined {
  if (read.malformed === 0) return undefined;
  const reasons = MALFORMED_REASONS.filter((reason) => read.malformedBy[reason].count > 0);
  const parts = reasons.map((reason) => {
    const { count: skipped, lines } = read.malformedBy[reason];
    const where = lineList(lines, skipped);
    const why =
      reason === 'no-record'
        ? `without a WAF record (${where})`
        : reason === 'oversized'
          ? `over ${MAX_ENTRY_CHARS / (1024 * 1024)} MiB (${where})`
          : reason === 'text-timestamp'
            ? `with a timestamp that is text, not epoch milliseconds (${where}; such as ` +
              `${describeTextTimestamp(read.firstTextTimestamp ?? '')})`
            : `with a timestamp that is not epoch milliseconds from ${yearOf(EARLIEST_RECORD_MS)} to ` +
              `${yearOf(RECORDS_BEFORE_MS) - 1} (${where}; such as ${describeTimestamp(read.firstImpossibleTimestamp ?? Number.NaN)})`;
    return reasons.length === 1 ? why : `${count.format(skipped)} ${why}`;
  });
  const what =
    read.layout === 'document' ? ['malformed entry', 'malformed entries'] : ['malformed line', 'malformed lines'];
  return `skipped ${plural(read.malformed, what[0] ?? '', what[1])} of ${logFile}: ${parts.join(', ')}`;
}

/** `line 2`, `lines 2, 4 and 7`, or `first at lines ...` when more were skipped than the sample holds. */
function lineList(lines: readonly number[], skipped: number): string {
  const last = lines[lines.length - 1];
  const listed = lines.length <= 1 ? `${last ?? ''}` : `${lines.slice(0, -1).join(', ')} and ${last ?? ''}`;
  const where = `${lines.length === 1 ? 'line' : 'lines'} ${listed}`;
  return lines.length < skipped ? `first at ${where}` : where;
}

function yearOf(epochMs: number): number {
  return new Date(epochMs).getUTCFullYear();
}

/** Records counted at another time than their own, and which --reorder-window, if any, would count them exactly. */
function lateWarning(ordering: RecordOrdering): string | undefined {
  const { late, reorderWindowSeconds: window, maxLatenessMs } = ordering;
  if (late === 0) return undefined;
  const one = late === 1;
  const latestSeconds = Math.ceil(maxLatenessMs / 1000);
  // Seconds enough for the latest one, rounded up to a minute, if a window can be that wide.
  const enough = Math.min(MAX_REORDER_WINDOW_SECONDS, Math.ceil(maxLatenessMs / 60_000) * 60);
  const advice =
    latestSeconds <= MAX_REORDER_WINDOW_SECONDS
      ? `replay with --reorder-window ${enough} to count ${one ? 'it' : 'them'} exactly`
      : `no --reorder-window can count ${one ? 'it' : 'them'} exactly (${count.format(MAX_REORDER_WINDOW_SECONDS)} s ` +
        `at most): sort the log by time first`;
  return (
    `${plural(late, 'record')} came more than ${window} s after a later one (up to ${count.format(latestSeconds)} s) ` +
    `and ${one ? 'was' : 'were'} counted ${window} s before the latest record instead of at ` +
    `${one ? 'its' : 'their'} own time, so counts can be wrong in both directions and ranges that crossed a limit ` +
    `may be missing: ${advice}`
  );
}

/** The one-line summary that ends the human report (and goes to stderr with `--format json`). */
export function summaryLine(result: ReplayResult): string {
  const reasons = Object.entries(result.refusedByReason).map(([reason, n]) => `${n} ${reason}`);
  return [
    `${plural(result.read.records, 'record')} read`,
    `${count.format(result.read.malformed)} malformed`,
    `${plural(result.keysLimited, 'key')} limited`,
    `${plural(result.rangeCount, 'range')} would be blocked`,
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
      malformedByReason: Object.fromEntries(MALFORMED_REASONS.map((r) => [r, result.read.malformedBy[r].count])),
      unaddressedRequests: result.unaddressed.requests,
      duplicates: result.duplicates,
      endedByGroup: result.endedByGroup,
      blockRecords: result.actions.block,
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
