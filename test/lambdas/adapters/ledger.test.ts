import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerEntry } from '#core/types';
import { Ledger, createLedgerClient } from '#adapters/ledger';
import { ReadError, WriteError } from '#shared/errors';
import { useLedgerTable } from '../../support/blocker-harness';
import { localClient } from '../../support/dynalite';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A fixed "now" with a millisecond part, so that a seconds/milliseconds mix-up shows. */
const NOW = Date.UTC(2025, 4, 17, 3, 0, 0, 123);

function entry(range: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    range,
    family: range.includes(':') ? 'IPV6' : 'IPV4',
    firstSeen: NOW - HOUR,
    lastSeen: NOW - 10 * MINUTE,
    expiresAt: NOW - 10 * MINUTE + DAY,
    hits: 3,
    source: 'RateLimitPerIp',
    ...overrides,
  };
}

describe('Ledger against dynalite', () => {
  const table = useLedgerTable('Ledger');

  async function storedItem(range: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { range } }));
    return Item;
  }

  it('reads back every field it wrote, each family on its own', async () => {
    const claimed = entry('203.0.113.0/24', { expiresAt: NOW + HOUR, hits: 17, source: 'manual' });
    const foreign = entry('198.51.100.0/24', { expiresAt: NOW + 2 * HOUR, preexisting: true });
    const v6 = entry('2001:db8:1:2::/64', { expiresAt: NOW + 3 * HOUR, source: 'fail2ban@web1' });

    await expect(table.ledger.upsert([foreign, v6, claimed])).resolves.toEqual({ written: 3, skippedStale: 0 });

    // Strict: no storage attributes (activeFamily, ttl) leak into the entries, earliest expiry first.
    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([claimed, foreign]);
    expect(await table.ledger.activeEntries('IPV6')).toStrictEqual([v6]);
  });

  it('keeps the first firstSeen when a range is written again', async () => {
    const first = entry('203.0.113.0/24', { firstSeen: NOW - DAY, lastSeen: NOW - DAY, expiresAt: NOW });
    await table.ledger.upsert([first]);
    const again = entry('203.0.113.0/24', {
      firstSeen: NOW - MINUTE,
      lastSeen: NOW,
      expiresAt: NOW + DAY,
      hits: 9,
      source: 'RateLimitPerIpV2',
    });

    await expect(table.ledger.upsert([again])).resolves.toEqual({ written: 1, skippedStale: 0 });

    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([{ ...again, firstSeen: NOW - DAY }]);
  });

  it('stores preexisting as the entry says, so a re-activated range is judged afresh', async () => {
    await table.ledger.upsert([entry('198.51.100.0/24', { preexisting: true })]);
    expect((await table.ledger.activeEntries('IPV4'))[0]?.preexisting).toBe(true);

    // The core carries the flag while the range stays active; a range blocked anew after a person
    // removed their entry is ours, and must expire.
    await table.ledger.upsert([entry('198.51.100.0/24', { lastSeen: NOW, expiresAt: NOW + DAY, preexisting: false })]);
    expect((await table.ledger.activeEntries('IPV4'))[0]?.preexisting).toBeUndefined();
  });

  it('skips and counts a write whose lastSeen is older than the stored one', async () => {
    const newer = entry('203.0.113.0/24', { lastSeen: NOW, expiresAt: NOW + DAY, hits: 40, source: 'run-b' });
    const older = entry('203.0.113.0/24', { lastSeen: NOW - MINUTE, expiresAt: NOW - MINUTE + DAY, hits: 5 });
    const other = entry('192.0.2.0/24');
    await table.ledger.upsert([newer]);

    await expect(table.ledger.upsert([older, other])).resolves.toEqual({ written: 1, skippedStale: 1 });

    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([other, newer]);
  });

  it('writes the same entry twice without calling it stale', async () => {
    const same = entry('203.0.113.0/24');
    await table.ledger.upsert([same]);

    await expect(table.ledger.upsert([same])).resolves.toEqual({ written: 1, skippedStale: 0 });
  });

  it('sets ttl in epoch seconds, more than 7 days after expiresAt', async () => {
    const expiresAt = NOW + 2 * HOUR + 999;
    await table.ledger.upsert([entry('203.0.113.0/24', { expiresAt })]);

    const ttl = (await storedItem('203.0.113.0/24'))?.ttl;

    expect(Number.isInteger(ttl)).toBe(true);
    const ttlMs = (ttl as number) * 1000;
    expect(ttlMs).toBeGreaterThanOrEqual(expiresAt + 7 * DAY);
    // Well within a day of it: milliseconds stored as seconds would be ~50,000 years out.
    expect(ttlMs).toBeLessThan(expiresAt + 8 * DAY);
  });

  it('lists as due only the active entries of the family with expiresAt <= now', async () => {
    const longGone = entry('192.0.2.0/24', { lastSeen: NOW - 2 * DAY, expiresAt: NOW - DAY });
    const exactlyNow = entry('198.51.100.0/24', { expiresAt: NOW });
    const inOneMs = entry('203.0.113.0/24', { expiresAt: NOW + 1 });
    const v6Gone = entry('2001:db8::/64', { expiresAt: NOW - HOUR });
    await table.ledger.upsert([inOneMs, exactlyNow, longGone, v6Gone]);

    expect(await table.ledger.dueEntries('IPV4', NOW)).toStrictEqual([longGone, exactlyNow]);
    expect(await table.ledger.dueEntries('IPV6', NOW)).toStrictEqual([v6Gone]);
  });

  it('expires an entry out of the active set but keeps its item with removedAt', async () => {
    const gone = entry('192.0.2.0/24', { expiresAt: NOW - MINUTE });
    const staying = entry('203.0.113.0/24', { expiresAt: NOW + HOUR });
    await table.ledger.upsert([gone, staying]);

    await expect(table.ledger.markExpired([gone], NOW)).resolves.toEqual({ expired: 1, refreshed: 0 });

    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([staying]);
    expect(await table.ledger.dueEntries('IPV4', NOW + DAY)).toStrictEqual([staying]);
    const item = await storedItem('192.0.2.0/24');
    expect(item).toMatchObject({ ...gone, removedAt: NOW });
    expect(item).not.toHaveProperty('activeFamily');
  });

  it("reads back a ban's reason and the shared sets it was compared with and that held it, and drops them when a later entry has none", async () => {
    const shared = ['arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b'];
    const banned = entry('203.0.113.0/24', {
      expiresAt: NOW + HOUR,
      reason: 'ssh brute force',
      sharedPreexisting: shared,
      sharedSeen: shared,
    });
    await table.ledger.upsert([banned]);
    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([banned]);

    const seenByRule = entry('203.0.113.0/24', { lastSeen: NOW, expiresAt: NOW + DAY });
    await table.ledger.upsert([seenByRule]);
    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([seenByRule]);
  });

  it('ends a block now: the entry becomes due, and closing it then works as for a block that ran out', async () => {
    const blocked = entry('203.0.113.0/24', { expiresAt: NOW + DAY });
    await table.ledger.upsert([blocked]);

    await expect(table.ledger.endBlocks([blocked], NOW)).resolves.toEqual({ ended: 1, inactive: 0 });
    expect(await table.ledger.dueEntries('IPV4', NOW)).toStrictEqual([{ ...blocked, expiresAt: NOW }]);

    await expect(table.ledger.markExpired([blocked], NOW)).resolves.toEqual({ expired: 1, refreshed: 0 });
    // Ending a block that is no longer active writes nothing back into the active index.
    await expect(table.ledger.endBlocks([blocked], NOW)).resolves.toEqual({ ended: 0, inactive: 1 });
    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([]);
  });

  it('looks up given ranges with consistent reads: active ones of the family only', async () => {
    const active = entry('192.0.2.0/24', { expiresAt: NOW + HOUR });
    const closed = entry('198.51.100.0/24', { expiresAt: NOW - MINUTE });
    const v6 = entry('2001:db8:1:2::/64', { family: 'IPV6', expiresAt: NOW + HOUR });
    await table.ledger.upsert([active, closed, v6]);
    await table.ledger.markExpired([closed], NOW);

    const found = await table.ledger.activeEntriesOf('IPV4', [
      '192.0.2.0/24',
      '198.51.100.0/24',
      '2001:db8:1:2::/64',
      '45.33.12.0/24',
    ]);

    expect(found).toStrictEqual([active]);
  });

  it('makes an expired range active again when it is seen again, with its firstSeen', async () => {
    const gone = entry('192.0.2.0/24', { firstSeen: NOW - 3 * DAY, lastSeen: NOW - 2 * DAY, expiresAt: NOW - DAY });
    await table.ledger.upsert([gone]);
    await table.ledger.markExpired([gone], NOW);
    const back = entry('192.0.2.0/24', { lastSeen: NOW + MINUTE, expiresAt: NOW + MINUTE + DAY });

    await table.ledger.upsert([back]);

    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([{ ...back, firstSeen: NOW - 3 * DAY }]);
    expect(await storedItem('192.0.2.0/24')).not.toHaveProperty('removedAt');
  });

  it('leaves active, and counts, an entry that a concurrent run refreshed', async () => {
    const readBefore = entry('192.0.2.0/24', { expiresAt: NOW - MINUTE });
    const plain = entry('198.51.100.0/24', { expiresAt: NOW - MINUTE });
    await table.ledger.upsert([readBefore, plain]);
    // Another run saw the range attacking again after this run read the table.ledger.
    const refreshed = entry('192.0.2.0/24', { lastSeen: NOW, expiresAt: NOW + DAY });
    await table.ledger.upsert([refreshed]);

    await expect(table.ledger.markExpired([readBefore, plain], NOW)).resolves.toEqual({ expired: 1, refreshed: 1 });

    expect(await table.ledger.activeEntries('IPV4')).toStrictEqual([refreshed]);
    expect(await storedItem('192.0.2.0/24')).not.toHaveProperty('removedAt');
  });

  it('follows every page of the active index', async () => {
    // ~4 kB per item: 300 items exceed the 1 MB that one Query page returns.
    const entries = Array.from({ length: 300 }, (_, i) =>
      entry(`10.${Math.floor(i / 256)}.${i % 256}.0/24`, {
        expiresAt: NOW + i * MINUTE,
        source: `feed-${i}-${'x'.repeat(4000)}`,
      }),
    );
    await expect(table.ledger.upsert(entries)).resolves.toEqual({ written: 300, skippedStale: 0 });
    const send = vi.spyOn(table.doc, 'send');

    const active = await table.ledger.activeEntries('IPV4');

    const queries = send.mock.calls.filter(([command]) => command instanceof QueryCommand);
    send.mockRestore();
    expect(queries.length).toBeGreaterThan(1);
    expect(active).toStrictEqual(entries);
  });

  it.each([
    ['a hit count that is not a number', { hits: 'many' }, 'hits'],
    ['a family other than the index partition', { family: 'IPV6' }, 'family'],
    ['no lastSeen', { lastSeen: undefined }, 'lastSeen'],
    ['a preexisting flag that is not a boolean', { preexisting: 'yes' }, 'preexisting'],
  ])('refuses the whole read when an item has %s', async (_, damage, fieldName) => {
    await table.ledger.upsert([entry('192.0.2.0/24'), entry('203.0.113.0/24')]);
    // Written behind the adapter's back (an undefined field is dropped by the document client).
    const item = { ...entry('198.51.100.0/24', { expiresAt: NOW }), ...damage, activeFamily: 'IPV4' };
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }));

    const read = table.ledger.activeEntries('IPV4');

    await expect(read).rejects.toBeInstanceOf(ReadError);
    await expect(read).rejects.toMatchObject({ resource: `ledger table ${table.tableName}` });
    await expect(read).rejects.toThrow(new RegExp(`${table.tableName}.*198\\.51\\.100\\.0/24.*${fieldName}`));
  });

  describe('when DynamoDB cannot be reached', () => {
    let closedPortLedger: Ledger;
    let unreachable: ReturnType<typeof localClient>;

    beforeAll(async () => {
      // A port that was free a moment ago and has nothing listening now: connections are refused.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        probe.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      unreachable = localClient(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
      closedPortLedger = new Ledger(createLedgerClient(unreachable), 'Ledger-Unreachable');
    });

    afterAll(() => {
      unreachable.destroy();
    });

    it('fails the read with a ReadError naming the table', async () => {
      const read = closedPortLedger.activeEntries('IPV6');

      await expect(read).rejects.toBeInstanceOf(ReadError);
      await expect(read).rejects.toThrow(/ledger table Ledger-Unreachable/);
      await expect(closedPortLedger.dueEntries('IPV4', NOW)).rejects.toBeInstanceOf(ReadError);
    });

    it('fails the write with a WriteError naming the table', async () => {
      const write = closedPortLedger.upsert([entry('192.0.2.0/24')]);

      await expect(write).rejects.toBeInstanceOf(WriteError);
      await expect(write).rejects.toThrow(/ledger table Ledger-Unreachable: upsert: 0 of 1 entries written/);
    });
  });
});

