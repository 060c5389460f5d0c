/**
 * Placement across a family's IP sets (lambdas/core/shard-plan.ts), as properties over small sets
 * (capacity up to 8, a universe of 48 /24s) where every case is quick to check by brute force; without
 * aggregation (NO_AGGREGATION), which shard-plan-aggregate.test.ts covers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_AGGREGATION } from '#core/aggregate';
import { combinedPlan, planShardAgain, planShards } from '#core/shard-plan';
import type { LedgerEntry } from '#core/types';

const UNIVERSE = 48;
const range = (i: number): string => `62.0.${i}.0/24`;

function entry(i: number, lastSeen: number, hits: number, preexisting = false): LedgerEntry {
  return {
    range: range(i),
    family: 'IPV4',
    firstSeen: 0,
    lastSeen,
    expiresAt: lastSeen + 1000,
    hits,
    source: 'rule',
    ...(preexisting ? { preexisting } : {}),
  };
}

/** Each universe range: not in the ledger, active, or expired; and which sets hold it (foreign text aside). */
const world = fc
  .record({
    shardCount: fc.integer({ min: 1, max: 3 }),
    capacity: fc.integer({ min: 0, max: 8 }),
    ranges: fc.array(
      fc.record({
        state: fc.constantFrom('none', 'active', 'expired'),
        preexisting: fc.boolean(),
        lastSeen: fc.integer({ min: 0, max: 5 }),
        hits: fc.integer({ min: 1, max: 3 }),
        heldBy: fc.oneof(fc.constant([]), fc.constant([]), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 })),
      }),
      { minLength: UNIVERSE, maxLength: UNIVERSE },
    ),
    junk: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
  })
  .map(({ shardCount, capacity, ranges, junk }) => {
    const shards: string[][] = Array.from({ length: shardCount }, () => []);
    const active: LedgerEntry[] = [];
    const expired: LedgerEntry[] = [];
    ranges.forEach((r, i) => {
      if (r.state === 'active') active.push(entry(i, r.lastSeen, r.hits, r.preexisting));
      if (r.state === 'expired') expired.push(entry(i, r.lastSeen, r.hits, r.preexisting));
      for (const s of new Set(r.heldBy)) shards[s % shardCount]?.push(range(i));
    });
    for (const s of junk) shards[s % shardCount]?.push('not an address');
    return { shards, active, expired, capacity };
  });

/** Entries a set holds that are not ours: unknown to the ledger, unparsable, or preexisting. */
function foreignOf(set: readonly string[], active: readonly LedgerEntry[], expired: readonly LedgerEntry[]): string[] {
  const ours = new Set([...active, ...expired].filter((e) => e.preexisting !== true).map((e) => e.range));
  const activeRanges = new Set(active.map((e) => e.range));
  return set.filter(
    (a) => !ours.has(a) || (!activeRanges.has(a) && expired.some((e) => e.range === a && e.preexisting === true)),
  );
}

