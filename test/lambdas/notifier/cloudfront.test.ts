/** CloudFront distributions and their metrics, against strict SDK mocks. */
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { listDistributions } from '#adapters/cloudfront';
import { MAX_QUERIES_PER_CALL, readDistributionTraffic } from '#adapters/cloudfront-metrics';
import { ReadError } from '#shared/errors';
import { distribution, NOW } from './fixtures';

const cloudfront = mockClient(CloudFrontClient);
const cloudwatch = mockClient(CloudWatchClient);
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const cf = new CloudFrontClient({ region: 'us-east-1', credentials });
const cw = new CloudWatchClient({ region: 'us-east-1', credentials });
const HOUR = 3_600_000;

beforeEach(() => {
  cloudfront.reset();
  cloudwatch.reset();
  cloudfront.onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.onAnyCommand().rejects(new Error('unexpected command'));
});

describe('listDistributions', () => {
  it('follows NextMarker through every page', async () => {
    cloudfront
      .on(ListDistributionsCommand, { MaxItems: 100 }, true)
      .resolves({
        DistributionList: {
          Marker: '',
          MaxItems: 100,
          IsTruncated: true,
          NextMarker: 'page-2',
          Quantity: 2,
          Items: [
            distribution('E2SHOP', { Aliases: { Quantity: 1, Items: ['shop.example.com'] } }),
            distribution('E9OLD', { Enabled: false, Comment: 'old site' }),
          ],
        },
      })
      .on(ListDistributionsCommand, { MaxItems: 100, Marker: 'page-2' }, true)
      .resolves({
        DistributionList: {
          Marker: 'page-2',
          MaxItems: 100,
          IsTruncated: false,
          Quantity: 1,
          Items: [distribution('E3API', { Comment: 'api' })],
        },
      });
    await expect(listDistributions(cf)).resolves.toEqual([
      { id: 'E2SHOP', domainName: 'e2shop.cloudfront.net', aliases: ['shop.example.com'], comment: '', enabled: true },
      { id: 'E9OLD', domainName: 'e9old.cloudfront.net', aliases: [], comment: 'old site', enabled: false },
      { id: 'E3API', domainName: 'e3api.cloudfront.net', aliases: [], comment: 'api', enabled: true },
    ]);
    expect(cloudfront).toHaveReceivedCommandTimes(ListDistributionsCommand, 2);
  });

  it('fails as a ReadError when a page cannot be read', async () => {
    cloudfront.on(ListDistributionsCommand).rejects(new Error('AccessDenied'));
    await expect(listDistributions(cf)).rejects.toThrow(ReadError);
    await expect(listDistributions(cf)).rejects.toThrow('could not read CloudFront distributions: Error: AccessDenied');
  });
});

describe('readDistributionTraffic', () => {
  const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000);

  it('asks for requests and both error rates of every distribution in one GetMetricData call', async () => {
    const results: MetricDataResult[] = [
      { Id: 'r0', Timestamps: [at(10), at(5)], Values: [1_000, 3_000], StatusCode: 'Complete' },
      { Id: 'e0', Timestamps: [at(10), at(5)], Values: [10, 2], StatusCode: 'Complete' },
      { Id: 't0', Timestamps: [at(10), at(5)], Values: [20, 40], StatusCode: 'Complete' },
      { Id: 'r1', Timestamps: [], Values: [], StatusCode: 'Complete' },
      { Id: 'e1', Timestamps: [], Values: [], StatusCode: 'Complete' },
      { Id: 't1', Timestamps: [], Values: [], StatusCode: 'Complete' },
    ];
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: results });
    const traffic = await readDistributionTraffic(cw, ['E2SHOP', 'E3API'], { start: NOW - HOUR, end: NOW });
    expect(traffic).toEqual(
      new Map([
        // Rates weighted by each five minutes' requests: (10*1000 + 2*3000) / 4000.
        ['E2SHOP', { requests: 4_000, errorRate5xx: 4, errorRateTotal: 35 }],
        ['E3API', { requests: 0 }],
      ]),
    );
    expect(cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
    expect(cloudwatch).toHaveReceivedCommandWith(GetMetricDataCommand, {
      StartTime: new Date(NOW - HOUR),
      EndTime: new Date(NOW),
      MetricDataQueries: expect.arrayContaining([
        {
          Id: 'e1',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/CloudFront',
              MetricName: '5xxErrorRate',
              Dimensions: [
                { Name: 'DistributionId', Value: 'E3API' },
                { Name: 'Region', Value: 'Global' },
              ],
            },
            Period: 300,
            Stat: 'Average',
          },
          ReturnData: true,
        },
      ]) as MetricDataQuery[],
    });
    const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries ?? [];
    expect(queries.map((query) => `${query.Id}:${query.MetricStat?.Metric?.MetricName}`)).toEqual([
      'r0:Requests',
      'e0:5xxErrorRate',
      't0:TotalErrorRate',
      'r1:Requests',
      'e1:5xxErrorRate',
      't1:TotalErrorRate',
    ]);
  });

  it('batches 500 queries per call and follows NextToken', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `E${i}`);
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'r0', Timestamps: [at(5)], Values: [5] }], NextToken: 'more' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'r0', Timestamps: [at(10)], Values: [7] }] })
      .resolves({ MetricDataResults: [{ Id: 'r199', Timestamps: [at(5)], Values: [9] }] });
    const traffic = await readDistributionTraffic(cw, ids, { start: NOW - HOUR, end: NOW });
    const calls = cloudwatch.commandCalls(GetMetricDataCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.MetricDataQueries?.length)).toEqual([498, 498, 102]);
    expect(calls.every((input) => (input.MetricDataQueries?.length ?? 0) <= MAX_QUERIES_PER_CALL)).toBe(true);
    expect(calls[1]?.NextToken).toBe('more');
    expect(traffic.get('E0')).toEqual({ requests: 12 });
    expect(traffic.get('E199')).toEqual({ requests: 9 });
  });

  it('asks nothing for no distributions, and fails as a ReadError when CloudWatch refuses', async () => {
    await expect(readDistributionTraffic(cw, [], { start: 0, end: 1 })).resolves.toEqual(new Map());
    expect(cloudwatch).not.toHaveReceivedCommand(GetMetricDataCommand);
    cloudwatch.on(GetMetricDataCommand).rejects(new Error('Throttling'));
    await expect(readDistributionTraffic(cw, ['E1'], { start: 0, end: 1 })).rejects.toThrow(
      'could not read CloudFront metrics (GetMetricData): Error: Throttling',
    );
  });
});
