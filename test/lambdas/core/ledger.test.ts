import { describe, expect, it } from 'vitest';
import {
  activeAfter,
  advanceLedger,
  applySightings,
  indexByRange,
  partitionByExpiry,
  type SharedSetsView,
} from '#core/ledger';
import type { LedgerEntry, Sighting } from '#core/types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);
/** How far ahead a rate rule sighting's expiry is written for a day-long block (expiryMargin: at most 15 minutes). */
const MARGIN = 15 * 60_000;

const sighting = (range: string, hits = 1, source = 'rate-ip'): Sighting => ({
  range,
  family: range.includes(':') ? 'IPV6' : 'IPV4',
  source,
  hits,
});

const entry = (range: string, fields: Partial<LedgerEntry> = {}): LedgerEntry => ({
  range,
  family: range.includes(':') ? 'IPV6' : 'IPV4',
  firstSeen: T0,
  lastSeen: T0,
  expiresAt: T0 + DAY,
  hits: 1,
  source: 'rate-ip',
  ...fields,
});

const nowhere = () => false;

const SHARED = 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b';
/** One readable shared set, holding the range when `held` names it. */
const sharedHolding = (...held: string[]): SharedSetsView => ({ readable: [SHARED], holding: () => held });

describe('applySightings', () => {
  it('starts a new range at now, blocked for the block duration and the margin', () => {
    const [row] = applySightings(new Map(), [sighting('45.33.12.0/24', 3)], T0, DAY, nowhere);
    expect(row).toEqual({
      range: '45.33.12.0/24',
      family: 'IPV4',
      firstSeen: T0,
      lastSeen: T0,
      expiresAt: T0 + DAY + MARGIN,
      hits: 3,
      source: 'rate-ip',
      preexisting: false,
    });
  });

  it('counts expiry from the last sighting: a range seen again stays blocked a full duration from then', () => {
    const first = applySightings(new Map(), [sighting('45.33.12.0/24')], T0, DAY, nowhere);
    const later = T0 + 20 * HOUR;
    const [row] = applySightings(
      indexByRange(first),
      [sighting('45.33.12.0/24', 2, 'rate-login')],
      later,
      DAY,
      nowhere,
    );
    expect(row).toMatchObject({
      firstSeen: T0,
      lastSeen: later,
      expiresAt: later + DAY + MARGIN,
      hits: 3,
      source: 'rate-login',
    });
    // 30 hours after the first sighting, 10 after the last: still blocked.
    expect(partitionByExpiry(row ? [row] : [], T0 + 30 * HOUR).active).toHaveLength(1);
  });

  it('never moves expiry earlier, e.g. after the block duration was shortened', () => {
    const known = entry('45.33.12.0/24', { expiresAt: T0 + 7 * DAY });
    const [row] = applySightings(indexByRange([known]), [sighting('45.33.12.0/24')], T0 + HOUR, DAY, nowhere);
    expect(row?.expiresAt).toBe(T0 + 7 * DAY);
    expect(row?.lastSeen).toBe(T0 + HOUR);
  });

  it('marks a new range preexisting when someone else already put it in the IP set, and keeps the mark', () => {
    const inSet = new Set(['185.220.101.0/24']);
    const rows = applySightings(
      new Map(),
      [sighting('185.220.101.0/24'), sighting('45.33.12.0/24')],
      T0,
      DAY,
      (range) => inSet.has(range),
    );
    expect(rows.map((row) => [row.range, row.preexisting])).toEqual([
      ['185.220.101.0/24', true],
      ['45.33.12.0/24', false],
    ]);
    // Later our own block is in the set too: that must not turn our range into someone else's.
    const again = applySightings(indexByRange(rows), [sighting('45.33.12.0/24')], T0 + HOUR, DAY, () => true);
    expect(again[0]?.preexisting).toBe(false);
  });

  it('hands a range over to us when the person who had put it in the set removed it while it kept attacking', () => {
    const theirs = entry('185.220.101.0/24', { preexisting: true });
    const stillThere = applySightings(indexByRange([theirs]), [sighting('185.220.101.0/24')], T0, DAY, () => true);
    expect(stillThere[0]?.preexisting).toBe(true);

    // They unbanned it; it attacks again: the block we now put back is ours, and will expire.
    const gone = applySightings(indexByRange([theirs]), [sighting('185.220.101.0/24')], T0, DAY, () => false);
    expect(gone[0]?.preexisting).toBe(false);
  });

  it('resumes a row that expired but was not deleted yet, instead of mistaking our block for a preexisting one', () => {
    const lapsed = entry('45.33.12.0/24', {
      firstSeen: T0 - 3 * DAY,
      lastSeen: T0 - 2 * DAY,
      expiresAt: T0 - DAY,
      hits: 9,
    });
    const [row] = applySightings(indexByRange([lapsed]), [sighting('45.33.12.0/24')], T0, DAY, () => true);
    expect(row).toMatchObject({ firstSeen: T0 - 3 * DAY, lastSeen: T0, expiresAt: T0 + DAY + MARGIN, hits: 10 });
    expect(row?.preexisting).toBeUndefined();
  });

  it('adds up a range sighted twice in one call', () => {
    const rows = applySightings(
      new Map(),
      [sighting('45.33.12.0/24', 2, 'a'), sighting('45.33.12.0/24', 3, 'b')],
      T0,
      DAY,
      nowhere,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ hits: 5, source: 'b', firstSeen: T0 });
  });

  it('leaves rows that were not sighted alone, and does not modify its input', () => {
    const other = entry('185.220.101.0/24');
    const before = indexByRange([other]);
    const rows = applySightings(before, [sighting('45.33.12.0/24')], T0 + HOUR, DAY, nowhere);
    expect(rows.map((row) => row.range)).toEqual(['45.33.12.0/24']);
    expect(before.get('185.220.101.0/24')).toBe(other);
    expect(other.lastSeen).toBe(T0);
  });

  it.each([
    [Number.NaN, DAY, /now/],
    [T0, 0, /blockDurationMs/],
    [T0, -DAY, /blockDurationMs/],
    [T0, Number.POSITIVE_INFINITY, /blockDurationMs/],
  ])('refuses now=%s, blockDurationMs=%s', (now, duration, message) => {
    expect(() => applySightings(new Map(), [], now, duration, nowhere)).toThrow(message);
  });

  it('refuses a sighting without hits', () => {
    expect(() => applySightings(new Map(), [sighting('45.33.12.0/24', 0)], T0, DAY, nowhere)).toThrow(
      /45\.33\.12\.0\/24/,
    );
  });
});

