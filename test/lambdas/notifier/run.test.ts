/**
 * Whole notifier runs: SNS events in, Telegram messages out. Every AWS client is a strict mock that
 * rejects any command the test did not declare; Telegram is the loopback stand-in.
 */
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, DescribeAlarmHistoryCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { SecretString } from '#adapters/secrets';
import type { IpSetAddress, NotifierSettings } from '#contracts/notifier-environment';
import { LAST_ERROR_LOOKBACK_MS, LAST_ERROR_QUERY, SUMMARY_QUERIES } from '#notifier/queries';
import { DeliveryLog, runNotifier, type NotifierDeps } from '#notifier/run';
import { ReadError, TelegramError } from '#shared/errors';
import { ACTIVE_SHARDS } from '#contracts/ledger-schema';
import { answerActiveRows } from '../../support/ledger-mock';
import { ANSWERS, checkTelegramHtml, TelegramServer } from '../../support/telegram-server';
import {
  ALARM,
  ALARM_NAME,
  alarmMessage,
  BLOCKER_LOG_GROUP,
  CHAT,
  distribution,
  HEALTH_CHANGED_AT,
  healthAlarmMessage,
  healthNotice,
  loggedText,
  MINUTE,
  NOW,
  OK,
  OTHER_CHAT,
  recordingLogger,
  REPORT,
  SETTINGS,
  snsEvent,
  TOKEN,
} from './fixtures';

const logs = mockClient(CloudWatchLogsClient);
const cloudwatch = mockClient(CloudWatchClient);
const cloudfront = mockClient(CloudFrontClient);
const waf = mockClient(WAFV2Client);
const ddb = mockClient(DynamoDBDocumentClient);
const secrets = mockClient(SecretsManagerClient);

const region = 'us-east-1';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const clients = {
  logs: new CloudWatchLogsClient({ region, credentials }),
  cloudwatch: new CloudWatchClient({ region, credentials }),
  metrics: new CloudWatchClient({ region, credentials }),
  cloudfront: new CloudFrontClient({ region, credentials }),
  waf: new WAFV2Client({ region, credentials }),
  ledger: new Ledger(createLedgerClient({ region, credentials }), SETTINGS.ledgerTable),
};

let server: TelegramServer;
let settings: NotifierSettings;
let logger = recordingLogger();
let deps: NotifierDeps;
let clock = NOW;
/** Lambda's remaining time; a test may shorten it. */
let remaining = 85_000;

const invocation = () => ({ now: NOW, remainingMs: () => remaining });

function newDeps(delivered = new DeliveryLog()): NotifierDeps {
  const token = new SecretString(new SecretsManagerClient({ region, credentials }), SETTINGS.telegramSecretId);
  return {
    ...clients,
    botToken: () => token.value(),
    delivered,
    logger,
    pollIntervalMs: 1_000,
    clock: () => clock,
    sleep: (ms: number) => {
      clock += ms;
      return Promise.resolve();
    },
    random: () => 0.5,
  };
}

function tokenIs(value: string): void {
  secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({ SecretString: value });
}

/** Each summary query needs `polls` GetQueryResults: Running until the last, then Complete. */
function queriesAnswer(polls: number, rows: Record<string, [string, number][]> = {}): void {
  SUMMARY_QUERIES.forEach((query) => {
    logs
      .on(StartQueryCommand, { logGroupName: SETTINGS.wafLogGroup, queryString: query.queryString })
      .resolves({ queryId: query.name });
    const results = (rows[query.name] ?? []).map(([key, count]) => [
      { field: query.keyField, value: key },
      { field: 'requests', value: String(count) },
    ]);
    const poll = logs.on(GetQueryResultsCommand, { queryId: query.name }, true);
    for (let i = 1; i < polls; i++) poll.resolvesOnce({ status: i === 1 ? 'Scheduled' : 'Running' });
    poll.resolves({ status: 'Complete', results });
  });
}

/** GetIPSet of `ref` answers `count` entries. */
function setHolds(ref: IpSetAddress, family: 'IPV4' | 'IPV6', count: number): void {
  waf.on(GetIPSetCommand, { Name: ref.name, Id: ref.id, Scope: ref.scope }, true).resolves({
    IPSet: {
      Name: ref.name,
      Id: ref.id,
      ARN: `arn:aws:wafv2:us-east-1:123456789012:global/ipset/${ref.name}/${ref.id}`,
      IPAddressVersion: family,
      Addresses: Array.from({ length: count }, (_, i) => `203.0.${i}.0/24`),
    },
    LockToken: 'token',
  });
}