describe('Ledger write failures', () => {
  const TABLE = 'Ledger-Mocked';
  const doc = createLedgerClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' } });
  const ddb = mockClient(doc);
  const entries = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/64', '2001:db8:1::/64'].map(
    (range) => entry(range),
  );

  function failOn(range: string, error: Error = new Error('InternalServerError: try again')): void {
    ddb.on(UpdateCommand, { TableName: TABLE, Key: { range } }).rejects(error);
  }

  function staleOn(range: string): void {
    failOn(range, new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
  }

  beforeEach(() => {
    ddb.reset();
    // Strict: anything not declared below is a test failure, not a silent success.
    ddb.onAnyCommand().rejects(new Error('unexpected command'));
    ddb.on(UpdateCommand, { TableName: TABLE }).resolves({});
  });

  afterAll(() => {
    ddb.restore();
  });

  it('attempts every upsert, then names the table, the progress and the failed range', async () => {
    failOn('198.51.100.0/24');
    staleOn('2001:db8::/64');

    const write = new Ledger(doc, TABLE).upsert(entries);

    await expect(write).rejects.toBeInstanceOf(WriteError);
    await expect(write).rejects.toThrow(
      `could not write ledger table ${TABLE}: upsert: 3 of 5 entries written, 1 skipped as stale, 1 failed (198.51.100.0/24)`,
    );
    await expect(write).rejects.toMatchObject({ cause: new Error('InternalServerError: try again') });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 5);
  });

  it('lists the first failed ranges and counts the rest', async () => {
    const many = Array.from({ length: 10 }, (_, i) => entry(`10.0.${i}.0/24`));
    for (const { range } of many.slice(0, 8)) failOn(range);

    const write = new Ledger(doc, TABLE, { concurrency: 3 }).upsert(many);

    await expect(write).rejects.toThrow(
      /2 of 10 entries written, 0 skipped as stale, 8 failed \(10\.0\.0\.0\/24, 10\.0\.1\.0\/24, 10\.0\.2\.0\/24, 10\.0\.3\.0\/24, 10\.0\.4\.0\/24 and 3 more\)/,
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 10);
  });

  it('attempts every expiry, then names the table, the progress and the failed range', async () => {
    failOn('203.0.113.0/24');
    staleOn('192.0.2.0/24');

    const expire = new Ledger(doc, TABLE).markExpired(entries, NOW);

    await expect(expire).rejects.toBeInstanceOf(WriteError);
    await expect(expire).rejects.toThrow(
      `could not write ledger table ${TABLE}: mark expired: 3 of 5 entries marked expired, 1 failed (203.0.113.0/24)`,
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 5);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { range: '2001:db8:1::/64' },
      ConditionExpression: '#expiresAt <= :now',
      ExpressionAttributeValues: { ':now': NOW },
    });
  });

  it('keeps at most `concurrency` writes in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    ddb.on(UpdateCommand, { TableName: TABLE }).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await sleep(2);
      inFlight -= 1;
      return {};
    });
    const many = Array.from({ length: 40 }, (_, i) => entry(`10.1.${i}.0/24`));

    await expect(new Ledger(doc, TABLE, { concurrency: 4 }).upsert(many)).resolves.toEqual({
      written: 40,
      skippedStale: 0,
    });

    expect(peak).toBe(4);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 40);
  });

  it('writes nothing and reports nothing for no entries', async () => {
    const ledger = new Ledger(doc, TABLE);

    await expect(ledger.upsert([])).resolves.toEqual({ written: 0, skippedStale: 0 });
    await expect(ledger.markExpired([], NOW)).resolves.toEqual({ expired: 0, refreshed: 0 });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a concurrency of %s', (concurrency) => {
    expect(() => new Ledger(doc, TABLE, { concurrency })).toThrow(RangeError);
  });
});
