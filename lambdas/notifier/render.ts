/**
 * The notifier's messages, as Telegram HTML. Pure: every input is data, every output a list of
 * messages that each fit Telegram's limit. All text, trusted or not, goes through the span model of
 * ./telegram-html, which sanitizes, escapes and splits it; nothing here writes a tag by hand.
 */
import { upgradeReport, type BlockReport, type BlockReportV2 } from '#contracts/report';
import { MAX_LISTED_RANGES } from '#contracts/telegram-limits';
import { bold, clip, code, italic, packMessages, text, toMessages, type Line, type Span } from './telegram-html';
import type {
  AlarmNotice,
  AllClearSummary,
  AttackSummary,
  BlockedCounts,
  CloudFrontFigures,
  DistributionFigures,
  Gathered,
  PlainNotice,
  TopEntry,
} from './types';

/** Longest value shown for attacker-controlled or free text fields. */
const FIELD = { name: 255, key: 200, reason: 600, label: 80 } as const;
/** A plain notification shows at most this much of the published text. */
export const PLAIN_BODY_LIMIT = { characters: 2000, lines: 40 } as const;
/** How many upcoming expiries an all-clear lists. */
const NEXT_EXPIRIES = 5;

/** Options every renderer takes. */
export interface RenderOptions {
  /** Epoch milliseconds, for "in 3 h" and "ago" figures. */
  readonly now: number;
  /**
   * Longest list of ranges shown in a block report, at most {@link MAX_LISTED_RANGES}; the rest
   * are counted ("and 12 more"). A report that would not fit in its messages lists fewer.
   * @default 20
   */
  readonly maxListedRanges?: number;
}

/** `12,345`; anything that is not a finite number shows as `?`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '?';
  const rounded = Math.round(value);
  const sign = rounded < 0 ? '-' : '';
  // BigInt: String() would write 1e21 and more in exponent notation.
  return (
    sign +
    BigInt(Math.abs(rounded))
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  );
}

/** `2025-01-31 23:59 UTC`; an invalid time shows as `unknown time`. */
export function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  if (Number.isNaN(date.getTime())) return 'unknown time';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

