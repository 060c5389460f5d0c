/**
 * The write-ahead intent over the wire (the WAF emulator and dynalite, real SDK clients): a run
 * that dies after any one of its writes leaves nothing that the next clean run cannot finish, and
 * the first IP set write of a big first run comes after a bounded number of round trips.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { runBlocker, type BlockerDeps } from '#blocker/run';
import { ownedSetEntries } from '#core/aggregate';
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
import { Crash, crashWrites } from '../../support/crash';
import { createLedgerTable, localClient, startDynalite, type LocalDynamo } from '../../support/dynalite';
import { chainTo, ROUND_TRIP_LATENCY_MS, roundTripsTo, timeCalls } from '../../support/round-trips';
import { startWafServer, type RecordedCall, type WafServer } from '../../support/waf-server';

const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
/** For 240-minute blocks a rate rule sighting is written 15 minutes ahead (expiryMargin). */
const MARGIN_MINUTES = 15;

let server: WafServer;
let dynamo: LocalDynamo;
const destroy: { destroy(): void }[] = [];
let deployments = 0;

interface Deployment {
  readonly settings: BlockerSettings;
  readonly blocklistId: Record<Family, string>;
  /** A run at `at` minutes after NOW with these rate rule keys, failing writes from `crash` on. */
  run(at: number, keys: { ipv4?: string[]; ipv6?: string[] }, crash?: Crash): Promise<unknown>;
  ledger(): Ledger;
  doc: DynamoDBDocumentClient;
  /** The WAF and DynamoDB calls of every run so far, timed where the run sends them. */
  readonly calls: readonly RecordedCall[];
}

/** Added to every WAF and DynamoDB call (test/support/round-trips); none but where round trips are counted. */
let latencyMs = 0;

async function deploy(concurrency: number): Promise<Deployment> {
  deployments += 1;
  const ledgerTable = `Ledger-wal-${deployments}`;
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
  const db = localClient(dynamo.endpoint);
  const doc = createLedgerClient(db);
  const waf = createWafClient({ endpoint: server.endpoint, region, credentials });
  destroy.push(db, waf);
  let crash = new Crash();
  const calls: RecordedCall[] = [];
  timeCalls(db, calls, () => latencyMs);
  timeCalls(waf, calls, () => latencyMs);
  // Before the timing: a write that crashes is never sent, and waits for nothing.
  crashWrites(db, waf, () => crash);
  sns.on(PublishCommand).callsFake(() => {
    crash.write('Publish');
    return { MessageId: 'm' };
  });
  const deps = (): BlockerDeps => ({
    waf,
    cloudwatch: new CloudWatchClient({ region, credentials }),
    sns: new SNSClient({ region, credentials }),
    ledger: new Ledger(doc, ledgerTable, { concurrency }),
    pending: new PendingReports(doc, ledgerTable),
    logger: recordingLogger(),
    sleep: () => Promise.resolve(),
  });
  return {
    settings,
    doc,
    calls,
    blocklistId: { IPV4: blocklist.IPV4.id, IPV6: blocklist.IPV6.id },
    ledger: () => new Ledger(doc, ledgerTable),
    async run(at, keys, runCrash = new Crash()) {
      crash = runCrash;
      server.setManagedKeys(SETTINGS.webAclName, RATE_RULE, keys);
      return runBlocker(deps(), settings, { kind: 'schedule' }, NOW + at * MINUTE).catch((error: unknown) => error);
    },
  };
}

/** Addresses, one per /24 (IPv4) or /64 (IPv6), and the ranges they widen to. */
function attack(v4: number, v6: number, base = 62) {
  const ipv4 = Array.from({ length: v4 }, (_, i) => `${base}.${Math.floor(i / 256)}.${i % 256}.1/32`);
  const ipv6 = Array.from({ length: v6 }, (_, i) => `2a05:d014:${i.toString(16)}:1::9/128`);
  return {
    keys: { ipv4, ipv6 },
    ranges: {
      IPV4: ipv4.map((key) => key.replace(/\.1\/32$/, '.0/24')),
      IPV6: ipv6.map((_, i) => `2a05:d014:${i.toString(16)}:1::/64`),
    },
  };
}

beforeAll(async () => {
  [server, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
});

afterAll(async () => {
  for (const client of destroy) client.destroy();
  cloudwatch.restore();
  sns.restore();
  await Promise.all([server.close(), dynamo.close()]);
});

beforeEach(() => {
  for (const mock of [cloudwatch, sns]) {
    mock.reset();
    mock.onAnyCommand().rejects(new Error('unexpected command'));
  }
  cloudwatch
    .on(DescribeAlarmsCommand)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: 'ALARM' }] });
});

