/**
 * The numeric key of an IPv4 range (lambdas/core/range-key.ts) and back: normalization counts IPv4
 * keys as numbers and makes each range from its key, so keys that differ only in host bits must be
 * one key, and the range made from a key must be the range the parser gives for the text, host
 * bits cleared, with its canonical text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange } from '#core/ip-parse';
import { cidrOfKey, ipv4RangeOfKey, rangeKey } from '#core/range-key';

const ipv4Range = fc
  .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
  .map(([address, prefix]) => `${address}/${prefix}`);

describe('ipv4RangeOfKey', () => {
  it('gives the range parseRange gives for the text: host bits cleared, canonical text', () => {
    fc.assert(
      fc.property(ipv4Range, (text) => {
        const key = rangeKey(text);
        expect(typeof key).toBe('number');
        // Host bits are not part of the key: the text and its canonical range have one key.
        expect(key).toBe(rangeKey(parseRange(text)?.cidr ?? ''));
        expect(ipv4RangeOfKey(key as number)).toEqual(parseRange(text));
        expect(cidrOfKey(key as number)).toBe(parseRange(text)?.cidr);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps the edges: 0.0.0.0/0, 255.255.255.255/32 and a /24 with host bits set', () => {
    for (const [text, cidr] of [
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['255.255.255.255/32', '255.255.255.255/32'],
      ['203.0.113.77/24', '203.0.113.0/24'],
    ] as const) {
      expect(ipv4RangeOfKey(rangeKey(text) as number)).toMatchObject({ family: 'IPV4', cidr });
    }
  });
});
