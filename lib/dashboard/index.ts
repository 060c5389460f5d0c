import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { BLOCKLIST_ENTRIES_METRICS, HEALTH_METRICS } from '#contracts/health';
import type { WafScope } from '../blocklist-web-acl';
import {
  actionWord,
  autoblockMetric,
  DASHBOARD_PERIOD,
  type AutoblockMetricName,
  wafRequests,
  type WafMetricSource,
  type WafRuleMetric,
} from './metrics';

export { wafRuleMetricsOf, type WafRuleMetric, type WafRequestMetricName } from './metrics';

/** A Lambda function of this stack as the dashboard draws it. */
export interface MonitoredFunction {
  readonly function: lambda.Function;
  /** Its Powertools service name: the `service` dimension of the metrics it publishes. */
  readonly serviceName: string;
}

/** Props of {@link OperationsDashboard}. */
export interface OperationsDashboardProps {
  /**
   * Prefix of the dashboard's name, `<namePrefix>-<region>` (dashboards are named per account,
   * not per region, so the region keeps two deployments of one stack apart). Letters, digits,
   * `-` and `_` only.
   */
  readonly namePrefix: string;
  readonly scope: WafScope;
  /** The web ACL's name, which is also its metric name (the `WebACL` dimension). */
  readonly webAclName: string;
  /** The web ACL's rules in priority order ({@link wafRuleMetricsOf} reads them from the web ACL). */
  readonly rules: readonly WafRuleMetric[];
  readonly blocker: MonitoredFunction;
  readonly notifier: MonitoredFunction;
  /** The BlockedRequests alarm that opens the blocker's gate; listed first under "Alarms". */
  readonly attackAlarm: cloudwatch.IAlarm;
  /**
   * The health alarms, listed under "Alarms" after the attack alarm.
   * @default none
   */
  readonly healthAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * The dead-letter queue of the functions' asynchronous events; its depth is drawn, with the line
   * at which the `dead-letters` health alarm fires.
   * @default none: no dead-letter graph
   */
  readonly deadLetters?: sqs.IQueue;
  /**
   * Most entries one blocklist IP set holds; times {@link ipSetsPerFamily}, drawn as the capacity
   * line on each family's blocklist graph.
   * @default 10,000, AWS WAF's limit per IP set
   */
  readonly ipSetCapacity?: number;
  /**
   * Blocklist IP sets per family (`blocker.ipSetsPerFamily`): one family's blocklist holds this
   * many times {@link ipSetCapacity} ranges.
   * @default 1
   */
  readonly ipSetsPerFamily?: number;
  /**
   * Fill of a family's blocklist IP sets, in percent of their capacity, from which it is "nearly
   * full" (the health alarm's threshold); drawn as a line on the fill graph and on each family's.
   * @default 90
   */
  readonly nearlyFullPercent?: number;
  /**
   * The neighbour tier's action (`blocker.neighbourAction` CHALLENGE or CAPTCHA): the fill graph
   * then draws the neighbour sets' fill (NeighbourUtilization) beside the blocklists', against the
   * same lines, as the blocklist-full alarm watches both.
   * @default none: no neighbour tier, the blocklists' fill alone
   */
  readonly neighbourAction?: 'CHALLENGE' | 'CAPTCHA';
}

const FULL_WIDTH = 24;
const THIRD = 8;
const HALF = 12;
const GRAPH_HEIGHT = 6;
const COUNT_AXIS: cloudwatch.YAxisProps = { min: 0, showUnits: false };

