/**
 * The ledger's two tiers over dynalite (issue 12): a neighbour-tier row is kept under a key and in
 * index partitions of its own, so the same CIDR may be blocked and challenged with two expiries,
 * each tier reads only its own rows, and a blocker of before tiers (it reads the block tier's
 * partitions and looks ranges up by their CIDR, or 0.1.0's `activeFamily = IPV4`) never meets one.
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ACTIVE_SHARDS, activeShardKey, LEDGER_SCHEMA, ledgerKeyOf } from '#contracts/ledger-schema';
import type { LedgerEntry } from '#core/types';
import { ledgerEntry, NOW } from '../../support/blocker-fixtures';
import { useLedgerTable } from '../../support/blocker-harness';

const MINUTE = 60_000;
const table = useLedgerTable('Tiers');

const neighbour = (range: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
  ...ledgerEntry(range, overrides),
  tier: 'neighbour',
});

async function stored(key: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: { range: key }, ConsistentRead: true }),
  );
  return Item;
}

/** Every item an older blocker's queries return for `family`: 0.1.0's index and 0.2.x's partitions. */
async function seenByOlderBlockers(family: 'IPV4' | 'IPV6'): Promise<unknown[]> {
  const query = async (IndexName: string, name: string, value: string) =>
    (
      await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName,
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': name },
          ExpressionAttributeValues: { ':v': value },
        }),
      )
    ).Items ?? [];
  const old = await query(LEDGER_SCHEMA.activeIndex, LEDGER_SCHEMA.activeIndexPartitionKey, family);
  const shards = await Promise.all(
    Array.from({ length: ACTIVE_SHARDS }, (_, shard) =>
      query(LEDGER_SCHEMA.shardIndex, LEDGER_SCHEMA.shardIndexPartitionKey, activeShardKey(family, shard)),
    ),
  );
  return [...old, ...shards.flat()];
}

describe('the ledger in two tiers', () => {
  it('keeps a blocked /32 and its challenged /24, and the same CIDR in both tiers, as separate rows', async () => {
    const offender = ledgerEntry('198.51.100.7/32', { expiresAt: NOW + 10 * MINUTE });
    const around = neighbour('198.51.100.0/24', { expiresAt: NOW + 20 * MINUTE });
    const bannedToo = ledgerEntry('198.51.100.0/24', { expiresAt: NOW + 30 * MINUTE, source: 'manual' });
    await table.ledger.upsert([offender, around, bannedToo]);

    expect((await table.ledger.readActive(['IPV4'], 'block')).rows.IPV4).toEqual([offender, bannedToo]);
    expect((await table.ledger.readActive(['IPV4'], 'neighbour')).rows.IPV4).toEqual([around]);
    expect(await stored('neighbour#198.51.100.0/24')).toMatchObject({
      cidr: '198.51.100.0/24',
      tier: 'neighbour',
      family: 'IPV4',
      activeFamily: 'neighbour#IPV4',
      expiresAt: NOW + 20 * MINUTE,
    });
    expect(await stored('198.51.100.0/24')).toMatchObject({ activeFamily: 'IPV4', expiresAt: NOW + 30 * MINUTE });
    expect(await stored('198.51.100.0/24')).not.toHaveProperty('tier');
  });

  it('is invisible to a blocker of before tiers, which reads and looks up the block tier only', async () => {
    await table.ledger.upsert([
      neighbour('203.0.113.0/24', { expiresAt: NOW + MINUTE }),
      neighbour('2001:db8:7::/64', { family: 'IPV6', expiresAt: NOW + MINUTE }),
    ]);
    expect(await seenByOlderBlockers('IPV4')).toEqual([]);
    expect(await seenByOlderBlockers('IPV6')).toEqual([]);
    expect(await stored('203.0.113.0/24')).toBeUndefined();
    expect(await table.ledger.activeEntriesOf('IPV4', ['203.0.113.0/24'])).toEqual([]);
    expect(await table.ledger.activeEntriesOf('IPV4', ['203.0.113.0/24'], 'neighbour')).toHaveLength(1);
  });

  it('ends and closes a neighbour row in its own tier, leaving the block row of the same CIDR active', async () => {
    const challenged = neighbour('192.0.2.0/24', { expiresAt: NOW + MINUTE });
    const blocked = ledgerEntry('192.0.2.0/24', { expiresAt: NOW + MINUTE });
    await table.ledger.upsert([challenged, blocked]);
    expect(await table.ledger.endBlocks([challenged], NOW)).toEqual({ ended: 1, inactive: 0 });
    expect(await table.ledger.markExpired([challenged], NOW)).toEqual({ expired: 1, refreshed: 0 });

    expect(await stored(ledgerKeyOf('192.0.2.0/24', 'neighbour'))).toMatchObject({ removedAt: NOW });
    expect(await stored(ledgerKeyOf('192.0.2.0/24', 'neighbour'))).not.toHaveProperty('activeFamily');
    expect((await table.ledger.readActive(['IPV4'], 'neighbour')).rows.IPV4).toEqual([]);
    expect((await table.ledger.readActive(['IPV4'], 'block')).rows.IPV4).toEqual([blocked]);
  });

  it('never moves a neighbour row’s last seen backwards, as for a block row', async () => {
    const later = neighbour('2001:db8:9::/64', { family: 'IPV6', lastSeen: NOW, expiresAt: NOW + 60 * MINUTE });
    const earlier = { ...later, lastSeen: NOW - MINUTE, expiresAt: NOW + 59 * MINUTE };
    await table.ledger.upsert([later]);
    expect(await table.ledger.upsert([earlier])).toEqual({ written: 0, skippedStale: 1 });
    expect((await table.ledger.readActive(['IPV6'], 'neighbour')).rows.IPV6).toEqual([later]);
  });

  it('carries the tier of each entry through a write-ahead intent', async () => {
    const entries = [ledgerEntry('198.51.100.9/32'), neighbour('198.51.100.0/24'), neighbour('198.51.101.0/24')];
    await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    const [intent] = await table.ledger.readIntents();
    expect(intent?.entries).toEqual(entries);
    await table.ledger.dropIntent('a', intent?.parts ?? 1);
  });

  it('refuses a neighbour row whose cidr is not the one its key names, naming the table', async () => {
    await table.ledger.upsert([neighbour('198.18.0.0/24')]);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { range: 'neighbour#198.18.0.0/24' },
        UpdateExpression: 'SET cidr = :other',
        ExpressionAttributeValues: { ':other': '198.18.1.0/24' },
      }),
    );
    await expect(table.ledger.readActive(['IPV4'], 'neighbour')).rejects.toThrow(/ledger table/);
  });
});