/** The one set of each family in SETTINGS holds this many entries. */
function blocklistsHold(ipv4: number, ipv6: number): void {
  setHolds(SETTINGS.blocklist.IPV4[0], 'IPV4', ipv4);
  setHolds(SETTINGS.blocklist.IPV6[0], 'IPV6', ipv6);
}

function distributionsServe(): void {
  cloudfront.on(ListDistributionsCommand).resolves({
    DistributionList: {
      Marker: '',
      MaxItems: 100,
      IsTruncated: false,
      Quantity: 3,
      Items: [
        distribution('E2SHOP', { Aliases: { Quantity: 1, Items: ['shop.example.com'] } }),
        distribution('E3API', { Comment: 'public API' }),
        distribution('E9OLD', { Enabled: false }),
      ],
    },
  });
  const at = new Date(NOW - 5 * MINUTE);
  cloudwatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      { Id: 'r0', Timestamps: [at], Values: [900_000] },
      { Id: 'e0', Timestamps: [at], Values: [2.5] },
      { Id: 't0', Timestamps: [at], Values: [40] },
      { Id: 'r1', Timestamps: [at], Values: [1_200] },
      { Id: 'e1', Timestamps: [at], Values: [9] },
      { Id: 't1', Timestamps: [at], Values: [12] },
    ],
  });
}

function ledgerHolds(family: 'IPV4' | 'IPV6', ranges: [string, number][]): void {
  answerActiveRows(
    ddb,
    family,
    ranges.map(([range, expiresAt]) => ({
      range,
      family,
      firstSeen: NOW - 60 * MINUTE,
      lastSeen: NOW - 10 * MINUTE,
      expiresAt,
      hits: 5,
      source: 'rate-all',
      activeFamily: family,
      ttl: Math.ceil(expiresAt / 1000) + 604_800,
      preexisting: false,
    })),
    SETTINGS.ledgerTable,
  );
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof Error)) throw new Error('expected the run to fail with an Error');
  return error;
}

beforeAll(async () => {
  server = await TelegramServer.start({ token: TOKEN, chats: [CHAT, OTHER_CHAT] });
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  const unexpected = () => new Error('unexpected command: not declared by this test');
  logs.reset().onAnyCommand().rejects(unexpected());
  cloudwatch.reset().onAnyCommand().rejects(unexpected());
  cloudfront.reset().onAnyCommand().rejects(unexpected());
  waf.reset().onAnyCommand().rejects(unexpected());
  ddb.reset().onAnyCommand().rejects(unexpected());
  secrets.reset().onAnyCommand().rejects(unexpected());
  server.reset();
  server.addChat(CHAT);
  server.addChat(OTHER_CHAT);
  logger = recordingLogger();
  clock = NOW;
  remaining = 85_000;
  settings = { ...SETTINGS, telegramApiUrl: server.url };
  deps = newDeps();
  tokenIs(TOKEN);
});

