/**
 * One blocker run against strict SDK mocks: every client rejects any command the test did not
 * declare, so a write the run should not make fails loudly, and a read it should not make is seen.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  GetSampledRequestsCommand,
  UpdateIPSetCommand,
  WAFInternalErrorException,
  WAFOptimisticLockException,
  WAFV2Client,
  type SampledHTTPRequest,
} from '@aws-sdk/client-wafv2';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { describeIpSet } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { runBlocker, type BlockerDeps, type RunSummary, type Trigger } from '#blocker/run';
import type { Family, LedgerEntry } from '#core/types';
import { ReadError, WriteError } from '#shared/errors';
import { ACTIVE_SHARDS, LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { BLOCK_REPORT_KIND, type BlockReport } from '#contracts/report';
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
  expiredEntry,
  ledgerEntry,
  recordingLogger,
  storedItem,
} from '../../support/blocker-fixtures';
import { answerActiveRows } from '../../support/ledger-mock';
import { answerNoPendingReport } from '../../support/write-ahead-mock';

const waf = mockClient(WAFV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const region = 'us-east-1';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const clients = {
  waf: new WAFV2Client({ region, credentials }),
  cloudwatch: new CloudWatchClient({ region, credentials }),
  sns: new SNSClient({ region, credentials }),
  // One row at a time: a run with new ranges writes the write-ahead intent first, the path these tests
  // follow. A ledger that writes all of a run's rows in one wave writes them first (write-ahead.test.ts).
  ledger: new Ledger(createLedgerClient({ region, credentials }), SETTINGS.ledgerTable, { concurrency: 1 }),
  pending: new PendingReports(createLedgerClient({ region, credentials }), SETTINGS.ledgerTable),
};
let logger = recordingLogger();

const SCHEDULE: Trigger = { kind: 'schedule' };
const SAMPLES_UNREADABLE = 'sampled requests unreadable; the report lists fewer hosts';
const UNEXPECTED = 'unexpected command: not declared by this test';
const BLOCK_MS = BLOCK_MINUTES * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks: 15 minutes (expiryMargin). */
const MARGIN_MS = 15 * MINUTE;

interface IpSetState {
  readonly addresses: readonly string[];
  readonly lockToken: string;
  readonly description?: string;
}

const BLOCKLIST: Readonly<Record<Family, IpSetState>> = {
  IPV4: {
    addresses: [FOREIGN.IPV4],
    lockToken: 'v4-token-1',
    description: 'waf-autoblock IPv4 blocklist; entries added by hand are kept',
  },
  IPV6: {
    addresses: [FOREIGN.IPV6],
    lockToken: 'v6-token-1',
    description: 'waf-autoblock IPv6 blocklist; entries added by hand are kept',
  },
};

/** What the AWS services answer to the run's reads. */
interface World {
  readonly alarm: AlarmState | Error;
  /** Managed keys per rate rule, as WAF reports them (CIDR strings); a rule not named has none. */
  readonly keys: Readonly<Record<string, { ipv4?: readonly string[]; ipv6?: readonly string[] } | Error>>;
  readonly blocklist: Readonly<Record<Family, IpSetState | Error>>;
  readonly allowlist: Readonly<Record<Family, readonly string[] | Error>>;
  readonly ledger: Readonly<Record<Family, readonly LedgerEntry[] | Error>>;
  /** Sampled requests per rule metric name. */
  readonly samples: Readonly<Record<string, readonly SampledHTTPRequest[]>>;
}

const QUIET: World = {
  alarm: 'ALARM',
  keys: {},
  blocklist: BLOCKLIST,
  allowlist: { IPV4: ALLOWED.IPV4, IPV6: ALLOWED.IPV6 },
  ledger: { IPV4: [], IPV6: [] },
  samples: {},
};

/** The blocklist's first shard, or the allowlist, of a family. */
function refOf(family: Family, list: 'blocklist' | 'allowlist' = 'blocklist'): IpSetAddress {
  return list === 'blocklist' ? SETTINGS.blocklist[family][0] : SETTINGS.allowlist[family];
}

function ipSetKey(family: Family, list: 'blocklist' | 'allowlist' = 'blocklist') {
  const ref = refOf(family, list);
  return { Name: ref.name, Id: ref.id, Scope: ref.scope };
}

function getIpSetOutput(family: Family, state: IpSetState) {
  return {
    IPSet: {
      Name: 'unused',
      Id: 'unused',
      ARN: 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/x/y',
      IPAddressVersion: family,
      Addresses: [...state.addresses],
      ...(state.description === undefined ? {} : { Description: state.description }),
    },
    LockToken: state.lockToken,
  };
}

