/**
 * The order of added ranges in a fitted block report, and so in the Telegram message: most hits
 * first, equal hits in address order (IPv4 before IPv6, then by address, then wider first), the
 * core's compareRanges order, not string order (`62.0.10.0/24` before `62.0.2.0/24`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_REPORT_KIND, fitReport, REPORT_MIN_BYTES, type AddedRange, type BlockReport } from '#contracts/report';
import { formatCidr } from '#core/cidr-format';
import { compareRanges, type ParsedAddress } from '#core/network-range';
import { renderReport } from '#notifier/render';

function reportOf(added: readonly AddedRange[]): BlockReport {
  return {
    kind: BLOCK_REPORT_KIND,
    version: 1,
    at: '2026-11-30T23:00:00.000Z',
    webAclName: 'WafAutoblock-web-acl',
    dryRun: false,
    collected: true,
    added,
    expired: [],
    overflow: { count: 0, sample: [] },
    ipSets: [],
    topHosts: [],
    rejectedKeys: {},
    unreadableRules: [],
  };
}

const added = (range: string, hits: number): AddedRange => ({ range, source: 'RateLimitPerIp', hits });

/** 62.0.0.0/24 … 62.1.255.0/24, 512 ranges: string order puts 62.0.10.0 third, address order 62.0.2.0. */
const FLOOD = Array.from({ length: 512 }, (_, i) => `62.${i >> 8}.${i & 255}.0/24`);

describe('ranges with equal hits in a fitted report', () => {
  // Listed in string order, as a set or a ledger query might return them.
  const input = [
    ...[...FLOOD].sort(),
    '2001:db8:10::/64',
    '2001:db8:2::/64',
    '2001:db8::/64',
    '9.9.9.0/24',
    '100.64.0.0/24',
  ].map((range) => added(range, range === '9.9.9.0/24' ? 40 : 7));

  it('lists the most hit first, then the rest in address order, not string order', () => {
    const fitted = fitReport(reportOf(input), REPORT_MIN_BYTES);
    expect(fitted.addedCount).toBe(input.length);
    expect(fitted.added.length).toBeGreaterThan(20);
    expect(fitted.added.length).toBeLessThan(input.length);
    expect(fitted.added.slice(0, 13).map((entry) => entry.range)).toEqual([
      '9.9.9.0/24',
      '62.0.0.0/24',
      '62.0.1.0/24',
      '62.0.2.0/24',
      '62.0.3.0/24',
      '62.0.4.0/24',
      '62.0.5.0/24',
      '62.0.6.0/24',
      '62.0.7.0/24',
      '62.0.8.0/24',
      '62.0.9.0/24',
      '62.0.10.0/24',
      '62.0.11.0/24',
    ]);
  });

  it('shows them in that order in the Telegram message', () => {
    const [message = ''] = renderReport(fitReport(reportOf(input), REPORT_MIN_BYTES), {
      now: Date.UTC(2026, 10, 30, 23, 5),
      maxListedRanges: 12,
    });
    const listed = [...message.matchAll(/^• <code>([^<]+)<\/code>/gm)].map((match) => match[1]);
    expect(listed).toEqual([
      '9.9.9.0/24',
      '62.0.0.0/24',
      '62.0.1.0/24',
      '62.0.2.0/24',
      '62.0.3.0/24',
      '62.0.4.0/24',
      '62.0.5.0/24',
      '62.0.6.0/24',
      '62.0.7.0/24',
      '62.0.8.0/24',
      '62.0.9.0/24',
      '62.0.10.0/24',
    ]);
    expect(message).toContain(`and ${input.length - 12} more`);
  });

  it('puts IPv4 before IPv6, and IPv6 by address (2001:db8::, 2001:db8:2::, 2001:db8:10::)', () => {
    const few = [
      '2001:db8:10::/64',
      '2001:db8:2::/64',
      '2001:db8::/64',
      '2001:db8::/48',
      '62.0.10.0/24',
      '62.0.9.0/24',
    ];
    // Big enough entries that not all of them fit in the smallest budget: the report has to be cut.
    const padded = few.map((range) => ({ ...added(range, 1), source: 'x'.repeat(1_800) }));
    const fitted = fitReport(reportOf(padded), REPORT_MIN_BYTES);
    expect(fitted.added.length).toBeLessThan(few.length);
    expect(fitted.added.map((entry) => entry.range)).toEqual(
      ['62.0.9.0/24', '62.0.10.0/24', '2001:db8::/48', '2001:db8::/64', '2001:db8:2::/64'].slice(
        0,
        fitted.added.length,
      ),
    );
  });

  it('puts text that is not a range after every range, in string order', () => {
    const odd = ['zzz', '62.0.0.0/33', '2001:DB8::/64', 'not a range'];
    const padded = [...odd, '62.0.1.0/24'].map((range) => ({ ...added(range, 1), source: 'x'.repeat(1_800) }));
    const fitted = fitReport(reportOf(padded), REPORT_MIN_BYTES);
    expect(fitted.added.length).toBeLessThan(padded.length);
    expect(fitted.added.map((entry) => entry.range)).toEqual(
      ['62.0.1.0/24', '2001:DB8::/64', '62.0.0.0/33', 'not a range', 'zzz'].slice(0, fitted.added.length),
    );
  });
});

describe('address order against the core', () => {
  const word = fc.integer({ min: 0, max: 0xffff_ffff });
  /** Any range in canonical text, with its parsed form; host bits as generated (only order counts). */
  const range = fc.oneof(
    fc
      .record({ w0: word, prefix: fc.integer({ min: 0, max: 32 }) })
      .map(({ w0, prefix }): ParsedAddress => ({ family: 'IPV4', prefix, w0, w1: 0, w2: 0, w3: 0 })),
    fc
      .record({
        // Few distinct leading words, so that ranges share them and later words decide.
        w0: fc.constantFrom(0x20010db8, 0x2a010000, 0),
        w1: fc.oneof(word, fc.constant(0)),
        w2: fc.oneof(word, fc.constant(0)),
        w3: fc.oneof(word, fc.constant(0)),
        prefix: fc.integer({ min: 0, max: 128 }),
      })
      .map(({ w0, w1, w2, w3, prefix }): ParsedAddress => ({ family: 'IPV6', prefix, w0, w1, w2, w3 })),
  );
  const textOf = (r: ParsedAddress) => formatCidr(r.family, r.w0, r.w1, r.w2, r.w3, r.prefix);

  it('keeps, of ranges with equal hits, the first ones in compareRanges order', () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 150, maxLength: 400 }), (ranges) => {
        const input = ranges.map((r) => added(textOf(r), 3));
        const fitted = fitReport(reportOf(input), REPORT_MIN_BYTES);
        const expected = [...ranges].sort(compareRanges).map(textOf);
        expect(fitted.added.length).toBeLessThan(input.length);
        expect(fitted.added.map((entry) => entry.range)).toEqual(expected.slice(0, fitted.added.length));
      }),
      { numRuns: 60 },
    );
  });
});
