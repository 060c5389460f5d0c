/**
 * ParsedRanges: a plan's ranges, each parsed once; ranges that normalization recorded are found
 * by their canonical text without a parse, whether looked up before or after other texts, in the
 * order recorded for each family and prefix length (a first run's plans, served without an index,
 * one list after the other) or in any other.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange } from '#core/ip-parse';
import { ParsedRanges, parseWith } from '#core/parsed-ranges';

/** The range of a fixture's text. @throws when the fixture does not parse. */
function parseFixture(text: string) {
  const range = parseRange(text);
  if (range === undefined) throw new Error(`fixture ${text} does not parse`);
  return range;
}

describe('ParsedRanges', () => {
  it('finds a remembered range by its canonical text: the very range recorded, not a second parse', () => {
    const parsed = new ParsedRanges();
    const remembered = parseRange('62.1.2.0/24');
    if (remembered === undefined) throw new Error('fixture does not parse');
    parsed.remember(remembered);

    expect(parsed.range('62.1.2.0/24')).toBe(remembered);
    expect(parsed.cidr('62.1.2.0/24')).toBe('62.1.2.0/24');
  });

  it('keeps the first range of a text: one remembered after a look-up does not replace it', () => {
    const parsed = new ParsedRanges();
    const first = parsed.range('62.1.2.0/24');
    const later = parseRange('62.1.2.0/24');
    if (later === undefined) throw new Error('fixture does not parse');
    parsed.remember(later);

    expect(parsed.range('62.1.2.0/24')).toBe(first);
    expect(parsed.range('62.1.2.0/24')).not.toBe(later);
  });

  it('keeps the first of two remembered ranges of the same text', () => {
    const parsed = new ParsedRanges();
    const [a, b] = [parseRange('2a01:4f8::/32'), parseRange('2a01:4f8::/32')];
    if (a === undefined || b === undefined) throw new Error('fixture does not parse');
    parsed.remember(a);
    parsed.remember(b);

    expect(parsed.range('2a01:4f8::/32')).toBe(a);
  });

  it('parses a text once, finds it again by its canonical form, and answers undefined for a text that does not parse', () => {
    const parsed = new ParsedRanges();
    const range = parsed.range('62.1.2.7/24');

    expect(range?.cidr).toBe('62.1.2.0/24');
    expect(parsed.range('62.1.2.7/24')).toBe(range);
    expect(parsed.range('62.1.2.0/24')).toBe(range);
    expect(parsed.range('not a range')).toBeUndefined();
    expect(parsed.cidr('not a range')).toBeUndefined();
    expect(parseWith(parsed, '62.1.2.0/24')).toBe(range);
    expect(parseWith(undefined, '62.1.2.0/24')).toEqual(range);
  });

  it('serves remembered ranges asked for in the order recorded as recorded, and finds each again out of that order', () => {
    const parsed = new ParsedRanges();
    const texts = ['62.0.0.0/24', '62.0.1.0/24', '2a01:4f8::/64'];
    const ranges = texts.map((text) => {
      const range = parseRange(text);
      if (range === undefined) throw new Error(`fixture ${text} does not parse`);
      parsed.remember(range);
      return range;
    });

    expect(parsed.range('62.0.0.0/24')).toBe(ranges[0]);
    expect(parsed.range('62.0.1.0/24')).toBe(ranges[1]);
    // Out of order from here: the ranges already served are found too, as the same objects.
    expect(parsed.range('62.0.0.0/24')).toBe(ranges[0]);
    expect(parsed.range('2a01:4f8::/64')).toBe(ranges[2]);
    expect(parsed.range('62.0.1.0/24')).toBe(ranges[1]);
    // Written with host bits: parsed (equal in content), and the canonical text keeps its range.
    expect(parsed.range('62.0.1.9/24')).toEqual(ranges[1]);
    expect(parsed.range('62.0.1.0/24')).toBe(ranges[1]);
  });

  it('finds every remembered range again, as the same object, once all were asked for in order (a re-plan after a lock conflict)', () => {
    const parsed = new ParsedRanges();
    const [a, b] = ['62.0.0.0/24', '62.0.1.0/24'].map((text) => parseRange(text));
    if (a === undefined || b === undefined) throw new Error('fixture does not parse');
    parsed.remember(a);
    parsed.remember(b);
    expect(parsed.range('62.0.0.0/24')).toBe(a);
    expect(parsed.range('62.0.1.0/24')).toBe(b);

    expect(parsed.range('62.0.0.0/24')).toBe(a);
    expect(parsed.range('62.0.1.0/24')).toBe(b);
  });

  it('serves ranges remembered after an out-of-order look-up in their own order again', () => {
    const parsed = new ParsedRanges();
    const [a, b, c] = ['62.0.0.0/24', '62.0.1.0/24', '62.0.2.0/24'].map((text) => parseRange(text));
    if (a === undefined || b === undefined || c === undefined) throw new Error('fixture does not parse');
    parsed.remember(a);
    parsed.remember(b);
    expect(parsed.range('62.0.0.0/24')).toBe(a);
    expect(parsed.range('198.51.100.0/24')?.cidr).toBe('198.51.100.0/24');
    parsed.remember(c);

    expect(parsed.range('62.0.2.0/24')).toBe(c);
    expect(parsed.range('62.0.1.0/24')).toBe(b);
  });

  it('keeps the first of two remembered ranges of a text once indexed, and gives each in turn when asked for in the order recorded', () => {
    const parse = (text: string) => {
      const range = parseRange(text);
      if (range === undefined) throw new Error(`fixture ${text} does not parse`);
      return range;
    };
    const [a, b] = [parse('62.0.5.0/24'), parse('62.0.5.0/24')];
    const indexed = new ParsedRanges();
    indexed.remember(a);
    indexed.remember(b);
    expect(indexed.range('198.51.100.0/24')).toBeDefined();
    expect(indexed.range('62.0.5.0/24')).toBe(a);

    // The documented exception, and the sign that in-order look-ups are served without the index.
    const inOrder = new ParsedRanges();
    inOrder.remember(a);
    inOrder.remember(b);
    expect(inOrder.range('62.0.5.0/24')).toBe(a);
    expect(inOrder.range('62.0.5.0/24')).toBe(b);

    // Remembered again after an index: served from the start of what was recorded since.
    const again = new ParsedRanges();
    const [c, d, e] = [parse('62.0.6.0/24'), parse('62.0.7.0/24'), parse('62.0.7.0/24')];
    again.remember(parse('62.0.8.0/24'));
    again.remember(parse('62.0.9.0/24'));
    expect(again.range('62.0.8.0/24')?.cidr).toBe('62.0.8.0/24');
    expect(again.range('62.0.9.0/24')?.cidr).toBe('62.0.9.0/24');
    expect(again.range('198.51.100.0/24')).toBeDefined();
    again.remember(c);
    again.remember(d);
    again.remember(e);
    expect(again.range('62.0.7.0/24')).toBe(d);
    expect(again.range('62.0.6.0/24')).toBe(c);
  });

  it("serves each family's remembered ranges of each prefix length in their own order, whichever is asked for first", () => {
    // A text recorded twice gives each range in turn only while served without the index (the
    // documented exception above): the sign that no look-up indexed the ranges of another queue.
    // Recorded as normalization records one rule's keys with a neighbour tier: offenders (/32),
    // then neighbours (/24); then the IPv6 ones.
    const texts = ['62.0.5.7/32', '62.0.5.7/32', '62.0.5.0/24', '62.0.5.0/24', '2a01:4f8::/64', '2a01:4f8::/64'];
    const recorded = texts.map(parseFixture);
    const parsed = new ParsedRanges();
    for (const range of recorded) parsed.remember(range);

    // The run plans the smaller lists first: here IPv6, then the neighbours' /24s, then the offenders.
    const order = [4, 5, 2, 3, 0, 1];
    const asked = order.map((i) => parsed.range(texts[i] as string));
    expect(asked).toHaveLength(order.length);
    for (const [n, range] of asked.entries()) expect(range).toBe(recorded[order[n] as number]);
  });

  it('serves the ranges of a queue remembered after an index in their order again, IPv6 as IPv4', () => {
    const parsed = new ParsedRanges();
    parsed.remember(parseFixture('2a01:4f8::/64'));
    parsed.remember(parseFixture('62.0.5.0/24'));
    expect(parsed.range('2a01:4f8::/64')?.cidr).toBe('2a01:4f8::/64');
    expect(parsed.range('198.51.100.0/24')).toBeDefined(); // out of order: everything indexed
    const [x, y] = [parseFixture('2a01:4f8:1::/64'), parseFixture('2a01:4f8:1::/64')];
    parsed.remember(x);
    parsed.remember(y);

    expect(parsed.range('2a01:4f8:1::/64')).toBe(x);
    expect(parsed.range('2a01:4f8:1::/64')).toBe(y);
  });

  it('indexes only the queue of an out-of-order text, and serves what is remembered after that in order', () => {
    const parsed = new ParsedRanges();
    const recorded = ['62.0.0.0/24', '62.0.1.0/24', '2a01:4f8::/64', '2a01:4f8::/64'].map(parseFixture);
    for (const range of recorded) parsed.remember(range);
    const [a, b, v6, v6Again] = recorded;
    expect(parsed.range('62.0.1.0/24')).toBe(b); // out of order: the IPv4 /24 queue is indexed
    // The IPv6 queue was not: its duplicate text is still served in turn.
    expect(parsed.range('2a01:4f8::/64')).toBe(v6);
    expect(parsed.range('2a01:4f8::/64')).toBe(v6Again);
    expect(parsed.range('62.0.0.0/24')).toBe(a);

    // Remembered after the index: a queue of its own, served in turn again.
    const later = ['62.0.2.0/24', '62.0.2.0/24'].map(parseFixture);
    for (const range of later) parsed.remember(range);
    expect(parsed.range('62.0.2.0/24')).toBe(later[0]);
    expect(parsed.range('62.0.2.0/24')).toBe(later[1]);
  });

  it('keeps IPv4 and IPv6 ranges of one prefix length apart', () => {
    const parsed = new ParsedRanges();
    const recorded = ['62.0.0.1/32', '2a01:4f8::/32', '62.0.0.1/32', '2a01:4f8::/32'].map(parseFixture);
    for (const range of recorded) parsed.remember(range);

    expect(parsed.range('2a01:4f8::/32')).toBe(recorded[1]);
    expect(parsed.range('2a01:4f8::/32')).toBe(recorded[3]);
    expect(parsed.range('62.0.0.1/32')).toBe(recorded[0]);
  });

  it('gives a text asked for again out of order the range recorded first for it', () => {
    const parsed = new ParsedRanges();
    // Recorded a, b, a': a asked for twice, the second time out of order, gets a both times.
    const recorded = ['62.0.0.0/24', '62.0.1.0/24', '62.0.0.0/24'].map(parseFixture);
    for (const range of recorded) parsed.remember(range);

    expect(parsed.range('62.0.0.0/24')).toBe(recorded[0]);
    expect(parsed.range('62.0.0.0/24')).toBe(recorded[0]);
    expect(parsed.range('62.0.1.0/24')).toBe(recorded[1]);
  });

  it('gives what parseRange gives for any text, whatever was remembered and in whatever order it is asked for', () => {
    // Several queues: IPv4 /16, /24 and /32, IPv6 /32, /48 and /64.
    const canonical = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => `${a}.${b}.0.0/24`),
      fc.integer({ min: 0, max: 3 }).map((n) => `2a01:4f8:${n}::/64`),
      fc.constantFrom('62.7.0.0/16', '62.7.1.9/32', '62.7.1.0/24', '2a01:4f8::/32', '2a01:4f8:1::/48'),
    );
    // The canonical texts, the same ranges written with host bits, and texts that do not parse.
    const asked = fc.oneof(
      canonical,
      canonical.map((text) => text.replace('.0/24', '.9/24').replace('::/64', '::7/64')),
      fc.constantFrom('not a range', '62.0.0.0/33', ''),
    );
    fc.assert(
      fc.property(
        fc.array(canonical, { maxLength: 12 }),
        fc.nat({ max: 12 }),
        fc.array(asked, { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        (recorded, inOrder, others, lookUpFirst, ipv6First) => {
          const parsed = new ParsedRanges();
          // Some texts looked up before anything is remembered: a remembered range must not replace them.
          const early = lookUpFirst ? others.slice(0, 3).map((text) => [text, parsed.range(text)] as const) : [];
          for (const text of recorded) parsed.remember(parseRange(text) as NonNullable<ReturnType<typeof parseRange>>);
          // A first run's plans: the recorded texts in the order recorded, one family or the
          // other first, then anything.
          const family = recorded.slice(0, inOrder).filter((text) => text.includes(':') === ipv6First);
          const rest = recorded.slice(0, inOrder).filter((text) => text.includes(':') !== ipv6First);
          for (const text of [...family, ...rest, ...others, ...recorded]) {
            expect(parsed.range(text)).toEqual(parseRange(text));
            expect(parsed.cidr(text)).toBe(parseRange(text)?.cidr);
          }
          for (const [text, first] of early) expect(parsed.range(text)).toBe(first);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
