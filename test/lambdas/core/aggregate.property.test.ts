/**
 * Lossless aggregation against a brute-force oracle. The oracle lives in a small universe (a /12 of
 * IPv4 counted in /24s, a /40 of IPv6 counted in /52s: 4,096 units each) where the addresses a
 * list of ranges covers fit in a bitmap, and the fewest CIDRs for a set of units can be found by
 * looking at every block of the universe.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateRanges, ownedSetEntries, type AggregationFloor } from '#core/aggregate';
import { formatCidr } from '#core/cidr-format';
import { parseRange } from '#core/ip-parse';
import type { Cidr, Family } from '#core/types';

/** A universe: its base address (the high word, and the next for IPv6), its prefix, and its unit's prefix. */
interface Universe {
  readonly family: Family;
  readonly base: readonly [number, number];
  readonly prefix: number;
  readonly unit: number;
}
const UNIVERSES: readonly Universe[] = [
  { family: 'IPV4', base: [0x3e000000, 0], prefix: 12, unit: 24 }, // 62.0.0.0/12 in /24s
  { family: 'IPV6', base: [0x2a0104f8, 0], prefix: 40, unit: 52 }, // 2a01:4f8::/40 in /52s
];
const UNITS = 4096;

/** The CIDR of the block at unit `index` with `prefix` (prefix between the universe's and the unit's). */
function cidrAt(universe: Universe, index: number, prefix: number): Cidr {
  const [w0, w1] = universe.base;
  if (universe.family === 'IPV4') return formatCidr('IPV4', (w0 + index * 256) >>> 0, 0, 0, 0, prefix);
  // /40 to /52: the unit index is bits 40 to 51, i.e. the high 12 bits of w1 below its top 8.
  return formatCidr('IPV6', w0, (w1 + index * 0x1000) >>> 0, 0, 0, prefix);
}

/** The unit index and prefix of a range of the universe. */
function unitsOf(universe: Universe, cidr: string): { start: number; count: number; prefix: number } {
  const range = parseRange(cidr);
  if (range === undefined) throw new Error(`not a range: ${cidr}`);
  const start =
    universe.family === 'IPV4' ? (range.w0 - universe.base[0]) / 256 : (range.w1 - universe.base[1]) / 0x1000;
  return { start, count: 2 ** (universe.unit - range.prefix), prefix: range.prefix };
}

function coverage(universe: Universe, cidrs: readonly string[]): Uint8Array {
  const bits = new Uint8Array(UNITS);
  for (const cidr of cidrs) {
    const { start, count } = unitsOf(universe, cidr);
    bits.fill(1, start, start + count);
  }
  return bits;
}

const full = (bits: Uint8Array, start: number, count: number) => bits.subarray(start, start + count).every(Boolean);

/** The covered units as runs (`"12-15,40-40"`): cheap to compare, readable when a test fails. */
function runsOf(bits: Uint8Array): string {
  const runs: string[] = [];
  for (let start = bits.indexOf(1); start !== -1;) {
    const end = bits.indexOf(0, start);
    runs.push(`${start}-${(end === -1 ? UNITS : end) - 1}`);
    start = end === -1 ? -1 : bits.indexOf(1, end);
  }
  return runs.join(',');
}

/**
 * The fewest CIDRs for the input's addresses, found by brute force: input ranges wider than the
 * floor that no other input range holds, then every fully covered block no wider than the floor,
 * outside those, whose parent is either wider than the floor or not fully covered.
 */
function oracleAggregate(universe: Universe, input: readonly Cidr[], floor: number): Set<Cidr> {
  const bits = coverage(universe, input);
  const wide = input.map((cidr) => unitsOf(universe, cidr)).filter((range) => range.prefix < floor);
  const kept = wide.filter(
    (range) =>
      !wide.some(
        (other) => other.prefix < range.prefix && other.start <= range.start && range.start < other.start + other.count,
      ),
  );
  const insideWide = (start: number) => kept.some((range) => range.start <= start && start < range.start + range.count);
  const result = new Set(kept.map((range) => cidrAt(universe, range.start, range.prefix)));
  for (let prefix = floor; prefix <= universe.unit; prefix++) {
    const count = 2 ** (universe.unit - prefix);
    for (let start = 0; start < UNITS; start += count) {
      if (!full(bits, start, count) || insideWide(start)) continue;
      const parentStart = start - (start % (count * 2));
      if (prefix > floor && full(bits, parentStart, count * 2)) continue;
      result.add(cidrAt(universe, start, prefix));
    }
  }
  return result;
}

/** A range of the universe: any prefix from the universe's to the unit's, aligned. */
function rangeIn(universe: Universe): fc.Arbitrary<Cidr> {
  return fc
    .record({
      prefix: fc.integer({ min: universe.prefix, max: universe.unit }),
      index: fc.integer({ min: 0, max: UNITS - 1 }),
    })
    .map(({ prefix, index }) => {
      const count = 2 ** (universe.unit - prefix);
      return cidrAt(universe, index - (index % count), prefix);
    });
}

