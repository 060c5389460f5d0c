/**
 * "Never early" over the wire: the real run, the WAFv2 and DynamoDB SDK clients against the local
 * WAF emulator and dynalite, on an explicit 5-minute clock. A range seen on three runs in a row
 * stays blocked a full block duration after the last of them, and is lifted within the margin and
 * one run after that. Only CloudWatch (the alarm state) and SNS (the report) are mocked.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { AlarmState } from '#adapters/alarm';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { runBlocker, type BlockerDeps, type RunSummary } from '#blocker/run';
import type { Family } from '#core/types';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ATTACKER,
  BLOCK_MINUTES,
  MINUTE,
  NOW,
  RANGE,
  RATE_RULE,
  SETTINGS,
  recordingLogger,
} from '../../support/blocker-fixtures';
import { createLedgerTable, startDynalite, type LocalDynamo } from '../../support/dynalite';
import { startWafServer, type WafServer } from '../../support/waf-server';

const T0 = NOW;
const at = (minutes: number): number => T0 + minutes * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks (expiryMargin). */
const MARGIN_MINUTES = 15;
const SCHEDULE_MINUTES = 5;
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
let server: WafServer;
let dynamo: LocalDynamo;
let waf: WAFV2Client;

beforeAll(async () => {
  [server, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
  waf = createWafClient({ endpoint: server.endpoint, region, credentials });
});

afterAll(async () => {
  waf.destroy();
  cloudwatch.restore();
  sns.restore();
  await Promise.all([server.close(), dynamo.close()]);
});

beforeEach(() => {
  for (const mock of [cloudwatch, sns]) {
    mock.reset();
    mock.onAnyCommand().rejects(new Error('unexpected command'));
  }
  sns.on(PublishCommand, { TopicArn: SETTINGS.reportsTopicArn }).resolves({ MessageId: 'message-1' });
});

function alarmIs(state: AlarmState): void {
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: state }] });
}

async function deploy(): Promise<{ settings: BlockerSettings; deps: BlockerDeps; blocklistV4: string }> {
  const ledgerTable = 'Ledger-never-early';
  await createLedgerTable(dynamo.client, ledgerTable);
  const ipSet = (name: string, version: Family): IpSetAddress => {
    const created = server.createIpSet({ name, scope: 'CLOUDFRONT', version });
    return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
  };
  const blocklist = { IPV4: ipSet('blocklist-v4', 'IPV4'), IPV6: ipSet('blocklist-v6', 'IPV6') };
  const allowlist = { IPV4: ipSet('allowlist-v4', 'IPV4'), IPV6: ipSet('allowlist-v6', 'IPV6') };
  const deps: BlockerDeps = {
    waf,
    cloudwatch: new CloudWatchClient({ region, credentials }),
    sns: new SNSClient({ region, credentials }),
    ledger: new Ledger(createLedgerClient(dynamo.client), ledgerTable),
    pending: new PendingReports(createLedgerClient(dynamo.client), ledgerTable),
    logger: recordingLogger(),
    sleep: () => Promise.resolve(),
  };
  return {
    settings: { ...SETTINGS, ledgerTable, blocklist: { IPV4: [blocklist.IPV4], IPV6: [blocklist.IPV6] }, allowlist },
    deps,
    blocklistV4: blocklist.IPV4.id,
  };
}

describe('how long a block lasts, against the WAF emulator and dynalite', () => {
  it('keeps a range seen at t0, t0+5 and t0+10 blocked at t0+10+duration-1, and lifts it within the margin and one run', async () => {
    const { settings, deps, blocklistV4 } = await deploy();
    const run = (minutes: number): Promise<RunSummary> => runBlocker(deps, settings, { kind: 'schedule' }, at(minutes));
    const blocked = (): boolean => server.getAddresses(blocklistV4).includes(RANGE.linode);

    // The attack: the rate rule limits the same address on three runs in a row.
    alarmIs('ALARM');
    server.setManagedKeys(settings.webAclName, RATE_RULE, { ipv4: [`${ATTACKER.linode}/32`] });
    const sighted = [await run(0), await run(5), await run(10)];
    // One ledger write, when the range was new: the next two sightings were covered by the margin.
    expect(sighted.map((summary) => summary.ledgerWrites)).toEqual([1, 0, 0]);

    // Over: the rule limits no one and the alarm is OK.
    alarmIs('OK');
    server.setManagedKeys(settings.webAclName, RATE_RULE, {});
    for (const minutes of [15, 100, 10 + BLOCK_MINUTES - SCHEDULE_MINUTES, 10 + BLOCK_MINUTES - 1]) {
      const summary = await run(minutes);
      expect(blocked(), `blocked at t0+${minutes}`).toBe(true);
      expect(summary.rangesExpired).toBe(0);
    }

    // From t0+10+duration on, the first run past the stored expiry lifts it.
    let liftedAt: number | undefined;
    for (let minutes = 10 + BLOCK_MINUTES; liftedAt === undefined && minutes <= 10 + BLOCK_MINUTES + 60; minutes += 5) {
      if ((await run(minutes)).rangesExpired === 1) liftedAt = minutes;
    }
    expect(blocked()).toBe(false);
    expect(liftedAt).toBeGreaterThanOrEqual(10 + BLOCK_MINUTES);
    expect(liftedAt).toBeLessThanOrEqual(10 + BLOCK_MINUTES + MARGIN_MINUTES + SCHEDULE_MINUTES);
  });
});
