/**
 * The ledger's sharded index of active rows (ActiveByShard) over dynalite: every write keeps
 * `activeShard` beside `activeFamily`, reads find every row across the partitions, and a table that
 * a 0.1.0 blocker wrote (rows with `activeFamily` only, no marker) is read whole and migrated.
 */
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Ledger } from '#adapters/ledger';
import { ACTIVE_SHARDS, activeShardOf, LEDGER_RESERVED_KEYS, LEDGER_SCHEMA } from '#contracts/ledger-schema';
import type { LedgerEntry } from '#core/types';
import { ledgerEntry, NOW, storedItem } from '../../support/blocker-fixtures';
import { useLedgerTable } from '../../support/blocker-harness';

const MINUTE = 60_000;
const table = useLedgerTable('Shards');

/** `count` distinct IPv4 /24s, `10.x.y.0/24` style but global (`45.x.y.0/24`), expiring in turn. */
function manyEntries(count: number): LedgerEntry[] {
  return Array.from({ length: count }, (_, index) =>
    ledgerEntry(`45.${Math.floor(index / 256)}.${index % 256}.0/24`, { expiresAt: NOW + (index + 1) * MINUTE }),
  );
}

async function stored(range: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { range } }));
  return Item;
}

/** Writes items as they are, 25 a call, as a 0.1.0 blocker or a test seed would have left them. */
async function putItems(items: readonly Record<string, unknown>[]): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let index = 0; index < items.length; index += 25) batches.push(items.slice(index, index + 25));
  for (const batch of batches) {
    await table.doc.send(
      new BatchWriteCommand({
        RequestItems: { [table.tableName]: batch.map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
}

describe('the sharded index of active rows', () => {
  it('gives a row its activeShard exactly while it carries activeFamily', async () => {
    const entry = ledgerEntry('203.0.113.0/24', { expiresAt: NOW - MINUTE });
    const v6 = ledgerEntry('2001:db8:1:2::/64', { family: 'IPV6', expiresAt: NOW + MINUTE });
    await table.ledger.upsert([entry, v6]);
    expect(await stored(entry.range)).toMatchObject({
      activeFamily: 'IPV4',
      activeShard: activeShardOf('IPV4', entry.range),
    });
    expect(await stored(v6.range)).toMatchObject({
      activeFamily: 'IPV6',
      activeShard: activeShardOf('IPV6', v6.range),
    });
    expect(activeShardOf('IPV4', entry.range)).toMatch(/^IPV4#\d\d$/);

    await table.ledger.endBlocks([v6], NOW);
    expect(await stored(v6.range)).toMatchObject({
      activeFamily: 'IPV6',
      activeShard: activeShardOf('IPV6', v6.range),
    });

    await table.ledger.markExpired([entry, v6], NOW);
    for (const range of [entry.range, v6.range]) {
      const item = await stored(range);
      expect(item).toHaveProperty('removedAt', NOW);
      expect(item).not.toHaveProperty('activeFamily');
      expect(item).not.toHaveProperty('activeShard');
    }
    expect((await table.ledger.readActive()).rows).toEqual({ IPV4: [], IPV6: [] });
  });

  it('returns every one of 3,000 active rows, spread over every partition, earliest expiry first', async () => {
    const entries = manyEntries(3_000);
    await table.ledger.upsert(entries);
    await table.ledger.shardRows([]); // the marker: a table written by this version only

    const active = await new Ledger(table.doc, table.tableName).activeEntries('IPV4');

    expect(active).toHaveLength(3_000);
    expect(active.map((entry) => entry.range)).toEqual(entries.map((entry) => entry.range));
    const partitions = new Set(entries.map((entry) => activeShardOf('IPV4', entry.range)));
    expect(partitions.size).toBe(ACTIVE_SHARDS);
    expect(await table.ledger.activeEntries('IPV6')).toEqual([]);
    expect(await table.ledger.dueEntries('IPV4', NOW + 2 * MINUTE)).toEqual(entries.slice(0, 2));
  });

  it('is never shown a row that 0.1.0 closed after a rollback, which kept its activeShard', async () => {
    const [kept, closed] = manyEntries(2);
    if (kept === undefined || closed === undefined) throw new Error('two entries');
    await table.ledger.upsert([kept, closed]);
    await table.ledger.shardRows([]);
    // What 0.1.0's markExpired writes: activeFamily removed, activeShard left alone.
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { range: closed.range },
        UpdateExpression: 'REMOVE activeFamily SET removedAt = :now',
        ExpressionAttributeValues: { ':now': NOW },
      }),
    );

    expect(await table.ledger.activeEntries('IPV4')).toEqual([kept]);
  });
});

describe('a table written by 0.1.0 (active rows without activeShard, no marker)', () => {
  it('is read whole, migrated by shardRows, and then read from the sharded index only', async () => {
    const legacy = manyEntries(40);
    const v6 = ledgerEntry('2001:db8:1:2::/64', { family: 'IPV6', expiresAt: NOW + MINUTE });
    await putItems([...legacy, v6].map(storedItem));
    const current = ledgerEntry('198.51.100.0/24', { expiresAt: NOW + 90 * MINUTE });
    await table.ledger.upsert([current]); // a row this version wrote before the migration

    const before = await table.ledger.readActive();
    expect(before.sharded).toBe(false);
    expect(before.rows.IPV4).toHaveLength(41);
    expect(before.rows.IPV6).toEqual([v6]);
    expect(before.unsharded.map((entry) => entry.range).sort()).toEqual(
      [...legacy, v6].map((entry) => entry.range).sort(),
    );

    // One row is closed by a concurrent run before its turn: it must not come back into an index.
    const [closed] = legacy;
    if (closed === undefined) throw new Error('an entry');
    await table.ledger.endBlocks([closed], NOW);
    await table.ledger.markExpired([closed], NOW);
    expect(await table.ledger.shardRows(before.unsharded)).toEqual({ sharded: 40, inactive: 1, marked: true });
    expect(await stored(closed.range)).not.toHaveProperty('activeShard');
    expect(await stored(LEDGER_RESERVED_KEYS.schema)).toMatchObject({ activeShards: ACTIVE_SHARDS });

    // A fresh reader (a new container) after the migration: the sharded index alone holds every row.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        // Were the old index still read, this row (active there only) would be listed.
        Item: { ...storedItem(ledgerEntry('192.0.2.0/24')), [LEDGER_SCHEMA.activeIndexPartitionKey]: 'IPV4' },
      }),
    );
    const after = await new Ledger(table.doc, table.tableName).readActive();
    expect(after.sharded).toBe(true);
    expect(after.rows.IPV4?.map((entry) => entry.range).sort()).toEqual(
      [...legacy.slice(1), current].map((entry) => entry.range).sort(),
    );
    expect(after.rows.IPV6).toEqual([v6]);
  });

  it('migrates at most a slice a call, and writes the marker only with the last one', async () => {
    const legacy = manyEntries(1_001);
    await putItems(legacy.map(storedItem));
    const { unsharded } = await table.ledger.readActive();
    expect(unsharded).toHaveLength(1_001);

    expect(await table.ledger.shardRows(unsharded)).toEqual({ sharded: 1_000, inactive: 0, marked: false });
    expect(await stored(LEDGER_RESERVED_KEYS.schema)).toBeUndefined();
    const next = await table.ledger.readActive();
    expect(next.rows.IPV4).toHaveLength(1_001);
    expect(next.unsharded).toHaveLength(1);
    expect(await table.ledger.shardRows(next.unsharded)).toEqual({ sharded: 1, inactive: 0, marked: true });
    expect(await new Ledger(table.doc, table.tableName).activeEntries('IPV4')).toHaveLength(1_001);
  });
});
