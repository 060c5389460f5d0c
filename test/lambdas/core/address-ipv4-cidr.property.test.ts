/**
 * `scanIpv4CidrRun`, which reads the keys written in a managed key's usual form (`a.b.c.d/p`) in one
 * loop, against `scanAddress`, the parser it stands in for: a key it reads is read as `scanAddress`
 * reads it (then narrowed, as normalization narrows), a key in that form is never left to the
 * general path unless the caller must refuse it, and every key is visited once, as `scanKeys`
 * walks them; and `normalizeKeys` gives what it gave when every key went through `scanAddress`.
 * Text is drawn near the form: octets and prefixes with leading zeros, above their bounds, missing
 * or doubled, one character inserted or replaced anywhere, stray characters and spaces around.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAddressScan, scanAddress, scanIpv4CidrRun, type Ipv4KeyRun } from '#core/ip-parse';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { scanRangeKey } from '#core/range-key';

/** An octet as a key might spell it: mostly in range, else above 255, with a leading zero, or empty. */
const octet = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 999 }).map(String) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('0', '00'), fc.integer({ min: 0, max: 99 }))
      .map(([zeros, n]) => `${zeros}${n}`),
  },
  { weight: 1, arbitrary: fc.constant('') },
);

/** A prefix as a key might spell it: mostly in range, else too long, with a leading zero, or not a number. */
const prefix = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 32 }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', '00', '01', '09', '032', '3 2', '+8', '-1', '1.5', 'x', ':', '/', '3x', 'a1', '1:'),
  },
);

/** Text near `a.b.c.d/p`: the form itself, or the form with a part missing, doubled or changed. */
const nearForm = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.array(octet, { minLength: 4, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(octet, { minLength: 3, maxLength: 5 }) },
    ),
    fc.constantFrom('/', '/', '/', '', '//', '\\', ':'),
    prefix,
    fc.constantFrom('', '', '', ' ', '\t', '\n', 'x', ':', '.', '%eth0', '\u00a0'),
    fc.constantFrom('', '', '', ' ', '\ufeff', 'x', '::ffff:', '0', '.'),
  )
  .map(([octets, slash, p, after, before]) => `${before}${octets.join('.')}${slash}${p}${after}`);

/** Exactly the form, every octet and prefix in range and without a leading zero. */
const theForm = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
  .map(([octets, p]) => `${octets.join('.')}/${p}`);

/**
 * The form with one character inserted or replaced anywhere: the characters beside the digits in
 * code order (`/` and `:`), the form's own punctuation, a space, a letter.
 */
const oneEdit = fc
  .tuple(theForm, fc.nat(), fc.boolean(), fc.constantFrom('/', ':', '.', '0', '9', ' ', 'a', '-'))
  .map(([text, at, insert, c]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + c + text.slice(insert ? i : i + 1);
  });

/** The form, decided without our parser: decimal octets and prefix, no leading zero, in bounds. */
function inTheForm(text: string): { readonly prefix: number } | undefined {
  const match = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(0|[1-9]\d?)$/.exec(text);
  if (match === null) return undefined;
  const numbers = match.slice(1).map(Number);
  if (numbers.slice(0, 4).some((n) => n > 255) || (numbers[4] ?? 0) > 32) return undefined;
  return { prefix: numbers[4] ?? 0 };
}

/** The keys walked as scanKeys walks them: each run, then the key that ended it. */
function walk(keys: readonly string[], widenTo: number, minPrefix: number) {
  const run: Ipv4KeyRun = { widenTo, minPrefix, rangeKeys: [], at: [] };
  const ended: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    i = scanIpv4CidrRun(keys, i, run);
    if (i === keys.length) break;
    ended.push(i);
  }
  return { run, ended };
}

const keysNearTheForm = fc.array(fc.oneof(nearForm, theForm, oneEdit, fc.string({ maxLength: 24 })), {
  maxLength: 40,
  size: 'max',
});