function formatPercent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(1)}%`;
}

/** The flag emoji of an ISO 3166 alpha-2 code, or nothing for anything else. */
function flag(country: string): string {
  if (!/^[A-Z]{2}$/.test(country)) return '';
  return String.fromCodePoint(0x1f1e6 + country.charCodeAt(0) - 65, 0x1f1e6 + country.charCodeAt(1) - 65);
}

/** `1 hit`, `12 hits`. */
function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** "and 12 more" under a cut list. */
function andMore(count: number): Line {
  return [italic(`… and ${formatCount(count)} more`)];
}

function listLimit(options: RenderOptions): number {
  const max = options.maxListedRanges ?? 20;
  return Number.isInteger(max) && max > 0 ? Math.min(max, MAX_LISTED_RANGES) : 20;
}

// ---------------------------------------------------------------------------------------- ALARM

const TOP_SECTIONS = [
  { key: 'hosts', title: 'Hosts', what: 'Host header values' },
  { key: 'clientIps', title: 'Client IPs', what: 'client addresses' },
  { key: 'countries', title: 'Countries', what: 'countries' },
  { key: 'rules', title: 'Rules', what: 'terminating rules' },
] as const;

function topEntryLine(index: number, entry: TopEntry, section: (typeof TOP_SECTIONS)[number]['key']): Line {
  const key = clip(entry.key, FIELD.key);
  const value: Span[] =
    section === 'countries'
      ? [text(`${flag(entry.key)} `.trimStart()), code(key)]
      : [code(key === '' ? '(empty)' : key)];
  return [text(`${index + 1}. `), ...value, text(` · ${formatCount(entry.count)}`)];
}

function distributionLine(index: number, figures: DistributionFigures): Line {
  return [
    text(`${index + 1}. `),
    code(clip(figures.id, FIELD.label)),
    text(` ${clip(figures.label, FIELD.label)} · ${formatCount(figures.requests)} requests`),
    text(` · 5xx ${formatPercent(figures.errorRate5xx)} · all errors ${formatPercent(figures.errorRateTotal)}`),
  ];
}

function blockedLine(blocked: Gathered<BlockedCounts>): Line {
  if (!blocked.ok) return [bold('Blocked now:'), text(' '), italic(`missing (${clip(blocked.reason, FIELD.reason)})`)];
  const { ipv4, ipv6 } = blocked.value;
  return [
    bold('Blocked now:'),
    text(
      ` ${formatCount(ipv4 + ipv6)} ranges in the blocklists (IPv4 ${formatCount(ipv4)}, IPv6 ${formatCount(ipv6)})`,
    ),
  ];
}

function cloudFrontLines(figures: Gathered<CloudFrontFigures>): Line[] {
  const heading: Line = [bold('CloudFront, last hour')];
  if (!figures.ok) return [heading, [italic(`missing (${clip(figures.reason, FIELD.reason)})`)]];
  const { distributions, byRequests, byErrorRate } = figures.value;
  if (byRequests.length === 0) {
    return [[...heading, text(` · ${formatCount(distributions)} distributions`)], [italic('no requests recorded')]];
  }
  return [
    [...heading, text(` · ${formatCount(distributions)} distributions`)],
    [text('By requests:')],
    ...byRequests.map((figure, index) => distributionLine(index, figure)),
    [text('By 5xx error rate:')],
    ...(byErrorRate.length > 0
      ? byErrorRate.map((figure, index) => distributionLine(index, figure))
      : [[italic('no error rates recorded')]]),
  ];
}

function alarmHeader(icon: string, title: string, notice: AlarmNotice): Line[] {
  const lines: Line[] = [[text(`${icon} `), bold(title), text(' '), code(clip(notice.alarmName, FIELD.name))]];
  if (notice.reason) lines.push([italic(clip(notice.reason, FIELD.reason))]);
  return lines;
}

/**
 * The ALARM message: the alarm, then what the last minutes of WAF logs say about the attack, the
 * CloudFront figures (CLOUDFRONT scope) and how many ranges are blocked now. A part that could not
 * be gathered says so where it would have been, and once more at the end.
 */
export function renderAlarm(notice: AlarmNotice, summary: AttackSummary): string[] {
  const lines: Line[] = alarmHeader('🚨', 'Attack alarm', notice);
  const since = notice.changedAt === undefined ? 'unknown time' : formatTime(notice.changedAt);
  lines.push([text(`Since ${since}${notice.oldState ? ` (was ${clip(notice.oldState, 40)})` : ''}`)]);
  lines.push([]);
  lines.push([bold(`Blocked requests, last ${formatCount(summary.windowMinutes)} min`)]);

  const missing: string[] = [];
  for (const section of TOP_SECTIONS) {
    const part = summary.top[section.key];
    if (!part.ok) {
      missing.push(section.what);
      lines.push([bold(section.title), text(' '), italic(`missing (${clip(part.reason, FIELD.reason)})`)]);
      continue;
    }
    lines.push([bold(section.title)]);
    if (part.value.length === 0) lines.push([italic('none logged')]);
    part.value.forEach((entry, index) => lines.push(topEntryLine(index, entry, section.key)));
  }

  if (summary.cloudfront) {
    lines.push([]);
    lines.push(...cloudFrontLines(summary.cloudfront));
    if (!summary.cloudfront.ok) missing.push('CloudFront figures');
  }
  lines.push([]);
  lines.push(blockedLine(summary.blocked));
  if (!summary.blocked.ok) missing.push('blocked ranges');

  if (missing.length > 0) {
    lines.push([]);
    lines.push([text('⚠️ '), bold('Incomplete:'), text(` ${missing.join(', ')} could not be read`)]);
  }
  return toMessages(lines);
}

// ------------------------------------------------------------------------------------------- OK

/**
 * Whether a state change is an OK that follows no ALARM: an alarm's first evaluation
 * (INSUFFICIENT_DATA → OK, once per alarm on every first deploy, and after a change to the alarm).
 * Nothing changed for the people in the chat, so it sends no message: the one rule for the attack
 * alarm and the health alarms.
 */
export function isOkWithoutAlarm(change: Pick<AlarmNotice, 'newState' | 'oldState'>): boolean {
  return change.newState === 'OK' && change.oldState !== 'ALARM';
}

/** The OK message: all clear, how long it lasted, what is still blocked and what expires next. */
export function renderAllClear(notice: AlarmNotice, summary: AllClearSummary, options: RenderOptions): string[] {
  const lines: Line[] = alarmHeader('✅', 'All clear', notice);
  const at = notice.changedAt ?? options.now;
  const started = summary.alarmStartedAt;
  if (started.ok && started.value !== undefined && started.value <= at) {
    lines.push([
      text(`Back to OK at ${formatTime(at)}; the alarm lasted `),
      bold(formatDuration(at - started.value)),
      text(` (since ${formatTime(started.value)}).`),
    ]);
  } else {
    const why = started.ok ? 'no ALARM state found in the alarm history' : clip(started.reason, FIELD.reason);
    lines.push([text(`Back to OK at ${formatTime(at)}; how long it lasted is unknown (${why}).`)]);
  }
  lines.push([]);
  lines.push(blockedLine(summary.blocked));

  const managed = summary.managed;
  if (!managed.ok) {
    lines.push([bold('Next to expire:'), text(' '), italic(`missing (${clip(managed.reason, FIELD.reason)})`)]);
  } else if (managed.value.count === 0) {
    lines.push([text('The blocker manages no ranges now: nothing left to expire.')]);
  } else {
    lines.push([bold('Managed by the blocker:'), text(` ${formatCount(managed.value.count)} ranges; next to expire:`)]);
    const shown = managed.value.next.slice(0, NEXT_EXPIRIES);
    for (const expiry of shown) {
      const inTime = expiry.expiresAt - options.now;
      lines.push([
        text('• '),
        code(clip(expiry.range, FIELD.label)),
        text(
          ` at ${formatTime(expiry.expiresAt)} (${inTime > 0 ? `in ${formatDuration(inTime)}` : 'due at the next run'})`,
        ),
      ]);
    }
    if (managed.value.count > shown.length) lines.push(andMore(managed.value.count - shown.length));
  }
  return toMessages(lines);
}

/** Any other alarm state (INSUFFICIENT_DATA, or a state we do not know): the state and its reason. */
export function renderAlarmState(notice: AlarmNotice): string[] {
  const lines: Line[] = alarmHeader('ℹ️', 'Alarm state changed', notice);
  const when = notice.changedAt === undefined ? '' : ` at ${formatTime(notice.changedAt)}`;
  lines.push([
    text('Now '),
    code(clip(notice.newState, 40)),
    text(`${notice.oldState ? `, was ${clip(notice.oldState, 40)}` : ''}${when}`),
  ]);
  return toMessages(lines);
}

// ----------------------------------------------------------------------------------- block report

/**
 * Most IP sets a block report lists: the two blocklists and up to 20 shared sets (the config's
 * limit), with room to spare. A report from anyone else on the topic may hold more.
 */
const MAX_LISTED_IP_SETS = 25;
/** Most refusal reasons and unread rules a block report names, each on one line. */
const MAX_NAMED_INLINE = 10;
/** Most attacked hosts a block report lists (the blocker sends its top 5). */
const MAX_LISTED_HOSTS = 5;

/**
 * How many entries of each list a block report shows. `ranges` applies to the added, expired and
 * overflowing ranges; `context` to the hosts, IP sets, refusal reasons and unread rules (each also
 * capped at its own maximum).
 */
interface ListCaps {
  readonly ranges: number;
  readonly context: number;
}

/** The listed lines of a list, then "and N more" for the rest of its `total` when any. */
function withRest(listed: readonly Line[], total: number): Line[] {
  return total > listed.length ? [...listed, andMore(total - listed.length)] : [...listed];
}

/** `a, b, c, … and 4 more` on one line: the first `max` of `items`, then how many are not named. */
function inlineList(items: readonly Span[][], max: number): Span[] {
  const named = items.slice(0, max).flatMap((item, index) => [...(index > 0 ? [text(', ')] : []), ...item]);
  const rest = items.length - Math.min(max, items.length);
  return rest > 0 ? [...named, text(`${named.length > 0 ? ', ' : ''}… and ${formatCount(rest)} more`)] : named;
}

/**
 * How many ranges overflowed, as the heading states it: a count that is not a number is no
 * overflow; an infinite one shows as `?`.
 */
function overflowTotal(count: number): number {
  return Number.isNaN(count) ? 0 : Math.round(count);
}

/** When the run was; for a report that carries earlier runs' too, since when and how many. */
function runLine(report: BlockReportV2): Line {
  const time = (iso: string | undefined) => {
    const at = iso === undefined ? NaN : Date.parse(iso);
    return Number.isNaN(at) ? 'an unknown time' : formatTime(at);
  };
  if (!(report.runs > 1)) return [text(`Run at ${time(report.at)}`)];
  return [
    text(`${formatCount(report.runs)} runs from ${time(report.since)} to ${time(report.at)}: `),
    italic('the earlier runs could not publish their reports, so this one says what they changed too.'),
  ];
}

function reportHeader(report: BlockReportV2): Line[] {
  const lines: Line[] = [
    [text('🛡 '), bold('Blocklist updated'), text(' · web ACL '), code(clip(report.webAclName, FIELD.name))],
  ];
  lines.push(runLine(report));
  if (report.dryRun) lines.push([italic('Dry run: nothing was written; this is what would have changed.')]);
  if (!report.collected) lines.push([italic('The alarm was not in ALARM: no new attackers were collected.')]);
  return lines;
}

/**
 * How many a list's heading states: the report's total, never less than the list holds. A fitted
 * report lists fewer than its total (the most important), and the rest go into "and N more".
 */
function listTotal(total: number, listed: number): number {
  return Number.isFinite(total) ? Math.max(Math.round(total), listed) : listed;
}

function addedSection(added: BlockReportV2['added'], addedCount: number, max: number): Line[] {
  const total = listTotal(addedCount, added.length);
  if (total === 0) return [];
  const listed = added
    .slice(0, max)
    .map((entry): Line => [
      text('• '),
      code(clip(entry.range, FIELD.label)),
      text(` · ${clip(entry.source, FIELD.label)} · ${plural(entry.hits, 'hit')}${tierNote(entry)}`),
    ]);
  return [[], [bold(`Added: ${formatCount(total)}`)], ...withRest(listed, total)];
}

/**
 * A neighbour range is not blocked (issue 12): said after it; a blocked range says nothing, as
 * before tiers. The report does not carry `blocker.neighbourAction`, so the words fit both actions.
 */
function tierNote(entry: { readonly tier?: string }): string {
  return entry.tier === 'neighbour' ? ' · neighbour tier (challenge or CAPTCHA)' : '';
}

function expiredSection(expired: BlockReportV2['expired'], expiredCount: number, max: number): Line[] {
  const total = listTotal(expiredCount, expired.length);
  if (total === 0) return [];
  const listed = expired.slice(0, max).map((entry): Line => {
    const lastSeen = Date.parse(entry.lastSeen);
    const when = Number.isNaN(lastSeen) ? 'unknown' : formatTime(lastSeen);
    return [
      text('• '),
      code(clip(entry.range, FIELD.label)),
      text(` · ${clip(entry.source, FIELD.label)} · last seen ${when}${tierNote(entry)}`),
    ];
  });
  return [[], [bold(`Expired: ${formatCount(total)}`)], ...withRest(listed, total)];
}

function overflowSection(overflow: BlockReport['overflow'], max: number): Line[] {
  const total = overflowTotal(overflow.count);
  if (!(total > 0)) return [];
  // A sample longer than the count is not believed past the count.
  const listed = overflow.sample
    .slice(0, Math.min(max, total))
    .map((range): Line => [text('• '), code(clip(range, FIELD.label))]);
  return [
    [],
    [
      text('⚠️ '),
      bold(`Overflow: ${formatCount(total)}`),
      text(' ranges did not fit in their IP set (the most recent and most active were kept)'),
    ],
    ...withRest(listed, total),
  ];
}

function hostsSection(topHosts: BlockReport['topHosts'], max: number): Line[] {
  if (topHosts.length === 0) return [];
  const listed = topHosts
    .slice(0, Math.min(max, MAX_LISTED_HOSTS))
    .map((host, index) => topEntryLine(index, { key: host.host, count: host.count }, 'hosts'));
  return [[], [bold('Most attacked hosts')], ...withRest(listed, Math.min(topHosts.length, MAX_LISTED_HOSTS))];
}

function ipSetsSection(ipSets: BlockReport['ipSets'], max: number): Line[] {
  if (ipSets.length === 0) return [];
  const listed = ipSets
    .slice(0, Math.min(max, MAX_LISTED_IP_SETS))
    .map((set): Line => [
      text('• '),
      code(clip(set.name, FIELD.label)),
      text(` ${formatCount(set.size)} / ${formatCount(set.capacity)} (${set.family === 'IPV6' ? 'IPv6' : 'IPv4'})`),
    ]);
  return [[], [bold('IP sets')], ...withRest(listed, ipSets.length)];
}

function refusalLines(report: BlockReport, max: number): Line[] {
  const lines: Line[] = [];
  const rejected = Object.entries(report.rejectedKeys).filter(([, count]) => count > 0);
  if (rejected.length > 0) {
    const reasons = rejected.map(([reason, count]) => [text(`${clip(reason, 40)} ${formatCount(count)}`)]);
    lines.push([bold('Addresses not blocked:'), text(' '), ...inlineList(reasons, Math.min(max, MAX_NAMED_INLINE))]);
  }
  if (report.unreadableRules.length > 0) {
    const rules = report.unreadableRules.map((rule) => [code(clip(rule, FIELD.label))]);
    lines.push([
      text('⚠️ '),
      bold('Rules not read this run:'),
      text(' '),
      ...inlineList(rules, Math.min(max, MAX_NAMED_INLINE)),
    ]);
  }
  return lines;
}

function reportLines(report: BlockReportV2, caps: ListCaps): Line[] {
  return [
    ...reportHeader(report),
    ...addedSection(report.added, report.addedCount, caps.ranges),
    ...expiredSection(report.expired, report.expiredCount, caps.ranges),
    ...overflowSection(report.overflow, caps.ranges),
    ...hostsSection(report.topHosts, caps.context),
    ...ipSetsSection(report.ipSets, caps.context),
    ...refusalLines(report, caps.context),
  ];
}

/**
 * A block report: ranges added (with the rule that saw them), expired, overflowing, the most attacked
 * hosts and the IP set sizes. Lists longer than `maxListedRanges` are cut with "and N more", counted
 * from the report's totals: a report fitted to SNS lists only its most important ranges (and a
 * version 1 report, from an older blocker, lists all). A report that carries the reports of earlier
 * runs that could not be published says over which runs and since when.
 *
 * Every section keeps its heading and total, and every cut list says how many it did not show:
 * when the whole report would need more messages than a notification may have (`MAX_PARTS` of ./telegram-html), the range lists are
 * shortened (all three to the same length, a short list keeping all of its entries) to the longest
 * that fits; only when even heading-only range lists do not fit are the hosts, IP sets, refusal
 * reasons and unread rules shortened as well.
 */
export function renderReport(anyVersion: BlockReport, options: RenderOptions): string[] {
  const report = upgradeReport(anyVersion);
  const maxRanges = listLimit(options);
  // One level per entry shown: context lists fill first, range lists on top, so that lowering the
  // level takes ranges away first. A lower level gives a shorter report (but for a digit more in an
  // "and N more"), so a binary search finds the longest that fits, or one a line shorter; what it
  // returns has been packed without losing a line either way.
  const top = MAX_LISTED_IP_SETS + maxRanges;
  const at = (level: number) =>
    packMessages(
      reportLines(report, {
        context: Math.min(level, MAX_LISTED_IP_SETS),
        ranges: Math.max(0, level - MAX_LISTED_IP_SETS),
      }),
    );
  const full = at(top);
  if (full.omittedLines === 0) return full.messages;
  let fitting = at(0);
  // Headings, totals and a header line of a few hundred characters fit in one message; should they
  // not, the note at the end says what is missing.
  if (fitting.omittedLines > 0) return fitting.messages;
  let low = 0;
  let high = top - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    const packed = at(middle);
    if (packed.omittedLines === 0) {
      low = middle;
      fitting = packed;
    } else {
      high = middle - 1;
    }
  }
  return fitting.messages;
}

// ------------------------------------------------------------------------------------------ plain

const SHAPE_NOTE: Record<PlainNotice['shape'], string> = {
  text: 'Neither an alarm nor a block report; shown as it was published.',
  json: 'JSON of a shape the notifier does not know; shown as it was published.',
  empty: 'An empty message.',
};

/**
 * Anything else that arrives on a topic, e.g. `aws sns publish --message test`: clearly labelled,
 * escaped, and cut to {@link PLAIN_BODY_LIMIT}.
 */
export function renderPlain(notice: PlainNotice): string[] {
  const where = notice.topicName ? clip(notice.topicName, FIELD.name) : 'an SNS topic';
  const lines: Line[] = [[text('📣 '), bold('Message on'), text(' '), code(where)], [italic(SHAPE_NOTE[notice.shape])]];
  if (notice.subject) lines.push([bold('Subject:'), text(` ${clip(notice.subject, FIELD.name)}`)]);
  if (notice.shape !== 'empty') {
    lines.push([]);
    const cut = notice.body.length > PLAIN_BODY_LIMIT.characters;
    const body = cut ? notice.body.slice(0, PLAIN_BODY_LIMIT.characters) : notice.body;
    const bodyLines = body.split(/\r\n|\r|\n/);
    const shownLines = bodyLines.slice(0, PLAIN_BODY_LIMIT.lines);
    lines.push(...shownLines.map((line): Line => [text(line)]));
    const hiddenCharacters = notice.body.length - shownLines.reduce((sum, line) => sum + line.length + 1, -1);
    if (cut || bodyLines.length > shownLines.length) {
      lines.push([italic(`… ${formatCount(Math.max(1, hiddenCharacters))} more characters not shown`)]);
    }
  }
  lines.push([]);
  lines.push([italic('If you sent this to test your alerts: delivery to this chat works.')]);
  return toMessages(lines);
}
