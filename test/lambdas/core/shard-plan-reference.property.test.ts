/**
 * The shard plan (lambdas/core/shard-plan.ts, lambdas/core/aggregate-plan.ts) gives exactly the plan
 * of the frozen reference (test/support/reference-plan, the algorithm before its speed-ups): the same
 * addresses in the same order, the same added, removed, overflow, released and counts, the same
 * placement, and the same re-plan after a lock conflict. Worlds mix new, held, expired, duplicate
 * and preexisting ranges of one family, clustered so that they aggregate, with foreign entries,
 * one to five sets and capacities small enough to overflow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_AGGREGATION, type AggregationFloor } from '#core/aggregate';
import { ParsedRanges } from '#core/parsed-ranges';
import { IpSetIndex } from '#core/reconcile';
import { planShardAgain, planShards, type PlannedShard } from '#core/shard-plan';
import type { Family, LedgerEntry } from '#core/types';
import * as reference from '../../support/reference-plan/shard-plan';

/** Ranges of each family, clustered in two floor blocks, with wider and non-canonical ones. */
const LEDGER_RANGES: Record<Family, readonly string[]> = {
  IPV4: [
    ...Array.from({ length: 16 }, (_, c) => `62.0.${c}.0/24`),
    ...Array.from({ length: 8 }, (_, c) => `62.1.${c}.0/24`),
    '62.0.4.128/25',
    '62.0.5.0/25',
    '62.0.5.128/25',
    '62.1.8.0/23',
    '62.0.0.0/22',
    '62.0.0.0/16',
    '62.0.0.0/15',
    '62.0.3.7/24',
  ],
  IPV6: [
    ...Array.from({ length: 16 }, (_, c) => `2001:db8:0:${c.toString(16)}::/64`),
    ...Array.from({ length: 8 }, (_, c) => `2001:db8:1:${c.toString(16)}::/64`),
    '2001:db8:0:4::/63',
    '2001:db8:1:8::/63',
    '2001:db8::/48',
    '2001:db8::/32',
    '2001:DB8:0:3::5/64',
  ],
};

/** What else a set may hold: aggregates that may be ours, and entries that are not. */
const OTHER_ENTRIES: Record<Family, readonly string[]> = {
  IPV4: [
    '62.0.0.0/23',
    '62.0.0.0/21',
    '62.0.4.0/22',
    '62.0.8.0/22',
    '62.1.0.0/22',
    '62.0.6.0/25',
    '62.0.2.0/24',
    '62.0.9.64/26',
    '198.51.100.0/24',
    'not an address',
  ],
  IPV6: [
    '2001:db8::/63',
    '2001:db8::/60',
    '2001:db8:0:4::/62',
    '2001:db8:0:8::/62',
    '2001:db8:1::/62',
    '2001:db8:0:6::/65',
    '2001:db8:0:9::/80',
    '2001:db8:0:2::/64',
    '2001:0db8:0000:0001::/64',
    'not an address',
  ],
};

const FLOORS: readonly AggregationFloor[] = [{ IPV4: 16, IPV6: 48 }, { IPV4: 22, IPV6: 62 }, NO_AGGREGATION];

interface World {
  readonly family: Family;
  readonly shards: string[][];
  readonly active: LedgerEntry[];
  readonly expired: LedgerEntry[];
  readonly capacity: number;
  readonly floor: AggregationFloor | undefined;
  readonly indexed: boolean;
}

const row = fc.record({
  range: fc.nat(),
  state: fc.constantFrom('active', 'active', 'expired'),
  preexisting: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  lastSeen: fc.integer({ min: 0, max: 3 }),
  hits: fc.integer({ min: 1, max: 2 }),
});

const world: fc.Arbitrary<World> = fc
  .record({
    family: fc.constantFrom<Family>('IPV4', 'IPV6'),
    shardCount: fc.integer({ min: 1, max: 5 }),
    capacity: fc.integer({ min: 0, max: 12 }),
    rows: fc.array(row, { maxLength: 30 }),
    held: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 20 }),
    floor: fc.option(fc.constantFrom(...FLOORS), { nil: undefined }),
    indexed: fc.boolean(),
  })
  .map(({ family, shardCount, capacity, rows, held, floor, indexed }) => {
    const ranges = LEDGER_RANGES[family];
    const others = OTHER_ENTRIES[family];
    const active: LedgerEntry[] = [];
    const expired: LedgerEntry[] = [];
    for (const r of rows) {
      const entry: LedgerEntry = {
        range: ranges[r.range % ranges.length] as string,
        family,
        firstSeen: 0,
        lastSeen: r.lastSeen,
        expiresAt: r.lastSeen + 1000,
        hits: r.hits,
        source: 'rule',
        ...(r.preexisting ? { preexisting: true } : {}),
      };
      (r.state === 'active' ? active : expired).push(entry);
    }
    const shards: string[][] = Array.from({ length: shardCount }, () => []);
    for (const [set, pick, ledger] of held) {
      const pool = ledger ? ranges : others;
      shards[set % shardCount]?.push(pool[pick % pool.length] as string);
    }
    return { family, shards, active, expired, capacity, floor, indexed };
  });

