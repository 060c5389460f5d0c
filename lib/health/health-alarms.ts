import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  HEALTH_ALARM_KINDS,
  HEALTH_METRICS,
  healthAlarmName,
  METRICS_NAMESPACE,
  type HealthAlarmKind,
} from '#contracts/health';
import type { OpsChannel } from './ops-channel';
import { RUNS_WATCHED, scheduleIntervalSeconds } from './schedule-interval';

/** Fill of a blocklist IP set, in percent of what WAF allows, at which `blocklist-full` fires. */
export const BLOCKLIST_FULL_PERCENT = 90;
/** Period of the alarms on the notifier and the dead-letter queue, which run on events, not on a schedule. */
export const EVENT_ALARM_PERIOD = Duration.minutes(5);

/** What the alarms need of a watched function (an `AutoblockFunction` has all three). */
export interface WatchedFunction {
  readonly function: lambda.IFunction;
  /** Named in the alarm descriptions: where to look. */
  readonly logGroup: logs.ILogGroup;
  /** The `service` dimension of its custom metrics (its Powertools service name). */
  readonly serviceName: string;
}

/** Props of {@link HealthAlarms}. */
export interface HealthAlarmsProps {
  /** Prefix of the alarm names: `<namePrefix>-health-<kind>` (see `healthAlarmName`). */
  readonly namePrefix: string;
  /** The ops topic the alarms publish to, and the dead-letter queue they watch. */
  readonly channel: OpsChannel;
  /** The blocker function; its service name is the `service` dimension of its metrics. */
  readonly blocker: WatchedFunction;
  /**
   * The alias that the 1-minute attack tick invokes (`Blocker.attackTick`). blocker-stopped counts
   * every invocation of the blocker but these: a tick runs each minute whatever the schedule does,
   * and would hide a disabled schedule rule.
   * @default none: no attack tick (gate `always`), so every invocation counts
   */
  readonly attackTick?: lambda.IFunction;
  /** The notifier function; its service name is the `service` dimension of its metrics. */
  readonly notifier: WatchedFunction;
  /** `blocker.schedule`: the blocker alarms count in periods of its interval. */
  readonly schedule: string;
  /**
   * The neighbour tier's action (`blocker.neighbourAction` CHALLENGE or CAPTCHA): blocklist-full
   * then watches the fuller of the blocklists and the neighbour sets (the higher of
   * BlocklistUtilization and NeighbourUtilization), since neighbour sets that fill up overflow too.
   * @default none: no neighbour tier; blocklist-full watches the blocklists alone
   */
  readonly neighbourAction?: 'CHALLENGE' | 'CAPTCHA';
}

/** What one health alarm watches and when it fires. */
interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** What the alarm means and what to check; the CloudWatch console, the e-mail and `status` show it. */
  readonly description: string;
  /**
   * Whether its ALARM and OK go to the ops topic. An alarm that another one already says more
   * precisely stays on the dashboard and in `status` only, so that one fault pages once.
   */
  readonly pages: boolean;
}

const AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
// No data on these means nothing happened (no run, no event): never a fault by itself. A blocker
// that does not run is blocker-stopped's to say.
const QUIET_IS_FINE = cloudwatch.TreatMissingData.NOT_BREACHING;

/**
 * The stack watching itself: one CloudWatch alarm per health alarm kind (lambdas/contracts/health.ts),
 * each named with `healthAlarmName`, each sending its ALARM and its OK to the ops topic.
 *
 * The blocker's alarms count in periods of one schedule interval (`rate(5 minutes)`: 300 s; see
 * schedule-interval.ts for cron expressions); the notifier's and the dead-letter queue's in 5-minute
 * periods.
 *
 * @throws {ConfigError} naming `blocker.schedule` when the schedule is not one that key accepts.
 */
export class HealthAlarms extends Construct {
  /** Every health alarm, by kind. */
  readonly alarms: Readonly<Record<HealthAlarmKind, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: HealthAlarmsProps) {
    super(scope, id);
    const specs = alarmSpecs(props);
    const topic = props.channel.topic;
    const alarms = {} as Record<HealthAlarmKind, cloudwatch.Alarm>;
    for (const kind of HEALTH_ALARM_KINDS) {
      const { description, pages, ...spec } = specs[kind];
      const alarm = new cloudwatch.Alarm(this, kind, {
        alarmName: healthAlarmName(props.namePrefix, kind),
        alarmDescription: description,
        ...spec,
      });
      if (pages) {
        alarm.addAlarmAction(new actions.SnsAction(topic));
        alarm.addOkAction(new actions.SnsAction(topic));
      }
      alarms[kind] = alarm;
    }
    this.alarms = alarms;

    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheHealthAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': HEALTH_ALARM_KINDS.filter((kind) => specs[kind].pages).map(
              (kind) => alarms[kind].alarmArn,
            ),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
  }
}

