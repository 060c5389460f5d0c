/**
 * Properties of address normalization over generated input, checked against ipaddr.js as an
 * independent implementation: its parser for what we accept, its formatter for what we print,
 * and its CIDR matcher for what we refuse.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { Allowlist } from '#core/allowlist';
import { canonicalCidr, parseAddress, parseRange } from '#core/ip-parse';
import { mergeSightings } from '#core/merge';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { ParsedRanges } from '#core/parsed-ranges';
import { GLOBALLY_REACHABLE_ROWS, SPECIAL_PURPOSE_BLOCKS } from '#core/special-purpose';

/** What the brief's rules accept, decided with ipaddr.js: the canonical CIDR, or undefined. */
function oracleCanonical(text: string): string | undefined {
  const trimmed = text.trim();
  const match = /^([^/]*)(?:\/(0|[1-9]\d{0,2}))?$/.exec(trimmed);
  if (match === null) return undefined;
  const [, address = '', prefixText] = match;
  if (address.includes(':')) {
    if (address.includes('%') || !ipaddr.IPv6.isValid(address)) return undefined;
    const tail = address.slice(address.lastIndexOf(':') + 1);
    if (tail.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined;
    let parts = ipaddr.IPv6.parse(address).parts;
    // ipaddr.js reads the deprecated `::a.b.c.d` as IPv4-mapped; the rules keep it ::a.b.c.d.
    if (/^::\d+\.\d+\.\d+\.\d+$/.test(address)) parts = [0, 0, 0, 0, 0, 0, parts[6] ?? 0, parts[7] ?? 0];
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (prefix > 128) return undefined;
    const ip = new ipaddr.IPv6(parts);
    if (ip.isIPv4MappedAddress() && prefix >= 96) {
      return `${ipaddr.IPv4.networkAddressFromCIDR(`${ip.toIPv4Address().toString()}/${prefix - 96}`).toString()}/${prefix - 96}`;
    }
    return `${ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${prefix}`).toString()}/${prefix}`;
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return undefined;
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (prefix > 32) return undefined;
  return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`;
}

/** True when two CIDR ranges of one family intersect (one contains the other), by ipaddr.js. */
function oracleOverlaps(a: string, b: string): boolean {
  const [ipA, prefixA] = ipaddr.parseCIDR(a);
  const [ipB, prefixB] = ipaddr.parseCIDR(b);
  if (ipA.kind() !== ipB.kind()) return false;
  return ipA.match(ipB, Math.min(prefixA, prefixB));
}

/** True when the disjoint GLOBALLY_REACHABLE_ROWS cover all of `cidr` (a range of `width`-bit addresses), by ipaddr.js. */
function coveredByRows(cidr: string, width: number): boolean {
  const prefix = Number(cidr.split('/')[1]);
  let covered = 0n;
  for (const row of GLOBALLY_REACHABLE_ROWS) {
    if (!oracleOverlaps(cidr, row.cidr)) continue;
    const rowPrefix = Number(row.cidr.split('/')[1]);
    if (rowPrefix <= prefix) return true;
    covered += 1n << BigInt(width - rowPrefix);
  }
  return covered === 1n << BigInt(width - prefix);
}

const hexGroup = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
/** Eight groups, zero-heavy so that runs of zeros (and ties between runs) are common. */
const groupText = fc
  .array(hexGroup, { minLength: 8, maxLength: 8 })
  .map((groups) => groups.map((g) => g.toString(16)).join(':'));
const prefixSuffix = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 0, max: 140 }).map((p) => `/${p}`),
);
const addressText = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  groupText,
  fc.ipV6().map((ip) => ip.toUpperCase()),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.ipV4().map((ip) => `::${ip}`),
);
const noisyText = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ x'.split('')), maxLength: 45 });
const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(addressText, prefixSuffix).map(([a, p]) => a + p) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('', ' ', '\t'), addressText, fc.constantFrom('', ' ', '\n'))
      .map((t) => t.join('')),
  },
  { weight: 2, arbitrary: noisyText },
);