/**
 * One CloudWatch dashboard for the whole of waf-autoblock, a row per question: are the alarms OK;
 * what is the web ACL allowing and blocking, and by which rule; what did the blocker see, add and
 * expire; how full are the blocklists; does the blocker run, fail, take long or meet lock
 * conflicts; does the notifier deliver to Telegram. Built from the metrics AWS WAF, Lambda and the
 * functions publish (lambdas/contracts/health.ts); it creates nothing else and costs the dashboard's
 * monthly price (the first three of an account are free).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard's name: `<namePrefix>-<region>`. */
  readonly dashboardName: string;
  /** Where the dashboard opens in the CloudWatch console (commercial partition). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const waf: WafMetricSource = { scope: props.scope, webAclName: props.webAclName, region };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.namePrefix}-${region}`,
      defaultInterval: Duration.days(1),
      widgets: [
        alarmsRow(props),
        trafficRow(waf, props.rules),
        blockerActivityRow(props.blocker.serviceName),
        blocklistRow(
          props.blocker.serviceName,
          {
            ipSetsPerFamily: props.ipSetsPerFamily ?? 1,
            ipSetCapacity: props.ipSetCapacity ?? IP_SET_CAPACITY,
            nearlyFullPercent: props.nearlyFullPercent ?? 90,
          },
          props.neighbourAction,
        ),
        blockerRunsRow(props.blocker),
        notifierRow(props.notifier),
        ...(props.deadLetters === undefined ? [] : [deadLettersRow(props.deadLetters)]),
      ],
    });
    this.dashboardName = this.dashboard.dashboardName;
    this.url = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboardName}`;
  }
}

/** A title over the state of every alarm of the stack: the attack alarm, then the health alarms. */
function alarmsRow(props: OperationsDashboardProps): cloudwatch.IWidget[] {
  const alarms = [props.attackAlarm, ...(props.healthAlarms ?? [])];
  return [
    new cloudwatch.TextWidget({
      width: FULL_WIDTH,
      height: 2,
      markdown: [
        `# waf-autoblock: ${props.webAclName}`,
        'Alarms first, then traffic, blocker activity, blocklist fill, blocker runs, Telegram delivery and the dead-letter queue. Points are 5-minute sums unless a legend says maximum.',
      ].join('\n'),
    }),
    new cloudwatch.AlarmStatusWidget({
      title: props.healthAlarms === undefined ? 'Alarms (attack)' : 'Alarms (attack and health)',
      alarms: [...alarms],
      width: FULL_WIDTH,
      height: Math.max(2, 1 + Math.ceil(alarms.length / 4)),
      sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
    }),
  ];
}

/** What the web ACL let through and stopped in total, and what each rule matched. */
function trafficRow(waf: WafMetricSource, rules: readonly WafRuleMetric[]): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Requests: allowed and blocked (web ACL)',
      width: HALF,
      height: GRAPH_HEIGHT,
      left: [
        wafRequests(waf, 'AllowedRequests', 'ALL', 'allowed'),
        wafRequests(waf, 'BlockedRequests', 'ALL', 'blocked'),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Requests by rule',
      width: HALF,
      height: GRAPH_HEIGHT,
      left: rules.map((rule) =>
        wafRequests(
          waf,
          rule.metricName,
          rule.ruleMetricName,
          `${rule.ruleMetricName} (${actionWord(rule.metricName)})`,
        ),
      ),
      leftYAxis: COUNT_AXIS,
    }),
  ];
}

/** What the blocker took from the rate rules, and what it added to and expired from the blocklists. */
function blockerActivityRow(service: string): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Rate-limited keys read by the blocker',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [autoblockMetric(service, HEALTH_METRICS.keysSeen, cloudwatch.Stats.MAXIMUM, 'keys (maximum per run)')],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Ranges added and expired',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [
        autoblockMetric(service, HEALTH_METRICS.rangesAdded, cloudwatch.Stats.SUM, 'added'),
        autoblockMetric(service, HEALTH_METRICS.rangesExpired, cloudwatch.Stats.SUM, 'expired'),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Overflow: ranges that did not fit',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [autoblockMetric(service, HEALTH_METRICS.overflow, cloudwatch.Stats.MAXIMUM, 'overflow (maximum per run)')],
      leftYAxis: COUNT_AXIS,
    }),
  ];
}

