/**
 * The write-ahead intent's parts (lambdas/adapters/ledger.ts `intentParts`): every entry once, each
 * part within the byte limit it was given. A group of ranges that fits the part left is added
 * whole, by a byte count made while grouping; the others are split range by range. Both counts
 * must agree with the bytes the parts really take, which small limits and many groups test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intentParts } from '#adapters/ledger';
import type { LedgerEntry } from '#core/types';

const NOW = Date.UTC(2025, 4, 17, 3, 0, 0, 123);

/** Entries with a few field sets (so groups of several sizes), IPv4 and IPv6 ranges, one reason not ASCII. */
const entries = fc
  .array(
    fc.record({
      v4: fc.boolean(),
      n: fc.integer({ min: 0, max: 0xffff }),
      group: fc.integer({ min: 0, max: 3 }),
    }),
    // size 'max': fast-check's default size keeps arrays to 10 elements whatever maxLength says.
    { maxLength: 40, size: 'max' },
  )
  .map((drawn) =>
    drawn.map(({ v4, n, group }): LedgerEntry => ({
      range: v4 ? `62.${n >> 8}.${n & 0xff}.0/24` : `2a05:d014:${n.toString(16)}::/64`,
      family: v4 ? 'IPV4' : 'IPV6',
      firstSeen: NOW,
      lastSeen: NOW,
      expiresAt: NOW + group * 60_000,
      hits: 1 + group,
      source: 'RateLimitPerIp',
      ...(group === 3 ? { reason: 'gesperrt über die CLI — ÄÖÜ' } : {}),
    })),
  );

/** The entries a part holds, as {@link intentParts} writes them: each group's fields with each of its ranges. */
function entriesOf(part: string): LedgerEntry[] {
  const { groups } = JSON.parse(part) as { groups: { entry: Omit<LedgerEntry, 'range'>; ranges: string[] }[] };
  return groups.flatMap(({ entry, ranges }) => ranges.map((range): LedgerEntry => ({ ...entry, range })));
}

const key = (entry: LedgerEntry) => JSON.stringify(entry, Object.keys(entry).sort());

describe('intentParts', () => {
  it('holds every entry once, in parts no bigger than the limit', () => {
    fc.assert(
      fc.property(entries, fc.integer({ min: 300, max: 6_000 }), (list, maxBytes) => {
        const parts = intentParts(list, maxBytes);

        expect(parts.length).toBeGreaterThanOrEqual(1);
        for (const part of parts) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(maxBytes);
        expect(parts.flatMap(entriesOf).map(key).sort()).toEqual(list.map(key).sort());
      }),
      { numRuns: 1_000 },
    );
  });

  it('keeps one group in one part when the limit allows it by the count, and splits it within a limit a byte too small', () => {
    const list = Array.from({ length: 40 }, (_, i) => v4Entry(i));
    const fields = Object.fromEntries(Object.entries(list[0] ?? {}).filter(([name]) => name !== 'range'));
    // The count is an upper bound: '{"groups":[]}', then per group '{"entry":…,"ranges":[]},', then
    // each range with two quotes and a comma (the last comma of each list is counted, not written).
    const counted =
      '{"groups":[]}'.length +
      Buffer.byteLength(JSON.stringify(fields), 'utf8') +
      '{"entry":,"ranges":[]},'.length +
      list.reduce((sum, entry) => sum + entry.range.length + 3, 0);
    const [alone] = intentParts(list, counted);
    const size = Buffer.byteLength(alone ?? '', 'utf8');

    const split = intentParts(list, size - 1);

    expect(intentParts(list, counted)).toHaveLength(1);
    expect(split.length).toBeGreaterThan(1);
    for (const part of split) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(size - 1);
    expect(split.flatMap(entriesOf).map(key).sort()).toEqual(list.map(key).sort());
  });
});

/** One of 40 entries alike but for the range: one group. */
function v4Entry(i: number): LedgerEntry {
  return {
    range: `62.0.${i}.0/24`,
    family: 'IPV4',
    firstSeen: NOW,
    lastSeen: NOW,
    expiresAt: NOW + 60_000,
    hits: 1,
    source: 'RateLimitPerIp',
  };
}
