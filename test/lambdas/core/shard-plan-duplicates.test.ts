/**
 * A ledger that lists a range twice (lambdas/core/shard-plan.ts): the plan claims it once, with the
 * most deserving row, in the place the range was first listed. The run's ledger step lists each
 * range once, so the plan tells the two cases apart before it builds any look-up (IPv4 by numeric
 * key, IPv6 by text); both kinds are checked here.
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
    it(`${family}: holds the range once, with the most recently seen row, where it was first listed`, () => {
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

    it(`${family}: on a tie of last sighting, keeps the row with more hits`, () => {
      const fewer = row(a, family, 4, 1);
      const more = row(a, family, 4, 7);
      const plan = planShards({ shards: [[]], active: [more, fewer], expired: [], floor: NO_AGGREGATION });
      expect(plan.shards[0]?.active).toEqual([more]);
      expect(plan.shards[0]?.plan.addresses).toEqual([a]);
    });
  }

  it('with no room for both, the range listed twice counts once against the room', () => {
    const plan = planShards({
      shards: [[]],
      active: [row('62.0.1.0/24', 'IPV4', 3), row('62.0.1.0/24', 'IPV4', 2), row('62.0.2.0/24', 'IPV4', 1)],
      expired: [],
      capacity: 2,
      floor: NO_AGGREGATION,
    });
    expect(plan.shards[0]?.plan.addresses.sort()).toEqual(['62.0.1.0/24', '62.0.2.0/24']);
    expect(plan.overflow).toEqual([]);
  });
});
