/**
 * The blocker over the wire: the real WAFv2 and DynamoDB SDK clients against the local WAF
 * emulator and dynalite, through an attack's whole life on an explicit clock. Only CloudWatch (the
 * alarm state) and SNS (the report) are mocked.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetIPSetCommand, UpdateIPSetCommand, type WAFV2Client } from '@aws-sdk/client-wafv2';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { runBlocker, type RunSummary } from '#blocker/run';
import type { Family } from '#core/types';
import type { BlockReport } from '#contracts/report';
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

const T0 = NOW;
const at = (minutes: number) => T0 + minutes * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks (expiryMargin). */
const MARGIN_MINUTES = 15;
const DESCRIPTION = 'waf-autoblock blocklist; entries added by hand are kept';

const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let server: WafServer;
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
const wafClients: WAFV2Client[] = [];
let tables = 0;

/** One deployment on the emulator: its own IP sets and ledger table, so that tests do not share state. */
interface Deployment {
  readonly settings: BlockerSettings;
  readonly ledger: Ledger;
  readonly pending: PendingReports;
  readonly blocklistId: Record<Family, string>;
}

function wafClient(): WAFV2Client {
  const client = createWafClient({ endpoint: server.endpoint, region, credentials });
  wafClients.push(client);
  return client;
}

async function deploy(): Promise<Deployment> {
  tables += 1;
  const ledgerTable = `Ledger-e2e-${tables}`;
  await createLedgerTable(dynamo.client, ledgerTable);
  const ipSet = (name: string, version: Family, addresses: readonly string[]): IpSetAddress => {
    const created = server.createIpSet({
      name: `${name}-${tables}`,
      scope: 'CLOUDFRONT',
      version,
      addresses,
      description: DESCRIPTION,
    });
    return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
  };
  // The operator banned a range by hand before the blocker ever ran.
  const blocklist = {
    IPV4: ipSet('blocklist-v4', 'IPV4', [FOREIGN.IPV4]),
    IPV6: ipSet('blocklist-v6', 'IPV6', [FOREIGN.IPV6]),
  };
  const allowlist = {
    IPV4: ipSet('allowlist-v4', 'IPV4', ALLOWED.IPV4),
    IPV6: ipSet('allowlist-v6', 'IPV6', ALLOWED.IPV6),
  };
  const settings: BlockerSettings = {
    ...SETTINGS,
    ledgerTable,
    blocklist: { IPV4: [blocklist.IPV4], IPV6: [blocklist.IPV6] },
    allowlist,
  };
  return {
    settings,
    ledger: new Ledger(doc, ledgerTable),
    pending: new PendingReports(doc, ledgerTable),
    blocklistId: { IPV4: blocklist.IPV4.id, IPV6: blocklist.IPV6.id },
  };
}

function alarmIs(state: AlarmState): void {
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: state }] });
}

/** What the rate rules are limiting right now. */
function rulesReport(keys: { [rule: string]: { ipv4?: string[]; ipv6?: string[] } }): void {
  for (const rule of SETTINGS.rateRules) server.setManagedKeys(SETTINGS.webAclName, rule, keys[rule] ?? {});
}

function reports(): BlockReport[] {
  return sns
    .commandCalls(PublishCommand)
    .map((call) => JSON.parse(call.args[0].input.Message ?? 'null') as BlockReport);
}