/** Declares every read's answer; anything else any client is sent is rejected. */
function arrange(overrides: Partial<World> = {}): void {
  const world: World = { ...QUIET, ...overrides };
  waf.reset().onAnyCommand().rejects(new Error(UNEXPECTED));
  cloudwatch.reset().onAnyCommand().rejects(new Error(UNEXPECTED));
  sns.reset().onAnyCommand().rejects(new Error(UNEXPECTED));
  ddb.reset().onAnyCommand().rejects(new Error(UNEXPECTED));

  const alarm = cloudwatch.on(
    DescribeAlarmsCommand,
    { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] },
    true,
  );
  if (world.alarm instanceof Error) alarm.rejects(world.alarm);
  else alarm.resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: world.alarm }] });

  for (const ruleName of SETTINGS.rateRules) {
    const keys = world.keys[ruleName] ?? {};
    const read = waf.on(
      GetRateBasedStatementManagedKeysCommand,
      { WebACLName: SETTINGS.webAclName, WebACLId: SETTINGS.webAclId, Scope: SETTINGS.scope, RuleName: ruleName },
      true,
    );
    if (keys instanceof Error) read.rejects(keys);
    else
      read.resolves({
        ManagedKeysIPV4: { IPAddressVersion: 'IPV4', Addresses: [...(keys.ipv4 ?? [])] },
        ManagedKeysIPV6: { IPAddressVersion: 'IPV6', Addresses: [...(keys.ipv6 ?? [])] },
      });
    waf
      .on(GetSampledRequestsCommand, {
        WebAclArn: SETTINGS.webAclArn,
        RuleMetricName: ruleName,
        Scope: SETTINGS.scope,
        MaxItems: 500,
      })
      .resolves({ SampledRequests: [...(world.samples[ruleName] ?? [])], PopulationSize: 0 });
  }

  for (const family of ['IPV4', 'IPV6'] as const) {
    const blocklist = world.blocklist[family];
    const readBlocklist = waf.on(GetIPSetCommand, ipSetKey(family), true);
    if (blocklist instanceof Error) readBlocklist.rejects(blocklist);
    else readBlocklist.resolves(getIpSetOutput(family, blocklist));

    const allowlist = world.allowlist[family];
    const readAllowlist = waf.on(GetIPSetCommand, ipSetKey(family, 'allowlist'), true);
    if (allowlist instanceof Error) readAllowlist.rejects(allowlist);
    else readAllowlist.resolves(getIpSetOutput(family, { addresses: allowlist, lockToken: `allow-${family}` }));

    const rows = world.ledger[family];
    answerActiveRows(ddb, family, rows instanceof Error ? rows : rows.map(storedItem), SETTINGS.ledgerTable);
  }
  // No run left a write-ahead intent behind.
  for (const key of INTENT_HEADS) {
    ddb.on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: key }, ConsistentRead: true }).resolves({});
  }
  // No earlier run left a report unpublished.
  answerNoPendingReport(ddb);
}

/** The first parts of the two intent slots, read at the start of every run. */
const INTENT_HEADS = ['#intent#a#0', '#intent#b#0'];
/** The pending report's item, read by every run's report phase. */
const PENDING_REPORT = LEDGER_RESERVED_KEYS.pendingReport;

/** Accepts the write-ahead intent (written before the IP sets) and its drop (after the rows). */
function acceptIntent(): void {
  ddb.on(PutCommand, { TableName: SETTINGS.ledgerTable }).resolves({});
  ddb.on(DeleteCommand, { TableName: SETTINGS.ledgerTable }).resolves({});
}

/** The ranges of the intent this run wrote (its parts hold groups of entries alike but for the range). */
function intendedRanges(): string[] {
  return ddb.commandCalls(PutCommand).flatMap((call) => {
    const entries: unknown = call.args[0].input.Item?.['entries'];
    if (typeof entries !== 'string') return [];
    return (JSON.parse(entries) as { groups: { ranges: string[] }[] }).groups.flatMap((group) => group.ranges);
  });
}

/** The exact UpdateIPSet input for `family`'s blocklist. */
function ipSetWrite(
  family: Family,
  addresses: readonly string[],
  lockToken = BLOCKLIST[family].lockToken,
  description = BLOCKLIST[family].description,
) {
  return {
    ...ipSetKey(family),
    Addresses: [...addresses],
    LockToken: lockToken,
    ...(description === undefined ? {} : { Description: description }),
  };
}

/** Accepts exactly this UpdateIPSet; any other list, token or description is rejected. */
function acceptIpSetWrite(family: Family, addresses: readonly string[], lockToken?: string): void {
  waf.on(UpdateIPSetCommand, ipSetWrite(family, addresses, lockToken), true).resolves({ NextLockToken: 'next' });
}

/** Accepts ledger writes (upsert or close) for exactly these ranges. */
function acceptLedgerWrites(...ranges: string[]): void {
  acceptIntent();
  for (const range of ranges) ddb.on(UpdateCommand, { TableName: SETTINGS.ledgerTable, Key: { range } }).resolves({});
}

/** A range as this run records it on its first sighting: blocked from NOW for the block duration and the margin. */
function justWritten(range: string): LedgerEntry {
  return ledgerEntry(range, { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + BLOCK_MS + MARGIN_MS, hits: 1 });
}

/** Consistent reads of these entries as the table stores them (the re-check after a lock conflict). */
function ledgerHolds(...entries: LedgerEntry[]): void {
  for (const entry of entries) {
    ddb
      .on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: entry.range }, ConsistentRead: true })
      .resolves({ Item: storedItem(entry) });
  }
}

function acceptPublish(): void {
  sns.on(PublishCommand, { TopicArn: SETTINGS.reportsTopicArn }).resolves({ MessageId: 'message-1' });
}

/** For the tests where nothing may be written: a run that wrongly writes would otherwise succeed. */
function acceptAnyWrite(): void {
  waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
  ddb.on(UpdateCommand).resolves({});
  acceptIntent();
  acceptPublish();
}

function upsertOf(range: string, values: Record<string, unknown>) {
  return {
    TableName: SETTINGS.ledgerTable,
    Key: { range },
    ExpressionAttributeValues: expect.objectContaining(values) as Record<string, unknown>,
  };
}

/** A ledger entry's block being closed: it leaves the active index. */
function closeOf(range: string) {
  return {
    TableName: SETTINGS.ledgerTable,
    Key: { range },
    UpdateExpression: expect.stringContaining('REMOVE #activeFamily') as string,
    ExpressionAttributeValues: { ':now': NOW },
  };
}

function expectNoWrites(): void {
  expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
  expect(ddb).toReceiveCommandTimes(UpdateCommand, 0);
  expect(ddb).toReceiveCommandTimes(PutCommand, 0);
  expect(sns).toReceiveCommandTimes(PublishCommand, 0);
}