/** How much one family's blocklist may hold, and where it is nearly full. */
interface BlocklistCapacity {
  readonly ipSetsPerFamily: number;
  readonly ipSetCapacity: number;
  readonly nearlyFullPercent: number;
}

/**
 * How full the blocklists are: the fill metric (the fuller family's) against 100 %, then each
 * family's entries against its own capacity, its IP sets × their capacity. Not IPv4 and IPv6
 * together: a range of one family never takes room in the other's sets. With a neighbour tier the
 * fill graph draws the neighbour sets' fill too (the fuller family's), against the same lines.
 */
function blocklistRow(
  service: string,
  capacity: BlocklistCapacity,
  neighbourAction: 'CHALLENGE' | 'CAPTCHA' | undefined,
): cloudwatch.IWidget[] {
  const { nearlyFullPercent } = capacity;
  const fill = (metricName: AutoblockMetricName, label: string) =>
    autoblockMetric(service, metricName, cloudwatch.Stats.MAXIMUM, label);
  return [
    new cloudwatch.GraphWidget({
      title:
        neighbourAction === undefined
          ? 'Blocklist fill: the fuller family, % of its capacity'
          : 'Blocklist and neighbour set fill: the fuller family of each, % of its capacity',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left:
        neighbourAction === undefined
          ? [fill(HEALTH_METRICS.blocklistUtilization, 'fill (maximum)')]
          : [
              fill(HEALTH_METRICS.blocklistUtilization, 'blocklists (maximum)'),
              fill(HEALTH_METRICS.neighbourUtilization, `neighbour sets, ${neighbourAction} (maximum)`),
            ],
      leftYAxis: { min: 0, max: 100, label: '%', showUnits: false },
      leftAnnotations: [
        { value: 100, label: 'full', color: cloudwatch.Color.RED },
        { value: nearlyFullPercent, label: `nearly full (${nearlyFullPercent} %)`, color: cloudwatch.Color.ORANGE },
      ],
    }),
    familyEntriesGraph(service, 'IPV4', capacity),
    familyEntriesGraph(service, 'IPV6', capacity),
  ];
}

/** One family's blocklist entries (all its IP sets, others' entries included) against its capacity. */
function familyEntriesGraph(
  service: string,
  family: 'IPV4' | 'IPV6',
  { ipSetsPerFamily, ipSetCapacity, nearlyFullPercent }: BlocklistCapacity,
): cloudwatch.GraphWidget {
  const name = family === 'IPV4' ? 'IPv4' : 'IPv6';
  const familyCapacity = ipSetsPerFamily * ipSetCapacity;
  const sets = `${ipSetsPerFamily} IP set${ipSetsPerFamily === 1 ? '' : 's'}`;
  return new cloudwatch.GraphWidget({
    title:
      ipSetsPerFamily === 1
        ? `${name} blocklist: entries of its IP set against its capacity`
        : `${name} blocklist: entries of its ${sets} against their capacity`,
    width: THIRD,
    height: GRAPH_HEIGHT,
    left: [autoblockMetric(service, BLOCKLIST_ENTRIES_METRICS[family], cloudwatch.Stats.MAXIMUM, 'entries (maximum)')],
    leftYAxis: COUNT_AXIS,
    leftAnnotations: [
      {
        value: familyCapacity,
        label: `capacity (${sets} × ${ipSetCapacity.toLocaleString('en-US')})`,
        color: cloudwatch.Color.RED,
      },
      {
        value: (familyCapacity * nearlyFullPercent) / 100,
        label: `nearly full (${nearlyFullPercent} %)`,
        color: cloudwatch.Color.ORANGE,
      },
    ],
  });
}

