import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { canonicalCidr } from '#core/ip-parse';
import { applySightings } from '#core/ledger';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { asSeenBySet, IpSetIndex, planReconcile, type ReconcileInput } from '#core/reconcile';
import type { LedgerEntry } from '#core/types';

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

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

const plan = (input: Partial<ReconcileInput>) => planReconcile({ current: [], active: [], expired: [], ...input });
const sorted = (values: readonly string[]) => [...values].sort();

describe('planReconcile', () => {
  it('adds active ranges and keeps entries it does not know, verbatim', () => {
    const result = plan({
      current: ['9.9.9.0/24', 'office VPN', '2A00:1450::/32'],
      active: [entry('45.33.12.0/24'), entry('2a01:4f8:1:2::/64')],
    });
    expect(result).toEqual({
      addresses: ['9.9.9.0/24', 'office VPN', '2A00:1450::/32', '45.33.12.0/24', '2a01:4f8:1:2::/64'],
      added: ['45.33.12.0/24', '2a01:4f8:1:2::/64'],
      removed: [],
      overflow: [],
      foreign: 3,
      changed: true,
    });
  });

  it('removes expired ranges it put there, but never one that was there before it', () => {
    const result = plan({
      current: ['45.33.12.0/24', '185.220.101.0/24', '9.9.9.0/24'],
      expired: [entry('45.33.12.0/24'), entry('185.220.101.0/24', { preexisting: true })],
    });
    expect(result.addresses).toEqual(['185.220.101.0/24', '9.9.9.0/24']);
    expect(result.removed).toEqual(['45.33.12.0/24']);
    expect(result.foreign).toBe(2);
    expect(result.changed).toBe(true);
  });

  it('sends nothing when the set already holds what the ledger wants', () => {
    const current = ['9.9.9.0/24', '45.33.12.0/24', '2a01:4f8:1:2::/64'];
    const result = plan({ current, active: [entry('2a01:4f8:1:2::/64'), entry('45.33.12.0/24')] });
    expect(result).toMatchObject({ addresses: current, added: [], removed: [], changed: false });
    expect(result.addresses).not.toBe(current);
  });

  it('matches what WAF echoes by value: upper case, zeros written out, host bits set', () => {
    const current = ['2A01:04F8:0001:0002:0000:0000:0000:0000/64', '2a01:4f8:1:3:0::/64', '45.33.12.7/24'];
    const active = [entry('2a01:4f8:1:2::/64'), entry('45.33.12.0/24')];
    const expired = [entry('2a01:4f8:1:3::/64')];
    const result = plan({ current, active, expired });
    expect(result.added).toEqual([]);
    expect(result.removed).toEqual(['2a01:4f8:1:3:0::/64']);
    // Kept entries keep WAF's spelling.
    expect(result.addresses).toEqual(['2A01:04F8:0001:0002:0000:0000:0000:0000/64', '45.33.12.7/24']);
  });

  it('drops a second spelling of a range it holds', () => {
    const result = plan({ current: ['2a01:4f8:1:2::/64', '2A01:4F8:1:2::/64'], active: [entry('2a01:4f8:1:2::/64')] });
    expect(result.addresses).toEqual(['2a01:4f8:1:2::/64']);
    expect(result.removed).toEqual(['2A01:4F8:1:2::/64']);
  });

  it('drops an exact second copy too: it takes a slot', () => {
    const result = plan({
      current: ['45.33.12.0/24', '9.9.9.0/24', '45.33.12.0/24'],
      active: [entry('45.33.12.0/24')],
    });
    expect(result).toMatchObject({
      addresses: ['45.33.12.0/24', '9.9.9.0/24'],
      removed: ['45.33.12.0/24'],
      changed: true,
    });
  });

  it('lets active win when a range is both active and expired', () => {
    const result = plan({
      current: ['45.33.12.0/24'],
      active: [entry('45.33.12.0/24')],
      expired: [entry('45.33.12.0/24')],
    });
    expect(result.changed).toBe(false);
  });

  it('gives the room left after foreign entries to the most recently seen, then most active, then lowest address', () => {
    const active = [
      entry('45.33.14.0/24', { lastSeen: T0, hits: 50 }),
      entry('45.33.13.0/24', { lastSeen: T0 + 1, hits: 1 }),
      entry('45.33.12.0/24', { lastSeen: T0, hits: 50 }),
      entry('45.33.15.0/24', { lastSeen: T0, hits: 2 }),
    ];
    const result = plan({ current: ['9.9.9.0/24'], active, capacity: 3 });
    expect(result.addresses).toEqual(['9.9.9.0/24', '45.33.12.0/24', '45.33.13.0/24']);
    expect(result.overflow.map((e) => e.range)).toEqual(['45.33.14.0/24', '45.33.15.0/24']);
  });

  it('gives up a slot it holds for a more deserving range, and says so', () => {
    const active = [entry('45.33.12.0/24', { lastSeen: T0 }), entry('45.33.13.0/24', { lastSeen: T0 + 1 })];
    const result = plan({ current: ['9.9.9.0/24', '45.33.12.0/24'], active, capacity: 2 });
    expect(result.addresses).toEqual(['9.9.9.0/24', '45.33.13.0/24']);
    expect(result.added).toEqual(['45.33.13.0/24']);
    expect(result.removed).toEqual(['45.33.12.0/24']);
    expect(result.overflow.map((e) => e.range)).toEqual(['45.33.12.0/24']);
  });

  it('keeps every foreign entry even beyond capacity, and never throws for lack of room', () => {
    const foreign = ['9.9.9.0/24', '1.1.1.0/24', '8.8.8.0/24'];
    const result = plan({
      current: [...foreign, '45.33.12.0/24'],
      active: [entry('45.33.12.0/24'), entry('45.33.13.0/24')],
      capacity: 2,
    });
    expect(result.addresses).toEqual(foreign);
    expect(result.removed).toEqual(['45.33.12.0/24']);
    expect(result.overflow).toHaveLength(2);
    expect(result.foreign).toBe(3);
  });

  it('keeps a preexisting active entry whatever the capacity, without giving it a slot', () => {
    const result = plan({
      current: ['185.220.101.0/24'],
      active: [entry('185.220.101.0/24', { preexisting: true, lastSeen: T0 - 1 }), entry('45.33.12.0/24')],
      capacity: 1,
    });
    expect(result.addresses).toEqual(['185.220.101.0/24']);
    expect(result.overflow.map((e) => e.range)).toEqual(['45.33.12.0/24']);
  });

  it('holds 10,000 addresses by default', () => {
    expect(IP_SET_CAPACITY).toBe(10_000);
    const active = Array.from({ length: 10_001 }, (_, i) =>
      entry(`45.${i >> 8}.${i & 255}.0/24`, { lastSeen: T0 + i }),
    );
    const result = plan({ active });
    expect(result.addresses).toHaveLength(10_000);
    expect(result.overflow.map((e) => e.range)).toEqual(['45.0.0.0/24']);
  });

  it('refuses a capacity that is not a count, and a ledger range that does not parse', () => {
    expect(() => plan({ capacity: -1 })).toThrow(/capacity/);
    expect(() => plan({ capacity: 1.5 })).toThrow(RangeError);
    expect(() => plan({ active: [entry('45.33.12.0/33')] })).toThrow(/45\.33\.12\.0\/33/);
  });
});

