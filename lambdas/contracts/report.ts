/**
 * The block report: what one or more blocker runs changed, published as JSON to the reports topic
 * and read by the notifier (and by anyone else subscribed to the topic). Bump the version on any
 * incompatible change, and keep reading the older ones: a blocker deployed before the notifier, or a
 * report kept for a later run by the previous version, still publishes an older one for a while.
 *
 * ## Reports that always fit: list the most important ranges, count the rest
 * SNS refuses a message over 256 KB: "messages must be UTF-8 encoded strings and at most 256 KB in
 * size (262,144 bytes, not 262,144 characters)" (Amazon SNS API Reference, Publish, parameter
 * `Message`: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). A run that adds 10,000
 * /24s listed them all, 553,561 bytes, and failed. {@link fitReport} keeps one message per report
 * and cuts its lists instead of splitting it into several messages, because:
 * - the notifier shows 20 ranges per list and counts the rest; a fitted report still lists about
 *   3,000 ranges, far more than any message shows, for subscribers that want more (mail, a SIEM);
 * - one message is one unit: it arrives whole or not at all, and a report that could not be
 *   published is kept for the next run as one ledger item (DynamoDB: 400 KB an item), where split
 *   parts could arrive in part, out of order, or be kept in part;
 * - totals stay exact: version 2 carries `addedCount` and `expiredCount` beside the lists (as
 *   `overflow.count` always did), so a cut list never misreports the size of the attack.
 * The ranges kept are the most important: added ones with the most hits (equal hits in address
 * order), expired ones last seen latest, and the overflow sample as the blocker ranked it (most
 * recent and most active first).
 *
 * Size is counted in UTF-8 bytes of the report's JSON as it travels inside the notification SNS
 * delivers to a Lambda function or an HTTP endpoint: a JSON string in `Records[].Sns.Message`, where
 * every `"` and `\` is escaped once more. That is never less than the published message itself, and
 * the budget leaves {@link SNS_ENVELOPE_HEADROOM_BYTES} for the rest of the envelope (type, ids, topic
 * ARN, subject, timestamp, signature and URLs take about 1.5 KB).
 */
import type { Cidr, Family, Tier } from './ranges';

export const BLOCK_REPORT_KIND = 'waf-autoblock.block-report';

/** The version this blocker publishes. */
export const BLOCK_REPORT_VERSION = 2;

/** SNS's limit on a published message, in bytes (Publish API reference, see the module header). */
export const SNS_MAX_MESSAGE_BYTES = 262_144;

/** Room left in an SNS message for the notification envelope around the report, in bytes. */
export const SNS_ENVELOPE_HEADROOM_BYTES = 16_384;

/** The most a fitted report may take, in bytes as {@link reportBytes} counts them: 245,760. */
export const REPORT_MAX_BYTES = SNS_MAX_MESSAGE_BYTES - SNS_ENVELOPE_HEADROOM_BYTES;

/** The smallest budget {@link fitReport} accepts: enough for every heading and total of any report. */
export const REPORT_MIN_BYTES = 8_192;

/** A range a run added to a blocklist. */
export interface AddedRange {
  readonly range: Cidr;
  /** The rate rule or feed that asked for it. */
  readonly source: string;
  readonly hits: number;
  /** `neighbour`: added to a neighbour set (challenged, not blocked); unset: a blocklist, as before tiers. */
  readonly tier?: Tier;
}

/** A range whose block ran out, removed from its blocklist. */
export interface ExpiredRange {
  readonly range: Cidr;
  readonly source: string;
  /** ISO 8601 time it was last seen attacking. */
  readonly lastSeen: string;
  /** `neighbour`: removed from a neighbour set; unset: from a blocklist, as before tiers. */
  readonly tier?: Tier;
}

/** The fields every version has. */
interface ReportBody {
  readonly kind: typeof BLOCK_REPORT_KIND;
  /** ISO 8601 time of the (latest) run. */
  readonly at: string;
  readonly webAclName: string;
  /** True when nothing was written: the report says what would have been done. */
  readonly dryRun: boolean;
  /** Whether new attackers were collected (the gate was open) in the run, or in any run covered. */
  readonly collected: boolean;
  readonly added: readonly AddedRange[];
  readonly expired: readonly ExpiredRange[];
  /**
   * Ranges that should be blocked but did not fit into their IP set (most recent and most active
   * kept), after the latest run: `count` in all, `sample` the first of them.
   */
  readonly overflow: { readonly count: number; readonly sample: readonly Cidr[] };
  /** The IP sets after the latest run. */
  readonly ipSets: readonly {
    readonly name: string;
    readonly family: Family;
    readonly size: number;
    readonly capacity: number;
    /** `neighbour`: a neighbour set; unset: a blocklist or shared set, as before tiers. */
    readonly tier?: Tier;
  }[];
  /** Most common Host header values among the rate rules' sampled requests. */
  readonly topHosts: readonly { readonly host: string; readonly count: number }[];
  /** Keys the rate rules returned that were not blocked (unparsable, non-global, allowlisted, ...), by reason. */
  readonly rejectedKeys: Readonly<Record<string, number>>;
  /** Rate rules whose managed keys could not be read. */
  readonly unreadableRules: readonly string[];
}