/**
 * Ranges that clump the way attacks do: mostly units in a few neighbourhoods (so that siblings
 * meet), some wider ranges (an operator's ban), duplicates allowed.
 */
function rangesIn(universe: Universe): fc.Arbitrary<Cidr[]> {
  const clump = fc
    .record({
      base: fc.integer({ min: 0, max: UNITS - 64 }),
      picks: fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 64 }),
    })
    .map(({ base, picks }) => picks.map((pick) => cidrAt(universe, base - (base % 64) + pick, universe.unit)));
  return fc
    .tuple(fc.array(clump, { maxLength: 4 }), fc.array(rangeIn(universe), { maxLength: 12 }))
    .map(([clumps, scattered]) => [...clumps.flat(), ...scattered]);
}

const floorFor = (universe: Universe, floor: number): AggregationFloor =>
  universe.family === 'IPV4' ? { IPV4: floor, IPV6: 48 } : { IPV4: 16, IPV6: floor };

describe.each(UNIVERSES)('aggregateRanges ($family)', (universe) => {
  const cases = fc.tuple(rangesIn(universe), fc.integer({ min: universe.prefix, max: universe.unit }));

  it('is the fewest CIDRs that cover exactly the input addresses, none wider than the floor but an input range', () => {
    fc.assert(
      fc.property(cases, ([input, floor]) => {
        const output = aggregateRanges(input, floorFor(universe, floor));
        expect(new Set(output)).toEqual(oracleAggregate(universe, input, floor));
        expect(output).toHaveLength(new Set(output).size);
      }),
      { numRuns: 300 },
    );
  });

  it('covers the same addresses as its input, no more and no fewer', () => {
    fc.assert(
      fc.property(cases, ([input, floor]) => {
        const output = aggregateRanges(input, floorFor(universe, floor));
        expect(runsOf(coverage(universe, output))).toBe(runsOf(coverage(universe, input)));
      }),
      { numRuns: 200 },
    );
  });

  it('never lists an entry wider than the floor that was not an input range', () => {
    fc.assert(
      fc.property(cases, ([input, floor]) => {
        for (const cidr of aggregateRanges(input, floorFor(universe, floor))) {
          if (unitsOf(universe, cidr).prefix < floor) expect(input).toContain(cidr);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is idempotent, and does not depend on the input order', () => {
    fc.assert(
      fc.property(cases, fc.integer(), ([input, floor], seed) => {
        const floors = floorFor(universe, floor);
        const output = aggregateRanges(input, floors);
        expect(aggregateRanges(output, floors)).toEqual(output);
        const shuffled = [...input].sort((a, b) => ((hash(a) ^ seed) - (hash(b) ^ seed)) | 0);
        expect(aggregateRanges(shuffled, floors)).toEqual(output);
      }),
      { numRuns: 200 },
    );
  });
});

describe.each(UNIVERSES)('ownedSetEntries ($family)', (universe) => {
  it('round trip: every entry of the aggregate of the owned ranges is ours, and together they cover each owned range once', () => {
    fc.assert(
      fc.property(rangesIn(universe), fc.integer({ min: universe.prefix, max: universe.unit }), (owned, floor) => {
        const floors = floorFor(universe, floor);
        const entries = aggregateRanges(owned, floors);
        const { ours, foreign } = ownedSetEntries(entries, owned, floors);
        expect(foreign).toEqual([]);
        expect(ours.map((entry) => entry.entry)).toEqual(entries);
        const covered = ours.flatMap((entry) => entry.covers);
        expect(covered.sort()).toEqual([...new Set(owned)].sort());
      }),
      { numRuns: 200 },
    );
  });

  it('an entry is ours exactly when it is an owned range, or no wider than the floor and tiled by owned ranges inside it', () => {
    fc.assert(
      fc.property(
        rangesIn(universe),
        fc.array(rangeIn(universe), { maxLength: 20 }),
        fc.integer({ min: universe.prefix, max: universe.unit }),
        (owned, others, floor) => {
          const floors = floorFor(universe, floor);
          const entries = [...new Set([...aggregateRanges(owned, floors), ...others])];
          const { ours, foreign } = ownedSetEntries(entries, owned, floors);
          const expectedOurs = entries.filter((entry) => {
            if (owned.includes(entry)) return true;
            const { start, count, prefix } = unitsOf(universe, entry);
            if (prefix < floor) return false;
            const inside = owned.filter((range) => {
              const r = unitsOf(universe, range);
              return r.prefix >= prefix && r.start >= start && r.start < start + count;
            });
            return full(coverage(universe, inside), start, count);
          });
          expect(ours.map((entry) => entry.entry)).toEqual(expectedOurs);
          expect(foreign).toEqual(entries.filter((entry) => !expectedOurs.includes(entry)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function hash(text: string): number {
  let value = 0;
  for (let index = 0; index < text.length; index++) value = (value * 31 + text.charCodeAt(index)) | 0;
  return value;
}