describe('planShards', () => {
  it('keeps every foreign entry in its set and fills no set beyond capacity with ranges of ours', () => {
    fc.assert(
      fc.property(world, ({ shards, active, expired, capacity }) => {
        const result = planShards({ shards, active, expired, capacity, floor: NO_AGGREGATION });
        result.shards.forEach((shard, i) => {
          const before = shards[i] ?? [];
          const foreign = foreignOf(before, active, expired);
          for (const address of foreign) expect(shard.plan.addresses).toContain(address);
          expect(shard.plan.addresses.length).toBeLessThanOrEqual(Math.max(capacity, foreign.length));
        });
      }),
    );
  });

  it('removes expired ranges of ours from whichever set holds them, and holds each active range in one set at most', () => {
    fc.assert(
      fc.property(world, ({ shards, active, expired, capacity }) => {
        const result = planShards({ shards, active, expired, capacity, floor: NO_AGGREGATION });
        const activeRanges = new Set(active.map((e) => e.range));
        const after = result.shards.map((s) => s.plan.addresses);
        for (const e of expired) {
          if (e.preexisting === true || activeRanges.has(e.range)) continue;
          for (const set of after) expect(set).not.toContain(e.range);
        }
        for (const e of active) {
          if (e.preexisting === true) continue;
          const holders = after.filter((set) => set.includes(e.range));
          expect(holders.length).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('leaves a range in the set that held it (no churn) unless it overflows or that set has no room for it', () => {
    fc.assert(
      fc.property(world, ({ shards, active, expired, capacity }) => {
        const result = planShards({ shards, active, expired, capacity, floor: NO_AGGREGATION });
        const overflow = new Set(result.overflow.map((e) => e.range));
        const ours = active.filter((e) => e.preexisting !== true);
        const firstHolder = (r: string): number => shards.findIndex((set) => set.includes(r));
        shards.forEach((set, i) => {
          const held = ours.filter((e) => firstHolder(e.range) === i);
          if (foreignOf(set, active, expired).length + held.length > capacity) return;
          for (const e of held) {
            if (!overflow.has(e.range)) expect(result.shards[i]?.plan.addresses).toContain(e.range);
          }
        });
        for (const e of ours) {
          if (!overflow.has(e.range)) expect(result.shards.some((s) => s.plan.addresses.includes(e.range))).toBe(true);
        }
      }),
    );
  });

  it('overflows only when every set is full, and keeps the most recently seen, then most active, ranges', () => {
    fc.assert(
      fc.property(world, ({ shards, active, expired, capacity }) => {
        const result = planShards({ shards, active, expired, capacity, floor: NO_AGGREGATION });
        if (result.overflow.length === 0) return;
        for (const s of result.shards) expect(s.plan.addresses.length).toBeGreaterThanOrEqual(capacity);
        const kept = active.filter(
          (e) => e.preexisting !== true && result.shards.some((s) => s.plan.addresses.includes(e.range)),
        );
        for (const lost of result.overflow) {
          for (const e of kept) {
            expect(e.lastSeen > lost.lastSeen || (e.lastSeen === lost.lastSeen && e.hits >= lost.hits)).toBe(true);
          }
        }
      }),
    );
  });

  it('is stable: planning again from the planned sets changes nothing, and re-planning one set from its planned list neither', () => {
    fc.assert(
      fc.property(world, ({ shards, active, expired, capacity }) => {
        const first = planShards({ shards, active, expired, capacity, floor: NO_AGGREGATION });
        const again = planShards({
          shards: first.shards.map((s) => s.plan.addresses),
          active,
          expired,
          capacity,
          floor: NO_AGGREGATION,
        });
        expect(again.shards.map((s) => s.plan.changed)).toEqual(first.shards.map(() => false));
        for (const s of first.shards) expect(planShardAgain(s, s.plan.addresses).changed).toBe(false);
      }),
    );
  });

  it('re-planning a set from the very list it was planned from gives the same plan (the first set write sends the decided plan)', () => {
    fc.assert(
      fc.property(world, fc.boolean(), ({ shards, active, expired, capacity }, aggregate) => {
        const floor = aggregate ? undefined : NO_AGGREGATION;
        const planned = planShards({ shards, active, expired, capacity, ...(floor ? { floor } : {}) });
        planned.shards.forEach((s, index) => {
          expect(planShardAgain(s, shards[index] ?? [])).toEqual(s.plan);
        });
      }),
    );
  });
});

describe('planShards by example', () => {
  const fresh = (count: number, from = 0): LedgerEntry[] =>
    Array.from({ length: count }, (_, i) => entry(from + i, 1, 1));

  it('puts new ranges into the emptiest set first', () => {
    const held = fresh(5);
    const result = planShards({
      shards: [held.map((e) => e.range), []],
      active: [...held, ...fresh(3, 10)],
      expired: [],
      capacity: 10,
      floor: NO_AGGREGATION,
    });
    expect(result.shards[0]?.plan.changed).toBe(false);
    expect(result.shards[1]?.plan.added).toEqual(['62.0.10.0/24', '62.0.11.0/24', '62.0.12.0/24']);
  });

  it('spreads new ranges evenly over empty sets and overflows only past their total capacity', () => {
    const result = planShards({
      shards: [[], []],
      active: fresh(25),
      expired: [],
      capacity: 10,
      floor: NO_AGGREGATION,
    });
    expect(result.shards.map((s) => s.plan.addresses.length)).toEqual([10, 10]);
    expect(result.overflow).toHaveLength(5);
    const combined = combinedPlan(
      result.shards.map((s) => s.plan),
      result.overflow,
    );
    expect(combined.added).toHaveLength(20);
    expect(combined.changed).toBe(true);
  });

  it('drops the second copy of a range held in two sets, which frees a slot', () => {
    const [a] = fresh(1);
    const result = planShards({
      shards: [[a!.range], [a!.range, '203.0.113.0/24']],
      active: [a!],
      expired: [],
      capacity: 10,
      floor: NO_AGGREGATION,
    });
    expect(result.shards.map((s) => s.plan.addresses)).toEqual([[a!.range], ['203.0.113.0/24']]);
  });

  it('re-plans one set after a lock conflict with the placement kept, and does not put back a withdrawn range', () => {
    const result = planShards({ shards: [[], []], active: fresh(4), expired: [], capacity: 10, floor: NO_AGGREGATION });
    const second = result.shards[1]!;
    const fresher = planShardAgain(second, ['198.51.100.7/32'], new Set([second.active[0]!.range]));
    expect(fresher.addresses).toEqual(['198.51.100.7/32', ...second.active.slice(1).map((e) => e.range)]);
  });

  it('refuses an empty list of sets', () => {
    expect(() => planShards({ shards: [], active: [], expired: [] })).toThrow(RangeError);
  });
});