type Visible = Pick<PlannedShard, 'plan' | 'active' | 'release' | 'capacity' | 'floor'>;

/** What a plan tells its caller: every shard's plan and placement, and the family's overflow. */
function outcome(result: { readonly shards: readonly Visible[]; readonly overflow: readonly LedgerEntry[] }) {
  const shards: Visible[] = result.shards.map(({ plan, active, release, capacity, floor }) => ({
    plan,
    active,
    release,
    capacity,
    floor,
  }));
  return { shards, overflow: result.overflow };
}

function inputOf(w: World) {
  return {
    shards: w.shards.map((set) => (w.indexed ? new IpSetIndex(set) : set)),
    active: w.active,
    expired: w.expired,
    capacity: w.capacity,
    ...(w.floor === undefined ? {} : { floor: w.floor }),
  };
}

describe('planShards against the frozen reference', () => {
  it('gives exactly the reference plan: addresses in the same order, same placement, overflow and counts', () => {
    fc.assert(
      fc.property(world, fc.boolean(), (w, shareParsed) => {
        // A run's parsed ranges, holding the ledger's ranges already (as normalization leaves them), or none.
        const parsed = (): ParsedRanges | undefined => {
          if (!shareParsed) return undefined;
          const ranges = new ParsedRanges();
          for (const entry of [...w.active, ...w.expired]) ranges.range(entry.range);
          return ranges;
        };
        const mine = parsed();
        const theirs = parsed();
        const actual = planShards({ ...inputOf(w), ...(mine === undefined ? {} : { parsed: mine }) });
        const expected = reference.planShards({ ...inputOf(w), ...(theirs === undefined ? {} : { parsed: theirs }) });
        expect(outcome(actual)).toEqual(outcome(expected));
      }),
      { numRuns: 1500 },
    );
  });

  it('re-plans a set after a lock conflict exactly as the reference does', () => {
    fc.assert(
      fc.property(world, fc.nat(), fc.array(fc.nat(), { maxLength: 3 }), (w, pick, gone) => {
        const actual = planShards(inputOf(w));
        const expected = reference.planShards(inputOf(w));
        const index = pick % w.shards.length;
        const planned = actual.shards[index];
        const frozen = expected.shards[index];
        if (planned === undefined || frozen === undefined) throw new Error('a shard is missing');
        const others = OTHER_ENTRIES[w.family];
        // The set as written, as read before, or with an entry someone added meanwhile.
        const fresh = [
          planned.plan.addresses,
          w.shards[index] ?? [],
          [others[pick % others.length] as string, ...planned.plan.addresses],
        ][pick % 3] as string[];
        const withdrawn = new Set(gone.map((g) => w.active[g % Math.max(1, w.active.length)]?.range ?? ''));
        expect(planShardAgain(planned, fresh, withdrawn)).toEqual(reference.planShardAgain(frozen, fresh, withdrawn));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the reference plan for a big first run and its steady re-plan (10,000 ranges, 3 sets)', () => {
    const entries = Array.from({ length: 10_000 }, (_, i): LedgerEntry => ({
      range: i % 3 === 0 ? `62.${i >> 8}.${i & 255}.0/24` : `81.${(i * 7) % 251}.${(i * 13) % 256}.0/24`,
      family: 'IPV4',
      firstSeen: 0,
      lastSeen: i % 7,
      expiresAt: 1000,
      hits: 1 + (i % 3),
      source: 'rule',
    }));
    const first = { shards: [[], [], ['81.0.0.0/16']], active: entries, expired: [], capacity: 3000 };
    const actual = planShards(first);
    expect(outcome(actual)).toEqual(outcome(reference.planShards(first)));
    const steady = {
      ...first,
      shards: actual.shards.map((s) => s.plan.addresses),
      active: entries.slice(100),
      expired: entries.slice(0, 100),
    };
    expect(outcome(planShards(steady))).toEqual(outcome(reference.planShards(steady)));
  });
});
