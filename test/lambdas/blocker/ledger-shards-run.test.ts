/**
 * A run over many active ranges reads the ledger's sharded index in the one wave of its reads, and a
 * run over a table that a 0.1.0 blocker wrote reads every row, migrates it in a quiet run, and
 * leaves the next run the sharded index alone: over the WAF emulator and dynalite, every WAF and
 * DynamoDB call timed where the run makes it (as test/lambdas/blocker/round-trips.test.ts does).
 */
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { runBlocker } from '#blocker/run';
import { activeShardOf, LEDGER_RESERVED_KEYS, LEDGER_SCHEMA } from '#contracts/ledger-schema';
import type { LedgerEntry } from '#core/types';
import { FOREIGN, ledgerEntry, MINUTE, NOW, storedItem } from '../../support/blocker-fixtures';
import { useEmulatorWorld, useStrictAlarmAndReports, type EmulatorDeployment } from '../../support/blocker-harness';
import { localClient } from '../../support/dynalite';
import { roundTrips, timeCalls } from '../../support/round-trips';
import type { RecordedCall } from '../../support/waf-server';

const world = useEmulatorWorld();
const { alarmIs, publishedMessages } = useStrictAlarmAndReports();

/** Added to every call, so that calls made one after another never look parallel. */
const LATENCY_MS = 5;

/** Runs of a deployment by one warm container: one ledger client for all of them, every call timed. */
function timedRuns(deployment: EmulatorDeployment): { calls: RecordedCall[]; run: () => Promise<unknown> } {
  const calls: RecordedCall[] = [];
  const db = localClient(world.dynamo.endpoint);
  const waf = world.wafClient();
  timeCalls(db, calls, () => LATENCY_MS);
  timeCalls(waf, calls, () => LATENCY_MS);
  const doc = createLedgerClient(db);
  const table = deployment.settings.ledgerTable;
  const deps = { ...deployment.deps, waf, ledger: new Ledger(doc, table), pending: new PendingReports(doc, table) };
  return { calls, run: () => runBlocker(deps, deployment.settings, { kind: 'schedule' }, NOW) };
}

/**
 * `count` active IPv4 /24s, not due for hours; no two are siblings, so the sets hold them as they
 * are (no aggregate, which would be a write and a report).
 */
function activeRanges(count: number): LedgerEntry[] {
  return Array.from({ length: count }, (_, index) =>
    ledgerEntry(`45.${Math.floor(index / 128)}.${(index % 128) * 2}.0/24`, { expiresAt: NOW + 60 * MINUTE + index }),
  );
}

async function putItems(table: string, items: readonly Record<string, unknown>[]): Promise<void> {
  for (let index = 0; index < items.length; index += 25) {
    const batch = items.slice(index, index + 25);
    await world.doc.send(
      new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
    );
  }
}

const queriesOf = (calls: readonly RecordedCall[], index: string) =>
  calls.filter((call) => call.operation === 'Query' && JSON.stringify(call.body).includes(`"IndexName":"${index}"`));

describe('the ledger read of a run', () => {
  it('reads 600 active ranges over every partition of the sharded index in one round trip, and writes nothing', async () => {
    const entries = activeRanges(600);
    const deployment = await world.deploy({
      table: 'Ledger-shards',
      blocklist: { IPV4: [FOREIGN.IPV4, ...entries.map((entry) => entry.range)], IPV6: [FOREIGN.IPV6] },
    });
    await deployment.ledger.upsert(entries);
    await deployment.ledger.shardRows([]);
    world.rateRulesLimit({});
    alarmIs('OK');
    const timed = timedRuns(deployment);
    await timed.run(); // the SDK's first calls load code, and this container learns the marker
    timed.calls.length = 0;

    await timed.run();

    expect(roundTrips(timed.calls)).toBe(1);
    expect(queriesOf(timed.calls, LEDGER_SCHEMA.shardIndex)).toHaveLength(32);
    expect(queriesOf(timed.calls, LEDGER_SCHEMA.activeIndex)).toEqual([]);
    expect(timed.calls.filter((call) => /^(Update|Put|Delete|BatchWrite)/.test(call.operation))).toEqual([]);
    expect(publishedMessages()).toEqual([]);
  });

  it('reads a 0.1.0 table whole, gives its rows their activeShard in a quiet run, and then reads the shards only', async () => {
    const legacy = activeRanges(300);
    const deployment = await world.deploy({
      table: 'Ledger-legacy',
      blocklist: { IPV4: [FOREIGN.IPV4, ...legacy.map((entry) => entry.range)], IPV6: [FOREIGN.IPV6] },
    });
    await putItems(deployment.settings.ledgerTable, legacy.map(storedItem));
    world.rateRulesLimit({});
    alarmIs('OK');
    const timed = timedRuns(deployment);

    const first = await timed.run();

    // Every range stays ours: none is reported, removed or taken for foreign.
    expect(first).toMatchObject({ rangesAdded: 0, rangesExpired: 0 });
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toHaveLength(301);
    const doc = world.doc;
    const get = (range: string) =>
      doc.send(new GetCommand({ TableName: deployment.settings.ledgerTable, Key: { range } }));
    expect((await get(LEDGER_RESERVED_KEYS.schema)).Item).toBeDefined();
    for (const entry of legacy.slice(0, 20))
      expect((await get(entry.range)).Item).toMatchObject({ activeShard: activeShardOf('IPV4', entry.range) });

    timed.calls.length = 0;
    await timed.run();
    expect(roundTrips(timed.calls)).toBe(1);
    expect(queriesOf(timed.calls, LEDGER_SCHEMA.activeIndex)).toEqual([]);
    expect(await new Ledger(doc, deployment.settings.ledgerTable).activeEntries('IPV4')).toHaveLength(300);
    expect(publishedMessages()).toEqual([]);
  });
});
