/**
 * Tells what arrived from the Lambda event without trusting its shape: a CloudWatch alarm state
 * change (one of the stack's health alarms, or any other alarm), a block report, or anything else
 * (shown as a plain notification). Never throws: anybody allowed to publish to the topics can send
 * anything, and every message must still reach the chat.
 */
import { healthAlarmKindOf } from '#contracts/health';
import { isBlockReport, type BlockReportV2 } from '#contracts/report';
import { parseAwsTimestamp } from '#shared/aws-time';
import type { AlarmNotice, AlarmTrigger, Notice, PlainNotice } from './types';

/** One notice and the SNS message id it came from (for de-duplicating retried deliveries). */
export interface IncomingNotice {
  /** SNS MessageId; a stand-in for events that are not SNS deliveries. */
  readonly messageId: string;
  readonly notice: Notice;
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** The SNS records of an event; undefined when the event is not an SNS delivery at all. */
function snsRecords(event: unknown): Loose[] | undefined {
  if (!isObject(event) || !Array.isArray(event.Records)) return undefined;
  const records = (event.Records as unknown[]).filter(
    (record): record is Loose & { Sns: Loose } => isObject(record) && isObject(record.Sns),
  );
  return records.length > 0 ? records.map((record) => record.Sns) : undefined;
}

/**
 * The notices in a Lambda event. An SNS event gives one per record (SNS delivers one at a time);
 * anything else (a manual invoke with any payload) becomes one plain notice.
 */
export function noticesOf(event: unknown): IncomingNotice[] {
  const records = snsRecords(event);
  if (!records) {
    return [{ messageId: 'direct-invoke', notice: plain(asText(event), 'json', undefined, undefined) }];
  }
  return records.map((sns, index) => ({
    messageId: str(sns.MessageId) ?? `record-${index}`,
    notice: classifyMessage(sns.Message, sns.Subject, sns.TopicArn),
  }));
}

/** Classifies one SNS message body. */
export function classifyMessage(message: unknown, subject?: unknown, topicArn?: unknown): Notice {
  const topicName = str(topicArn)?.split(':').pop();
  const subjectText = str(subject);
  const body = typeof message === 'string' ? message : asText(message);
  if (body.trim() === '') return plain('', 'empty', subjectText, topicName);

  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return plain(body, 'text', subjectText, topicName);
  }
  if (isObject(parsed) && typeof parsed.AlarmName === 'string' && typeof parsed.NewStateValue === 'string') {
    const alarm = alarmNotice(parsed, parsed.AlarmName, parsed.NewStateValue);
    // By name alone: the notifier cannot tell our health alarms from others' that follow the
    // same scheme, and run.ts still gives the attack alarm, matched by its exact name, precedence.
    const health = healthAlarmKindOf(alarm.alarmName);
    return health === undefined ? alarm : { kind: 'health', health, alarm };
  }
  const report = normalizeReport(parsed);
  if (report) return { kind: 'report', report };
  // Valid JSON of another shape, or a JSON string/number (`--message 42`): shown as published.
  return plain(body, typeof parsed === 'object' && parsed !== null ? 'json' : 'text', subjectText, topicName);
}

function alarmNotice(parsed: Loose, alarmName: string, newState: string): AlarmNotice {
  const oldState = str(parsed.OldStateValue);
  const reason = str(parsed.NewStateReason);
  const description = str(parsed.AlarmDescription);
  const changedAt = parseAwsTimestamp(parsed.StateChangeTime);
  const trigger = isObject(parsed.Trigger) ? alarmTrigger(parsed.Trigger) : undefined;
  // arn:aws:cloudwatch:<region>:<account>:alarm:<name>; `Region` itself is a display name.
  const arn = str(parsed.AlarmArn)?.split(':');
  const account = str(parsed.AWSAccountId) ?? arn?.[4];
  const region = (arn?.[3] || undefined) ?? str(parsed.Region);
  return {
    kind: 'alarm',
    alarmName,
    newState,
    ...(oldState === undefined ? {} : { oldState }),
    ...(reason === undefined ? {} : { reason }),
    ...(description === undefined ? {} : { description }),
    ...(changedAt === undefined ? {} : { changedAt }),
    ...(trigger === undefined ? {} : { trigger }),
    ...(account === undefined || account === '' ? {} : { account }),
    ...(region === undefined ? {} : { region }),
  };
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * CloudWatch's `Trigger`. A single-metric alarm names its metric at the top (`MetricName`,
 * `Period`, `Dimensions`); a metric-math alarm (blocker-stopped, notifier-failed) lists its queries
 * in `Metrics` instead (`{ Id, Expression?, Label?, MetricStat?: { Metric: { Dimensions,
 * MetricName, Namespace }, Period, Stat }, ReturnData }`) and may leave the top-level fields out, so
 * they are taken from its queries: the period of the returned query or of its metrics, their
 * dimensions. Dimensions are `{ name, value }` (lower case, unlike the API); `{ Name, Value }` is
 * read too.
 */