describe('ALARM', () => {
  it('sends the attack summary: top lists, CloudFront figures and the ranges blocked now', async () => {
    queriesAnswer(3, {
      hosts: [['shop.example.com', 41_200]],
      clientIps: [['198.51.100.23', 9_120]],
      countries: [['NL', 20_000]],
      rules: [['rate-all', 40_000]],
    });
    distributionsServe();
    blocklistsHold(37, 4);

    const summary = await runNotifier(deps, settings, snsEvent(alarmMessage(ALARM)), invocation());

    const [message, ...more] = server.delivered();
    expect(more).toEqual([]);
    expect(message?.chatId).toBe(CHAT);
    expect(message?.text).toContain('🚨 <b>Attack alarm</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>');
    expect(message?.text).toContain('<b>Hosts</b>\n1. <code>shop.example.com</code> · 41,200');
    expect(message?.text).toContain('<b>Client IPs</b>\n1. <code>198.51.100.23</code> · 9,120');
    expect(message?.text).toContain('<b>Countries</b>\n1. 🇳🇱 <code>NL</code> · 20,000');
    expect(message?.text).toContain('<b>Rules</b>\n1. <code>rate-all</code> · 40,000');
    expect(message?.text).toContain(`<b>CloudFront, last hour</b> · 2 distributions
By requests:
1. <code>E2SHOP</code> shop.example.com · 900,000 requests · 5xx 2.5% · all errors 40.0%
2. <code>E3API</code> public API · 1,200 requests · 5xx 9.0% · all errors 12.0%
By 5xx error rate:
1. <code>E3API</code> public API · 1,200 requests · 5xx 9.0% · all errors 12.0%
2. <code>E2SHOP</code> shop.example.com · 900,000 requests · 5xx 2.5% · all errors 40.0%`);
    expect(message?.text).toContain('<b>Blocked now:</b> 41 ranges in the blocklists (IPv4 37, IPv6 4)');
    expect(message?.text).not.toContain('Incomplete');
    expect(summary.notices).toEqual([
      {
        messageId: 'msg-1',
        kind: 'alarm',
        state: 'ALARM',
        parts: 1,
        delivered: 1,
        alreadyDelivered: 0,
        incomplete: [],
      },
    ]);

    // The queries ran together over the last 15 minutes of the WAF log group: three rounds, not twelve.
    expect(logs).toHaveReceivedCommandTimes(StartQueryCommand, 4);
    expect(logs).toHaveReceivedCommandWith(StartQueryCommand, {
      logGroupName: 'aws-waf-logs-WafAutoblock',
      startTime: (NOW - 15 * MINUTE) / 1000,
      endTime: NOW / 1000,
    });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 12);
    expect(clock - NOW).toBe(3_000);
    expect(cloudfront).toHaveReceivedCommandTimes(ListDistributionsCommand, 1);
    expect(cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
    expect(waf).toHaveReceivedCommandTimes(GetIPSetCommand, 2);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(logger.info).toHaveBeenCalledWith('notifier run', { summary });
  });

  it('sends what came back when a query fails, one times out and CloudFront is unreadable, and says so', async () => {
    queriesAnswer(1, { hosts: [['shop.example.com', 5]] });
    logs.on(GetQueryResultsCommand, { queryId: 'countries' }, true).resolves({ status: 'Running' });
    logs.on(GetQueryResultsCommand, { queryId: 'rules' }, true).resolves({ status: 'Failed' });
    logs.on(StopQueryCommand, { queryId: 'countries' }, true).resolves({ success: true });
    cloudfront.on(ListDistributionsCommand).rejects(new Error('AccessDenied: not authorized'));
    blocklistsHold(1, 0);
    // 40 s of remaining time beyond the 20 s kept for delivery: the query wait is capped there.
    remaining = 60_000;

    const summary = await runNotifier(deps, settings, snsEvent(alarmMessage(ALARM)), invocation());

    const text = server.delivered()[0]?.text ?? '';
    expect(text).toContain('<b>Hosts</b>\n1. <code>shop.example.com</code> · 5');
    expect(text).toContain('<b>Countries</b> <i>missing (not finished in time)</i>');
    expect(text).toContain('<b>Rules</b> <i>missing (the query failed)</i>');
    expect(text).toContain(
      '<b>CloudFront, last hour</b>\n<i>missing (ReadError: could not read CloudFront distributions: Error: AccessDenied: not authorized)</i>',
    );
    expect(text).toMatch(/⚠️ <b>Incomplete:<\/b> countries, terminating rules, CloudFront figures could not be read$/);
    expect(summary.notices[0]?.incomplete).toEqual(['countries', 'rules', 'cloudfront']);
    expect(clock - NOW).toBe(40_000);
    expect(logs).toHaveReceivedCommandWith(StopQueryCommand, { queryId: 'countries' });
    expect(cloudwatch).not.toHaveReceivedCommand(GetMetricDataCommand);
    expect(logger.warn).toHaveBeenCalledWith('summary part unavailable; the message says so', {
      part: 'cloudfront',
      error: 'ReadError: could not read CloudFront distributions: Error: AccessDenied: not authorized',
    });
  });

  describe('with a blocklist of several IP sets per family (blocker.ipSetsPerFamily)', () => {
    const shard = (family: 'ipv4' | 'ipv6', n: number): IpSetAddress => ({
      name: `WafAutoblock-blocklist-${family}${n === 1 ? '' : `-${n}`}`,
      id: `${family}-${n}-id`,
      scope: 'CLOUDFRONT',
    });
    const sharded = (): NotifierSettings => ({
      ...settings,
      blocklist: { IPV4: [shard('ipv4', 1), shard('ipv4', 2)], IPV6: [shard('ipv6', 1), shard('ipv6', 2)] },
    });

    it('counts the ranges blocked now in every set, summed per family', async () => {
      queriesAnswer(1);
      setHolds(shard('ipv4', 1), 'IPV4', 9_000);
      setHolds(shard('ipv4', 2), 'IPV4', 1_234);
      setHolds(shard('ipv6', 1), 'IPV6', 0);
      setHolds(shard('ipv6', 2), 'IPV6', 3);
      distributionsServe();

      const summary = await runNotifier(deps, sharded(), snsEvent(alarmMessage(ALARM)), invocation());

      expect(server.delivered()[0]?.text).toContain(
        '<b>Blocked now:</b> 10,237 ranges in the blocklists (IPv4 10,234, IPv6 3)',
      );
      expect(summary.notices[0]?.incomplete).toEqual([]);
      expect(waf).toHaveReceivedCommandTimes(GetIPSetCommand, 4);
    });

    it('says the count is missing, naming the set, when one set cannot be read', async () => {
      queriesAnswer(1);
      setHolds(shard('ipv4', 1), 'IPV4', 9_000);
      waf
        .on(GetIPSetCommand, { Name: shard('ipv4', 2).name }, true)
        .rejects(new Error('WAFNonexistentItemException: not found'));
      setHolds(shard('ipv6', 1), 'IPV6', 0);
      setHolds(shard('ipv6', 2), 'IPV6', 3);
      distributionsServe();

      const summary = await runNotifier(deps, sharded(), snsEvent(alarmMessage(ALARM)), invocation());

      const text = server.delivered()[0]?.text ?? '';
      expect(text).toContain(
        '<b>Blocked now:</b> <i>missing (ReadError: could not read IP set WafAutoblock-blocklist-ipv4-2 (CLOUDFRONT, id ipv4-2-id)',
      );
      expect(text).not.toContain('9,000');
      expect(summary.notices[0]?.incomplete).toEqual(['blocked']);
    });
  });

  it('asks nothing of CloudFront for a REGIONAL web ACL', async () => {
    queriesAnswer(1);
    blocklistsHold(0, 0);
    await runNotifier(deps, { ...settings, scope: 'REGIONAL' }, snsEvent(alarmMessage(ALARM)), invocation());
    expect(server.delivered()[0]?.text).not.toContain('CloudFront');
    expect(cloudfront).not.toHaveReceivedCommand(ListDistributionsCommand);
    expect(cloudwatch).not.toHaveReceivedCommand(GetMetricDataCommand);
  });

  it('gives another alarm on the topic its state and reason only, without a summary', async () => {
    await runNotifier(deps, settings, snsEvent(alarmMessage({ ...ALARM, alarmName: 'billing' })), invocation());
    expect(server.delivered()[0]?.text).toMatch(/^ℹ️ <b>Alarm state changed<\/b> <code>billing<\/code>/);
    expect(logs).not.toHaveReceivedCommand(StartQueryCommand);
  });
});

