/** Logs Insights: four queries started at once and polled together, against strict SDK mocks. */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  LimitExceededException,
  StartQueryCommand,
  StopQueryCommand,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runInsightsQueries, type InsightsQuery } from '#adapters/logs-insights';
import { SUMMARY_QUERIES, toTopEntries } from '#notifier/queries';
import { NOW } from './fixtures';

const logs = mockClient(CloudWatchLogsClient);
const client = new CloudWatchLogsClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
});
const LOG_GROUP = 'aws-waf-logs-WafAutoblock';
const QUERIES: InsightsQuery[] = SUMMARY_QUERIES.map(({ name, queryString }) => ({ name, queryString }));
const [HOSTS, CLIENT_IPS, COUNTRIES, RULES] = QUERIES as [InsightsQuery, InsightsQuery, InsightsQuery, InsightsQuery];

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  const clock = { now: NOW, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: (ms: number) => {
      clock.sleeps.push(ms);
      clock.now += ms;
      return Promise.resolve();
    },
  };
}

const row = (key: string, value: string, requests: number) => [
  { field: key, value },
  { field: 'requests', value: String(requests) },
  { field: '@ptr', value: 'CmAKJwoj...' },
];

function startsAs(queryId: string, query: InsightsQuery): void {
  logs
    .on(
      StartQueryCommand,
      {
        logGroupName: LOG_GROUP,
        startTime: Math.floor((NOW - 15 * 60_000) / 1000),
        endTime: Math.ceil(NOW / 1000),
        queryString: query.queryString,
        limit: 5,
      },
      true,
    )
    .resolves({ queryId });
}

function pollsAs(queryId: string, ...outputs: Partial<GetQueryResultsCommandOutput>[]): void {
  const behaviour = logs.on(GetQueryResultsCommand, { queryId }, true);
  const last = outputs.pop() ?? {};
  for (const output of outputs) behaviour.resolvesOnce(output);
  behaviour.resolves(last);
}

beforeEach(() => {
  logs.reset();
  logs.onAnyCommand().rejects(new Error('unexpected command: not declared by this test'));
});

describe('runInsightsQueries', () => {
  it('starts every query at once, polls them together Scheduled -> Running -> Complete, and drops @ptr', async () => {
    QUERIES.forEach((query, index) => {
      startsAs(`q${index}`, query);
      pollsAs(
        `q${index}`,
        { status: 'Scheduled' },
        { status: 'Running' },
        { status: 'Complete', results: [row('k', `value-${index}`, 10 - index)] },
      );
    });
    const time = fakeTime();
    const outcomes = await runInsightsQueries(client, {
      logGroupName: LOG_GROUP,
      startTime: NOW - 15 * 60_000,
      endTime: NOW,
      queries: QUERIES,
      deadline: NOW + 30_000,
      pollIntervalMs: 1_000,
      now: time.now,
      sleep: time.sleep,
    });
    expect(outcomes).toEqual(
      QUERIES.map((query, index) => ({
        name: query.name,
        status: 'complete',
        rows: [{ k: `value-${index}`, requests: String(10 - index) }],
      })),
    );
    expect(logs).toHaveReceivedCommandTimes(StartQueryCommand, 4);
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 12);
    // Three rounds for all four queries: the wait is one query's, not four.
    expect(time.clock.sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(logs).not.toHaveReceivedCommand(StopQueryCommand);
  });

  it('stops polling a query once it is complete while the others run on', async () => {
    const [fast, slow] = [HOSTS, CLIENT_IPS];
    startsAs('fast', fast);
    startsAs('slow', slow);
    pollsAs('fast', { status: 'Complete', results: [] });
    pollsAs('slow', { status: 'Running' }, { status: 'Running' }, { status: 'Complete', results: [] });
    const time = fakeTime();
    await runInsightsQueries(client, {
      logGroupName: LOG_GROUP,
      startTime: NOW - 15 * 60_000,
      endTime: NOW,
      queries: [fast, slow],
      deadline: NOW + 30_000,
      now: time.now,
      sleep: time.sleep,
    });
    expect(logs).toHaveReceivedCommandWith(GetQueryResultsCommand, { queryId: 'fast' });
    expect(logs.commandCalls(GetQueryResultsCommand, { queryId: 'fast' })).toHaveLength(1);
    expect(logs.commandCalls(GetQueryResultsCommand, { queryId: 'slow' })).toHaveLength(3);
  });

  it('reports a query that fails, cannot start or cannot be read, and keeps the others', async () => {
    const [ok, failed, refused, unreadable] = [HOSTS, CLIENT_IPS, COUNTRIES, RULES];
    const cancelled: InsightsQuery = { name: 'extra', queryString: 'fields @x' };
    startsAs('ok', ok);
    startsAs('failed', failed);
    logs
      .on(StartQueryCommand, { queryString: refused.queryString })
      .rejects(new LimitExceededException({ message: 'too many concurrent queries', $metadata: {} }));
    startsAs('unreadable', unreadable);
    startsAs('cancelled', cancelled);
    pollsAs('ok', { status: 'Complete', results: [row('host', 'a', 1)] });
    pollsAs('failed', { status: 'Running' }, { status: 'Failed' });
    logs.on(GetQueryResultsCommand, { queryId: 'unreadable' }).rejects(new Error('socket hang up'));
    pollsAs('cancelled', { status: 'Cancelled' });
    const time = fakeTime();
    const outcomes = await runInsightsQueries(client, {
      logGroupName: LOG_GROUP,
      startTime: NOW - 15 * 60_000,
      endTime: NOW,
      queries: [ok, failed, refused, unreadable, cancelled],
      deadline: NOW + 30_000,
      now: time.now,
      sleep: time.sleep,
    });
    expect(outcomes).toEqual([
      { name: ok.name, status: 'complete', rows: [{ host: 'a', requests: '1' }] },
      { name: failed.name, status: 'failed', reason: 'the query failed' },
      {
        name: refused.name,
        status: 'failed',
        reason: 'could not start: LimitExceededException: too many concurrent queries',
      },
      { name: unreadable.name, status: 'failed', reason: 'could not read results: Error: socket hang up' },
      { name: cancelled.name, status: 'failed', reason: 'the query was cancelled' },
    ]);
    expect(logs).not.toHaveReceivedCommand(StopQueryCommand);
  });

  it('gives up on a query still running at the deadline, stops it, and keeps what came back', async () => {
    const [quick, stuck] = [HOSTS, CLIENT_IPS];
    startsAs('quick', quick);
    startsAs('stuck', stuck);
    pollsAs('quick', { status: 'Running' }, { status: 'Complete', results: [] });
    pollsAs('stuck', { status: 'Running' });
    logs.on(StopQueryCommand, { queryId: 'stuck' }, true).resolves({ success: true });
    const time = fakeTime();
    const outcomes = await runInsightsQueries(client, {
      logGroupName: LOG_GROUP,
      startTime: NOW - 15 * 60_000,
      endTime: NOW,
      queries: [quick, stuck],
      deadline: NOW + 4_500,
      pollIntervalMs: 1_000,
      now: time.now,
      sleep: time.sleep,
    });
    expect(outcomes).toEqual([
      { name: quick.name, status: 'complete', rows: [] },
      { name: stuck.name, status: 'timed-out', reason: 'not finished in time' },
    ]);
    // Never waits past the deadline: 4 s in whole intervals, then the half second that is left.
    expect(time.clock.sleeps).toEqual([1_000, 1_000, 1_000, 1_000, 500]);
    expect(logs).toHaveReceivedCommandWith(StopQueryCommand, { queryId: 'stuck' });
  });

  it('still answers when stopping a timed-out query fails', async () => {
    const stuck = HOSTS;
    startsAs('stuck', stuck);
    pollsAs('stuck', { status: 'Scheduled' });
    logs.on(StopQueryCommand).rejects(new Error('AccessDenied'));
    const time = fakeTime();
    const outcomes = await runInsightsQueries(client, {
      logGroupName: LOG_GROUP,
      startTime: NOW - 15 * 60_000,
      endTime: NOW,
      queries: [stuck],
      deadline: NOW,
      now: time.now,
      sleep: time.sleep,
    });
    expect(outcomes).toEqual([{ name: stuck.name, status: 'timed-out', reason: 'not finished in time' }]);
    expect(logs).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });
});