describe('applySightings: manual bans and shared sets', () => {
  it("blocks for the sighting's own duration and records its reason; a later rule sighting drops the reason", () => {
    const ban: Sighting = {
      ...sighting('45.33.12.0/24', 1, 'cli:alice'),
      durationMs: 7 * DAY,
      reason: 'ssh brute force',
    };
    const [banned] = applySightings(new Map(), [ban], T0, DAY, nowhere);
    expect(banned).toMatchObject({ expiresAt: T0 + 7 * DAY, source: 'cli:alice', reason: 'ssh brute force' });

    const [seen] = applySightings(
      indexByRange([banned as LedgerEntry]),
      [sighting('45.33.12.0/24')],
      T0 + HOUR,
      DAY,
      nowhere,
    );
    // A shorter rule sighting never shortens the week-long ban.
    expect(seen).toMatchObject({ expiresAt: T0 + 7 * DAY, lastSeen: T0 + HOUR, source: 'rate-ip' });
    expect(seen).not.toHaveProperty('reason');
  });

  it('refuses a sighting with a duration that is not positive', () => {
    const ban: Sighting = { ...sighting('45.33.12.0/24'), durationMs: 0 };
    expect(() => applySightings(new Map(), [ban], T0, DAY, nowhere)).toThrow(/positive duration/);
  });

  it('remembers the shared sets that held a new range already, and forgets a set once it no longer does', () => {
    const [claimed] = applySightings(new Map(), [sighting('45.33.12.0/24')], T0, DAY, nowhere, sharedHolding(SHARED));
    expect(claimed).toMatchObject({ preexisting: false, sharedPreexisting: [SHARED], sharedSeen: [SHARED] });

    const again = (view: SharedSetsView) =>
      applySightings(
        indexByRange([claimed as LedgerEntry]),
        [sighting('45.33.12.0/24')],
        T0 + HOUR,
        DAY,
        nowhere,
        view,
      );
    expect(again(sharedHolding(SHARED))[0]).toMatchObject({ sharedPreexisting: [SHARED] });
    const gone = again(sharedHolding())[0];
    expect(gone).toMatchObject({ sharedSeen: [SHARED] });
    expect(gone).not.toHaveProperty('sharedPreexisting');
  });

  it('compares a new range with a set that cannot be read only once it can', () => {
    const unreadable: SharedSetsView = { readable: [], holding: () => [] };
    const [claimed] = applySightings(new Map(), [sighting('45.33.12.0/24')], T0, DAY, nowhere, unreadable);
    expect(claimed).not.toHaveProperty('sharedSeen');

    const step = advanceLedger([claimed as LedgerEntry], [], T0 + HOUR, DAY, nowhere, sharedHolding(SHARED));
    expect(step.upserts).toEqual([{ ...claimed, sharedSeen: [SHARED], sharedPreexisting: [SHARED] }]);
  });
});

