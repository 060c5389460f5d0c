/**
 * The ledger's write-ahead intent against dynalite: written in parts that each fit a DynamoDB item,
 * read back whole, never mistaken for a range, dropped; a part left from another run is ignored.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { INTENT_PART_BYTES, MAX_INTENT_PARTS } from '#adapters/ledger';
import type { LedgerEntry } from '#core/types';
import { ReadError } from '#shared/errors';
import { useLedgerTable } from '../../support/blocker-harness';

const NOW = Date.UTC(2025, 4, 17, 3, 0, 0, 123);
const MINUTE = 60_000;

/**
 * An IPv6 /64 entry with every optional field: the largest kind of entry an intent holds. Its hits
 * differ from every other's, so that no two share a group: the intent's largest form.
 */
function v6Entry(i: number): LedgerEntry {
  const range = `2a05:d014:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
  return {
    range,
    family: 'IPV6',
    firstSeen: NOW,
    lastSeen: NOW,
    expiresAt: NOW + 255 * MINUTE,
    hits: 12 + i,
    source: 'RateLimitPerIp',
    ...(i % 2 === 0 ? { preexisting: true } : {}),
    reason: 'fed by fail2ban on web-3',
    sharedSeen: ['arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner-v6/0f1e-2d3c'],
  };
}

/** Entries in CIDR order: an intent keeps its entries, not their order (it groups them). */
function byRange(entries: readonly LedgerEntry[]): LedgerEntry[] {
  return [...entries].sort((a, b) => (a.range < b.range ? -1 : a.range > b.range ? 1 : 0));
}

describe('the write-ahead intent in the ledger table', () => {
  const table = useLedgerTable('Ledger-intent');

  it('holds 10,000 IPv6 ranges in parts that each fit an item, and reads every entry back as written', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => v6Entry(i));

    const parts = await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    const [intent, ...more] = await table.ledger.readIntents();

    expect(parts).toBeGreaterThan(1);
    expect(more).toEqual([]);
    expect(intent).toMatchObject({ slot: 'a', runId: 'run-1', writtenAt: NOW, parts });
    // Grouped by everything but the range, so not in the order written.
    expect(byRange(intent?.entries ?? [])).toEqual(byRange(entries));
    // dynalite enforces DynamoDB's 400 KB item limit, so every part was accepted by size too.
    expect(JSON.stringify(entries).length / parts).toBeLessThanOrEqual(INTENT_PART_BYTES);
  }, 60_000);

  it('holds a first run of 10,000 /24s, alike but for the range, in one part', async () => {
    const entries: LedgerEntry[] = Array.from({ length: 10_000 }, (_, i) => ({
      range: `62.${i >> 8}.${i & 0xff}.0/24`,
      family: 'IPV4',
      firstSeen: NOW,
      lastSeen: NOW,
      expiresAt: NOW + 255 * MINUTE,
      hits: 1 + (i % 3),
      source: 'RateLimitPerIp',
    }));

    const parts = await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    const [intent] = await table.ledger.readIntents();

    expect(parts).toBe(1);
    expect(byRange(intent?.entries ?? [])).toEqual(byRange(entries));
  }, 60_000);

  it('groups runs of alike entries once per set of fields, and reads each entry back with its own fields', async () => {
    const ours = ['arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner-v4/0f1e'];
    const base = (i: number): LedgerEntry => ({
      range: `62.0.${i}.0/24`,
      family: 'IPV4',
      firstSeen: NOW,
      lastSeen: NOW,
      expiresAt: NOW + 255 * MINUTE,
      hits: 1,
      source: 'RateLimitPerIp',
    });
    // The same fields, `source` first.
    const reordered = ({ source, ...rest }: LedgerEntry): LedgerEntry => ({ source, ...rest });
    const entries: LedgerEntry[] = [
      // A run alike but for the range, as a first run's are.
      ...[0, 1, 2, 3].map(base),
      // One field differs in the middle of the run, then the run goes on.
      { ...base(4), hits: 9 },
      ...[5, 6].map(base),
      // An optional field set, and equal lists that are distinct arrays.
      { ...base(7), preexisting: true },
      { ...base(8), sharedSeen: [...ours] },
      { ...base(9), sharedSeen: [...ours] },
      // The same fields written in another order serialize apart, and still read back as written.
      reordered(base(10)),
      // Each differs from the entry before it in one field only.
      { ...base(11), reason: 'feed ban' },
      { ...base(12), reason: 'feed ban', firstSeen: NOW - MINUTE },
    ];

    await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    const [intent] = await table.ledger.readIntents();
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: { range: '#intent#a#0' } }),
    );

    expect(byRange(intent?.entries ?? [])).toEqual(byRange(entries));
    const groups = (JSON.parse(String(Item?.['entries'])) as { groups: { ranges: string[] }[] }).groups;
    // base (0-3, 5, 6), hits 9, preexisting, sharedSeen (both), the reordered one, the reason, the
    // reason with an earlier firstSeen: seven groups.
    expect(groups.map((group) => group.ranges.length).sort()).toEqual([1, 1, 1, 1, 1, 2, 6]);
  });

  it('reads back an entry that differs from the one before it in any one field with its own value', async () => {
    const arn = (name: string) => `arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/${name}/0f1e`;
    // One array for every entry: arrays compare by identity, and distinct ones never group.
    const partner = [arn('partner-v4')];
    // Every field set: a field added to LedgerEntry must be set here, and changed below.
    const whole = (i: number): Required<LedgerEntry> => ({
      range: `62.1.${i}.0/24`,
      family: 'IPV4',
      tier: 'neighbour',
      firstSeen: NOW,
      lastSeen: NOW,
      expiresAt: NOW + 255 * MINUTE,
      hits: 1,
      source: 'RateLimitPerIp',
      preexisting: true,
      reason: 'fed by fail2ban on web-3',
      sharedPreexisting: partner,
      sharedSeen: partner,
    });
    const changed: Record<Exclude<keyof LedgerEntry, 'range'>, Partial<LedgerEntry>> = {
      family: { family: 'IPV6', range: '2a05:d014:1::/64' },
      tier: { tier: undefined },
      firstSeen: { firstSeen: NOW - MINUTE },
      lastSeen: { lastSeen: NOW - MINUTE },
      expiresAt: { expiresAt: NOW + 256 * MINUTE },
      hits: { hits: 2 },
      source: { source: 'RateLimitLogin' },
      preexisting: { preexisting: undefined },
      reason: { reason: 'banned from the CLI' },
      sharedPreexisting: { sharedPreexisting: [arn('other-v4')] },
      sharedSeen: { sharedSeen: [arn('other-v4')] },
    };
    // Each changed entry right after one alike to the first: it would join that group if its field were not compared.
    const entries = Object.values(changed).flatMap((change, i): LedgerEntry[] => [
      whole(2 * i),
      { ...whole(2 * i + 1), ...change },
    ]);

    await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    const [intent] = await table.ledger.readIntents();

    expect(byRange(intent?.entries ?? [])).toEqual(byRange(entries));
  });

  it('splits a group across parts when its ranges fill more than one (50,000 /64s alike)', async () => {
    const entries = Array.from({ length: 50_000 }, (_, i): LedgerEntry => ({ ...v6Entry(i), hits: 1 }));

    const parts = await table.ledger.writeIntent('b', 'run-1', entries, NOW);
    const [intent] = await table.ledger.readIntents();

    expect(parts).toBeGreaterThan(1);
    expect(byRange(intent?.entries ?? [])).toEqual(byRange(entries));
  }, 60_000);

  it('reads an intent whose entries are a JSON array of whole entries (as earlier builds wrote it)', async () => {
    const entries = [v6Entry(1), v6Entry(2)];
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          range: '#intent#a#0',
          runId: 'run-0',
          writtenAt: NOW,
          parts: 1,
          part: 0,
          entries: JSON.stringify(entries),
        },
      }),
    );

    const [intent] = await table.ledger.readIntents();

    expect(intent?.entries).toEqual(entries);
  });

  it('is never taken for an active range of either family', async () => {
    await table.ledger.writeIntent('a', 'run-1', [v6Entry(1)], NOW);

    expect(await table.ledger.activeEntries('IPV6')).toEqual([]);
    expect(await table.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('reads both slots, and is gone once dropped', async () => {
    await table.ledger.writeIntent('a', 'run-1', [v6Entry(1)], NOW - MINUTE);
    await table.ledger.writeIntent('b', 'run-2', [v6Entry(2)], NOW);

    expect((await table.ledger.readIntents()).map((intent) => [intent.slot, intent.runId])).toEqual([
      ['a', 'run-1'],
      ['b', 'run-2'],
    ]);

    await table.ledger.dropIntent('a', 1);
    await table.ledger.dropIntent('b', 1);
    expect(await table.ledger.readIntents()).toEqual([]);
  });

  it('ignores a part another run left under the same key (a rewrite that failed half-way)', async () => {
    const entries = Array.from({ length: 4_000 }, (_, i) => v6Entry(i));
    const parts = await table.ledger.writeIntent('a', 'run-1', entries, NOW);
    // A later run rewrote only the first part before it failed: its other parts are not run-1's.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { range: '#intent#a#0', runId: 'run-2', writtenAt: NOW, parts, part: 0, entries: '[]' },
      }),
    );

    const [intent] = await table.ledger.readIntents();

    expect(intent).toMatchObject({ runId: 'run-2', entries: [] });
  });

  it.each([
    ['an entry without a CIDR', '[{"range":7}]'],
    ['a group without ranges', '{"groups":[{"entry":{"family":"IPV4"}}]}'],
    [
      'a group whose range is not a string',
      '{"groups":[{"entry":{"family":"IPV4","firstSeen":1,"lastSeen":1,"expiresAt":2,"hits":1,"source":"x"},"ranges":[7]}]}',
    ],
    ['neither form', '{"entries":[]}'],
  ])('refuses an intent with %s as unreadable, so that the run writes nothing', async (_, entries) => {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { range: '#intent#b#0', runId: 'run-1', writtenAt: NOW, parts: 1, part: 0, entries },
      }),
    );

    await expect(table.ledger.readIntents()).rejects.toBeInstanceOf(ReadError);
  });

  it('refuses a first part that claims more parts than any intent has, before reading them', async () => {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          range: '#intent#a#0',
          runId: 'run-1',
          writtenAt: NOW,
          parts: MAX_INTENT_PARTS + 1,
          part: 0,
          entries: '[]',
        },
      }),
    );

    await expect(table.ledger.readIntents()).rejects.toThrow(/parts/);
  });
});