/** The eight alarms, with their thresholds and the reasons for them. */
function alarmSpecs(props: HealthAlarmsProps): Record<HealthAlarmKind, AlarmSpec> {
  return { ...blockerAlarmSpecs(props), ...eventAlarmSpecs(props) };
}

const ONCE = { evaluationPeriods: 1, datapointsToAlarm: 1 } as const;

/** The alarms on the blocker's runs, counted in periods of its schedule interval. */
function blockerAlarmSpecs({
  blocker,
  attackTick,
  schedule,
  neighbourAction,
}: HealthAlarmsProps): Record<Exclude<HealthAlarmKind, EventAlarmKind>, AlarmSpec> {
  const periodSeconds = scheduleIntervalSeconds(schedule);
  const evaluationPeriods = RUNS_WATCHED;
  const period = Duration.seconds(periodSeconds);
  const every = describeSeconds(periodSeconds);
  const blockerMetric = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: blocker.serviceName },
      statistic,
      period,
    });
  const errors = blocker.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period });
  const check = `Check the blocker's log group ${blocker.logGroup.logGroupName} (lines "blocker run failed" name the resource), the role's permissions, the ledger table and the IP sets.`;
  const roomCheck =
    'Check blocker.blockDurationMinutes (shorter blocks free room sooner), the prefixes, and entries added by hand.';

  return {
    'blocker-failed': {
      metric: errors,
      threshold: 1,
      comparisonOperator: AT_LEAST,
      ...ONCE,
      treatMissingData: QUIET_IS_FINE,
      // Pages nobody: one failed run is often a throttled or contended WAF write that the next run
      // repairs. Shown on the dashboard and by status; blocker-failing pages when it lasts.
      pages: false,
      description: `waf-autoblock: a blocker run failed (Errors >= 1 in ${every}; dashboard and status only, no notification: blocker-failing notifies at ${RUNS_WATCHED} in a row). Ranges already blocked stay blocked; the run wrote nothing it could not finish. ${check}`,
    },
    'blocker-failing': {
      metric: errors,
      threshold: 1,
      comparisonOperator: AT_LEAST,
      evaluationPeriods,
      // Three, not one: a single failure can be a throttled or contended WAF write that the next run
      // repairs; three in a row (15 minutes by default) is a fault that needs a person, noticed as
      // soon as blocker-stopped notices a blocker that does not run at all.
      datapointsToAlarm: RUNS_WATCHED,
      treatMissingData: QUIET_IS_FINE,
      pages: true,
      description: `waf-autoblock: the blocker failed ${RUNS_WATCHED} runs in a row (Errors >= 1 in ${RUNS_WATCHED} periods of ${every}). New attackers are not blocked and no block expires until it is fixed. ${check}`,
    },
    'blocker-stopped': {
      metric: invocationsButAttackTicks(blocker.function, attackTick, period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      // A blocker that is never invoked has no data point: silence is the fault this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      pages: true,
      description: `waf-autoblock: the blocker was not invoked for ${RUNS_WATCHED} schedule intervals (${describeSeconds(RUNS_WATCHED * periodSeconds)}; Invocations other than the 1-minute attack tick's < 1, no data counts). Check that the EventBridge schedule rule is enabled, that the function exists, and that its reserved concurrency is not 0 (throttled invocations do not count). A blocker that runs and fails is blocker-failing's.`,
    },
    'blocklist-full': blocklistFullSpec(blockerMetric, neighbourAction, roomCheck),
    overflow: {
      metric: blockerMetric(HEALTH_METRICS.overflow, cloudwatch.Stats.MAXIMUM),
      threshold: 1,
      comparisonOperator: AT_LEAST,
      ...ONCE,
      treatMissingData: QUIET_IS_FINE,
      pages: true,
      description: `waf-autoblock: ranges that should be blocked did not fit in their IP set (Overflow >= 1 in ${every}); the most recent and most active were kept, and the block reports list the rest. ${roomCheck}`,
    },
  };
}