describe('asSeenBySet', () => {
  const SHARED = 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b';
  const row = (range: string, fields: Partial<LedgerEntry>): LedgerEntry => ({
    range,
    family: 'IPV4',
    firstSeen: 0,
    lastSeen: 0,
    expiresAt: 0,
    hits: 1,
    source: 'rate-ip',
    ...fields,
  });

  it("keeps in a shared set what we never wrote there: someone else's copy of an expired range stays", () => {
    const ours = row('45.33.12.0/24', { sharedSeen: [SHARED] });
    const theirs = row('185.220.101.0/24', { sharedSeen: [SHARED], sharedPreexisting: [SHARED] });
    // Expired while the set could not be read, so never compared with it; meanwhile another site added it.
    const neverCompared = row('94.102.61.0/24', { preexisting: true });

    const seen = asSeenBySet([ours, theirs, neverCompared], SHARED);
    expect(seen.map((entry) => entry.preexisting === true)).toEqual([false, true, true]);

    const plan = planReconcile({
      current: ['45.33.12.0/24', '185.220.101.0/24', '94.102.61.0/24'],
      active: [],
      expired: seen,
    });
    expect(plan.removed).toEqual(['45.33.12.0/24']);
  });

  it('leaves the blocklist view alone', () => {
    const entry = row('45.33.12.0/24', { preexisting: true });
    expect(asSeenBySet([entry], undefined)).toEqual([entry]);
  });
});