function publishedReport(): BlockReport {
  const calls = sns.commandCalls(PublishCommand);
  expect(calls).toHaveLength(1);
  return JSON.parse(calls[0]?.args[0].input.Message ?? 'null') as BlockReport;
}

/** Keys as WAF reports them: one address per CIDR. */
const v4 = (...addresses: string[]) => addresses.map((address) => `${address}/32`);
const v6 = (...addresses: string[]) => addresses.map((address) => `${address}/128`);

function run(settings: BlockerSettings = SETTINGS, trigger: Trigger = SCHEDULE): Promise<RunSummary> {
  const deps: BlockerDeps = { ...clients, logger, sleep: () => Promise.resolve(), random: () => 0.5 };
  return runBlocker(deps, settings, trigger, NOW);
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof Error)) throw new Error('expected the run to reject with an Error');
  return error;
}

beforeEach(() => {
  logger = recordingLogger();
  arrange();
});

afterAll(() => {
  for (const mock of [waf, cloudwatch, sns, ddb] as const) mock.restore();
});

describe('the alarm gate', () => {
  it('with the alarm OK, blocks no new attacker but still lifts a block that ran out', async () => {
    arrange({
      alarm: 'OK',
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode), ipv6: v6(ATTACKER.hetzner6) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] } },
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: [] },
    });
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4]);
    acceptLedgerWrites(RANGE.scanner);
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4]));
    expect(ddb).toReceiveCommandExactlyOnceWith(UpdateCommand, closeOf(RANGE.scanner));
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 1);
    expect(summary).toMatchObject({ alarmState: 'OK', collected: false, rangesAdded: 0, rangesExpired: 1 });
  });

  it('with the alarm in ALARM, records new /24 and /64 ranges in the ledger, then writes the full lists', async () => {
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.linodeNeighbour), ipv6: v6(ATTACKER.hetzner6) } },
    });
    acceptLedgerWrites(RANGE.linode, RANGE.hetzner6);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]);
    acceptIpSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]);
    acceptPublish();

    const summary = await run();

    // The full list, the token of the read and the set's own description: UpdateIPSet replaces all three.
    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]));
    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]));
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 2);
    const recorded = {
      ':firstSeen': NOW,
      ':lastSeen': NOW,
      ':expiresAt': NOW + BLOCK_MS + MARGIN_MS,
      ':source': RATE_RULE,
    };
    expect(ddb).toReceiveCommandWith(UpdateCommand, upsertOf(RANGE.linode, { ...recorded, ':hits': 2 }));
    expect(ddb).toReceiveCommandWith(UpdateCommand, upsertOf(RANGE.hetzner6, { ...recorded, ':hits': 1 }));
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 2);
    // A range is known as ours before it enters a set (in the write-ahead intent), so that a failure
    // in between leaves nothing unowned; its own row follows the set write, then the intent is dropped.
    expect(intendedRanges().sort()).toEqual([RANGE.linode, RANGE.hetzner6].sort());
    const [intent] = ddb.commandCalls(PutCommand);
    const firstIpSetWrite = waf.commandCalls(UpdateIPSetCommand)[0];
    const rows = ddb.commandCalls(UpdateCommand);
    const drop = ddb.commandCalls(DeleteCommand).at(-1);
    expect(intent?.calledBefore(firstIpSetWrite!)).toBe(true);
    expect(rows.every((row) => firstIpSetWrite!.calledBefore(row))).toBe(true);
    expect(rows.every((row) => row.calledBefore(drop!))).toBe(true);
    expect(drop?.args[0].input).toEqual({ TableName: SETTINGS.ledgerTable, Key: { range: '#intent#a#0' } });
    expect(summary).toMatchObject({
      alarmState: 'ALARM',
      collected: true,
      rangesAdded: 2,
      rangesActive: 2,
      ipSetWrites: 2,
      ledgerWrites: 2,
      reported: true,
    });
  });

  it('with gate always, collects new attackers without asking for the alarm state', async () => {
    arrange({ alarm: 'OK', keys: { [LOGIN_RULE]: { ipv4: v4(ATTACKER.tor) } } });
    acceptLedgerWrites(RANGE.tor);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.tor]);
    acceptPublish();

    const summary = await run({ ...SETTINGS, gate: 'always' });

    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.tor]));
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(summary).toMatchObject({ collected: true, rangesAdded: 1 });
  });

  it('takes the state an alarm trigger carries, without asking CloudWatch', async () => {
    arrange({
      alarm: new Error('CloudWatch is not to be asked'),
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } },
    });
    acceptLedgerWrites(RANGE.linode);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]);
    acceptPublish();

    const summary = await run(SETTINGS, { kind: 'alarm', alarmState: 'ALARM' });

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]));
    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'ALARM', collected: true });
  });

  it('trusts an alarm trigger that says OK over a stale ALARM in CloudWatch', async () => {
    arrange({ alarm: 'ALARM', keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } } });
    acceptAnyWrite();

    const summary = await run(SETTINGS, { kind: 'alarm', alarmState: 'OK' });

    expectNoWrites();
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(summary).toMatchObject({ alarmState: 'OK', collected: false });
    // The keys would be thrown away: they are not even read.
    expect(waf).toReceiveCommandTimes(GetRateBasedStatementManagedKeysCommand, 0);
  });
});