/**
 * blocklist-full: one family's blocklist sets at least {@link BLOCKLIST_FULL_PERCENT} % full
 * together; with a neighbour tier, or one family's neighbour sets. One alarm for both tiers: the
 * fault (sets filling up, then ranges overflowing) and what to do about it are the same, and
 * `waf-autoblock status` says which list it is. Both metrics come in every successful run's one
 * EMF record, so they have data in the same periods.
 *
 * `MAX([blocklists, neighbours])` gives, per period, the higher of the two (CloudWatch metric
 * math, MAX of an array of time series:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html). Without
 * a neighbour tier the alarm watches BlocklistUtilization itself, as it always did.
 */
function blocklistFullSpec(
  blockerMetric: (metricName: string, statistic: string) => cloudwatch.Metric,
  neighbourAction: 'CHALLENGE' | 'CAPTCHA' | undefined,
  roomCheck: string,
): AlarmSpec {
  const alarm = {
    threshold: BLOCKLIST_FULL_PERCENT,
    comparisonOperator: AT_LEAST,
    ...ONCE,
    treatMissingData: QUIET_IS_FINE,
    pages: true,
  } as const;
  const blocklists = blockerMetric(HEALTH_METRICS.blocklistUtilization, cloudwatch.Stats.MAXIMUM);
  if (neighbourAction === undefined) {
    return {
      ...alarm,
      metric: blocklists,
      description: `waf-autoblock: the blocklist IP sets of one family are at least ${BLOCKLIST_FULL_PERCENT}% full together (BlocklistUtilization >= ${BLOCKLIST_FULL_PERCENT}, of the family's sets × 10,000 entries). When all its sets are full, new ranges overflow. ${roomCheck}`,
    };
  }
  return {
    ...alarm,
    metric: new cloudwatch.MathExpression({
      expression: 'MAX([blocklists, neighbours])',
      usingMetrics: {
        blocklists,
        neighbours: blockerMetric(HEALTH_METRICS.neighbourUtilization, cloudwatch.Stats.MAXIMUM),
      },
      label: 'Fill of the fullest list: blocklist or neighbour sets',
      period: blocklists.period,
    }),
    description: `waf-autoblock: the blocklist IP sets or the neighbour IP sets (${neighbourAction}) of one family are at least ${BLOCKLIST_FULL_PERCENT}% full together (the higher of BlocklistUtilization and NeighbourUtilization >= ${BLOCKLIST_FULL_PERCENT}, of the family's sets × 10,000 entries). When all its sets are full, new ranges overflow. waf-autoblock status shows which list. ${roomCheck}`,
  };
}

/**
 * What blocker-stopped counts, per period: the blocker's invocations, all of them but the attack
 * tick's (metric math `FILL(invocations, 0) - FILL(attackTicks, 0)`).
 *
 * Invocations, not successful runs: a blocker that runs and fails is blocker-failing's to say, so
 * that one fault pages once. Lambda counts an invocation that fails or times out too, but not a
 * throttled one (reserved concurrency 0).
 *
 * `invocations` is by FunctionName alone, which Lambda aggregates over every version and alias of
 * the function; `attackTicks` adds Resource `<function>:attack-tick`, the alias the tick invokes
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html, "Using dimensions").
 * So the schedule (alias `scheduled`), the first deploy's run (a `triggers.Trigger`, which invokes a
 * published version), alarm messages and ban-feed messages (unqualified) all count, and the tick,
 * which runs each minute whatever the schedule does, does not.
 *
 * FILL(…, 0) gives a period without data the value 0 (CloudWatch metric math, "Functions supported
 * for metric math", FILL: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html),
 * so that a period with scheduled runs and no tick is its runs, and one with ticks only is 0. A
 * period in which nothing invoked the blocker is 0 or, should the expression give no data point
 * there, missing; the alarm treats missing data as breaching, so either way it breaches
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html, "Alarms
 * on math expressions": missing data is treated as the alarm says, as for a single metric). FILL's
 * documented pitfall, a late last data point filled with 0, cannot page alone: the alarm needs
 * ${RUNS_WATCHED} breaching periods of ${RUNS_WATCHED}.
 */
function invocationsButAttackTicks(
  fn: lambda.IFunction,
  attackTick: lambda.IFunction | undefined,
  period: Duration,
): cloudwatch.MathExpression {
  const invocations = fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period });
  if (attackTick === undefined) {
    return new cloudwatch.MathExpression({
      expression: 'FILL(invocations, 0)',
      usingMetrics: { invocations },
      label: 'Blocker invocations',
      period,
    });
  }
  return new cloudwatch.MathExpression({
    expression: 'FILL(invocations, 0) - FILL(attackTicks, 0)',
    usingMetrics: {
      invocations,
      attackTicks: attackTick.metricInvocations({ statistic: cloudwatch.Stats.SUM, period }),
    },
    label: 'Blocker invocations other than the attack tick',
    period,
  });
}