describe('advanceLedger: entries their owner took out of a set, and sets added later', () => {
  const claimed = entry('185.220.101.0/24', {
    expiresAt: T0 + DAY,
    preexisting: true,
    sharedPreexisting: [SHARED],
    sharedSeen: [SHARED],
  });

  it('leaves an unsighted entry theirs while it is still in the set, and writes nothing for it', () => {
    const step = advanceLedger([claimed], [], T0 + HOUR, DAY, () => true, sharedHolding(SHARED));
    expect(step.upserts).toEqual([]);
    expect(step.active).toEqual([claimed]);
  });

  it('makes it ours once they removed it, so that the block we put back expires', () => {
    const gone = advanceLedger([claimed], [], T0 + HOUR, DAY, () => false, sharedHolding(SHARED));
    expect(gone.upserts).toEqual([{ ...claimed, preexisting: false }]);
    expect(gone.active).toEqual(gone.upserts);

    const { sharedPreexisting, ...rest } = claimed;
    expect(sharedPreexisting).toEqual([SHARED]);
    const goneFromSharedOnly = advanceLedger([claimed], [], T0 + HOUR, DAY, () => true, sharedHolding());
    expect(goneFromSharedOnly.upserts).toEqual([rest]);
  });

  it('leaves a shared set added to the config later its own copy of a range we already block', () => {
    const ours = entry('45.33.12.0/24', { expiresAt: T0 + DAY });
    const step = advanceLedger([ours], [], T0 + HOUR, DAY, nowhere, sharedHolding(SHARED));
    expect(step.upserts).toEqual([{ ...ours, sharedSeen: [SHARED], sharedPreexisting: [SHARED] }]);

    const notThere = advanceLedger([ours], [], T0 + HOUR, DAY, nowhere, sharedHolding());
    expect(notThere.upserts).toEqual([{ ...ours, sharedSeen: [SHARED] }]);
  });
});

describe('partitionByExpiry', () => {
  it('splits at now: a block that expires exactly now has run out', () => {
    const rows = [
      entry('45.33.12.0/24', { expiresAt: T0 - 1 }),
      entry('45.33.13.0/24', { expiresAt: T0 }),
      entry('45.33.14.0/24', { expiresAt: T0 + 1 }),
    ];
    const { active, expired } = partitionByExpiry(rows, T0);
    expect(active.map((row) => row.range)).toEqual(['45.33.14.0/24']);
    expect(expired.map((row) => row.range)).toEqual(['45.33.12.0/24', '45.33.13.0/24']);
  });

  it('handles no rows', () => {
    expect(partitionByExpiry([], T0)).toEqual({ active: [], expired: [] });
  });
});

describe('activeAfter', () => {
  it('drops expired rows and takes upserts, an upsert winning over an expiry of the same range', () => {
    const stale = entry('45.33.12.0/24', { expiresAt: T0 - 1 });
    const kept = entry('185.220.101.0/24');
    const renewed = entry('45.33.12.0/24', { lastSeen: T0 + HOUR, expiresAt: T0 + HOUR + DAY });
    const after = activeAfter(indexByRange([stale, kept]), [renewed], [stale]);
    expect([...after.values()]).toEqual([kept, renewed]);
  });
});

describe('advanceLedger', () => {
  it('returns the rows to write, the blocks still active, and the ones that ran out', () => {
    const now = T0 + 2 * DAY;
    const rows = [
      entry('45.33.12.0/24', { lastSeen: T0, expiresAt: T0 + DAY }), // ran out, not seen again
      entry('45.33.13.0/24', { lastSeen: T0, expiresAt: T0 + DAY }), // ran out, seen again now
      entry('45.33.14.0/24', { lastSeen: now - HOUR, expiresAt: now - HOUR + DAY }), // still active
    ];
    const step = advanceLedger(rows, [sighting('45.33.13.0/24'), sighting('2a01:4f8:1:2::/64')], now, DAY, nowhere);
    expect(step.upserts.map((row) => [row.range, row.expiresAt])).toEqual([
      ['45.33.13.0/24', now + DAY + MARGIN],
      ['2a01:4f8:1:2::/64', now + DAY + MARGIN],
    ]);
    expect(step.active.map((row) => row.range)).toEqual(['45.33.14.0/24', '45.33.13.0/24', '2a01:4f8:1:2::/64']);
    expect(step.expired.map((row) => row.range)).toEqual(['45.33.12.0/24']);
  });
});