describe('steady state', () => {
  it('writes nothing and reports nothing when nothing is new and nothing is due', async () => {
    const active4 = ledgerEntry(RANGE.scanner);
    const active6 = ledgerEntry(RANGE.scanner6, { lastSeen: NOW - BLOCK_MS + MINUTE });
    arrange({
      alarm: 'ALARM',
      blocklist: {
        IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] },
        IPV6: { ...BLOCKLIST.IPV6, addresses: [RANGE.scanner6, FOREIGN.IPV6] },
      },
      ledger: { IPV4: [active4], IPV6: [active6] },
    });
    acceptAnyWrite();

    const summary = await run();

    expectNoWrites();
    expect(summary).toMatchObject({
      collected: true,
      rangesActive: 2,
      rangesAdded: 0,
      rangesExpired: 0,
      ipSetWrites: 0,
      ledgerWrites: 0,
      reported: false,
    });
  });
});

describe('an attack that goes on', () => {
  it('rewrites a range it already blocks only when its stored expiry no longer covers the sighting, beside the IP set write', async () => {
    // Written 15 minutes ago, a margin (15 min for 240-min blocks) ahead: still covers NOW + 240, not rewritten.
    const recent = ledgerEntry(RANGE.linode, { lastSeen: NOW - 15 * MINUTE, expiresAt: NOW + BLOCK_MS });
    // Written 20 minutes ago: it would end before NOW + 240, so it is rewritten, but it need not wait for,
    // nor hold up, the IP set.
    const older = ledgerEntry(RANGE.tor, { lastSeen: NOW - 20 * MINUTE, expiresAt: NOW - 5 * MINUTE + BLOCK_MS });
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.tor) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.linode, RANGE.tor] } },
      ledger: { IPV4: [recent, older], IPV6: [] },
    });
    acceptLedgerWrites(RANGE.tor);

    const summary = await run();

    expect(ddb).toReceiveCommandTimes(UpdateCommand, 1);
    expect(ddb).toReceiveCommandWith(
      UpdateCommand,
      upsertOf(RANGE.tor, { ':lastSeen': NOW, ':expiresAt': NOW + BLOCK_MS + MARGIN_MS }),
    );
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
    expect(sns).toReceiveCommandTimes(PublishCommand, 0);
    expect(summary).toMatchObject({ rangesAdded: 0, ledgerWrites: 1, ledgerRefreshSkipped: 1, reported: false });
  });

  it('asks the table itself before calling a sighted range in the set "not ours" (the index may lag)', async () => {
    // Another run recorded and blocked this range a moment ago; the index does not list it yet.
    const justRecorded = ledgerEntry(RANGE.linode, {
      lastSeen: NOW - MINUTE,
      expiresAt: NOW - MINUTE + BLOCK_MS + MARGIN_MS,
    });
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.linode] } },
    });
    ddb
      .on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: RANGE.linode }, ConsistentRead: true })
      .resolves({ Item: storedItem(justRecorded) });

    const summary = await run();

    // Known as ours, recently seen: no write at all, and never recorded as someone else's entry.
    expect(
      ddb
        .commandCalls(GetCommand)
        .filter(
          (call) =>
            ![...INTENT_HEADS, PENDING_REPORT, LEDGER_RESERVED_KEYS.schema].includes(
              String(call.args[0].input.Key?.['range']),
            ),
        ),
    ).toHaveLength(1);
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 0);
    expect(summary).toMatchObject({ rangesActive: 1, ledgerWrites: 0 });
  });

  it('records a sighted range that someone else had put in the set as theirs, after checking the table', async () => {
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.linode] } },
    });
    ddb
      .on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: RANGE.linode }, ConsistentRead: true })
      .resolves({});
    acceptLedgerWrites(RANGE.linode);

    await run();

    expect(ddb).toReceiveCommandWith(UpdateCommand, upsertOf(RANGE.linode, { ':preexisting': true }));
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
  });
});

describe('what never reaches a blocklist or leaves it', () => {
  it('keeps entries it does not manage, as they are spelled, while adding and removing its own', async () => {
    const foreign4 = [FOREIGN.IPV4, '5.188.10.0/23', '103.75.32.7/32'];
    const foreign6 = ['2A02:C207:2030:1::/64'];
    arrange({
      alarm: 'ALARM',
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode), ipv6: v6(ATTACKER.hetzner6) } },
      blocklist: {
        IPV4: { ...BLOCKLIST.IPV4, addresses: [foreign4[0]!, RANGE.scanner, ...foreign4.slice(1)] },
        IPV6: { ...BLOCKLIST.IPV6, addresses: foreign6 },
      },
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: [] },
    });
    acceptLedgerWrites(RANGE.linode, RANGE.hetzner6, RANGE.scanner);
    acceptIpSetWrite('IPV4', [...foreign4, RANGE.linode]);
    acceptIpSetWrite('IPV6', [...foreign6, RANGE.hetzner6]);
    acceptPublish();

    await run();

    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV4', [...foreign4, RANGE.linode]));
    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV6', [...foreign6, RANGE.hetzner6]));
  });

  it('never writes an attacker in, or next to, an allowlisted address', async () => {
    arrange({
      keys: {
        [RATE_RULE]: {
          ipv4: v4(ALLOWED.officeKey, ALLOWED.monitorNeighbourKey, ATTACKER.linode),
          ipv6: v6('2a00:1450:4001:81c::200e'),
        },
      },
    });
    acceptLedgerWrites(RANGE.linode);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]);
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]));
    expect(ddb).toReceiveCommandExactlyOnceWith(UpdateCommand, upsertOf(RANGE.linode, {}));
    expect(summary).toMatchObject({ keysSeen: 4, keysRejected: 3, rejectedByReason: { allowlisted: 3 } });
  });

  it('never writes private, link-local or other non-global keys, and counts them', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4('10.1.2.3', '192.168.0.1') }, [LOGIN_RULE]: { ipv6: v6('fe80::1') } } });
    acceptAnyWrite();

    const summary = await run();

    expectNoWrites();
    expect(summary).toMatchObject({
      collected: true,
      keysSeen: 3,
      keysRejected: 3,
      rejectedByReason: { 'non-global': 3 },
      rangesAdded: 0,
    });
  });
});