function alarmTrigger(trigger: Loose): AlarmTrigger {
  const queries = list(trigger.Metrics);
  const returned =
    queries.find((query) => query.ReturnData === true) ?? (queries.length === 1 ? queries[0] : undefined);
  const stats = queries.flatMap((query) => (isObject(query.MetricStat) ? [query.MetricStat] : []));
  const metricName = str(trigger.MetricName) ?? mathMetricName(returned, stats);
  const periodSeconds = [trigger.Period, returned?.Period, ...stats.map((stat) => stat.Period)]
    .map(positive)
    .find((period) => period !== undefined);
  const evaluationPeriods = positive(trigger.EvaluationPeriods);
  const threshold =
    typeof trigger.Threshold === 'number' && Number.isFinite(trigger.Threshold) ? trigger.Threshold : undefined;
  const topDimensions = dimensionsOf(trigger.Dimensions);
  const dimensions = Object.keys(topDimensions).length > 0 ? topDimensions : queryDimensions(stats);
  return {
    ...(metricName === undefined ? {} : { metricName }),
    ...(periodSeconds === undefined ? {} : { periodSeconds }),
    ...(evaluationPeriods === undefined ? {} : { evaluationPeriods }),
    ...(threshold === undefined ? {} : { threshold }),
    dimensions,
  };
}

/** A `MetricStat`'s metric, when it has one. */
function metricOf(stat: Loose | undefined): Loose | undefined {
  return isObject(stat?.Metric) ? stat.Metric : undefined;
}

/**
 * The metric a math alarm watches: the returned query's own metric, else the one name all its
 * metrics share (blocker-stopped: `Invocations`); undefined for an expression over several.
 */
function mathMetricName(returned: Loose | undefined, stats: readonly Loose[]): string | undefined {
  const own = str(metricOf(isObject(returned?.MetricStat) ? returned.MetricStat : undefined)?.MetricName);
  if (own !== undefined) return own;
  const names = new Set(stats.map((stat) => str(metricOf(stat)?.MetricName)));
  const [only] = names;
  return names.size === 1 ? only : undefined;
}

/**
 * The dimensions of a math alarm's metrics together: blocker-stopped's `FunctionName` (both its
 * metrics), notifier-failed's `FunctionName` (Errors) and `service` (TelegramUndelivered). A name
 * the metrics give different values is left out: it names no one thing to check.
 */
function queryDimensions(stats: readonly Loose[]): Record<string, string> {
  const merged = new Map<string, string | undefined>();
  for (const stat of stats) {
    for (const [name, value] of Object.entries(dimensionsOf(metricOf(stat)?.Dimensions))) {
      merged.set(name, merged.has(name) && merged.get(name) !== value ? undefined : value);
    }
  }
  return Object.fromEntries([...merged].flatMap(([name, value]) => (value === undefined ? [] : [[name, value]])));
}

/** A list of dimensions as name to value, entries without a string name and value dropped. */
function dimensionsOf(value: unknown): Record<string, string> {
  return Object.fromEntries(
    list(value).flatMap((dimension) => {
      const name = str(dimension.name) ?? str(dimension.Name);
      const text = str(dimension.value) ?? str(dimension.Value);
      return name !== undefined && text !== undefined ? [[name, text]] : [];
    }),
  );
}