describe('IpSetIndex', () => {
  it('finds a range in the set whatever spelling WAF echoes', () => {
    const set = new IpSetIndex(['2A01:04F8:0001:0002::/64', '45.33.12.0/24', 'garbage']);
    expect(set.has('2a01:4f8:1:2::/64')).toBe(true);
    expect(set.has('45.33.12.0/24')).toBe(true);
    expect(set.has('45.33.13.0/24')).toBe(false);
    expect(set.has('garbage')).toBe(false);
  });

  it('lets applySightings see a preexisting entry spelled differently', () => {
    const set = new IpSetIndex(['2A01:4F8:1:2::/64']);
    const [row] = applySightings(
      new Map(),
      [{ range: '2a01:4f8:1:2::/64', family: 'IPV6', source: 'rate-ip', hits: 1 }],
      T0,
      DAY,
      (range) => set.has(range),
    );
    expect(row?.preexisting).toBe(true);
  });

  it('plans exactly as the plain list does', () => {
    const current = ['9.9.9.0/24', '45.33.12.0/24', 'office VPN'];
    const input = { active: [entry('45.33.13.0/24')], expired: [entry('45.33.12.0/24')] };
    expect(planReconcile({ ...input, current: new IpSetIndex(current) })).toEqual(planReconcile({ ...input, current }));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated sets and ledgers. Ranges come from a small pool so that the set, the
// active and the expired ledger rows overlap often; WAF may echo any of their spellings.

const pool = [
  '45.33.12.0/24',
  '45.33.13.0/24',
  '185.220.101.0/24',
  '185.220.101.4/32',
  '91.92.0.0/16',
  '2a01:4f8:1:2::/64',
  '2a01:4f8:1:3::/64',
  '2a02:c207::/48',
  '2a00:1450:4001:800::/64',
  '2a03:2880:f000::/36',
];
const foreignPool = [
  '9.9.9.0/24',
  '1.1.1.1/32',
  '8.8.8.0/24',
  '2606:4700::/32',
  'office VPN',
  '',
  '2001:4860:4860::8888/128',
];

/** Other spellings of a canonical range, as WAF or a person might write it. */
function spellings(range: string): string[] {
  const [address = '', prefix = ''] = range.split('/');
  if (!address.includes(':')) return [range];
  return [range, range.toUpperCase(), `${ipaddr.IPv6.parse(address).toNormalizedString()}/${prefix}`];
}

const ledgerEntry = (range: string) =>
  fc.record({
    range: fc.constant(range),
    family: fc.constant(range.includes(':') ? ('IPV6' as const) : ('IPV4' as const)),
    firstSeen: fc.constant(T0),
    lastSeen: fc.integer({ min: T0, max: T0 + 5 }),
    expiresAt: fc.constant(T0 + DAY),
    hits: fc.integer({ min: 1, max: 4 }),
    source: fc.constant('rate-ip'),
    preexisting: fc.boolean(),
  });

const scenario = fc
  .record({
    ranges: fc.shuffledSubarray(pool),
    split: fc.integer({ min: 0, max: pool.length }),
    managedInSet: fc.array(fc.nat(), { maxLength: 12 }),
    foreign: fc.array(fc.constantFrom(...foreignPool), { maxLength: 6 }),
    capacity: fc.integer({ min: 0, max: 16 }),
  })
  .chain(({ ranges, split, managedInSet, foreign, capacity }) => {
    const activeRanges = ranges.slice(0, split);
    const expiredRanges = ranges.slice(split);
    const inSet = managedInSet
      .map((n) => pool[n % pool.length] ?? '')
      .flatMap((range) => spellings(range).slice(0, 1 + (range.length % 3)));
    return fc.record({
      active: fc.tuple(...activeRanges.map(ledgerEntry)),
      expired: fc.tuple(...expiredRanges.map(ledgerEntry)),
      current: fc.shuffledSubarray([...inSet, ...foreign], { minLength: inSet.length + foreign.length }),
      capacity: fc.constant(capacity),
    });
  });

/** The entries of `current` that the ledger does not manage: not an active or expired range. */
function foreignEntries(input: ReconcileInput & { readonly current: readonly string[] }): string[] {
  const managed = new Set([...input.active, ...input.expired].map((e) => e.range));
  return input.current.filter((text) => {
    const canonical = canonicalCidr(text);
    return canonical === undefined || !managed.has(canonical);
  });
}

function countOf(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

describe('planReconcile properties', () => {
  it('keeps every foreign entry, verbatim and as often as it appears', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const { addresses } = planReconcile(input);
        const kept = countOf(addresses);
        for (const [text, count] of countOf(foreignEntries(input))) expect(kept.get(text)).toBe(count);
      }),
      { numRuns: 1_000 },
    );
  });

  it('changes nothing when run again on its own output', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const first = planReconcile(input);
        const second = planReconcile({ ...input, current: first.addresses });
        expect(second.changed).toBe(false);
        expect(second.addresses).toEqual(first.addresses);
        expect(second.added).toEqual([]);
        expect(second.removed).toEqual([]);
      }),
      { numRuns: 1_000 },
    );
  });

  it('puts every active range in the set when capacity allows', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const roomy = { ...input, capacity: input.current.length + input.active.length };
        const result = planReconcile(roomy);
        const present = new Set(result.addresses.map((text) => canonicalCidr(text)));
        for (const { range } of input.active) expect(present.has(range)).toBe(true);
        expect(result.overflow).toEqual([]);
      }),
      { numRuns: 1_000 },
    );
  });

  it('stays within capacity unless foreign entries alone exceed it, and reports changes truthfully', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const result = planReconcile(input);
        expect(result.addresses.length).toBeLessThanOrEqual(Math.max(input.capacity, result.foreign));
        const before = sorted(input.current);
        const after = sorted(result.addresses);
        expect(result.changed).toBe(JSON.stringify(before) !== JSON.stringify(after));
        expect(sorted([...result.addresses, ...result.removed])).toEqual(sorted([...input.current, ...result.added]));
        // Nothing we let expire stays, unless it was never ours.
        const lapsed = new Set(input.expired.filter((e) => !e.preexisting).map((e) => e.range));
        for (const e of input.active) lapsed.delete(e.range);
        for (const text of result.addresses) expect(lapsed.has(canonicalCidr(text) ?? '')).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });
});
