/**
 * The blocker over two blocklist IP sets per family (`blocker.ipSetsPerFamily`, default 2), with the
 * real WAFv2 and DynamoDB SDK clients against the local WAF emulator and dynalite: new ranges go to
 * the emptier set, a range stays in the set that holds it, foreign entries in either set are kept,
 * and an expiry removes the range from the set it is in. Only CloudWatch and SNS are mocked.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import type { BlockReport } from '#contracts/report';
import { runBlocker, type RunSummary } from '#blocker/run';
import type { Family } from '#core/types';
import {
  ALLOWED,
  ATTACKER,
  BLOCK_MINUTES,
  FOREIGN,
  LOGIN_RULE,
  MINUTE,
  NOW,
  RANGE,
  RATE_RULE,
  SETTINGS,
  recordingLogger,
} from '../../support/blocker-fixtures';
import { createLedgerTable, startDynalite, type LocalDynamo } from '../../support/dynalite';
import { startWafServer, type WafServer } from '../../support/waf-server';

const at = (minutes: number) => NOW + minutes * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks (expiryMargin). */
const MARGIN_MINUTES = 15;
/** A second foreign entry, put into the first IPv4 set by hand: it makes that set the fuller one. */
const FOREIGN_TOO = '198.51.100.0/24';

const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let server: WafServer;
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let waf: WAFV2Client;

beforeAll(async () => {
  [server, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
  doc = createLedgerClient(dynamo.client);
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

function rulesReport(keys: { [rule: string]: { ipv4?: string[]; ipv6?: string[] } }): void {
  for (const rule of SETTINGS.rateRules) server.setManagedKeys(SETTINGS.webAclName, rule, keys[rule] ?? {});
}

function ipSet(name: string, version: Family, addresses: readonly string[]): IpSetAddress {
  const created = server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses, description: 'shards' });
  return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
}

describe('the blocker over two blocklist IP sets per family', () => {
  it('fills the emptier set, keeps ranges where they are and foreign entries everywhere, and expires from the right set', async () => {
    await createLedgerTable(dynamo.client, 'Ledger-shards');
    const v4 = [
      ipSet('blocklist-v4', 'IPV4', [FOREIGN.IPV4, FOREIGN_TOO]),
      ipSet('blocklist-v4-2', 'IPV4', []),
    ] as const;
    const v6 = [ipSet('blocklist-v6', 'IPV6', [FOREIGN.IPV6]), ipSet('blocklist-v6-2', 'IPV6', [])] as const;
    const settings: BlockerSettings = {
      ...SETTINGS,
      ledgerTable: 'Ledger-shards',
      blocklist: { IPV4: v4, IPV6: v6 },
      allowlist: {
        IPV4: ipSet('allowlist-v4', 'IPV4', ALLOWED.IPV4),
        IPV6: ipSet('allowlist-v6', 'IPV6', ALLOWED.IPV6),
      },
    };
    const ledger = new Ledger(doc, settings.ledgerTable);
    const deps = {
      waf,
      cloudwatch: new CloudWatchClient({ region, credentials }),
      sns: new SNSClient({ region, credentials }),
      ledger,
      pending: new PendingReports(doc, settings.ledgerTable),
      logger: recordingLogger(),
      sleep: () => Promise.resolve(),
    };
    const run = (minutes: number): Promise<RunSummary> => runBlocker(deps, settings, { kind: 'schedule' }, at(minutes));
    const addresses = (sets: readonly IpSetAddress[]) => sets.map((set) => server.getAddresses(set.id));
    const updates = () => server.calls.filter((call) => call.operation === 'UpdateIPSet').length;

    // t0: the first range goes to the empty second set, as do the others while it has more room.
    alarmIs('ALARM');
    rulesReport({ [RATE_RULE]: { ipv4: [`${ATTACKER.linode}/32`], ipv6: [`${ATTACKER.hetzner6}/128`] } });
    const first = await run(0);

    expect(addresses(v4)).toEqual([[FOREIGN.IPV4, FOREIGN_TOO], [RANGE.linode]]);
    expect(addresses(v6)).toEqual([[FOREIGN.IPV6], [RANGE.hetzner6]]);
    expect(first).toMatchObject({ rangesAdded: 2, blocklistSizes: { IPV4: 3, IPV6: 2 } });

    // t0+5: a second IPv4 range; the second set (1 entry) still has more room than the first (2).
    rulesReport({
      [RATE_RULE]: { ipv4: [`${ATTACKER.linode}/32`], ipv6: [`${ATTACKER.hetzner6}/128`] },
      [LOGIN_RULE]: { ipv4: [`${ATTACKER.tor}/32`] },
    });
    await run(5);
    expect(addresses(v4)).toEqual([
      [FOREIGN.IPV4, FOREIGN_TOO],
      [RANGE.linode, RANGE.tor],
    ]);

    // Someone empties the first set's foreign entries: it becomes the emptier one, yet nothing of
    // ours moves (no churn), and a run that sees the same attack writes no set.
    server.setAddresses(v4[0].id, []);
    const before = updates();
    await run(10);
    expect(updates()).toBe(before);
    expect(addresses(v4)).toEqual([[], [RANGE.linode, RANGE.tor]]);

    // The report lists every set with its own size.
    const report = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}') as BlockReport;
    expect(report.ipSets.map((set) => set.name)).toEqual([v4[0].name, v4[1].name, v6[0].name, v6[1].name]);

    // The attack ends; a block duration (and the margin) after the last sighting, each range leaves
    // the set that holds it, and the foreign IPv6 entry stays.
    alarmIs('OK');
    rulesReport({});
    const lifted = await run(10 + BLOCK_MINUTES + MARGIN_MINUTES);
    expect(lifted).toMatchObject({ rangesExpired: 3 });
    expect(addresses(v4)).toEqual([[], []]);
    expect(addresses(v6)).toEqual([[FOREIGN.IPV6], []]);
    expect(await ledger.activeEntries('IPV4')).toEqual([]);
  });
});
