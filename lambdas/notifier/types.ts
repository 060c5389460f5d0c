/**
 * The notifier's vocabulary: what arrived on a topic, and the figures gathered to describe it. No AWS
 * imports: the renderer and its tests use these types alone.
 */
import type { HealthAlarmKind } from '#contracts/health';
import type { BlockReport } from '#contracts/report';

/**
 * What a metric alarm watches, as its SNS message's `Trigger` describes it: the figures an ops
 * message puts in words ("3 runs in a row", "for 15 min"). Each is absent when the message lacks it
 * (a metric-math alarm has no single metric).
 */
export interface AlarmTrigger {
  readonly metricName?: string;
  /** Seconds per evaluation period. */
  readonly periodSeconds?: number;
  /** Periods that must breach before the alarm fires. */
  readonly evaluationPeriods?: number;
  readonly threshold?: number;
  /** Dimension name to value, e.g. `FunctionName` or `QueueName`; empty when there are none. */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** A CloudWatch alarm state change, as CloudWatch publishes it to SNS (only the fields we show). */
export interface AlarmNotice {
  readonly kind: 'alarm';
  readonly alarmName: string;
  /** `ALARM`, `OK` or `INSUFFICIENT_DATA` (anything else is shown as it came). */
  readonly newState: string;
  readonly oldState?: string;
  readonly reason?: string;
  readonly description?: string;
  /** Epoch milliseconds of the state change, when the message carried a parsable time. */
  readonly changedAt?: number;
  /** The watched metric, when the message described one. */
  readonly trigger?: AlarmTrigger;
  /** The alarm's AWS account (`AWSAccountId`, else from `AlarmArn`). */
  readonly account?: string;
  /** The alarm's region: its code from `AlarmArn` (`eu-west-1`), else the message's `Region` name. */
  readonly region?: string;
}

/**
 * A state change of one of the stack's health alarms (its name is `<namePrefix>-health-<kind>`,
 * see lambdas/contracts/health.ts): rendered as an ops message, not as an attack.
 */
export interface HealthNotice {
  readonly kind: 'health';
  readonly health: HealthAlarmKind;
  readonly alarm: AlarmNotice;
}

/** A block report from the blocker. */
export interface ReportNotice {
  readonly kind: 'report';
  readonly report: BlockReport;
}

/** Anything else: `aws sns publish --message test`, a foreign JSON document, garbage. */
export interface PlainNotice {
  readonly kind: 'plain';
  /** The SNS subject, if any. */
  readonly subject?: string;
  /** The message as published (possibly huge; the renderer cuts it). */
  readonly body: string;
  /** Why it is shown as plain text. */
  readonly shape: 'text' | 'json' | 'empty';
  /** The topic's name (the last part of its ARN), so the reader knows where it came from. */
  readonly topicName?: string;
}

export type Notice = AlarmNotice | HealthNotice | ReportNotice | PlainNotice;

/** One part of a summary: its value, or why it is missing. */
export type Gathered<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** One row of a "top N" list: a value (Host, address, country, rule) and its blocked requests. */
export interface TopEntry {
  readonly key: string;
  readonly count: number;
}

/** The four Logs Insights lists of an attack summary. */
export interface TopLists {
  readonly hosts: Gathered<readonly TopEntry[]>;
  readonly clientIps: Gathered<readonly TopEntry[]>;
  readonly countries: Gathered<readonly TopEntry[]>;
  readonly rules: Gathered<readonly TopEntry[]>;
}

/** One CloudFront distribution's figures over the last hour. */
export interface DistributionFigures {
  readonly id: string;
  /** First alias, else the comment, else the CloudFront domain name. */
  readonly label: string;
  readonly requests: number;
  /** Percent, 0..100; undefined when CloudWatch had no data point. */
  readonly errorRate5xx?: number;
  readonly errorRateTotal?: number;
}

export interface CloudFrontFigures {
  /** Distributions looked at (enabled ones). */
  readonly distributions: number;
  readonly byRequests: readonly DistributionFigures[];
  readonly byErrorRate: readonly DistributionFigures[];
}

/** Entries in the two blocklist IP sets right now (the blocker's and anybody else's). */
export interface BlockedCounts {
  readonly ipv4: number;
  readonly ipv6: number;
}

/** Everything an ALARM message shows besides the alarm itself. */
export interface AttackSummary {
  readonly windowMinutes: number;
  readonly top: TopLists;
  /** Undefined for REGIONAL scope, where there are no distributions to show. */
  readonly cloudfront?: Gathered<CloudFrontFigures>;
  readonly blocked: Gathered<BlockedCounts>;
}

/** A range the blocker manages and when its block ends. */
export interface Expiry {
  readonly range: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Everything an OK message shows besides the alarm itself. */
export interface AllClearSummary {
  /** When the alarm went into ALARM (epoch ms); `value` undefined when the history holds no such change. */
  readonly alarmStartedAt: Gathered<number | undefined>;
  readonly blocked: Gathered<BlockedCounts>;
  /** Ranges the blocker manages, earliest expiry first (only the first few are shown). */
  readonly managed: Gathered<{ readonly count: number; readonly next: readonly Expiry[] }>;
}

/** The blocker's last failure, as its log group tells it. */
export interface BlockerFailure {
  /** Epoch milliseconds of the log line. */
  readonly at: number;
  /** `WriteError: could not write IP set …`, `Task timed out after 60.03 seconds`, or the line itself. */
  readonly error: string;
}

/** Everything an ops message shows besides the alarm itself. */
export interface OpsDetails {
  /**
   * The blocker's last failure, for the blocker-failed and blocker-failing alarms in ALARM
   * (undefined for the others); `value` undefined when the log holds no failure in the window.
   */
  readonly lastError?: Gathered<BlockerFailure | undefined>;
  /** The blocker's log group, named in what to check (from the notifier's settings). */
  readonly blockerLogGroup?: string;
  /** The dead-letter queue's URL, for the commands that read it (from the notifier's settings). */
  readonly deadLetterQueueUrl?: string;
}