/** Version 1: one run, every range listed, no totals (published by blockers before issue 9). */
export interface BlockReportV1 extends ReportBody {
  readonly version: 1;
}

/** Version 2: lists cut to fit SNS (most important first) beside exact totals; may cover several runs. */
export interface BlockReportV2 extends ReportBody {
  readonly version: 2;
  /** Ranges added in all; `added` lists those with the most hits when not all fit. */
  readonly addedCount: number;
  /** Ranges expired in all; `expired` lists those last seen latest when not all fit. */
  readonly expiredCount: number;
  /**
   * How many blocker runs the report covers, at least 1. More when earlier runs' reports could not
   * be published: the next run publishes what they would have said, merged into its own.
   */
  readonly runs: number;
  /** ISO 8601 time of the earliest run covered; set when `runs` is more than 1. */
  readonly since?: string;
}

/** A block report of any version a blocker publishes. */
export type BlockReport = BlockReportV1 | BlockReportV2;

/** True when a parsed SNS message is a block report of a version this code reads (1 or 2). */
export function isBlockReport(value: unknown): value is BlockReport {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, version } = value as { kind?: unknown; version?: unknown };
  return kind === BLOCK_REPORT_KIND && (version === 1 || version === 2);
}

/**
 * A report as version 2. A version 1 report is one run with every range listed, so its totals are
 * its list lengths. A version 2 report is returned as it is.
 */
export function upgradeReport(report: BlockReport): BlockReportV2 {
  if (report.version === 2) return report;
  return {
    ...report,
    version: 2,
    addedCount: report.added.length,
    expiredCount: report.expired.length,
    runs: 1,
  };
}

/**
 * One report for two consecutive ones (`earlier` could not be published): additions and expiries
 * of both, with summed totals, runs and refusal counts; the state after the later run (IP sets,
 * overflow); hosts summed by name; unread rules of either. A range added (or expired) in both is
 * listed and counted in each, as each run did it.
 */
export function mergeReports(earlier: BlockReport, later: BlockReport): BlockReportV2 {
  const a = upgradeReport(earlier);
  const b = upgradeReport(later);
  const rejectedKeys: Record<string, number> = { ...a.rejectedKeys };
  for (const [reason, count] of Object.entries(b.rejectedKeys))
    rejectedKeys[reason] = (rejectedKeys[reason] ?? 0) + count;
  return {
    kind: BLOCK_REPORT_KIND,
    version: 2,
    at: b.at,
    since: a.since ?? a.at,
    runs: a.runs + b.runs,
    webAclName: b.webAclName,
    // A dry run's report is never kept for later; should one be merged, what it says stays "would have".
    dryRun: a.dryRun || b.dryRun,
    collected: a.collected || b.collected,
    added: [...a.added, ...b.added],
    addedCount: a.addedCount + b.addedCount,
    expired: [...a.expired, ...b.expired],
    expiredCount: a.expiredCount + b.expiredCount,
    overflow: b.overflow,
    ipSets: b.ipSets,
    topHosts: mergeHosts(a.topHosts, b.topHosts),
    rejectedKeys,
    unreadableRules: [...new Set([...a.unreadableRules, ...b.unreadableRules])],
  };
}

function mergeHosts(a: ReportBody['topHosts'], b: ReportBody['topHosts']): ReportBody['topHosts'] {
  const counts = new Map<string, number>();
  for (const { host, count } of [...a, ...b]) counts.set(host, (counts.get(host) ?? 0) + count);
  return [...counts]
    .map(([host, count]) => ({ host, count }))
    .sort((x, y) => y.count - x.count)
    .slice(0, Math.max(a.length, b.length));
}

/**
 * The size of a report as SNS carries it to a subscriber: UTF-8 bytes of its JSON written as a JSON
 * string (quotes included), the form it takes in `Records[].Sns.Message`. Never less than the
 * UTF-8 size of the published message, `JSON.stringify(report)`.
 */
export function reportBytes(report: BlockReport): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(report)), 'utf8');
}