describe('OK', () => {
  it('sends the all-clear: how long it lasted, what is blocked, what expires next', async () => {
    cloudwatch.on(DescribeAlarmHistoryCommand, { AlarmName: ALARM_NAME, HistoryItemType: 'StateUpdate' }).resolves({
      AlarmHistoryItems: [
        {
          AlarmName: ALARM_NAME,
          Timestamp: new Date(NOW - 2 * MINUTE),
          HistoryItemType: 'StateUpdate',
          HistoryData: JSON.stringify({ newState: { stateValue: 'ALARM' } }),
        },
      ],
    });
    blocklistsHold(37, 4);
    ledgerHolds('IPV4', [['198.51.100.0/24', NOW + 240 * MINUTE]]);
    ledgerHolds('IPV6', [['2001:db8:4:5::/64', NOW + 200 * MINUTE]]);

    await runNotifier(deps, settings, snsEvent(alarmMessage(OK), 'OkTopic'), invocation());

    expect(server.delivered().map((message) => message.text)).toEqual([
      `✅ <b>All clear</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>
<i>${OK.reason ?? ''}</i>
Back to OK at 2025-03-14 03:45 UTC; the alarm lasted <b>47 min</b> (since 2025-03-14 02:58 UTC).

<b>Blocked now:</b> 41 ranges in the blocklists (IPv4 37, IPv6 4)
<b>Managed by the blocker:</b> 2 ranges; next to expire:
• <code>2001:db8:4:5::/64</code> at 2025-03-14 06:20 UTC (in 3 h 20 min)
• <code>198.51.100.0/24</code> at 2025-03-14 07:00 UTC (in 4 h)`,
    ]);
    expect(logs).not.toHaveReceivedCommand(StartQueryCommand);
    // Each family's partitions of the sharded index, and the old index's first page of each family
    // (read in the same wave until this ledger has seen the marker, lambdas/adapters/ledger.ts).
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2 * ACTIVE_SHARDS + 2);
  });

  it('still sends the all-clear when the history and the ledger cannot be read', async () => {
    cloudwatch.on(DescribeAlarmHistoryCommand).rejects(new Error('AccessDenied'));
    blocklistsHold(2, 0);
    ddb.on(QueryCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const summary = await runNotifier(deps, settings, snsEvent(alarmMessage(OK), 'OkTopic'), invocation());
    const text = server.delivered()[0]?.text ?? '';
    expect(text).toContain('how long it lasted is unknown (ReadError: could not read alarm history');
    expect(text).toContain('<b>Next to expire:</b> <i>missing (ReadError: could not read ledger table');
    expect(summary.notices[0]?.incomplete).toEqual(['alarmStartedAt', 'managed']);
  });

  it("sends nothing for the alarm's first OK after a deploy (INSUFFICIENT_DATA → OK), as for a health alarm", async () => {
    const firstOk = { ...OK, oldState: 'INSUFFICIENT_DATA' };
    await runNotifier(deps, settings, snsEvent(alarmMessage(firstOk), 'OkTopic'), invocation());
    expect(server.requests).toHaveLength(0);
    for (const mock of [logs, cloudwatch, cloudfront, waf, ddb]) expect(mock.calls()).toHaveLength(0);
    // The same change on a health alarm is skipped by the same rule.
    const healthFirstOk = healthAlarmMessage(healthNotice('blocker-stopped', 'OK', 'INSUFFICIENT_DATA'));
    await runNotifier(deps, settings, snsEvent(healthFirstOk, 'OpsTopic'), invocation());
    expect(server.requests).toHaveLength(0);
  });

  it('gives INSUFFICIENT_DATA its state only', async () => {
    await runNotifier(
      deps,
      settings,
      snsEvent(alarmMessage({ ...ALARM, newState: 'INSUFFICIENT_DATA' })),
      invocation(),
    );
    expect(server.delivered()[0]?.text).toContain('Now <code>INSUFFICIENT_DATA</code>, was OK');
  });
});

