/**
 * A ledger that lists a range twice (lambdas/core/shard-plan.ts): the plan claims it once, with the
 * most deserving row (latest sighting, then most hits). The run's ledger step lists each range once
 * today, but `planShards` promises this for any rows it is given, and nothing else checked it; both
 * families are checked.
 */
import { describe, expect, it } from 'vitest';
import { NO_AGGREGATION } from '#core/aggregate';
import { planShards } from '#core/shard-plan';
import type { Family, LedgerEntry } from '#core/types';

function row(range: string, family: Family, lastSeen: number, hits = 1): LedgerEntry {
  return { range, family, firstSeen: 0, lastSeen, expiresAt: lastSeen + 1_000, hits, source: 'rule' };
}

describe('planShards with a range listed twice', () => {
  const cases: readonly { family: Family; a: string; b: string }[] = [
    { family: 'IPV4', a: '62.0.1.0/24', b: '62.0.2.0/24' },
    { family: 'IPV6', a: '2001:db8:0:1::/64', b: '2001:db8:0:2::/64' },
  ];

  for (const { family, a, b } of cases) {
    it(`${family}: holds the range once, with the most recently seen row`, () => {
      const older = row(a, family, 1);
      const newer = row(a, family, 9);
      const plan = planShards({
        shards: [[], []],
        active: [older, row(b, family, 5), newer],
        expired: [],
        floor: NO_AGGREGATION,
      });
      const active = plan.shards.flatMap((shard) => shard.active);
      expect(active.filter((entry) => entry.range === a)).toEqual([newer]);
      expect(active.map((entry) => entry.range).sort()).toEqual([a, b].sort());
      const addresses = plan.shards.flatMap((shard) => shard.plan.addresses);
      expect(addresses.filter((address) => address === a)).toHaveLength(1);
      expect(plan.overflow).toEqual([]);
    });

    it(`${family}: on a tie of last sighting, keeps the row with more hits, whichever is listed first`, () => {
      const fewer = row(a, family, 4, 1);
      const more = row(a, family, 4, 7);
      for (const active of [
        [more, fewer],
        [fewer, more],
      ]) {
        const plan = planShards({ shards: [[]], active, expired: [], floor: NO_AGGREGATION });
        expect(plan.shards[0]?.active).toEqual([more]);
        expect(plan.shards[0]?.plan.addresses).toEqual([a]);
      }
    });
  }

  it('a range listed twice takes one place in a full set: the set holds both ranges, each once', () => {
    const newer = row('62.0.1.0/24', 'IPV4', 3);
    const other = row('62.0.2.0/24', 'IPV4', 1);
    const plan = planShards({
      shards: [[]],
      active: [newer, row('62.0.1.0/24', 'IPV4', 2), other],
      expired: [],
      capacity: 2,
      floor: NO_AGGREGATION,
    });
    expect(plan.shards[0]?.plan.addresses.sort()).toEqual(['62.0.1.0/24', '62.0.2.0/24']);
    expect(plan.shards[0]?.active).toHaveLength(2);
    expect(plan.shards[0]?.active).toEqual(expect.arrayContaining([newer, other]));
    expect(plan.overflow).toEqual([]);
  });
});