/**
 * The report cut to fit one SNS message (see the module header for why cutting, not splitting).
 *
 * A report that fits already is returned as version 2 with nothing dropped or reordered. Otherwise
 * `added` keeps the ranges with the most hits (equal hits in address order: `62.0.2.0/24` before
 * `62.0.10.0/24`, IPv4 before IPv6), `expired` those last seen latest and `overflow.sample` its
 * first ranges; the three lists are cut to the same length (a shorter one keeps all it has), then
 * what room is left goes to `added`, `expired` and the sample in that order. `addedCount`, `expiredCount` and `overflow.count` stay exact. Only a report whose other
 * fields alone are too large (no blocker writes one) also loses hosts, IP sets, refusal reasons and
 * unread rules past a few, and texts past 256 characters; and when even that is too large, all of them.
 *
 * @param maxBytes - Budget as {@link reportBytes} counts it. @default {@link REPORT_MAX_BYTES}
 * @returns a report with `reportBytes(result) <= maxBytes`.
 * @throws RangeError when `maxBytes` is not an integer of at least {@link REPORT_MIN_BYTES}.
 */
export function fitReport(report: BlockReport, maxBytes: number = REPORT_MAX_BYTES): BlockReportV2 {
  if (!Number.isInteger(maxBytes) || maxBytes < REPORT_MIN_BYTES) {
    throw new RangeError(`report budget must be an integer of at least ${REPORT_MIN_BYTES} bytes, got ${maxBytes}`);
  }
  const full = upgradeReport(report);
  if (reportBytes(full) <= maxBytes) return full;

  const emptied = (body: BlockReportV2): BlockReportV2 => ({
    ...body,
    added: [],
    expired: [],
    overflow: { count: body.overflow.count, sample: [] },
  });
  let context = full;
  for (const shrink of [capContext, dropContext]) {
    if (reportBytes(emptied(context)) <= maxBytes) break;
    context = shrink(context);
  }
  const base = reportBytes(emptied(context));
  const added = byHitsThenAddress(full.added);
  const expired = [...full.expired].sort(byLastSeenLatest);
  const sample = full.overflow.sample;
  const [addedKept, expiredKept, sampleKept] = keptLengths(
    [added, expired, sample].map((list) => list.map(entryBytes)),
    maxBytes - base,
  );
  return {
    ...context,
    added: added.slice(0, addedKept),
    expired: expired.slice(0, expiredKept),
    overflow: { count: full.overflow.count, sample: sample.slice(0, sampleKept) },
  };
}

/** Bytes an entry adds to {@link reportBytes} inside its list, not counting the comma before it. */
function entryBytes(entry: unknown): number {
  // Escaping is done character by character, so an entry costs the same inside the whole text.
  return Buffer.byteLength(JSON.stringify(JSON.stringify(entry)), 'utf8') - 2;
}

/**
 * How many entries of each list fit in `budget` bytes: every list cut to one length (found by
 * binary search), then the room left filled list by list. Each entry but a list's first also
 * costs a comma.
 */
function keptLengths(costs: readonly (readonly number[])[], budget: number): number[] {
  const prefix = costs.map((list) => {
    const sums = [0];
    for (const cost of list) sums.push((sums.at(-1) ?? 0) + cost + 1);
    return sums;
  });
  // Kept entries' bytes and commas: prefix[k] counts k commas, one too many when k > 0.
  const bytesOf = (lengths: readonly number[]) =>
    lengths.reduce((sum, k, i) => sum + (prefix[i]?.[k] ?? 0) - (k > 0 ? 1 : 0), 0);
  const atLength = (k: number) => costs.map((list) => Math.min(k, list.length));
  let low = 0;
  let high = Math.max(0, ...costs.map((list) => list.length));
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (bytesOf(atLength(middle)) <= budget) low = middle;
    else high = middle - 1;
  }
  const lengths = atLength(low);
  lengths.forEach((_, i) => {
    const list = costs[i] ?? [];
    while ((lengths[i] ?? 0) < list.length) {
      const next = lengths.map((k, j) => (j === i ? k + 1 : k));
      if (bytesOf(next) > budget) break;
      lengths[i] = (lengths[i] ?? 0) + 1;
    }
  });
  return lengths;
}

/** Added ranges, most hits first; equal hits in address order ({@link compareAddressKeys}). */
function byHitsThenAddress(list: readonly AddedRange[]): AddedRange[] {
  return list
    .map((entry) => ({ entry, key: addressKey(entry.range) }))
    .sort((a, b) => b.entry.hits - a.entry.hits || compareAddressKeys(a, b))
    .map(({ entry }) => entry);
}