describe('normalizeKeys with scanIpv4CidrRun', () => {
  it('gives what the general path gives: the same keys with a leading space, which only scanAddress reads', () => {
    const mixed = fc.oneof(
      theForm,
      oneEdit,
      nearForm,
      fc.string({ maxLength: 16, unit: fc.constantFrom(...'0123456789./: ax'.split('')) }),
    );
    fc.assert(
      fc.property(
        fc.array(mixed, { maxLength: 60, size: 'max' }),
        fc.integer({ min: 8, max: 32 }),
        (keys, ipv4Prefix) => {
          const policy = createNormalizePolicy({ ipv4Prefix, allowlist: ['62.0.0.0/8'] });
          const read = normalizeKeys(keys, 'rate-per-ip', policy);
          const general = normalizeKeys(
            keys.map((key) => ` ${key}`),
            'rate-per-ip',
            policy,
          );
          expect(read.sightings).toEqual(general.sightings);
          expect(read.rejected).toEqual(general.rejected.map(({ key, reason }) => ({ key: key.slice(1), reason })));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('scanIpv4CidrRun', () => {
  it('reads a key as scanAddress does, narrowed; leaves to it only what is not in the form or must be refused', () => {
    const scanned = createAddressScan();
    let read = 0;
    fc.assert(
      fc.property(
        keysNearTheForm,
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 32 }),
        (keys, widenTo, minPrefix) => {
          const { run, ended } = walk(keys, widenTo, minPrefix);
          // Every key once, in order: read, or the one that ended a run.
          expect([...run.at, ...ended].sort((a, b) => a - b)).toEqual(keys.map((_, i) => i));
          expect(run.at).toEqual([...run.at].sort((a, b) => a - b));
          run.at.forEach((index, n) => {
            const text = keys[index] as string;
            expect(scanAddress(text, scanned), text).toBe(true);
            expect(scanned.family).toBe('IPV4');
            const narrowed = Math.min(scanned.prefix, widenTo);
            expect(scanned.prefix).not.toBe(0);
            expect(narrowed).toBeGreaterThanOrEqual(minPrefix);
            expect(run.rangeKeys[n], text).toBe(scanRangeKey(scanned, narrowed));
            read++;
          });
          for (const index of ended) {
            const form = inTheForm(keys[index] as string);
            // In the form, a key ends a run only when the caller must refuse it (zero-prefix, too-wide).
            if (form !== undefined) expect(form.prefix === 0 || Math.min(form.prefix, widenTo) < minPrefix).toBe(true);
          }
        },
      ),
      { numRuns: 3_000 },
    );
    // The property says little unless a good share of what is drawn is read.
    expect(read).toBeGreaterThan(3_000);
  });

  it('reads every key in the form at the default /24, at every prefix and at the edges of each octet', () => {
    const scanned = createAddressScan();
    fc.assert(
      fc.property(fc.array(theForm, { minLength: 1, maxLength: 50, size: 'max' }), (keys) => {
        const { run, ended } = walk(keys, 24, 8);
        keys.forEach((text, index) => {
          const p = inTheForm(text)?.prefix ?? -1;
          expect(ended.includes(index), text).toBe(p < 8);
        });
        run.at.forEach((index, n) => {
          expect(scanAddress(keys[index] as string, scanned)).toBe(true);
          expect(run.rangeKeys[n]).toBe(scanRangeKey(scanned, Math.min(scanned.prefix, 24)));
        });
      }),
      { numRuns: 1_000 },
    );
    const edges = ['0.0.0.0/8', '255.255.255.255/32', '10.0.0.1/9', '62.0.0.1/32', '62.0.0.1/24', '62.0.0.1/31'];
    expect(walk(edges, 24, 8).run.at).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('leaves every other form to scanAddress', () => {
    const others = [
      '62.0.0.1', // no prefix: scanAddress reads /32
      ' 62.0.0.1/32', // surrounding space: scanAddress trims it
      '62.0.0.1/32 ',
      '62.0.0.1/024', // a leading zero in the prefix
      '62.0.0.1/01',
      '62.0.0.1/x', // not a number
      '62.0.0.1/:',
      '62.0.0.1/3:',
      '62.0.0.1/33',
      '62.0.0.1/100',
      '62.0.0.1/',
      '062.0.0.1/32', // a leading zero in an octet
      '62.0.0.256/32',
      '62.0.0/24',
      '62.0.0.1.5/32',
      '1.2.3.4.5.6/32',
      '::ffff:62.0.0.1/128',
      '2001:db8::/32',
      '',
      '62.0.0.1/0', // zero-prefix, refused by the caller
      '62.0.0.1/7', // too-wide, refused by the caller
    ];
    for (const [index, text] of others.entries()) {
      const run: Ipv4KeyRun = { widenTo: 24, minPrefix: 8, rangeKeys: [], at: [] };
      expect(scanIpv4CidrRun(others, index, run), text).toBe(index);
      expect(run.rangeKeys).toEqual([]);
    }
    // A /0 key is scanAddress's to read (and the caller's to refuse as zero-prefix), whatever the bounds.
    const anyWidth: Ipv4KeyRun = { widenTo: 32, minPrefix: 0, rangeKeys: [], at: [] };
    expect(scanIpv4CidrRun(['62.0.0.1/0'], 0, anyWidth)).toBe(0);
  });
});
