/**
 * The order of what a plan reports (lambdas/core/aggregate-plan.ts): `added` and `released` list
 * ranges in the core's range order (`compareRanges`: IPv4 before IPv6, by network address, wider
 * first), whatever order the ledger gave them in, over the whole IPv4 space and with ranges nested
 * at the same address (an operator's /22 ban beside a sighted /24). The report and the CLI print
 * these lists as they are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_AGGREGATION } from '#core/aggregate';
import { parseRange } from '#core/ip-parse';
import { compareRanges } from '#core/network-range';
import { planShards } from '#core/shard-plan';
import type { LedgerEntry } from '#core/types';

function entry(range: string, lastSeen = 0): LedgerEntry {
  return { range, family: 'IPV4', firstSeen: 0, lastSeen, expiresAt: lastSeen + 1000, hits: 1, source: 'rule' };
}

/** Whether `ranges` are in `compareRanges` order. */
function inRangeOrder(ranges: readonly string[]): boolean {
  const parsed = ranges.map((text) => {
    const range = parseRange(text);
    if (range === undefined) throw new Error(`fixture ${text} does not parse`);
    return range;
  });
  return parsed.every((range, i) => i === 0 || compareRanges(parsed[i - 1] as typeof range, range) <= 0);
}

const dotted = (address: number): string =>
  `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
const networkOf = (address: number, prefix: number): number => (address & (0xffffffff << (32 - prefix))) >>> 0;

/** A canonical IPv4 range anywhere in the space. */
const ipv4Range = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(8, 16, 22, 23, 24, 25, 32))
  .map(([address, prefix]) => `${dotted(networkOf(address, prefix))}/${prefix}`);
/** Several prefixes at one network address (aligned to the widest), each canonical. */
const nestedAtOneAddress = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.subarray([8, 16, 22, 24, 32], { minLength: 1 }))
  .map(([address, prefixes]) => {
    const network = networkOf(address, Math.min(...prefixes));
    return prefixes.map((prefix) => `${dotted(network)}/${prefix}`);
  });

describe('the order of what a plan adds and releases', () => {
  it('lists added ranges in range order, nested ones wider first, whatever the ledger order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            ipv4Range,
            nestedAtOneAddress.map((list) => list[0] as string),
          ),
          { maxLength: 40 },
        ),
        fc.array(nestedAtOneAddress, { maxLength: 6 }),
        (loose, nested) => {
          const ranges = [...new Set([...loose, ...nested.flat()])];
          const plan = planShards({
            shards: [[], []],
            active: ranges.map((r) => entry(r)),
            expired: [],
            capacity: 100,
          });
          const added = plan.shards.flatMap((shard) => shard.plan.added);
          for (const shard of plan.shards)
            expect(inRangeOrder(shard.plan.added), shard.plan.added.join(' ')).toBe(true);
          expect([...added].sort()).toEqual([...ranges].sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lists released ranges in range order when a set gives up ranges it held', () => {
    fc.assert(
      fc.property(fc.array(nestedAtOneAddress, { minLength: 1, maxLength: 8 }), (nested) => {
        const ranges = [...new Set(nested.flat())];
        // Held in the first set, all expired (most recently seen first): every one is released.
        const plan = planShards({
          shards: [[...ranges].reverse()],
          active: [],
          expired: ranges.map((r, i) => entry(r, i)),
          capacity: 100,
          floor: NO_AGGREGATION,
        });
        const released = plan.shards[0]?.plan.released ?? [];
        expect(inRangeOrder(released), released.join(' ')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('orders a first run of 40,000 /24s, more than the packed sort takes, in range order as well', () => {
    const ranges = Array.from({ length: 40_000 }, (_, i) => `${200 - (i % 150)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const unique = [...new Set(ranges)];
    const plan = planShards({
      shards: [[], [], [], [], []],
      active: unique.map((r) => entry(r)),
      expired: [],
      capacity: 10_000,
      floor: NO_AGGREGATION,
    });
    const added = plan.shards.flatMap((shard) => shard.plan.added);
    expect(added).toHaveLength(unique.length);
    for (const shard of plan.shards) expect(inRangeOrder(shard.plan.added)).toBe(true);
  });
});