describe('parsing agrees with ipaddr.js', () => {
  it('accepts exactly what the strict rules accept, and prints what ipaddr.js prints', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(canonicalCidr(text)).toBe(oracleCanonical(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('compresses zero runs as RFC 5952 says (longest, leftmost on a tie, never a single group)', () => {
    fc.assert(
      fc.property(groupText, (text) => {
        const ip = ipaddr.IPv6.parse(text);
        fc.pre(!ip.isIPv4MappedAddress()); // those read as IPv4, checked above
        expect(canonicalCidr(text)).toBe(`${ip.toString()}/128`);
      }),
      { numRuns: 5_000 },
    );
  });

  it('reads every four-part decimal IPv4 address as ipaddr.js does', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const parsed = parseAddress(text);
        expect(parsed?.w0).toBe(
          ipaddr.IPv4.parse(text)
            .toByteArray()
            .reduce((n, octet) => n * 256 + octet, 0),
        );
      }),
    );
  });
});

const v4Key = fc
  .tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 32 })))
  .map(([ip, p]) => (p === null ? ip : `${ip}/${p}`));
const v6Key = fc
  .tuple(fc.ipV6(), fc.option(fc.integer({ min: 0, max: 128 })))
  .map(([ip, p]) => (p === null ? ip : `${ip}/${p}`));
/** Keys biased towards the edges: special-purpose space, documentation, near the allowlist. */
const edgeKey = fc.oneof(
  fc.constantFrom(...SPECIAL_PURPOSE_BLOCKS.map((block) => block.cidr)),
  fc.constantFrom(...SPECIAL_PURPOSE_BLOCKS.map((block) => block.cidr.split('/')[0] ?? '')),
  fc.constantFrom(...GLOBALLY_REACHABLE_ROWS.map((row) => row.cidr)),
  fc.constantFrom(...GLOBALLY_REACHABLE_ROWS.map((row) => row.cidr.split('/')[0] ?? '')),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `${a}.${b}.7.9`),
);
const key = fc.oneof(
  { weight: 3, arbitrary: v4Key },
  { weight: 3, arbitrary: v6Key },
  { weight: 2, arbitrary: edgeKey },
  { weight: 1, arbitrary: noisyText },
);
const allowEntry = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 8, max: 24 })).map(([a, p]) => `${a}.0.0.0/${p}`),
);