describe('the summary queries', () => {
  it('count blocked requests by Host, client address, country and terminating rule, five rows each', () => {
    expect(SUMMARY_QUERIES.map((query) => [query.name, query.keyField])).toEqual([
      ['hosts', 'host'],
      ['clientIps', 'httpRequest.clientIp'],
      ['countries', 'httpRequest.country'],
      ['rules', 'terminatingRuleId'],
    ]);
    for (const query of SUMMARY_QUERIES) {
      expect(query.queryString).toMatch(/^filter action = "BLOCK" \| /);
      expect(query.queryString).toContain(
        `stats count(*) as requests by ${query.keyField} | sort requests desc | limit 5`,
      );
    }
  });

  it('take the Host header out of the raw record, whatever its case and spacing', () => {
    const hosts = SUMMARY_QUERIES.find((query) => query.name === 'hosts');
    const pattern = /\/(.*)\/$/.exec(hosts?.queryString.split(' | ')[1]?.replace(/^parse @message /, '') ?? '')?.[1];
    // Logs Insights' named groups are JavaScript's; case-insensitive letter classes need no flag.
    const regex = new RegExp(pattern ?? 'no pattern');
    const record = (headers: string) => `{"httpRequest":{"clientIp":"198.51.100.23","headers":${headers}}}`;
    expect(regex.exec(record('[{"name":"Host","value":"shop.example.com"}]'))?.groups?.host).toBe('shop.example.com');
    expect(
      regex.exec(record('[{"name": "user-agent", "value": "x"}, {"name": "host", "value": "a.b"}]'))?.groups?.host,
    ).toBe('a.b');
    expect(regex.exec(record('[{"name":"X-Forwarded-Host","value":"evil"}]'))).toBeNull();
    expect(hosts?.queryString).toContain('filter ispresent(host)');
  });

  it('turn rows into a sorted top list, skipping rows without a count', () => {
    expect(
      toTopEntries(
        [
          { 'httpRequest.country': 'US', requests: '15' },
          { 'httpRequest.country': 'NL', requests: '20' },
          { requests: '3' },
          { 'httpRequest.country': 'DE', requests: 'many' },
        ],
        'httpRequest.country',
      ),
    ).toEqual([
      { key: 'NL', count: 20 },
      { key: 'US', count: 15 },
      { key: '(none)', count: 3 },
    ]);
  });
});