/**
 * Missing data on the dead-letter queue's depth keeps the alarm's state. SQS publishes a queue's
 * metrics only while the queue is active ("All metrics emit non-negative values only when the queue
 * is active", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html;
 * the age of the oldest message is "reported if the queue contains at least one active message").
 * The docs do not say plainly that a queue holding messages stays active however long nobody
 * touches it. An empty idle queue has no data, which must not page; a queue that still holds a
 * message but went quiet must not look empty either. `ignore`
 * ("the current alarm state is maintained",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data)
 * does both: ALARM lasts until a data point below 1 says the queue is empty (deleting or purging
 * the messages accesses the queue, so that data point comes).
 */
const DEPTH_MISSING_DATA = cloudwatch.TreatMissingData.IGNORE;

/** The alarms that run on events rather than on the schedule. */
type EventAlarmKind = 'notifier-failed' | 'telegram-undelivered' | 'dead-letters';

/** The alarms on the notifier and the dead-letter queue's depth, in 5-minute periods. */
function eventAlarmSpecs({ notifier, channel }: HealthAlarmsProps): Record<EventAlarmKind, AlarmSpec> {
  const period = EVENT_ALARM_PERIOD;
  const undelivered = new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: HEALTH_METRICS.telegramUndelivered,
    dimensionsMap: { service: notifier.serviceName },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
  return {
    'notifier-failed': {
      // A message Telegram could not take for now (429, 5xx) fails the invocation too (a permanent
      // refusal does not: the notifier counts it and returns): that period is telegram-undelivered's
      // alone, so that one Telegram outage pages once. FILL: an invocation that fails before the
      // handler runs (at module load) publishes no TelegramUndelivered, and still counts.
      metric: new cloudwatch.MathExpression({
        expression: 'IF(FILL(undelivered, 0) > 0, 0, errors)',
        usingMetrics: {
          errors: notifier.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period }),
          undelivered,
        },
        label: 'Notifier errors other than undelivered Telegram messages',
        period,
      }),
      threshold: 1,
      comparisonOperator: AT_LEAST,
      ...ONCE,
      treatMissingData: QUIET_IS_FINE,
      pages: true,
      description: `waf-autoblock: the notifier failed for another reason than Telegram refusing a message (Errors >= 1 in 5 minutes, not counted in a period with TelegramUndelivered >= 1, which telegram-undelivered reports; Lambda retries a failed event twice, then keeps it in the dead-letter queue). Check the notifier's log group ${notifier.logGroup.logGroupName}: the bot token secret, Telegram's answers, and its permissions.`,
    },
    'telegram-undelivered': {
      metric: undelivered,
      threshold: 1,
      comparisonOperator: AT_LEAST,
      ...ONCE,
      treatMissingData: QUIET_IS_FINE,
      pages: true,
      description: `waf-autoblock: a Telegram message was not delivered (TelegramUndelivered >= 1 in 5 minutes). Check the bot token in its secret, the chat ids, and that the bot is a member of each chat. This alarm's own Telegram message may not arrive either: notifier.opsEmail is for that.`,
    },
    'dead-letters': {
      // The depth, not the arrivals: the alarm stays in ALARM while anything waits (a ban-feed
      // message must never vanish unseen), and goes OK once the queue is emptied.
      metric: channel.deadLetters.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period,
      }),
      threshold: 1,
      comparisonOperator: AT_LEAST,
      ...ONCE,
      treatMissingData: DEPTH_MISSING_DATA,
      pages: true,
      description: `waf-autoblock: an event failed for good (a ban-feed message, an alarm or a report, after Lambda's retries) and waits in the dead-letter queue ${channel.deadLetters.queueName} (ApproximateNumberOfMessagesVisible >= 1; kept 14 days). Read it with aws sqs receive-message: each message holds the event and the error. Fix the cause, publish ban-feed messages again, then delete them (aws sqs purge-queue empties it). The alarm stays in ALARM until the queue is empty.`,
    },
  };
}

/** `5 minutes`, `2 hours`, `1 day`: seconds said in the largest whole unit. */
function describeSeconds(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}