describe('when something cannot be read', () => {
  /** An attack in progress and a block that ran out: a run that read everything would write both sets. */
  const busy: Partial<World> = {
    keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode), ipv6: v6(ATTACKER.hetzner6) } },
    blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] } },
    ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: [] },
  };
  const unreachable = () => new WAFInternalErrorException({ message: 'service unavailable', $metadata: {} });

  it.each([
    ['the IPv4 blocklist', 'blocklist', 'IPV4'],
    ['the IPv6 blocklist', 'blocklist', 'IPV6'],
    ['the IPv4 allowlist', 'allowlist', 'IPV4'],
    ['the IPv6 allowlist', 'allowlist', 'IPV6'],
  ] as const)('writes nothing at all when %s cannot be read', async (_, list, family) => {
    const world = { ...QUIET, ...busy };
    arrange({ ...busy, [list]: { ...world[list], [family]: unreachable() } });
    acceptAnyWrite();

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ resource: describeIpSet(refOf(family, list)) });
    expect(error.message).toContain(refOf(family, list).name);
    expectNoWrites();
  });

  it('writes nothing at all when the ledger cannot be read', async () => {
    arrange({
      ...busy,
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: new Error('ProvisionedThroughputExceeded') },
    });
    acceptAnyWrite();

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ resource: `ledger table ${SETTINGS.ledgerTable}` });
    expectNoWrites();
  });

  it('writes nothing at all when the allowlist cannot be parsed, and names both allowlist sets', async () => {
    arrange({ ...busy, allowlist: { ...QUIET.allowlist, IPV4: [...ALLOWED.IPV4, 'not-an-address'] } });
    acceptAnyWrite();

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(ReadError);
    expect(error.message).toContain(refOf('IPV4', 'allowlist').name);
    expect(error.message).toContain(refOf('IPV6', 'allowlist').name);
    expectNoWrites();
  });

  it('judges no key once a read has failed: nothing is logged about them after the run threw', async () => {
    arrange({
      ...busy,
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: new Error('ProvisionedThroughputExceeded') },
    });
    // The keys, one of them malformed, come in after the ledger's read failed.
    const [ruleName] = SETTINGS.rateRules;
    waf
      .on(
        GetRateBasedStatementManagedKeysCommand,
        { WebACLName: SETTINGS.webAclName, WebACLId: SETTINGS.webAclId, Scope: SETTINGS.scope, RuleName: ruleName },
        true,
      )
      .callsFake(async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return {
          ManagedKeysIPV4: { IPAddressVersion: 'IPV4', Addresses: [...v4(ATTACKER.linode), 'not-a-key'] },
          ManagedKeysIPV6: { IPAddressVersion: 'IPV6', Addresses: [] },
        };
      });
    acceptAnyWrite();

    const error = await failureOf(run());
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(error).toMatchObject({ resource: `ledger table ${SETTINGS.ledgerTable}` });
    expect(waf).toHaveReceivedCommand(GetRateBasedStatementManagedKeysCommand);
    expect(logger.warn).not.toHaveBeenCalledWith('malformed key skipped', expect.anything());
    expectNoWrites();
  });

  it("goes on with the other rate rules and with expiry when one rule's keys cannot be read", async () => {
    arrange({
      ...busy,
      keys: { [RATE_RULE]: unreachable(), [LOGIN_RULE]: { ipv4: v4(ATTACKER.tor), ipv6: v6(ATTACKER.hetzner6) } },
    });
    acceptLedgerWrites(RANGE.tor, RANGE.hetzner6, RANGE.scanner);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.tor]);
    acceptIpSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]);
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.tor]));
    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]));
    expect(ddb).toReceiveCommandWith(UpdateCommand, closeOf(RANGE.scanner));
    expect(summary).toMatchObject({ unreadableRules: [RATE_RULE], rangesAdded: 2, rangesExpired: 1 });
    expect(publishedReport().unreadableRules).toEqual([RATE_RULE]);
  });

  it('collects no new attacker, but still expires, when the alarm state cannot be read', async () => {
    arrange({ ...busy, alarm: new Error('AccessDenied: cloudwatch:DescribeAlarms') });
    acceptLedgerWrites(RANGE.linode, RANGE.hetzner6, RANGE.scanner);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4]);
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4]));
    expect(ddb).toReceiveCommandExactlyOnceWith(UpdateCommand, closeOf(RANGE.scanner));
    expect(summary).toMatchObject({ alarmState: 'UNKNOWN', collected: false, rangesAdded: 0, rangesExpired: 1 });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('alarm state unreadable'),
      expect.objectContaining({ error: expect.stringContaining('AccessDenied') as unknown }),
    );
  });
});