/** Any value as text for a plain notice: JSON where possible, else its type. */
function asText(value: unknown): string {
  if (value === undefined) return '';
  try {
    // JSON.stringify returns undefined for functions and symbols, whatever its declared type says.
    const json: unknown = JSON.stringify(value);
    return typeof json === 'string' ? json : typeof value;
  } catch (error) {
    return `(unprintable ${typeof value}: ${error instanceof Error ? error.message : 'unknown error'})`;
  }
}

function plain(
  body: string,
  shape: PlainNotice['shape'],
  subject: string | undefined,
  topicName: string | undefined,
): PlainNotice {
  return {
    kind: 'plain',
    body,
    shape,
    ...(subject ? { subject } : {}),
    ...(topicName ? { topicName } : {}),
  };
}

function list(value: unknown): Loose[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/**
 * A block report with every field checked, as version 2: entries of the wrong type are dropped,
 * missing numbers count as 0, so a report from an older or newer blocker (or a hand-made one) still
 * renders. A version 1 report (published by a blocker older than this notifier) is one run that
 * listed everything, so its totals are its list lengths; a total is never less than its list.
 * Undefined when the value is not a block report at all.
 */
export function normalizeReport(value: unknown): BlockReportV2 | undefined {
  if (!isBlockReport(value) || !isObject(value)) return undefined;
  const loose: Loose = value;
  const overflow = isObject(loose.overflow) ? loose.overflow : {};
  const rejected = isObject(loose.rejectedKeys) ? loose.rejectedKeys : {};
  const lists = reportLists(loose);
  const since = value.version === 2 ? str(loose.since) : undefined;
  return {
    kind: value.kind,
    version: 2,
    at: str(loose.at) ?? '',
    ...(since === undefined ? {} : { since }),
    runs: Math.max(1, Math.floor(count(loose.runs))),
    webAclName: str(loose.webAclName) ?? '(unknown web ACL)',
    dryRun: loose.dryRun === true,
    collected: loose.collected !== false,
    ...lists,
    // Version 1 had no totals; in version 2 a missing or short one is not believed below its list.
    addedCount: Math.max(lists.added.length, value.version === 2 ? count(loose.addedCount) : 0),
    expiredCount: Math.max(lists.expired.length, value.version === 2 ? count(loose.expiredCount) : 0),
    overflow: {
      count: count(overflow.count),
      sample: Array.isArray(overflow.sample)
        ? (overflow.sample as unknown[]).filter((range): range is string => typeof range === 'string')
        : [],
    },
    ipSets: list(loose.ipSets).flatMap((set) => {
      const name = str(set.name);
      return name
        ? [
            {
              name,
              family: set.family === 'IPV6' ? ('IPV6' as const) : ('IPV4' as const),
              size: count(set.size),
              capacity: count(set.capacity),
              ...(set.tier === 'neighbour' ? { tier: 'neighbour' as const } : {}),
            },
          ]
        : [];
    }),
    topHosts: list(loose.topHosts).flatMap((host) => {
      const name = str(host.host);
      return name === undefined ? [] : [{ host: name, count: count(host.count) }];
    }),
    rejectedKeys: Object.fromEntries(
      Object.entries(rejected).flatMap(([reason, n]) => (typeof n === 'number' ? [[reason, count(n)]] : [])),
    ),
    unreadableRules: Array.isArray(loose.unreadableRules)
      ? (loose.unreadableRules as unknown[]).filter((rule): rule is string => typeof rule === 'string')
      : [],
  };
}

/** The added and expired ranges of a loose report, entries without a range dropped. */
function reportLists(loose: Loose): Pick<BlockReportV2, 'added' | 'expired'> {
  return {
    added: list(loose.added).flatMap((entry) => {
      const range = str(entry.range);
      const tier = entry.tier === 'neighbour' ? { tier: 'neighbour' as const } : {};
      return range ? [{ range, source: str(entry.source) ?? 'unknown', hits: count(entry.hits), ...tier }] : [];
    }),
    expired: list(loose.expired).flatMap((entry) => {
      const range = str(entry.range);
      const tier = entry.tier === 'neighbour' ? { tier: 'neighbour' as const } : {};
      const lastSeen = str(entry.lastSeen) ?? '';
      return range ? [{ range, source: str(entry.source) ?? 'unknown', lastSeen, ...tier }] : [];
    }),
  };
}
