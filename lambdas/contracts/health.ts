/**
 * The health contract shared by the stack (which defines the health alarms, the dashboard and the
 * ops topic), the Lambdas (which publish the metrics) and the notifier and CLI (which read the
 * alarms back): metric names, the alarm kinds and how an alarm's name says which kind it is.
 * Imports nothing from the AWS SDK or the CDK.
 */

/** CloudWatch namespace of every custom metric the Lambdas publish (Powertools `POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'WafAutoblock';

/**
 * Custom metric names (unit Count unless said). Each is published with the dimension `service`
 * (Powertools' default dimension), whose value is the function's service name.
 */
export const HEALTH_METRICS = {
  /**
   * 1 for every blocker run that finished without throwing, 0 for one that failed: drawn on the
   * dashboard beside Lambda's Invocations. No alarm watches it (blocker-stopped counts Invocations,
   * blocker-failing Errors).
   */
  runSucceeded: 'RunSucceeded',
  /**
   * Ranges the blocker holds in its sets, summed over families and, with a neighbour tier, over
   * both tiers (a range in both counts twice) (existing).
   */
  rangesActive: 'RangesActive',
  rangesAdded: 'RangesAdded',
  rangesExpired: 'RangesExpired',
  lockConflicts: 'LockConflicts',
  /** Ranges that had to be blocked but did not fit in their IP sets (existing). */
  overflow: 'Overflow',
  /** Rate-limited keys the blocker read from the rate-based rules this run. */
  keysSeen: 'KeysSeen',
  /** Highest fill of any blocklist IP set family, in percent of its capacity (unit Percent). */
  blocklistUtilization: 'BlocklistUtilization',
  /**
   * With a neighbour tier only (`blocker.neighbourAction` CHALLENGE or CAPTCHA): the highest fill
   * of either family's neighbour IP sets, in percent of their capacity (unit Percent). The
   * blocklist-full alarm then watches the higher of this and BlocklistUtilization.
   */
  neighbourUtilization: 'NeighbourUtilization',
  /**
   * Entries in the IPv4 / IPv6 blocklist IP sets together after a run (every set of the family,
   * entries added by others included): what counts against the family's capacity, sets × 10,000.
   */
  blocklistEntriesIpv4: 'BlocklistEntriesIPv4',
  blocklistEntriesIpv6: 'BlocklistEntriesIPv6',
  /** Telegram message parts the notifier sent (ops messages included). */
  telegramDelivered: 'TelegramDelivered',
  /** Attack alarm, report and other message parts not delivered: the telegram-undelivered alarm watches it. */
  telegramUndelivered: 'TelegramUndelivered',
  /**
   * Ops message parts (a health alarm's ALARM or OK) not delivered. Drawn on the dashboard, watched
   * by no alarm: a health alarm whose own message failed must not raise itself again (the ops
   * e-mail carries it).
   */
  opsUndelivered: 'OpsUndelivered',
} as const;

/**
 * The metric of each family's blocklist entries. One metric name per family rather than a `family`
 * dimension: Powertools puts every metric of a run's one EMF record under the same dimensions, and
 * a second record per family would split the run's flush that the dashboard and tests read as one.
 */
export const BLOCKLIST_ENTRIES_METRICS = {
  IPV4: HEALTH_METRICS.blocklistEntriesIpv4,
  IPV6: HEALTH_METRICS.blocklistEntriesIpv6,
} as const satisfies Readonly<Record<'IPV4' | 'IPV6', string>>;

/** The kinds of health alarm; each maps to one alarm in the stack. */
export type HealthAlarmKind =
  | 'blocker-failed'
  | 'blocker-failing'
  | 'blocker-stopped'
  | 'notifier-failed'
  | 'telegram-undelivered'
  | 'blocklist-full'
  | 'overflow'
  | 'dead-letters';

/** Every health alarm kind, in the order status and the dashboard list them. */
export const HEALTH_ALARM_KINDS: readonly HealthAlarmKind[] = [
  'blocker-failed',
  'blocker-failing',
  'blocker-stopped',
  'notifier-failed',
  'telegram-undelivered',
  'blocklist-full',
  'overflow',
  'dead-letters',
];

/** The infix that marks a health alarm's name: `<namePrefix>-health-<kind>`. */
export const HEALTH_ALARM_INFIX = '-health-';

/**
 * The CloudWatch alarm name of one health alarm.
 * @param namePrefix the stack's name prefix (the stack name by default)
 */
export function healthAlarmName(namePrefix: string, kind: HealthAlarmKind): string {
  return `${namePrefix}${HEALTH_ALARM_INFIX}${kind}`;
}

/**
 * The health alarm kind an alarm name ends with, or undefined when the name is not a health alarm's.
 * @param alarmName a CloudWatch alarm name, e.g. `shop-web-health-blocker-stopped`
 */
export function healthAlarmKindOf(alarmName: string): HealthAlarmKind | undefined {
  const at = alarmName.lastIndexOf(HEALTH_ALARM_INFIX);
  if (at < 0) return undefined;
  const kind = alarmName.slice(at + HEALTH_ALARM_INFIX.length);
  return HEALTH_ALARM_KINDS.find((known) => known === kind);
}