describe('when a write fails', () => {
  it("fails loudly, after writing the other family's set, and leaves the failed family's expired ranges open", async () => {
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode), ipv6: v6(ATTACKER.hetzner6) } },
      blocklist: {
        IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] },
        IPV6: { ...BLOCKLIST.IPV6, addresses: [FOREIGN.IPV6, RANGE.scanner6] },
      },
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: [expiredEntry(RANGE.scanner6)] },
    });
    const cause = new WAFInternalErrorException({ message: 'internal error', $metadata: {} });
    waf.on(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]), true).rejects(cause);
    acceptIpSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]);
    // Every ledger write would succeed: closing the IPv4 range is the run's mistake to avoid, not the table's.
    acceptLedgerWrites(RANGE.linode, RANGE.hetzner6, RANGE.scanner, RANGE.scanner6);
    acceptPublish();

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ resource: describeIpSet(SETTINGS.blocklist.IPV4[0]) });
    expect(error.message).toContain('internal error');
    expect(waf).toReceiveCommandWith(UpdateIPSetCommand, ipSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]));
    expect(ddb).toReceiveCommandWith(UpdateCommand, closeOf(RANGE.scanner6));
    // Still in the set, so still ours to remove next run.
    expect(ddb).not.toReceiveCommandWith(UpdateCommand, { Key: { range: RANGE.scanner } });
    expect(logger.error).toHaveBeenCalled();
    // The report tells what happened: the IPv4 set did not change.
    const report = publishedReport();
    expect(report.added.map(({ range }) => range)).toEqual([RANGE.hetzner6]);
    expect(report.expired.map(({ range }) => range)).toEqual([RANGE.scanner6]);
    expect(report.ipSets).toEqual([
      expect.objectContaining({ family: 'IPV4', size: 2 }),
      expect.objectContaining({ family: 'IPV6', size: 2 }),
    ]);
  });

  it('touches no IP set when the ledger cannot record the intent to add new ranges', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.tor) } } });
    acceptAnyWrite();
    ddb.on(PutCommand).rejects(new Error('InternalServerError'));

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ resource: `ledger table ${SETTINGS.ledgerTable}` });
    expect(error.message).toContain('intent (2 ranges');
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 0);
    expect(sns).toReceiveCommandTimes(PublishCommand, 0);
  });

  it('fails after the set write when a new range cannot get its row, and keeps the intent for the next run', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.tor) } } });
    acceptAnyWrite();
    ddb
      .on(UpdateCommand, { TableName: SETTINGS.ledgerTable, Key: { range: RANGE.tor } })
      .rejects(new Error('InternalServerError'));

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ resource: `ledger table ${SETTINGS.ledgerTable}` });
    expect(error.message).toContain(RANGE.tor);
    expect(intendedRanges().sort()).toEqual([RANGE.linode, RANGE.tor].sort());
    expect(waf).toReceiveCommandExactlyOnceWith(
      UpdateIPSetCommand,
      ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode, RANGE.tor]),
    );
    expect(ddb).toReceiveCommandTimes(DeleteCommand, 0);
  });

  it('finishes an intent a failed run left: records the ranges that reached a set, drops those that did not', async () => {
    const leftover = [justWritten(RANGE.linode), justWritten(RANGE.tor)];
    arrange({
      alarm: 'OK',
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.linode] } },
    });
    ddb
      .on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: '#intent#a#0' }, ConsistentRead: true })
      .resolves({
        Item: {
          range: '#intent#a#0',
          runId: 'crashed',
          writtenAt: NOW - MINUTE,
          parts: 1,
          part: 0,
          entries: JSON.stringify(leftover),
        },
      });
    acceptLedgerWrites(RANGE.linode);

    const summary = await run();

    // The range in the set is ours: recorded (its row at once: one row needs no intent), never left
    // unowned or taken for a foreign entry; the one that never reached a set is not blocked.
    expect(ddb).toReceiveCommandExactlyOnceWith(UpdateCommand, upsertOf(RANGE.linode, { ':preexisting': false }));
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 1);
    expect(intendedRanges()).toEqual([]);
    expect(ddb).toReceiveCommandExactlyOnceWith(DeleteCommand, { Key: { range: '#intent#a#0' } });
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
    expect(summary).toMatchObject({ rangesActive: 1, ledgerWrites: 1 });
  });

  it('fails after the IP sets were written when the report cannot be published', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } } });
    acceptLedgerWrites(RANGE.linode);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]);
    sns.on(PublishCommand).rejects(new Error('KMSAccessDenied'));

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ resource: `reports topic ${SETTINGS.reportsTopicArn}` });
    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]));
    const [write] = waf.commandCalls(UpdateIPSetCommand);
    const [publish] = sns.commandCalls(PublishCommand);
    expect(write?.calledBefore(publish!)).toBe(true);
  });
});

