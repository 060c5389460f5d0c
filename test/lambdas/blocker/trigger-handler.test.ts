/**
 * The Lambda entry given our alarm's SNS event: a late one makes the handler read the alarm and log
 * why; a fresh one does not. Strict SDK mocks, settings from the environment as the stack sets them.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RUN_LOCK_KEY } from '#adapters/ledger';
import { ATTACKER, BLOCKER_ENVIRONMENT, SETTINGS } from '../../support/blocker-fixtures';
import { answerWriteAheadIntent } from '../../support/write-ahead-mock';

const waf = mockClient(WAFV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

// 60 s left: too little for a second round, so a run in ALARM stops after its first (attack mode's
// rounds are in attack-mode-handler.test.ts).
const context = {
  functionName: 'WafAutoblock-Blocker',
  awsRequestId: 'req-late',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-AlertTopic';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;
let lines: string[] = [];

function jsonLines(): Record<string, unknown>[] {
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Our alarm's ALARM event as Lambda delivers it, the state change `ageMs` before the real clock's now. */
function alarmEvent(ageMs: number): unknown {
  const changed = Date.now() - ageMs;
  const message = {
    AlarmName: SETTINGS.alarmName,
    NewStateValue: 'ALARM',
    OldStateValue: 'OK',
    StateChangeTime: new Date(changed).toISOString().replace('Z', '+0000'),
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: 'alarm-1',
          TopicArn: ALERT_TOPIC,
          Message: JSON.stringify(message),
          Timestamp: new Date(changed + 1000).toISOString(),
        },
      },
    ],
  };
}

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'WafAutoblock');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'waf-autoblock-blocker');
  for (const [name, value] of Object.entries(BLOCKER_ENVIRONMENT)) vi.stubEnv(name, value);
  handler = (await import('#blocker/handler')).handler as Handler;
});

beforeEach(() => {
  lines = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation(capture);
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  }
  waf.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.reset().onAnyCommand().rejects(new Error('unexpected command'));
  sns.reset().onAnyCommand().rejects(new Error('unexpected command'));
  ddb.reset().onAnyCommand().rejects(new Error('unexpected command'));
  // The attack is over: the alarm is OK, though the rate rule still limits one address.
  waf
    .on(GetRateBasedStatementManagedKeysCommand)
    .resolves({ ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`] } });
  waf
    .on(GetIPSetCommand)
    .resolves({ IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] }, LockToken: 't' });
  ddb.on(QueryCommand).resolves({ Items: [] });
  answerWriteAheadIntent(ddb);
  // The run lock only: any ledger write for a range would be a block.
  ddb.on(UpdateCommand, { Key: { range: RUN_LOCK_KEY } }).resolves({});
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  vi.unstubAllEnvs();
  for (const mock of [waf, cloudwatch, sns, ddb]) mock.restore();
});

describe('the blocker handler given our alarm event', () => {
  it('reads the alarm for an ALARM event 3 hours old, blocks nothing with the alarm OK, and says why', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'OK' }] });

    const summary = await handler(alarmEvent(3 * 3_600_000), { ...context, getRemainingTimeInMillis: () => 300_000 });

    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'OK', collected: false, rangesAdded: 0 });
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    // Nor does it start attack mode: one run, though the invocation has minutes left.
    expect(jsonLines().filter((record) => record.message === 'blocker run')).toHaveLength(1);
    const notices = jsonLines().filter((record) => record.message === 'alarm message not trusted; reading the alarm');
    expect(notices).toEqual([
      expect.objectContaining({
        level: 'INFO',
        announcedState: 'ALARM',
        problem: expect.stringMatching(/^StateChangeTime \S+ is 3 h old \(trusted for 60 s\)$/) as unknown,
      }),
    ]);
  });

  it('takes the state of a fresh ALARM event without reading the alarm, and logs no such line', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.on(PublishCommand).resolves({ MessageId: 'report-1' });

    const summary = await handler(alarmEvent(2_000), context);

    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'ALARM', collected: true, rangesAdded: 1 });
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(jsonLines().some((record) => record.message === 'alarm message not trusted; reading the alarm')).toBe(false);
  });
});