/**
 * A range's place in address order: family (0 IPv4, 1 IPv6), the address's octets or 16-bit
 * groups, the prefix. Undefined for text that is not a range in canonical form (hand-made reports).
 */
type AddressKey = readonly number[] | undefined;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6_CIDR = /^([\da-f:]{2,39})\/(\d{1,3})$/;
const IPV6_GROUP = /^[\da-f]{1,4}$/;

function addressKey(range: Cidr): AddressKey {
  const v4 = IPV4_CIDR.exec(range);
  if (v4) {
    // Four octets, then the prefix.
    const numbers = v4.slice(1).map(Number);
    return numbers.every((n, i) => n <= (i < 4 ? 255 : 32)) ? [0, ...numbers] : undefined;
  }
  const v6 = IPV6_CIDR.exec(range);
  const [, address = '', prefix = ''] = v6 ?? [];
  const halves = address.split('::').map((half) => (half === '' ? [] : half.split(':')));
  const [head = [], tail = []] = halves;
  const written = head.length + tail.length;
  if (!v6 || halves.length > 2 || (halves.length === 1 ? written !== 8 : written > 7)) return undefined;
  if (![...head, ...tail].every((group) => IPV6_GROUP.test(group)) || Number(prefix) > 128) return undefined;
  const zeros = Array.from({ length: 8 - written }, () => '0');
  return [1, ...[...head, ...zeros, ...tail].map((group) => parseInt(group, 16)), Number(prefix)];
}

/**
 * Address order, as the core's `compareRanges` (lambdas/core/network-range.ts) has it: IPv4 before
 * IPv6, then by address, then wider first; a contract cannot import the core, and
 * test/lambdas/contracts/report-order.property.test.ts checks that the two agree on canonical
 * ranges. Not `62.0.10.0/24` before `62.0.2.0/24`, as string order would. Text that is not a
 * canonical range comes after every range, in string order.
 */
function compareAddressKeys(
  a: { entry: AddedRange; key: AddressKey },
  b: { entry: AddedRange; key: AddressKey },
): number {
  if (a.key && b.key) {
    for (let i = 0; i < a.key.length; i++) {
      const difference = (a.key[i] ?? 0) - (b.key[i] ?? 0);
      if (difference !== 0) return difference;
    }
    return 0;
  }
  if (a.key) return -1;
  if (b.key) return 1;
  return a.entry.range < b.entry.range ? -1 : a.entry.range > b.entry.range ? 1 : 0;
}

function byLastSeenLatest(a: ExpiredRange, b: ExpiredRange): number {
  const [x, y] = [Date.parse(a.lastSeen), Date.parse(b.lastSeen)];
  // An unreadable time sorts last: it cannot be the latest.
  return (Number.isNaN(y) ? -Infinity : y) - (Number.isNaN(x) ? -Infinity : x) || 0;
}

/** Longest text kept by {@link capContext}: at most 7 bytes a character once escaped twice. */
const CONTEXT_TEXT = 256;
/** How many entries {@link capContext} keeps of each context list: 190 KB at most, all counted. */
const CONTEXT_CAPS = { topHosts: 10, ipSets: 50, unreadableRules: 20, rejectedKeys: 20 } as const;

function clipText(value: string): string {
  if (value.length <= CONTEXT_TEXT) return value;
  // Never end on the first half of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(value.charAt(CONTEXT_TEXT - 1)) ? CONTEXT_TEXT - 1 : CONTEXT_TEXT;
  return value.slice(0, end);
}

/** The other fields cut to a size no blocker comes near: a few entries each, short texts. */
function capContext(report: BlockReportV2): BlockReportV2 {
  return {
    ...report,
    at: clipText(report.at),
    ...(report.since === undefined ? {} : { since: clipText(report.since) }),
    webAclName: clipText(report.webAclName),
    ipSets: report.ipSets.slice(0, CONTEXT_CAPS.ipSets).map((set) => ({ ...set, name: clipText(set.name) })),
    topHosts: report.topHosts.slice(0, CONTEXT_CAPS.topHosts).map((host) => ({ ...host, host: clipText(host.host) })),
    rejectedKeys: Object.fromEntries(
      Object.entries(report.rejectedKeys)
        .slice(0, CONTEXT_CAPS.rejectedKeys)
        .map(([reason, count]) => [clipText(reason), count]),
    ),
    unreadableRules: report.unreadableRules.slice(0, CONTEXT_CAPS.unreadableRules).map(clipText),
  };
}

/** Only headings and totals: for a budget too small for even the capped fields. */
function dropContext(report: BlockReportV2): BlockReportV2 {
  return { ...capContext(report), ipSets: [], topHosts: [], rejectedKeys: {}, unreadableRules: [] };
}