describe('a lock conflict', () => {
  it("re-reads the set and writes the other writer's entry with its own ranges, never the stale list", async () => {
    const addedMeanwhile = '103.75.32.0/22';
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) }, [LOGIN_RULE]: { ipv4: v4(ATTACKER.tor) } } });
    waf
      .on(GetIPSetCommand, ipSetKey('IPV4'), true)
      .resolvesOnce(getIpSetOutput('IPV4', BLOCKLIST.IPV4))
      .resolves(
        getIpSetOutput('IPV4', {
          ...BLOCKLIST.IPV4,
          addresses: [FOREIGN.IPV4, addedMeanwhile],
          lockToken: 'v4-token-2',
        }),
      );
    const stale = [FOREIGN.IPV4, RANGE.linode, RANGE.tor];
    const fresh = [FOREIGN.IPV4, addedMeanwhile, RANGE.linode, RANGE.tor];
    waf
      .on(UpdateIPSetCommand, ipSetWrite('IPV4', stale), true)
      .rejects(new WAFOptimisticLockException({ message: 'someone changed the resource', $metadata: {} }));
    acceptIpSetWrite('IPV4', fresh, 'v4-token-2');
    acceptLedgerWrites(RANGE.linode, RANGE.tor);
    ledgerHolds(justWritten(RANGE.linode), justWritten(RANGE.tor));
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 2);
    expect(waf).toReceiveNthCommandWith(UpdateIPSetCommand, 1, ipSetWrite('IPV4', stale));
    expect(waf).toReceiveNthCommandWith(UpdateIPSetCommand, 2, ipSetWrite('IPV4', fresh, 'v4-token-2'));
    expect(waf).not.toReceiveCommandWith(UpdateIPSetCommand, { LockToken: 'v4-token-2', Addresses: stale });
    expect(summary).toMatchObject({ lockConflicts: 1, ipSetWrites: 1, rangesAdded: 2 });
    expect(publishedReport().ipSets).toContainEqual(expect.objectContaining({ family: 'IPV4', size: 4 }));
  });
  it('does not put back a range another run ended while this one was writing', async () => {
    // This run read the scanner's range as active and in the set; meanwhile an operator's unban
    // (the CLI runs beside the Lambda) took it out of the set and closed its ledger entry.
    const unbanned = ledgerEntry(RANGE.scanner);
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] } },
      ledger: { IPV4: [unbanned], IPV6: [] },
    });
    waf
      .on(GetIPSetCommand, ipSetKey('IPV4'), true)
      .resolvesOnce(getIpSetOutput('IPV4', { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] }))
      .resolves(getIpSetOutput('IPV4', { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4], lockToken: 'v4-token-2' }));
    waf
      .on(UpdateIPSetCommand, ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.scanner, RANGE.linode]), true)
      .rejects(new WAFOptimisticLockException({ message: 'someone changed the resource', $metadata: {} }));
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode], 'v4-token-2');
    acceptLedgerWrites(RANGE.linode);
    // The operator's machine ended the block a minute after this run started, by its own clock,
    // and had not closed the entry yet: still in the index, but its expiry moved earlier.
    ddb
      .on(GetCommand, { TableName: SETTINGS.ledgerTable, Key: { range: RANGE.scanner }, ConsistentRead: true })
      .resolves({ Item: storedItem({ ...unbanned, expiresAt: NOW + MINUTE }) });
    ledgerHolds(justWritten(RANGE.linode));
    acceptPublish();

    await run();

    expect(waf).toReceiveNthCommandWith(
      UpdateIPSetCommand,
      2,
      ipSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode], 'v4-token-2'),
    );
    expect(logger.warn).toHaveBeenCalledWith('ranges ended by another run meanwhile; not put back', {
      ranges: [RANGE.scanner],
    });
  });

  it('fails loudly when other writers keep winning, and still counts every conflict it met', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } } });
    waf
      .on(UpdateIPSetCommand)
      .rejects(new WAFOptimisticLockException({ message: 'someone changed the resource', $metadata: {} }));
    acceptLedgerWrites(RANGE.linode);
    ledgerHolds(justWritten(RANGE.linode));

    const error = await failureOf(run());

    expect(error).toBeInstanceOf(WriteError);
    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 5);
    const [, failure] =
      logger.error.mock.calls.find(([text]) => text === 'run failed: some writes were not applied') ?? [];
    expect(failure).toMatchObject({ summary: { lockConflicts: 5, ipSetWrites: 0, rangesAdded: 0 } });
  });
});

describe('a dry run', () => {
  it('reads everything and reports what it would do, but writes neither the IP sets nor the ledger', async () => {
    arrange({
      keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode), ipv6: v6(ATTACKER.hetzner6) } },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] } },
      ledger: { IPV4: [expiredEntry(RANGE.scanner)], IPV6: [] },
    });
    acceptAnyWrite();

    const summary = await run({ ...SETTINGS, dryRun: true });

    expect(waf).toReceiveCommandTimes(UpdateIPSetCommand, 0);
    expect(ddb).toReceiveCommandTimes(UpdateCommand, 0);
    expect(waf).toReceiveCommandTimes(GetIPSetCommand, 4);
    expect(waf).toReceiveCommandTimes(GetRateBasedStatementManagedKeysCommand, 2);
    // Each family's partitions of the sharded index, read once.
    expect(ddb).toReceiveCommandTimes(QueryCommand, 2 * ACTIVE_SHARDS);
    expect(summary).toMatchObject({
      dryRun: true,
      rangesAdded: 2,
      rangesExpired: 1,
      ipSetWrites: 0,
      ledgerWrites: 0,
      reported: true,
    });
    const report = publishedReport();
    expect(report).toMatchObject({ dryRun: true, collected: true });
    expect(report.added.map(({ range }) => range)).toEqual([RANGE.linode, RANGE.hetzner6]);
    expect(report.expired.map(({ range }) => range)).toEqual([RANGE.scanner]);
  });
});

describe('a full IP set', () => {
  it('gives the last free slot to the most active new range, reports the rest as overflow, and still writes', async () => {
    // 9,999 entries someone else put there: room for exactly one of ours.
    const foreign = Array.from({ length: 9_999 }, (_, i) => `5.${Math.floor(i / 256)}.${i % 256}.0/24`);
    arrange({
      keys: {
        [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.linodeNeighbour, '45.33.12.11', '193.142.146.35') },
        [LOGIN_RULE]: { ipv4: v4(ATTACKER.tor, '185.220.101.5') },
      },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: foreign } },
    });
    acceptLedgerWrites(RANGE.linode, RANGE.tor, '193.142.146.0/24');
    acceptIpSetWrite('IPV4', [...foreign, RANGE.linode]);
    acceptPublish();

    const summary = await run();

    expect(waf).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, ipSetWrite('IPV4', [...foreign, RANGE.linode]));
    expect(summary).toMatchObject({ rangesAdded: 1, overflow: 2, ipSetWrites: 1 });
    const report = publishedReport();
    expect(report.overflow).toEqual({ count: 2, sample: [RANGE.tor, '193.142.146.0/24'] });
    expect(report.ipSets).toContainEqual({ name: 'blocklist-v4', family: 'IPV4', size: 10_000, capacity: 10_000 });
  });
});