/** Whether the blocker runs and succeeds, how long a run takes against its timeout, and its lock conflicts. */
function blockerRunsRow(blocker: MonitoredFunction): cloudwatch.IWidget[] {
  const fn = blocker.function;
  return [
    new cloudwatch.GraphWidget({
      title: 'Blocker runs',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [
        fn.metricInvocations({ period: DASHBOARD_PERIOD, label: 'invocations' }),
        autoblockMetric(blocker.serviceName, HEALTH_METRICS.runSucceeded, cloudwatch.Stats.SUM, 'succeeded'),
        fn.metricErrors({ period: DASHBOARD_PERIOD, label: 'errors' }),
        fn.metricThrottles({ period: DASHBOARD_PERIOD, label: 'throttles' }),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    durationGraph('Blocker duration', fn),
    new cloudwatch.GraphWidget({
      title: 'Lock conflicts (WAF optimistic lock)',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [autoblockMetric(blocker.serviceName, HEALTH_METRICS.lockConflicts, cloudwatch.Stats.SUM, 'conflicts')],
      leftYAxis: COUNT_AXIS,
    }),
  ];
}

/** Whether the notifier runs, and whether its Telegram messages arrive. */
function notifierRow(notifier: MonitoredFunction): cloudwatch.IWidget[] {
  const fn = notifier.function;
  return [
    new cloudwatch.GraphWidget({
      title: 'Telegram messages',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [
        autoblockMetric(notifier.serviceName, HEALTH_METRICS.telegramDelivered, cloudwatch.Stats.SUM, 'delivered'),
        autoblockMetric(notifier.serviceName, HEALTH_METRICS.telegramUndelivered, cloudwatch.Stats.SUM, 'undelivered'),
        // Watched by no alarm (it would raise itself again): the ops e-mail carries these.
        autoblockMetric(
          notifier.serviceName,
          HEALTH_METRICS.opsUndelivered,
          cloudwatch.Stats.SUM,
          'ops messages undelivered (sent by e-mail only)',
        ),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    new cloudwatch.GraphWidget({
      title: 'Notifier runs',
      width: THIRD,
      height: GRAPH_HEIGHT,
      left: [
        fn.metricInvocations({ period: DASHBOARD_PERIOD, label: 'invocations' }),
        fn.metricErrors({ period: DASHBOARD_PERIOD, label: 'errors' }),
        fn.metricThrottles({ period: DASHBOARD_PERIOD, label: 'throttles' }),
      ],
      leftYAxis: COUNT_AXIS,
    }),
    durationGraph('Notifier duration', fn),
  ];
}

/**
 * The events that failed for good and wait in the dead-letter queue: the depth the `dead-letters`
 * alarm watches, drawn as its maximum. SQS publishes nothing for an idle queue, so an empty
 * graph means an empty queue; `waf-autoblock status` reads the depth itself.
 */
function deadLettersRow(queue: sqs.IQueue): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Dead-letter queue: events that failed for good, waiting',
      width: HALF,
      height: GRAPH_HEIGHT,
      left: [
        queue.metricApproximateNumberOfMessagesVisible({
          period: DASHBOARD_PERIOD,
          statistic: cloudwatch.Stats.MAXIMUM,
          label: 'waiting (maximum)',
        }),
      ],
      leftYAxis: COUNT_AXIS,
      leftAnnotations: [{ value: 1, label: 'dead-letters alarm (1)', color: cloudwatch.Color.RED }],
    }),
  ];
}

/** Average and longest duration of a function, against its timeout when it has one. */
function durationGraph(title: string, fn: lambda.Function): cloudwatch.GraphWidget {
  const timeout = fn.timeout?.toMilliseconds();
  return new cloudwatch.GraphWidget({
    title,
    width: THIRD,
    height: GRAPH_HEIGHT,
    left: [
      fn.metricDuration({ period: DASHBOARD_PERIOD, statistic: cloudwatch.Stats.AVERAGE, label: 'average' }),
      fn.metricDuration({ period: DASHBOARD_PERIOD, statistic: cloudwatch.Stats.MAXIMUM, label: 'longest' }),
    ],
    leftYAxis: { min: 0, label: 'ms', showUnits: false },
    leftAnnotations:
      timeout === undefined
        ? []
        : [{ value: timeout, label: `timeout (${timeout / 1000} s)`, color: cloudwatch.Color.RED }],
  });
}