describe('normalizeKeys never emits a range that must not be blocked', () => {
  it('for arbitrary keys, prefixes and allowlists', () => {
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 40 }),
        fc.array(allowEntry, { maxLength: 6 }),
        fc.integer({ min: 8, max: 32 }),
        fc.integer({ min: 32, max: 128 }),
        (keys, allowEntries, ipv4Prefix, ipv6Prefix) => {
          const allowlist = new Allowlist(allowEntries);
          const policy = createNormalizePolicy({ ipv4Prefix, ipv6Prefix, allowlist });
          const { sightings, rejected } = normalizeKeys(keys, 'rate-ip', policy);

          expect(sightings.reduce((n, s) => n + s.hits, 0) + rejected.length).toBe(keys.length);
          expect(new Set(sightings.map((s) => s.range)).size).toBe(sightings.length);
          for (const sighting of sightings) {
            const range = parseRange(sighting.range);
            if (range === undefined) throw new Error(`emitted unparsable ${sighting.range}`);
            expect(range.cidr).toBe(sighting.range); // canonical
            expect(range.family).toBe(sighting.family);
            expect(sighting.hits).toBeGreaterThan(0);
            const [min, max] = range.family === 'IPV4' ? [8, ipv4Prefix] : [32, ipv6Prefix];
            expect(range.prefix).toBeGreaterThanOrEqual(min);
            expect(range.prefix).toBeLessThanOrEqual(max);
            // Covered by the globally reachable rows of the registry (the most specific row
            // wins; the rows are disjoint), or clear of every special-purpose block.
            const inGlobalRows = coveredByRows(sighting.range, range.family === 'IPV4' ? 32 : 128);
            for (const block of SPECIAL_PURPOSE_BLOCKS) {
              if (block.cidr === '::ffff:0:0/96' || inGlobalRows) continue;
              expect(oracleOverlaps(sighting.range, block.cidr), `${sighting.range} overlaps ${block.cidr}`).toBe(
                false,
              );
            }
            if (range.family === 'IPV6') expect(oracleOverlaps(sighting.range, '2000::/3')).toBe(true);
            for (const entry of allowEntries) {
              expect(oracleOverlaps(sighting.range, entry), `${sighting.range} overlaps allowlisted ${entry}`).toBe(
                false,
              );
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("gives one rule's sightings already merged: mergeSightings of its one list changes nothing (the run skips it)", () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 60 }), fc.integer({ min: 8, max: 32 }), (keys, ipv4Prefix) => {
        const { sightings } = normalizeKeys(keys, 'rate-ip', createNormalizePolicy({ ipv4Prefix }));
        expect(mergeSightings([sightings])).toEqual(sightings);
      }),
      { numRuns: 1_000 },
    );
  });

  it('records each range it emits as parsing the range text gives it, so that the run plans need not parse it', () => {
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 60 }),
        fc.integer({ min: 8, max: 32 }),
        fc.integer({ min: 32, max: 128 }),
        (keys, ipv4Prefix, ipv6Prefix) => {
          const parsed = new ParsedRanges();
          const { sightings } = normalizeKeys(
            keys,
            'rate-ip',
            createNormalizePolicy({ ipv4Prefix, ipv6Prefix }),
            parsed,
          );
          for (const sighting of sightings) {
            expect(parsed.range(sighting.range)).toEqual(parseRange(sighting.range));
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('refuses a key only for a reason that holds', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 30 }), fc.array(allowEntry, { maxLength: 4 }), (keys, allowEntries) => {
        const allowlist = new Allowlist(allowEntries);
        const { rejected } = normalizeKeys(keys, 'rate-ip', createNormalizePolicy({ allowlist }));
        for (const { key: text, reason } of rejected) {
          const canonical = oracleCanonical(text);
          const unreadable = ['unparsable', 'zone-id', 'prefix-leading-zero', 'prefix-out-of-range'];
          expect(canonical === undefined, `${text}: ${reason}`).toBe(unreadable.includes(reason));
          if (reason === 'zero-prefix') expect(canonical?.endsWith('/0')).toBe(true);
          if (reason === 'ipv4-compatible') {
            // Inside ::/96 at /96 or narrower, not only :: and ::1 (RFC 4291 section 2.5.5.1).
            expect(canonical !== undefined && oracleOverlaps(canonical, '::/96')).toBe(true);
            expect(Number(canonical?.split('/')[1])).toBeGreaterThanOrEqual(96);
            expect(['::/128', '::1/128', '::/127']).not.toContain(canonical);
          }
          if (reason === 'mapped-prefix') {
            // An IPv6 range below /96 that holds the mapped block: WAF would see those clients as IPv4.
            expect(canonical !== undefined && oracleOverlaps(canonical, '::ffff:0:0/96')).toBe(true);
            expect(Number(canonical?.split('/')[1])).toBeLessThan(96);
          }
          if (reason === 'allowlisted') {
            const range = parseRange(text);
            const widened =
              range &&
              parseRange(
                `${range.cidr.split('/')[0] ?? ''}/${Math.min(range.prefix, range.family === 'IPV4' ? 24 : 64)}`,
              );
            expect(allowEntries.some((entry) => widened !== undefined && oracleOverlaps(widened.cidr, entry))).toBe(
              true,
            );
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