describe('the report', () => {
  const sample = (host: string | undefined, weight: number): SampledHTTPRequest => ({
    Request: {
      ClientIP: ATTACKER.linode,
      Country: 'US',
      URI: '/login',
      Method: 'POST',
      HTTPVersion: 'HTTP/1.1',
      Headers: host === undefined ? [{ Name: 'user-agent', Value: 'curl/8' }] : [{ Name: 'Host', Value: host }],
    },
    Weight: weight,
  });

  it('names what was added and by which rule, what expired and when last seen, set sizes, hosts and refused keys', async () => {
    const expired = expiredEntry(RANGE.scanner, 5);
    arrange({
      keys: {
        [RATE_RULE]: { ipv4: v4(ATTACKER.linode, ATTACKER.linodeNeighbour, '10.1.2.3'), ipv6: v6(ATTACKER.hetzner6) },
        [LOGIN_RULE]: { ipv4: [...v4(ATTACKER.tor, ATTACKER.linode, ALLOWED.officeKey), 'not-an-address'] },
      },
      blocklist: { ...BLOCKLIST, IPV4: { ...BLOCKLIST.IPV4, addresses: [FOREIGN.IPV4, RANGE.scanner] } },
      ledger: { IPV4: [expired], IPV6: [] },
      samples: {
        [RATE_RULE]: [sample('shop.example.com', 3), sample('WWW.Example.com', 1), sample(undefined, 9)],
        [LOGIN_RULE]: [sample('shop.example.com', 2), sample('login.example.com', 4)],
      },
    });
    acceptLedgerWrites(RANGE.linode, RANGE.tor, RANGE.hetzner6, RANGE.scanner);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode, RANGE.tor]);
    acceptIpSetWrite('IPV6', [FOREIGN.IPV6, RANGE.hetzner6]);
    acceptPublish();

    await run();

    expect(sns).toReceiveCommandWith(PublishCommand, {
      TopicArn: SETTINGS.reportsTopicArn,
      Subject: `waf-autoblock report for ${SETTINGS.webAclName}`,
    });
    expect(waf).toReceiveCommandWith(GetSampledRequestsCommand, {
      RuleMetricName: RATE_RULE,
      TimeWindow: { StartTime: new Date(NOW - 10 * MINUTE), EndTime: new Date(NOW) },
    });
    // Published fitted (version 2): one run, every range listed, with its totals.
    expect(publishedReport()).toStrictEqual({
      kind: BLOCK_REPORT_KIND,
      version: 2,
      runs: 1,
      addedCount: 3,
      expiredCount: 1,
      at: new Date(NOW).toISOString(),
      webAclName: SETTINGS.webAclName,
      dryRun: false,
      collected: true,
      added: [
        // Both rules saw 45.33.12.0/24; the one with most hits is named, the hits are summed.
        { range: RANGE.linode, source: RATE_RULE, hits: 3 },
        { range: RANGE.tor, source: LOGIN_RULE, hits: 1 },
        { range: RANGE.hetzner6, source: RATE_RULE, hits: 1 },
      ],
      expired: [{ range: RANGE.scanner, source: RATE_RULE, lastSeen: new Date(expired.lastSeen).toISOString() }],
      overflow: { count: 0, sample: [] },
      ipSets: [
        { name: 'blocklist-v4', family: 'IPV4', size: 3, capacity: 10_000 },
        { name: 'blocklist-v6', family: 'IPV6', size: 2, capacity: 10_000 },
      ],
      topHosts: [
        { host: 'shop.example.com', count: 5 },
        { host: 'login.example.com', count: 4 },
        { host: 'www.example.com', count: 1 },
      ],
      rejectedKeys: { 'non-global': 1, allowlisted: 1, unparsable: 1 },
      unreadableRules: [],
    });
  });

  it('still goes out, with fewer hosts, when sampled requests cannot be read', async () => {
    arrange({ keys: { [RATE_RULE]: { ipv4: v4(ATTACKER.linode) } } });
    waf.on(GetSampledRequestsCommand).rejects(new Error('WAFInternalErrorException'));
    acceptLedgerWrites(RANGE.linode);
    acceptIpSetWrite('IPV4', [FOREIGN.IPV4, RANGE.linode]);
    acceptPublish();

    const summary = await run();

    expect(summary.reported).toBe(true);
    expect(publishedReport().topHosts).toEqual([]);
    const unsampled = logger.warn.mock.calls.filter(([text]) => text === SAMPLES_UNREADABLE);
    expect(unsampled).toEqual(
      SETTINGS.rateRules.map((rule) => [
        SAMPLES_UNREADABLE,
        { rule, error: expect.stringContaining(`sampled requests of rule metric ${rule} `) as unknown },
      ]),
    );
  });

  it('says nothing of unreadable sampled requests when no report is sent', async () => {
    // A range that was in the blocklist before we blocked it expires: our claim ends, the entry
    // stays, so no set changes and no report goes out, though the hosts were read for one.
    const released = { ...expiredEntry(FOREIGN.IPV4), preexisting: true };
    arrange({ alarm: 'OK', ledger: { IPV4: [released], IPV6: [] } });
    waf.on(GetSampledRequestsCommand).rejects(new Error('WAFInternalErrorException'));
    acceptLedgerWrites(FOREIGN.IPV4);

    const summary = await run();

    expect(summary.reported).toBe(false);
    expect(sns).toReceiveCommandTimes(PublishCommand, 0);
    expect(waf).toReceiveCommandTimes(GetSampledRequestsCommand, SETTINGS.rateRules.length);
    expect(logger.warn).not.toHaveBeenCalledWith(SAMPLES_UNREADABLE, expect.anything());
  });
});