/** What a blocklist holds, judged by the ledger's active rows as the run judges it (core/aggregate). */
async function blocked(ledger: Ledger, family: Family, setId: string) {
  const inSet = server.getAddresses(setId);
  const rows = await ledger.activeEntries(family);
  const ownership = ownedSetEntries(
    inSet,
    rows.filter((row) => row.preexisting !== true).map((row) => row.range),
  );
  return {
    inSet,
    rows: new Set(rows.map((row) => row.range)),
    /** The ranges our entries stand for, each itself or inside an aggregate. */
    covered: new Set(ownership.ours.flatMap((entry) => entry.covers)),
    /** Entries the ledger cannot tell are ours. */
    foreign: ownership.foreign,
  };
}

/** An attack before the crashing run: rate rule keys seen at `at` minutes (before NOW). */
interface Earlier {
  readonly at: number;
  readonly keys: { ipv4?: string[]; ipv6?: string[] };
}

describe.each([
  {
    scenario: 'adds aggregates and removes an expired one',
    // An earlier attack (both /24s of 77.0.0.0/23, held as the /23), due to expire in the crashing
    // run; then a new attack of 9 IPv4 /24s (62.0.0.0/21 and 62.0.8.0/24) and 3 IPv6 /64s.
    earlier: [{ at: -300, keys: attack(2, 0, 77).keys }] as Earlier[],
    expiring: attack(2, 0, 77).ranges.IPV4,
    lasting: [] as string[],
    splits: '77.0.0.0/23',
  },
  {
    scenario: 'splits an aggregate when one of its children expires',
    // 77.0.0.0/22 held as one entry; 77.0.0.0/24 is not seen again and expires in the crashing
    // run, whose write splits the /22 into 77.0.1.0/24 and 77.0.2.0/23; those stay blocked.
    earlier: [
      { at: -300, keys: attack(4, 0, 77).keys },
      { at: -200, keys: { ipv4: attack(4, 0, 77).keys.ipv4.slice(1) } },
    ] as Earlier[],
    expiring: ['77.0.0.0/24'],
    lasting: ['77.0.1.0/24', '77.0.2.0/24', '77.0.3.0/24'],
    splits: '77.0.0.0/22',
  },
])('a run that dies after any one of its writes ($scenario)', ({ earlier, expiring, lasting, splits }) => {
  const now = attack(9, 3);

  async function prepared(concurrency: number): Promise<Deployment> {
    const deployment = await deploy(concurrency);
    for (const run of earlier) await deployment.run(run.at, run.keys);
    // The earlier attack is held as one aggregate before the crashing run.
    expect(server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, splits]);
    return deployment;
  }

  /** Every write the crashing run makes, in order, as a clean run makes them. */
  async function writesOfACleanRun(concurrency: number): Promise<string[]> {
    const deployment = await prepared(concurrency);
    const clean = new Crash();
    await deployment.run(0, now.keys, clean);
    // The set then holds the new ranges as 2 aggregates, beside what is left of the earlier attack.
    const { covered, inSet } = await blocked(deployment.ledger(), 'IPV4', deployment.blocklistId.IPV4);
    expect(inSet).toEqual(expect.arrayContaining(['62.0.0.0/21', '62.0.8.0/24']));
    expect([...covered].sort()).toEqual([...now.ranges.IPV4, ...lasting].sort());
    return clean.log;
  }

  // The crashing run records 12 new ranges. A ledger writing 4 at a time would take 3 waves for
  // their rows: the run writes an intent first. Writing 16 at a time, the rows are one wave: they go first.
  it.each([
    { path: 'behind an intent', concurrency: 4, ahead: ['PutItem'], after: ['UpdateItem', 'DeleteItem'] },
    { path: 'rows before the sets', concurrency: 16, ahead: ['UpdateItem'], after: [] },
  ])(
    'is finished by the next clean run, $path: nothing lost, nothing unowned, foreign entries kept, every expiry on time',
    async ({ concurrency, ahead, after }) => {
      const writes = await writesOfACleanRun(concurrency);
      // What goes ahead of the sets, both sets, the rows after an intent and its drop, the closed
      // expiries (UpdateItem), the report.
      const firstSet = writes.indexOf('UpdateIPSet');
      expect([...new Set(writes.slice(0, firstSet))]).toEqual(ahead);
      expect([...new Set(writes.slice(firstSet))].sort()).toEqual(
        [...new Set(['UpdateIPSet', 'UpdateItem', ...after, 'Publish'])].sort(),
      );
      expect(writes.filter((write) => write === 'UpdateIPSet')).toHaveLength(2);

      for (let at = 1; at <= writes.length; at++) {
        const deployment = await prepared(concurrency);
        const { blocklistId } = deployment;
        const crashed = await deployment.run(0, now.keys, new Crash(at));
        expect(crashed, `write ${at} (${writes[at - 1]}) fails the run`).toBeInstanceOf(Error);

        // The next scheduled run, with the attack still going on.
        const clean = await deployment.run(5, now.keys);
        expect(clean, `the run after a crash at write ${at}`).not.toBeInstanceOf(Error);
        const ledger = deployment.ledger();
        for (const family of ['IPV4', 'IPV6'] as const) {
          const { inSet, rows, covered, foreign } = await blocked(ledger, family, blocklistId[family]);
          const context = `${family} after a crash at write ${at} (${writes[at - 1]})`;
          // Nothing lost: every attacking range is blocked (itself or in an aggregate) and recorded;
          // a child of a split aggregate that has not expired is still blocked (never early).
          for (const range of [...now.ranges[family], ...(family === 'IPV4' ? lasting : [])]) {
            expect(covered.has(range), `${context}: ${range} is blocked`).toBe(true);
            expect(rows.has(range), `${context}: ${range} has a row`).toBe(true);
          }
          // Nothing unowned: every entry but the foreign one is ours by the ledger, and no intent is left.
          expect(foreign, context).toEqual([family === 'IPV4' ? FOREIGN.IPV4 : FOREIGN.IPV6]);
          // The expired ranges left, whole and from every aggregate, on time, crash or not.
          for (const range of family === 'IPV4' ? expiring : []) {
            expect(covered.has(range) || inSet.includes(range), `${context}: ${range} unblocked`).toBe(false);
          }
          expect(inSet, context).not.toContain(splits);
        }
        expect(await ledger.readIntents(), `no intent left after a crash at write ${at}`).toEqual([]);

        // Past the block duration (and its margin) after the last sighting: ours are gone, foreign kept.
        await deployment.run(5 + BLOCK_MINUTES + MARGIN_MINUTES + 1, {});
        expect(server.getAddresses(blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
        expect(server.getAddresses(blocklistId.IPV6)).toEqual([FOREIGN.IPV6]);
        expect(await ledger.activeEntries('IPV4')).toEqual([]);
      }
    },
    120_000,
  );
});

describe('a first run against 10,000 new ranges', () => {
  it('writes the first IP set after 3 round trips (issue 9 allows 4), however many ranges it records', async () => {
    const deployment = await deploy(16);
    const big = attack(10_000, 0, 40);
    latencyMs = ROUND_TRIP_LATENCY_MS;
    const callsBefore = deployment.calls.length;
    try {
      // Stopped at its first row write: what comes before the set write is what this test is about.
      const crash = new Crash(Number.POSITIVE_INFINITY, 'UpdateItem');
      await deployment.run(0, big.keys, crash);
      expect(crash.log.filter((write) => write !== 'PutItem')[0]).toBe('UpdateIPSet');
    } finally {
      latencyMs = 0;
    }
    const calls = deployment.calls.slice(callsBefore);
    const firstWrite = calls.find((call) => call.operation === 'UpdateIPSet' && call.status === 200);
    if (firstWrite === undefined) throw new Error('no IP set was written');
    // 10,000 consecutive /24s from 40.0.0.0: 39 whole /16s and 40.39.0.0/20, beside the foreign entry.
    // No row is written yet (the run stopped there): the intent is what owns them.
    const inSet = server.getAddresses(deployment.blocklistId.IPV4);
    const intended = (await deployment.ledger().readIntents()).flatMap((intent) => intent.entries);
    const ownership = ownedSetEntries(
      inSet,
      intended.map((entry) => entry.range),
    );
    const covered = new Set(ownership.ours.flatMap((entry) => entry.covers));
    expect(ownership.foreign).toEqual([FOREIGN.IPV4]);
    expect(inSet).toHaveLength(41);
    expect(inSet).toEqual(expect.arrayContaining(['40.0.0.0/16', '40.38.0.0/16', '40.39.0.0/20']));
    expect(covered.size).toBe(10_000);
    // The reads, the intent (every part side by side), the set.
    expect(roundTripsTo(firstWrite, calls), chainTo(firstWrite, calls)).toBe(3);
  }, 60_000);
});
