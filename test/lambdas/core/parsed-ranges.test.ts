/**
 * ParsedRanges: a plan's ranges, each parsed once; ranges that normalization recorded are found
 * by their canonical text without a parse, whether looked up before or after other texts.
 */
import { describe, expect, it } from 'vitest';
import { parseRange } from '#core/ip-parse';
import { ParsedRanges, parseWith } from '#core/parsed-ranges';

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
});