describe('health alarms', () => {
  /** The last-error query, exactly as it must be started: the blocker's group, 6 h before the alarm to now. */
  const LAST_ERROR_START = {
    logGroupName: BLOCKER_LOG_GROUP,
    startTime: Math.floor((HEALTH_CHANGED_AT - LAST_ERROR_LOOKBACK_MS) / 1000),
    endTime: Math.ceil(NOW / 1000),
    queryString: LAST_ERROR_QUERY.queryString,
    limit: 1,
  };
  const failing = () => snsEvent(healthAlarmMessage(healthNotice('blocker-failing', 'ALARM')), 'OpsTopic');
  const failureLine = JSON.stringify({
    level: 'ERROR',
    message: 'blocker run failed',
    error: { name: 'WriteError', message: 'could not write IP set <blocklist-v4> & co: AccessDeniedException' },
  });

  it('sends blocker-failing as an ops message quoting the last error from the blocker log group', async () => {
    logs.on(StartQueryCommand, LAST_ERROR_START, true).resolves({ queryId: 'last-error' });
    logs
      .on(GetQueryResultsCommand, { queryId: 'last-error' }, true)
      .resolvesOnce({ status: 'Running' })
      .resolves({
        status: 'Complete',
        results: [
          [
            { field: '@timestamp', value: '2025-03-14 02:09:58.123' },
            { field: '@message', value: `2025-03-14T02:09:58.123Z\treq-1\tERROR\t${failureLine}` },
            { field: '@ptr', value: 'CmAKJwoj' },
          ],
        ],
      });

    const summary = await runNotifier(deps, settings, failing(), invocation());

    const [message, ...more] = server.delivered();
    expect(more).toEqual([]);
    expect(message?.text).toMatch(
      /^⚠️ <b>waf-autoblock is unhealthy:<\/b> the blocker has failed 3 runs in a row\nSince 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failing<\/code> · account <code>123456789012<\/code> in <code>us-east-1<\/code>\n/,
    );
    expect(message?.text).toContain(
      '<b>Last error:</b> <code>WriteError: could not write IP set &lt;blocklist-v4&gt; &amp; co: AccessDeniedException</code> at 2025-03-14 02:09 UTC',
    );
    expect(message?.text).not.toContain('Attack alarm');
    expect(summary.notices).toEqual([
      {
        messageId: 'msg-1',
        kind: 'health',
        state: 'ALARM',
        parts: 1,
        delivered: 1,
        alreadyDelivered: 0,
        incomplete: [],
      },
    ]);
    expect(logs).toHaveReceivedCommandTimes(StartQueryCommand, 1);
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
    // Nothing of an attack summary is read for a health alarm.
    for (const mock of [cloudwatch, cloudfront, waf, ddb]) expect(mock.calls()).toHaveLength(0);
  });

  it('still sends the message, saying why, when the last error cannot be read', async () => {
    logs.on(StartQueryCommand, LAST_ERROR_START, true).rejects(
      Object.assign(new Error('User is not authorized to perform logs:StartQuery'), {
        name: 'AccessDeniedException',
      }),
    );

    const summary = await runNotifier(deps, settings, failing(), invocation());

    expect(server.delivered()[0]?.text).toContain(
      '<b>Last error:</b> <i>not readable (could not start: AccessDeniedException: User is not authorized to perform logs:StartQuery)</i>',
    );
    expect(summary.notices[0]).toMatchObject({ kind: 'health', delivered: 1, incomplete: ['lastError'] });
    expect(logger.warn).toHaveBeenCalledWith("the blocker's last error could not be read; the ops message says so", {
      logGroupName: BLOCKER_LOG_GROUP,
      reason: 'could not start: AccessDeniedException: User is not authorized to perform logs:StartQuery',
    });
  });

  it('gives up on a query that does not finish in time, stops it, and says so', async () => {
    logs.on(StartQueryCommand, LAST_ERROR_START, true).resolves({ queryId: 'last-error' });
    logs.on(GetQueryResultsCommand, { queryId: 'last-error' }, true).resolves({ status: 'Running' });
    logs.on(StopQueryCommand, { queryId: 'last-error' }, true).resolves({ success: true });
    remaining = 30_000;

    await runNotifier(deps, settings, failing(), invocation());

    expect(server.delivered()[0]?.text).toContain('<b>Last error:</b> <i>not readable (not finished in time)</i>');
    expect(logs).toHaveReceivedCommandWith(StopQueryCommand, { queryId: 'last-error' });
    // 30 s left, 20 s kept for delivery: the query had 10 s.
    expect(clock - NOW).toBe(10_000);
  });

  it('asks Logs nothing without the blocker log group setting, and says the error is not readable', async () => {
    const { blockerLogGroup, ...older } = settings;
    expect(blockerLogGroup).toBe(BLOCKER_LOG_GROUP);

    await runNotifier(deps, older, failing(), invocation());

    expect(server.delivered()[0]?.text).toContain(
      "<b>Last error:</b> <i>not readable (the notifier is not told the blocker's log group (BLOCKER_LOG_GROUP))</i>",
    );
    expect(logs.calls()).toHaveLength(0);
  });

  it('looks up no error for the other kinds, nor for an all-clear', async () => {
    await runNotifier(
      deps,
      settings,
      snsEvent(healthAlarmMessage(healthNotice('blocklist-full', 'ALARM')), 'OpsTopic'),
      invocation(),
    );
    await runNotifier(
      deps,
      settings,
      snsEvent(healthAlarmMessage(healthNotice('blocker-failing', 'OK')), 'OpsTopic', undefined, 'msg-2'),
      invocation(),
    );

    expect(server.delivered().map((message) => message.text.split('\n')[0])).toEqual([
      '⚠️ <b>waf-autoblock is unhealthy:</b> a blocklist is at least 90% full',
      '✅ <b>waf-autoblock is healthy again:</b> the blocker runs without errors',
    ]);
    for (const mock of [logs, cloudwatch, cloudfront, waf, ddb]) expect(mock.calls()).toHaveLength(0);
  });

  it('gives the attack alarm its summary even when its name reads as a health alarm', async () => {
    const attack = 'shop-health-blocker-failed';
    queriesAnswer(1, { hosts: [['shop.example.com', 5]] });
    blocklistsHold(1, 0);
    distributionsServe();

    await runNotifier(
      deps,
      { ...settings, alarmName: attack },
      snsEvent(alarmMessage({ ...ALARM, alarmName: attack })),
      invocation(),
    );

    expect(server.delivered()[0]?.text).toMatch(/^🚨 <b>Attack alarm<\/b> <code>shop-health-blocker-failed<\/code>/);
    expect(logs).not.toHaveReceivedCommandWith(StartQueryCommand, { logGroupName: BLOCKER_LOG_GROUP });
  });
});

