/**
 * Thin adapter over CloudWatch metrics for CloudFront: requests and error rates of many distributions
 * in as few GetMetricData calls as possible (one for up to 166 distributions), instead of a call per
 * distribution. CloudFront publishes its metrics in us-east-1 with `Region=Global`.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { ReadError } from '#shared/errors';

/** One distribution's traffic over the window. */
export interface DistributionTraffic {
  readonly requests: number;
  /** Percent; undefined when CloudWatch has no data point in the window. */
  readonly errorRate5xx?: number;
  readonly errorRateTotal?: number;
}

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;
const METRICS = [
  { prefix: 'r', name: 'Requests', stat: 'Sum' },
  { prefix: 'e', name: '5xxErrorRate', stat: 'Average' },
  { prefix: 't', name: 'TotalErrorRate', stat: 'Average' },
] as const;
/** Five-minute points: the finest CloudFront's default metrics have, so rates can be weighted by requests. */
const PERIOD_SECONDS = 300;
/** Result pages read per call at most (a call's points fit in one page at these sizes). */
const MAX_PAGES = 10;

/** Creates the CloudWatch client for CloudFront metrics once per module: they live in us-east-1. */
export function createCloudFrontMetricsClient(): CloudWatchClient {
  return new CloudWatchClient({ region: 'us-east-1' });
}

/**
 * Requests (sum) and 5xx / total error rates (weighted by requests) per distribution between `start`
 * and `end` (epoch ms). Distributions without data get 0 requests and no rates.
 * @throws {ReadError} when a call fails.
 */
export async function readDistributionTraffic(
  client: CloudWatchClient,
  distributionIds: readonly string[],
  window: { readonly start: number; readonly end: number },
): Promise<Map<string, DistributionTraffic>> {
  const perCall = Math.floor(MAX_QUERIES_PER_CALL / METRICS.length);
  const points = new Map<string, Map<number, number>>();
  try {
    for (let first = 0; first < distributionIds.length; first += perCall) {
      const queries: MetricDataQuery[] = distributionIds.slice(first, first + perCall).flatMap((id, offset) =>
        METRICS.map((metric) => ({
          Id: `${metric.prefix}${first + offset}`,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/CloudFront',
              MetricName: metric.name,
              Dimensions: [
                { Name: 'DistributionId', Value: id },
                { Name: 'Region', Value: 'Global' },
              ],
            },
            Period: PERIOD_SECONDS,
            Stat: metric.stat,
          },
          ReturnData: true,
        })),
      );
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const output = await client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(window.start),
            EndTime: new Date(window.end),
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        for (const result of output.MetricDataResults ?? []) {
          if (!result.Id) continue;
          const series = points.get(result.Id) ?? new Map<number, number>();
          (result.Timestamps ?? []).forEach((timestamp, index) => {
            const value = result.Values?.[index];
            if (value !== undefined && Number.isFinite(value)) series.set(timestamp.getTime(), value);
          });
          points.set(result.Id, series);
        }
        nextToken = output.NextToken;
        if (!nextToken) break;
      }
    }
  } catch (cause) {
    throw new ReadError('CloudFront metrics (GetMetricData)', { cause });
  }

  const traffic = new Map<string, DistributionTraffic>();
  distributionIds.forEach((id, index) => {
    const requests = points.get(`r${index}`) ?? new Map<number, number>();
    const total = [...requests.values()].reduce((sum, value) => sum + value, 0);
    const errorRate5xx = weightedRate(points.get(`e${index}`), requests);
    const errorRateTotal = weightedRate(points.get(`t${index}`), requests);
    traffic.set(id, {
      requests: total,
      ...(errorRate5xx === undefined ? {} : { errorRate5xx }),
      ...(errorRateTotal === undefined ? {} : { errorRateTotal }),
    });
  });
  return traffic;
}

/** The rate over the whole window: each five-minute rate weighted by that period's requests. */
function weightedRate(
  rates: ReadonlyMap<number, number> | undefined,
  requests: ReadonlyMap<number, number>,
): number | undefined {
  if (!rates || rates.size === 0) return undefined;
  let weighted = 0;
  let weight = 0;
  for (const [timestamp, rate] of rates) {
    const count = requests.get(timestamp) ?? 0;
    weighted += rate * count;
    weight += count;
  }
  if (weight > 0) return weighted / weight;
  const values = [...rates.values()];
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
