/**
 * What a synthesized CloudWatch alarm would say about some metric data, for tests that follow a
 * fault from the Lambda's output to the alarm: the datapoints an alarm sees in EMF records (the
 * Powertools metrics lines), and the state CloudWatch's documented evaluation gives them (the last
 * EvaluationPeriods periods, DatapointsToAlarm of them breaching, missing data treated as the alarm
 * says). Simplified on purpose: no metric math, percentiles or evaluate-low-sample-count rules.
 */

/** The properties of an AWS::CloudWatch::Alarm on one metric, as synthesized. */
export interface MetricAlarmProperties {
  readonly AlarmName?: unknown;
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions?: readonly { readonly Name: string; readonly Value: unknown }[];
  readonly Statistic: string;
  readonly Period: number;
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData?: string;
}

/** One period's datapoint, or undefined when the metric had no data in it. */
export type Datapoint = number | undefined;

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (value, threshold) => value >= threshold,
  GreaterThanThreshold: (value, threshold) => value > threshold,
  LessThanThreshold: (value, threshold) => value < threshold,
  LessThanOrEqualToThreshold: (value, threshold) => value <= threshold,
};

/**
 * The state an alarm takes over `datapoints` (one per period, oldest first).
 * @throws {Error} for a comparison operator this helper does not know.
 */
export function alarmState(
  alarm: MetricAlarmProperties,
  datapoints: readonly Datapoint[],
): 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' {
  const compare = COMPARE[alarm.ComparisonOperator];
  if (!compare) throw new Error(`unknown comparison ${alarm.ComparisonOperator}`);
  const window: Datapoint[] = datapoints.slice(-alarm.EvaluationPeriods);
  while (window.length < alarm.EvaluationPeriods) window.unshift(undefined);
  const missingIs = alarm.TreatMissingData ?? 'missing';
  if (window.every((value) => value === undefined) && (missingIs === 'missing' || missingIs === 'ignore')) {
    return 'INSUFFICIENT_DATA';
  }
  const breaching = window.filter((value) =>
    value === undefined ? missingIs === 'breaching' : compare(value, alarm.Threshold),
  ).length;
  return breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) ? 'ALARM' : 'OK';
}

/**
 * The datapoint one period's EMF records give an alarm on a custom metric: the alarm's statistic
 * over every value of its metric in records of its namespace whose dimensions are exactly the
 * alarm's; undefined when no record carries it.
 */
export function emfDatapoint(alarm: MetricAlarmProperties, records: readonly Record<string, unknown>[]): Datapoint {
  const dimensions = alarm.Dimensions ?? [];
  const values = records.flatMap((record) => {
    const directives = (record._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined)?.CloudWatchMetrics ?? [];
    const published = directives.some(
      (directive) =>
        directive.Namespace === alarm.Namespace &&
        directive.Metrics.some((metric) => metric.Name === alarm.MetricName) &&
        directive.Dimensions.some(
          (set) =>
            set.length === dimensions.length &&
            dimensions.every((dimension) => set.includes(dimension.Name) && record[dimension.Name] === dimension.Value),
        ),
    );
    const value = record[alarm.MetricName];
    if (!published) return [];
    return Array.isArray(value) ? (value as number[]) : typeof value === 'number' ? [value] : [];
  });
  return aggregate(values, alarm.Statistic);
}

interface EmfDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string }[];
}

/** CloudWatch's statistic over one period's values; undefined when there are none. */
export function aggregate(values: readonly number[], statistic: string): Datapoint {
  if (values.length === 0) return undefined;
  switch (statistic) {
    case 'Sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    case 'Average':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    default:
      throw new Error(`unknown statistic ${statistic}`);
  }
}