describe('block reports, plain text and garbage', () => {
  it('sends a block report without asking AWS anything but the token', async () => {
    await runNotifier(deps, settings, snsEvent(JSON.stringify(REPORT), 'ReportsTopic'), invocation());
    expect(server.delivered()[0]?.text).toMatch(/^🛡 <b>Blocklist updated<\/b>/);
    for (const mock of [logs, cloudwatch, cloudfront, waf, ddb]) expect(mock.calls()).toHaveLength(0);
  });

  it('splits a long report into parts, delivered in order to every chat', async () => {
    const report = {
      ...REPORT,
      added: Array.from({ length: 300 }, (_, i) => ({
        range: `10.${i}.0.0/16`,
        source: `rate-${'x'.repeat(60)}`,
        hits: i,
      })),
    };
    const summary = await runNotifier(
      deps,
      { ...settings, chatIds: [CHAT, OTHER_CHAT], maxListedRanges: 100 },
      snsEvent(JSON.stringify(report), 'ReportsTopic'),
      invocation(),
    );
    const delivered = server.delivered();
    const parts = summary.notices[0]?.parts ?? 0;
    expect(parts).toBeGreaterThan(1);
    expect(delivered.map((message) => message.chatId)).toEqual([
      ...Array<string>(parts).fill(CHAT),
      ...Array<string>(parts).fill(OTHER_CHAT),
    ]);
    expect(delivered[0]?.text).toMatch(/^🛡/);
    // 98 listed: a list keeps within Telegram's 100 formatted entities per message.
    expect(delivered.slice(0, parts).map((message) => message.text)).toContainEqual(
      expect.stringContaining('<i>… and 202 more</i>'),
    );
    for (const message of delivered) {
      expect(message.text.length).toBeLessThanOrEqual(4096);
      expect(checkTelegramHtml(message.text)).toBeUndefined();
    }
  });

  it('delivers `aws sns publish --message test` as a labelled plain notification', async () => {
    await runNotifier(deps, settings, snsEvent('test'), invocation());
    expect(server.delivered()).toEqual([
      {
        chatId: CHAT,
        parseMode: 'HTML',
        text: `📣 <b>Message on</b> <code>WafAutoblock-AlertTopic</code>
<i>Neither an alarm nor a block report; shown as it was published.</i>

test

<i>If you sent this to test your alerts: delivery to this chat works.</i>`,
      },
    ]);
  });

  it.each([
    ['broken JSON', '{"AlarmName": "x", "NewStateValue": '],
    ['markup and controls', '<script>alert("x")</script>\u0000&\u202E'],
    ['JSON of another shape', '{"Type":"Notification","detail":{"x":[1,2,3]}}'],
    ['a huge message', 'A'.repeat(250_000)],
  ])('delivers %s escaped and cut, without failing', async (_, message) => {
    const summary = await runNotifier(deps, settings, snsEvent(message), invocation());
    const [delivered] = server.delivered();
    expect(delivered?.text).toMatch(/^📣 <b>Message on<\/b>/);
    expect(checkTelegramHtml(delivered?.text ?? '')).toBeUndefined();
    expect(summary.notices[0]).toMatchObject({ kind: 'plain', delivered: summary.notices[0]?.parts });
  });

  it('delivers a direct invocation with any payload as a plain notice', async () => {
    await runNotifier(deps, settings, { hello: 'world' }, invocation());
    expect(server.delivered()[0]?.text).toContain('{&quot;hello&quot;:&quot;world&quot;}');
  });
});

