/**
 * A late alarm event, over the wire: the alarm's SNS message as Lambda delivers it, read by
 * triggerOf and run by runBlocker as the handler does, against the WAF emulator and dynalite. Only
 * CloudWatch (the alarm's state now) and SNS (the report) are mocked, strictly: a DescribeAlarms
 * call a test did not declare fails the run.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { runBlocker, type BlockerDeps } from '#blocker/run';
import { triggerOf } from '#blocker/trigger';
import type { Family } from '#core/types';
import {
  ALLOWED,
  BLOCK_MINUTES,
  FOREIGN,
  MINUTE,
  NOW,
  RATE_RULE,
  SETTINGS,
  recordingLogger,
} from '../../support/blocker-fixtures';
import { createLedgerTable, startDynalite, type LocalDynamo } from '../../support/dynalite';
import { startWafServer, type WafServer } from '../../support/waf-server';

const HOUR = 60 * MINUTE;
/** The address of the report, and the /24 it was blocked as. */
const LATE_ATTACKER = '45.142.120.33';
const LATE_RANGE = '45.142.120.0/24';
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-AlertTopic';

const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let server: WafServer;
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
const wafClients: WAFV2Client[] = [];
let deployments = 0;

interface Deployment {
  readonly settings: BlockerSettings;
  readonly deps: BlockerDeps;
  readonly blocklistId: Record<Family, string>;
}

/** A deployment of its own on the emulator (IP sets and ledger table), with an operator's entry in each blocklist. */
async function deploy(): Promise<Deployment> {
  deployments += 1;
  const ledgerTable = `Ledger-freshness-${deployments}`;
  await createLedgerTable(dynamo.client, ledgerTable);
  const ipSet = (name: string, version: Family, addresses: readonly string[]): IpSetAddress => {
    const created = server.createIpSet({ name: `${name}-${deployments}`, scope: 'CLOUDFRONT', version, addresses });
    return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
  };
  const blocklist = { IPV4: ipSet('bl-v4', 'IPV4', [FOREIGN.IPV4]), IPV6: ipSet('bl-v6', 'IPV6', [FOREIGN.IPV6]) };
  const allowlist = { IPV4: ipSet('al-v4', 'IPV4', ALLOWED.IPV4), IPV6: ipSet('al-v6', 'IPV6', ALLOWED.IPV6) };
  const settings: BlockerSettings = {
    ...SETTINGS,
    ledgerTable,
    blocklist: { IPV4: [blocklist.IPV4], IPV6: [blocklist.IPV6] },
    allowlist,
  };
  const waf = createWafClient({ endpoint: server.endpoint, region, credentials });
  wafClients.push(waf);
  const deps: BlockerDeps = {
    waf,
    cloudwatch: new CloudWatchClient({ region, credentials }),
    sns: new SNSClient({ region, credentials }),
    ledger: new Ledger(doc, ledgerTable),
    pending: new PendingReports(doc, ledgerTable),
    logger: recordingLogger(),
    sleep: () => Promise.resolve(),
  };
  // The rate rule is limiting the address now, whatever the alarm says.
  server.setManagedKeys(settings.webAclName, RATE_RULE, { ipv4: [`${LATE_ATTACKER}/32`] });
  return { settings, deps, blocklistId: { IPV4: blocklist.IPV4.id, IPV6: blocklist.IPV6.id } };
}

function alarmIsNow(state: AlarmState): void {
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: state }] });
}

/**
 * The SNS event Lambda delivers for our alarm's state change `ageMs` before NOW: CloudWatch's
 * message (StateChangeTime with a `+0000` offset) and SNS's Timestamp a second later.
 */
function alarmEvent(state: AlarmState, ageMs: number): SNSEvent {
  const changed = NOW - ageMs;
  const message = {
    AlarmName: SETTINGS.alarmName,
    AWSAccountId: '123456789012',
    NewStateValue: state,
    OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
    NewStateReason: 'Threshold Crossed: 1 datapoint [5120.0] was greater than or equal to the threshold (3000.0).',
    StateChangeTime: new Date(changed).toISOString().replace('Z', '+0000'),
    Region: 'US East (N. Virginia)',
    Trigger: { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2', Period: 300, EvaluationPeriods: 1 },
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${ALERT_TOPIC}:3f1c`,
        Sns: {
          Type: 'Notification',
          MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
          TopicArn: ALERT_TOPIC,
          Subject: `ALARM: "${SETTINGS.alarmName}" in US East (N. Virginia)`,
          Message: JSON.stringify(message),
          Timestamp: new Date(changed + 1000).toISOString(),
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** What the handler does with an event, on the run's clock NOW. */
async function handle(deployment: Deployment, event: SNSEvent) {
  const { trigger } = triggerOf(event, deployment.settings, NOW);
  return runBlocker(deployment.deps, deployment.settings, trigger, NOW);
}

beforeAll(async () => {
  [server, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
  doc = createLedgerClient(dynamo.client);
});

afterAll(async () => {
  for (const client of wafClients) client.destroy();
  cloudwatch.restore();
  sns.restore();
  await Promise.all([server.close(), dynamo.close()]);
});

beforeEach(() => {
  for (const mock of [cloudwatch, sns]) {
    mock.reset();
    mock.onAnyCommand().rejects(new Error('unexpected command'));
  }
  sns.on(PublishCommand, { TopicArn: SETTINGS.reportsTopicArn }).resolves({ MessageId: 'report-1' });
});

describe('an alarm event that arrives late', () => {
  it('a 3-hour-old ALARM message, with the alarm now OK, blocks nothing new: the run reads the alarm', async () => {
    const deployment = await deploy();
    alarmIsNow('OK');

    const summary = await handle(deployment, alarmEvent('ALARM', 3 * HOUR));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.deps.ledger.activeEntries('IPV4')).toEqual([]);
    expect(server.calls.filter((call) => call.operation === 'UpdateIPSet')).toEqual([]);
    expect(sns).toReceiveCommandTimes(PublishCommand, 0);
    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'OK', collected: false, rangesAdded: 0 });
  });

  it('the same late message, with the alarm still in ALARM, blocks the range for the block duration', async () => {
    const deployment = await deploy();
    alarmIsNow('ALARM');

    const summary = await handle(deployment, alarmEvent('ALARM', 3 * HOUR));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    const [entry, ...others] = await deployment.deps.ledger.activeEntries('IPV4');
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ range: LATE_RANGE, lastSeen: NOW });
    // At least the block duration (a margin later is allowed: issue 9 §3).
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(NOW + BLOCK_MINUTES * MINUTE);
    expect(summary).toMatchObject({ alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });

  it('a late OK message does not close the gate of an attack that is on again', async () => {
    const deployment = await deploy();
    alarmIsNow('ALARM');

    const summary = await handle(deployment, alarmEvent('OK', 20 * MINUTE));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    expect(summary).toMatchObject({ alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });
});

describe('an alarm event that arrives on time', () => {
  it('a fresh ALARM message opens the gate without a DescribeAlarms call', async () => {
    const deployment = await deploy();
    // No DescribeAlarms declared: the strict mock would fail the run's read of the alarm.

    const summary = await handle(deployment, alarmEvent('ALARM', 5_000));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });
});
