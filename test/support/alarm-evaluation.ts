/**
 * What a synthesized CloudWatch alarm would say about some metric data, for tests that follow a
 * fault from the Lambda's output to the alarm: the datapoints an alarm sees in EMF records (the
 * Powertools metrics lines), the datapoints a metric math alarm's expression gives (its metrics'
 * datapoints through FILL, IF, arithmetic and comparisons), and the state CloudWatch's documented
 * evaluation gives them (the last EvaluationPeriods periods, DatapointsToAlarm of them breaching,
 * missing data treated as the alarm says). Simplified on purpose: no percentiles,
 * evaluate-low-sample-count rules or functions beyond those named.
 */

/** How an alarm decides, whatever it watches. */
export interface AlarmEvaluation {
  readonly AlarmName?: unknown;
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData?: string;
}

/** A metric as an alarm names it: namespace, name and dimensions. */
export interface AlarmMetric {
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions?: readonly { readonly Name: string; readonly Value: unknown }[];
}

/** The properties of an AWS::CloudWatch::Alarm on one metric, as synthesized. */
export interface MetricAlarmProperties extends AlarmEvaluation, AlarmMetric {
  readonly Statistic: string;
  readonly Period: number;
}

/** One entry of a metric math alarm's `Metrics`: a metric (MetricStat) or an expression over the others' ids. */
export interface MetricDataQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: { readonly Metric: AlarmMetric; readonly Period: number; readonly Stat: string };
  readonly ReturnData?: boolean;
  readonly Label?: string;
}

/** The properties of an AWS::CloudWatch::Alarm on a metric math expression, as synthesized. */
export interface MathAlarmProperties extends AlarmEvaluation {
  readonly Metrics: readonly MetricDataQuery[];
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
  alarm: AlarmEvaluation,
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

/**
 * What a FILL of a time series with no data at all in the range gives. CloudWatch documents FILL
 * as filling "the missing values of a time series" without saying whether a series with none
 * has any to fill; tests that depend on it check both readings.
 */
export type EmptyFill = 'zeros' | 'nothing';

/**
 * The datapoints of a metric math alarm: its returned expression evaluated period by period over
 * `series`, the datapoints of each of its metrics by Id (oldest first, one per period, undefined
 * where the metric had no data; every series as long as the first). Arithmetic and comparisons
 * treat a missing value as 0 when the other side has one, and give no value where neither has one
 * (CloudWatch, "Using metric math", basic arithmetic functions and comparison operators); FILL(x, n)
 * replaces missing values with n; IF(c, a, b) is a where c is not 0, else b.
 * @throws {Error} when the alarm returns other than one expression, names a metric `series` lacks,
 *   or the expression uses syntax this helper does not know.
 */
export function mathDatapoints(
  alarm: MathAlarmProperties,
  series: Readonly<Record<string, readonly Datapoint[]>>,
  emptyFill: EmptyFill = 'zeros',
): Datapoint[] {
  const returned = alarm.Metrics.filter((query) => query.ReturnData !== false);
  const [expression, ...more] = returned;
  if (expression?.Expression === undefined || more.length > 0) {
    throw new Error('a math alarm returns exactly one expression');
  }
  for (const query of alarm.Metrics) {
    if (query.MetricStat !== undefined && !(query.Id in series)) throw new Error(`no datapoints for ${query.Id}`);
  }
  const length = Object.values(series)[0]?.length ?? 0;
  return new ExpressionReader(expression.Expression, series, length, emptyFill).read();
}

type Series = Datapoint[];

/** A recursive-descent reading of the metric math this stack writes: ids, numbers, FILL, IF, + - * /, comparisons. */
class ExpressionReader {
  private readonly tokens: string[];
  private at = 0;

  constructor(
    text: string,
    private readonly series: Readonly<Record<string, readonly Datapoint[]>>,
    private readonly length: number,
    private readonly emptyFill: EmptyFill,
  ) {
    this.tokens =
      text.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[<>!=]=|[-+*/(),<>])/g)?.map((t) => t.trim()) ?? [];
    if (this.tokens.join('') !== text.replace(/\s+/g, '')) throw new Error(`cannot read expression ${text}`);
  }

  read(): Series {
    const result = this.comparison();
    if (this.at !== this.tokens.length) throw new Error(`unexpected ${this.tokens[this.at]}`);
    return result;
  }

  private comparison(): Series {
    let left = this.sum();
    const operators: Record<string, (a: number, b: number) => boolean> = {
      '>': (a, b) => a > b,
      '<': (a, b) => a < b,
      '>=': (a, b) => a >= b,
      '<=': (a, b) => a <= b,
      '==': (a, b) => a === b,
      '!=': (a, b) => a !== b,
    };
    while (this.peek() !== undefined && this.peek()! in operators) {
      const compare = operators[this.next()]!;
      left = pointwise(left, this.sum(), (a, b) => (compare(a, b) ? 1 : 0));
    }
    return left;
  }

  private sum(): Series {
    let left = this.product();
    while (this.peek() === '+' || this.peek() === '-') {
      const minus = this.next() === '-';
      left = pointwise(left, this.product(), (a, b) => (minus ? a - b : a + b));
    }
    return left;
  }

  private product(): Series {
    let left = this.operand();
    while (this.peek() === '*' || this.peek() === '/') {
      const divide = this.next() === '/';
      left = pointwise(left, this.operand(), (a, b) => (divide ? a / b : a * b));
    }
    return left;
  }

  private operand(): Series {
    const token = this.next();
    if (token === '(') {
      const inner = this.comparison();
      this.expect(')');
      return inner;
    }
    if (/^\d/.test(token)) return Array.from({ length: this.length }, () => Number(token));
    if (token === 'FILL') return this.fill();
    if (token === 'IF') return this.ifThen();
    const values = this.series[token];
    if (values === undefined) throw new Error(`unknown id ${token}`);
    return [...values];
  }

  private fill(): Series {
    this.expect('(');
    const values = this.comparison();
    this.expect(',');
    const [filler] = this.comparison();
    this.expect(')');
    if (values.every((value) => value === undefined) && this.emptyFill === 'nothing') return values;
    return values.map((value) => value ?? filler);
  }

  private ifThen(): Series {
    this.expect('(');
    const condition = this.comparison();
    this.expect(',');
    const then = this.comparison();
    this.expect(',');
    const otherwise = this.comparison();
    this.expect(')');
    return condition.map((value, i) => (value === undefined ? undefined : value !== 0 ? then[i] : otherwise[i]));
  }

  private peek(): string | undefined {
    return this.tokens[this.at];
  }

  private next(): string {
    const token = this.tokens[this.at++];
    if (token === undefined) throw new Error('expression ends too soon');
    return token;
  }

  private expect(token: string): void {
    const found = this.next();
    if (found !== token) throw new Error(`expected ${token}, found ${found}`);
  }
}

/**
 * Two series combined point by point: a missing value counts as 0 beside a present one; none where
 * both miss, and none where the result is not a number (a division by zero drops the data point).
 */
function pointwise(left: Series, right: Series, combine: (a: number, b: number) => number): Series {
  return left.map((a, i) => {
    const b = right[i];
    if (a === undefined && b === undefined) return undefined;
    const value = combine(a ?? 0, b ?? 0);
    return Number.isFinite(value) ? value : undefined;
  });
}