describe('delivery', () => {
  it('logs the message instead when no chat is configured, and reads no token', async () => {
    const summary = await runNotifier(deps, { ...settings, chatIds: [] }, snsEvent('test'), invocation());
    expect(summary.delivery).toBe('logged-only');
    expect(server.requests).toHaveLength(0);
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(logger.warn).toHaveBeenCalledWith(
      'message not sent to Telegram (see the notifier settings); logged here instead',
      expect.objectContaining({ kind: 'plain', messages: [expect.stringContaining('test')] }),
    );
  });

  it('logs the message and says how to set the token while the secret holds none', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'h7#kP2$generated-by-CloudFormation' });
    const summary = await runNotifier(deps, settings, snsEvent('test'), invocation());
    expect(summary.delivery).toBe('logged-only');
    expect(server.requests).toHaveLength(0);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(`aws secretsmanager put-secret-value --secret-id ${SETTINGS.telegramSecretId}`),
    );
    expect(loggedText(logger)).not.toContain('h7#kP2$generated-by-CloudFormation');
  });

  it('fails, with the messages in the log, when the token cannot be read', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    const error = await failureOf(runNotifier(deps, settings, snsEvent('test'), invocation()));
    expect(error).toBeInstanceOf(ReadError);
    expect(logger.error).toHaveBeenCalledWith(
      'bot token unreadable; messages logged here, and the invocation fails so that it is retried',
      expect.objectContaining({ messages: [[expect.stringContaining('test')]] }),
    );
  });

  it('delivers to the chats that work and succeeds when one refuses for good (400 chat not found), never showing the token', async () => {
    server.removeChat(OTHER_CHAT);
    // A retry would be refused again, and the failed event would end in the dead-letter queue.
    const summary = await runNotifier(
      deps,
      { ...settings, chatIds: [OTHER_CHAT, CHAT] },
      snsEvent('test'),
      invocation(),
    );
    expect(summary.notices[0]).toMatchObject({ delivered: 1 });
    expect(server.delivered().map((message) => message.chatId)).toEqual([CHAT]);
    expect(logger.error).toHaveBeenCalledWith('Telegram message not delivered', {
      chatId: OTHER_CHAT,
      messageId: 'msg-1',
      part: 1,
      of: 1,
      status: 400,
      error: 'could not send to Telegram chat @wafalerts: refused (HTTP 400): Bad Request: chat not found',
    });
    expect(loggedText(logger)).not.toContain(TOKEN);
  });

  it('does not resend, on a retried invocation, what this instance already delivered', async () => {
    const delivered = new DeliveryLog();
    deps = newDeps(delivered);
    server.addChat(OTHER_CHAT);
    // The other chat's four attempts meet server errors: transient, so the invocation fails for Lambda's retry.
    server.answerNext(...Array.from({ length: 4 }, () => ANSWERS.serverError()));
    const event = snsEvent('test', 'AlertTopic', undefined, 'retried-message');
    const both = { ...settings, chatIds: [OTHER_CHAT, CHAT] };
    const error = await failureOf(runNotifier(deps, both, event, invocation()));
    expect(error).toBeInstanceOf(TelegramError);
    expect(error.message).toMatch(
      /^could not send to Telegram chat @wafalerts: 1 message\(s\) not delivered; first: server error/,
    );
    expect(`${error.message}${error.stack ?? ''}`).not.toContain(TOKEN);

    // Lambda retries the same event; by then Telegram answers again.
    const summary = await runNotifier(deps, both, event, invocation());
    expect(summary.notices[0]).toMatchObject({ delivered: 1, alreadyDelivered: 1 });
    expect(server.delivered().map((message) => message.chatId)).toEqual([CHAT, OTHER_CHAT]);
  });

  it('fails when a 429 asks for a longer wait than the invocation has left', async () => {
    server.answerNext(ANSWERS.tooManyRequests(30));
    remaining = 25_000;
    const error = await failureOf(runNotifier(deps, settings, snsEvent('test'), invocation()));
    expect(error).toMatchObject({ status: 429 });
    expect(server.requests).toHaveLength(1);
  });

  it('waits out a short 429 and delivers', async () => {
    server.answerNext(ANSWERS.tooManyRequests(3));
    await runNotifier(deps, settings, snsEvent('test'), invocation());
    expect(server.delivered()).toHaveLength(1);
    expect(clock - NOW).toBe(3_000);
  });
});
