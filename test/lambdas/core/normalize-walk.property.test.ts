/**
 * normalizeKeys judges IPv4 ranges by walking the refused spaces (special-purpose blocks, then the
 * allowlist) beside the ranges in address order (lambdas/core/normalize.ts). Its verdicts must be
 * exactly those of asking each range on its own: `isNonGlobal`, then `Allowlist.overlaps`. The
 * keys are drawn near the edges of both spaces (the special-purpose blocks' and the allowlist
 * entries'), with every prefix from /0 to /32, so that wide and narrow ranges, nested and
 * repeated, cross the edges in every order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allowlist } from '#core/allowlist';
import { parseRange } from '#core/ip-parse';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { isNonGlobal, SPECIAL_PURPOSE_BLOCKS } from '#core/special-purpose';

const TOP = 2 ** 32 - 1;

function dotted(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/** `address` with the bits after `prefix` cleared. */
function network(address: number, prefix: number): number {
  return prefix === 0 ? 0 : address - (address % 2 ** (32 - prefix));
}

/** The first and last address of every IPv4 special-purpose block. */
const EDGES: readonly number[] = SPECIAL_PURPOSE_BLOCKS.flatMap((block) => {
  const range = parseRange(block.cidr);
  if (range?.family !== 'IPV4') return [];
  return [range.w0, range.w0 + 2 ** (32 - range.prefix) - 1];
});

/** An address anywhere, or at, beside or within a few /24s of one of `edges`. */
function addressNear(edges: readonly number[]) {
  return fc.oneof(
    fc.integer({ min: 0, max: TOP }),
    fc
      .tuple(
        fc.constantFrom(...edges),
        fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -1_000, max: 1_000 })),
      )
      .map(([edge, offset]) => Math.min(TOP, Math.max(0, edge + offset))),
  );
}
/** Any prefix, the usual ones (/8, /16, /24, /32) more often. */
const prefix = fc.oneof(fc.constantFrom(8, 16, 24, 32), fc.integer({ min: 0, max: 32 }));

/** The first and last address of each allowlist entry drawn as (address, prefix). */
function edgesOf(entries: readonly (readonly [number, number])[]): number[] {
  return entries.flatMap(([a, p]) => [network(a, p), network(a, p) + 2 ** (32 - p) - 1]);
}

/**
 * Allowlist entries near the special-purpose blocks' edges, then keys near the edges of both:
 * a walk that steps past an interval one address early or late is caught at either kind of edge.
 */
const drawn = fc.array(fc.tuple(addressNear(EDGES), prefix), { maxLength: 8 }).chain((entries) =>
  fc.record({
    entries: fc.constant(entries),
    // size 'max': fast-check's default size keeps arrays to 10 elements whatever maxLength says.
    keys: fc.array(fc.tuple(addressNear([...EDGES, ...edgesOf(entries)]), prefix), { maxLength: 60, size: 'max' }),
  }),
);

/** What asking the range of `key` on its own says: the reason it is refused, or `undefined`. */
function expectedVerdict(address: number, prefix: number, ipv4Prefix: number, allowlist: Allowlist) {
  if (prefix === 0) return 'zero-prefix';
  const widened = Math.min(prefix, ipv4Prefix);
  if (widened < 8) return 'too-wide';
  const range = parseRange(`${dotted(network(address, widened))}/${widened}`);
  if (range === undefined) throw new Error(`no range for ${dotted(address)}/${widened}`);
  if (isNonGlobal(range)) return 'non-global';
  if (allowlist.overlaps(range)) return 'allowlisted';
  return undefined;
}

describe('normalizeKeys judges IPv4 ranges as asking each on its own would', () => {
  it('for keys near the edges of the special-purpose blocks and of the allowlist entries', () => {
    fc.assert(
      fc.property(
        drawn,
        fc.oneof(fc.constantFrom(24, 32), fc.integer({ min: 8, max: 32 })),
        ({ keys, entries }, ipv4Prefix) => {
          const allowlist = new Allowlist(entries.map(([a, p]) => `${dotted(network(a, p))}/${p}`));
          // Written as WAF reports keys: an address with a prefix, host bits and all.
          const texts = keys.map(([a, p]) => `${dotted(a)}/${p}`);
          const { sightings, rejected } = normalizeKeys(
            texts,
            'rate-ip',
            createNormalizePolicy({ ipv4Prefix, allowlist }),
          );

          const refused = rejected.map(({ key, reason }) => `${key} ${reason}`);
          const expectedRefused: string[] = [];
          const hits = new Map<string, number>();
          keys.forEach(([a, p], i) => {
            const verdict = expectedVerdict(a, p, ipv4Prefix, allowlist);
            if (verdict !== undefined) expectedRefused.push(`${texts[i] ?? ''} ${verdict}`);
            else {
              const widened = Math.min(p, ipv4Prefix);
              const range = `${dotted(network(a, widened))}/${widened}`;
              hits.set(range, (hits.get(range) ?? 0) + 1);
            }
          });
          expect(refused).toEqual(expectedRefused);
          expect(new Map(sightings.map((s) => [s.range, s.hits]))).toEqual(hits);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