async function storedItem(deployment: Deployment, range: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await doc.send(new GetCommand({ TableName: deployment.settings.ledgerTable, Key: { range } }));
  return Item;
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
  sns.on(PublishCommand, { TopicArn: SETTINGS.reportsTopicArn }).resolves({ MessageId: 'message-1' });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the blocker against the WAF emulator and dynalite', () => {
  it('blocks an attack, keeps it blocked while it lasts, and lifts it a block duration (and the margin) after it was last seen', async () => {
    const deployment = await deploy();
    const { settings, blocklistId } = deployment;
    const waf = wafClient();
    const deps = {
      waf,
      cloudwatch: new CloudWatchClient({ region, credentials }),
      sns: new SNSClient({ region, credentials }),
      ledger: deployment.ledger,
      pending: deployment.pending,
      logger: recordingLogger(),
      sleep: () => Promise.resolve(),
    };
    const ledgerSend = vi.spyOn(doc, 'send');
    const ledgerWrites = () => ledgerSend.mock.calls.filter(([command]) => command instanceof UpdateCommand).length;
    const ipSetWrites = () => server.calls.filter((call) => call.operation === 'UpdateIPSet').length;
    const run = (minutes: number): Promise<RunSummary> => runBlocker(deps, settings, { kind: 'schedule' }, at(minutes));
    const attack = {
      [RATE_RULE]: {
        ipv4: [`${ATTACKER.linode}/32`, `${ATTACKER.linodeNeighbour}/32`, `${ALLOWED.monitorNeighbourKey}/32`],
        ipv6: [`${ATTACKER.hetzner6}/128`],
      },
      [LOGIN_RULE]: { ipv4: [`${ATTACKER.tor}/32`, `${ALLOWED.officeKey}/32`] },
    };
    server.setSampledRequests(settings.webAclArn, RATE_RULE, [
      { clientIp: ATTACKER.linode, headers: [{ name: 'Host', value: 'shop.example.com' }], at: at(-1), weight: 7 },
    ]);

    // t0: the attack starts and the alarm fires.
    alarmIs('ALARM');
    rulesReport(attack);
    const first = await run(0);

    expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode, RANGE.tor]);
    expect(server.getAddresses(blocklistId.IPV6)).toEqual([FOREIGN.IPV6, RANGE.hetzner6]);
    expect(server.getIpSet(blocklistId.IPV4).description).toBe(DESCRIPTION);
    expect(first).toMatchObject({ rangesAdded: 3, keysRejected: 2, rejectedByReason: { allowlisted: 2 } });
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([
      expect.objectContaining({ range: RANGE.linode, firstSeen: at(0), lastSeen: at(0), hits: 2, source: RATE_RULE }),
      expect.objectContaining({
        range: RANGE.tor,
        lastSeen: at(0),
        expiresAt: at(BLOCK_MINUTES + MARGIN_MINUTES),
        source: LOGIN_RULE,
      }),
    ]);
    expect(reports()).toHaveLength(1);
    expect(reports()[0]).toMatchObject({
      added: [
        { range: RANGE.linode, source: RATE_RULE, hits: 2 },
        { range: RANGE.tor, source: LOGIN_RULE, hits: 1 },
        { range: RANGE.hetzner6, source: RATE_RULE, hits: 1 },
      ],
      topHosts: [{ host: 'shop.example.com', count: 7 }],
    });

    // t0+60: the same addresses are still being limited: the ledger remembers, WAF is left alone.
    const writesBefore = ipSetWrites();
    const refreshesBefore = ledgerWrites();
    await run(60);

    expect(ipSetWrites()).toBe(writesBefore);
    expect(ledgerWrites()).toBe(refreshesBefore + 3);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([
      expect.objectContaining({ range: RANGE.hetzner6, firstSeen: at(0), lastSeen: at(60), expiresAt: at(315) }),
    ]);
    expect(reports()).toHaveLength(1);

    // t0+100: the attack is over.
    alarmIs('OK');
    rulesReport({});
    await run(100);
    // t0+241: a block counted from the first sighting would run out here; ours counts from the last.
    const ledgerWritesBefore = ledgerWrites();
    await run(241);

    expect(ipSetWrites()).toBe(writesBefore);
    expect(ledgerWrites()).toBe(ledgerWritesBefore);
    expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode, RANGE.tor]);
    expect(reports()).toHaveLength(1);

    // t0+60+240+15: the blocks run out, a margin after the promise. The operator's entries stay.
    const lifted = await run(60 + BLOCK_MINUTES + MARGIN_MINUTES);

    expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(server.getAddresses(blocklistId.IPV6)).toEqual([FOREIGN.IPV6]);
    expect(lifted).toMatchObject({ rangesExpired: 3, ipSetWrites: 2 });
    for (const range of [RANGE.linode, RANGE.tor, RANGE.hetzner6]) {
      const item = await storedItem(deployment, range);
      expect(item).toMatchObject({ range, lastSeen: at(60), removedAt: at(60 + BLOCK_MINUTES + MARGIN_MINUTES) });
      expect(item).not.toHaveProperty('activeFamily');
    }
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(reports()).toHaveLength(2);
    expect(reports()[1]?.expired).toEqual([
      { range: RANGE.linode, source: RATE_RULE, lastSeen: new Date(at(60)).toISOString() },
      { range: RANGE.tor, source: LOGIN_RULE, lastSeen: new Date(at(60)).toISOString() },
      { range: RANGE.hetzner6, source: RATE_RULE, lastSeen: new Date(at(60)).toISOString() },
    ]);

    // One more run: nothing left to do, so nothing is written anywhere.
    const afterExpiry = { ipSet: ipSetWrites(), ledger: ledgerWrites() };
    const idle = await run(60 + BLOCK_MINUTES + MARGIN_MINUTES + 5);

    expect({ ipSet: ipSetWrites(), ledger: ledgerWrites() }).toEqual(afterExpiry);
    expect(reports()).toHaveLength(2);
    expect(idle).toMatchObject({ rangesActive: 0, ipSetWrites: 0, ledgerWrites: 0, reported: false });
    expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('keeps an entry another tool wrote between its read and its write, and still adds its own', async () => {
    const deployment = await deploy();
    const { settings, blocklistId } = deployment;
    const banned = '103.75.32.0/22';
    const foreignTool = wafClient();
    const waf = wafClient();
    const v4 = settings.blocklist.IPV4[0];
    let interleaved = false;
    // The other tool reads and writes the set the moment the blocker is about to write it, with the
    // real SDK: the blocker's token is stale by then.
    waf.middlewareStack.add(
      (next) => async (args) => {
        const { input } = args as { input: { Id?: unknown; LockToken?: unknown } };
        if (!interleaved && input.Id === v4.id && typeof input.LockToken === 'string') {
          interleaved = true;
          const read = await foreignTool.send(new GetIPSetCommand({ Name: v4.name, Id: v4.id, Scope: v4.scope }));
          await foreignTool.send(
            new UpdateIPSetCommand({
              Name: v4.name,
              Id: v4.id,
              Scope: v4.scope,
              Addresses: [...(read.IPSet?.Addresses ?? []), banned],
              LockToken: read.LockToken,
              Description: read.IPSet?.Description,
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'foreignToolWritesFirst' },
    );
    alarmIs('ALARM');
    rulesReport({ [RATE_RULE]: { ipv4: [`${ATTACKER.linode}/32`], ipv6: [`${ATTACKER.hetzner6}/128`] } });

    const summary = await runBlocker(
      {
        waf,
        cloudwatch: new CloudWatchClient({ region, credentials }),
        sns: new SNSClient({ region, credentials }),
        ledger: deployment.ledger,
        pending: deployment.pending,
        logger: recordingLogger(),
        sleep: () => Promise.resolve(),
      },
      settings,
      { kind: 'schedule' },
      T0,
    );

    expect(interleaved).toBe(true);
    expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4, banned, RANGE.linode]);
    expect(server.getAddresses(blocklistId.IPV6)).toEqual([FOREIGN.IPV6, RANGE.hetzner6]);
    const conflicts = server.calls.filter(
      (call) => call.operation === 'UpdateIPSet' && call.errorType === 'WAFOptimisticLockException',
    );
    expect(conflicts).toHaveLength(1);
    expect(summary).toMatchObject({ lockConflicts: 1, rangesAdded: 2 });
  });
});
