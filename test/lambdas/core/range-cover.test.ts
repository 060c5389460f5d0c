/**
 * RangeCover: which of a list of ranges covers a narrower one, from a strictly shorter prefix,
 * checked against a plain scan of the list with ipaddr.js.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { RangeCover } from '#core/range-cover';

describe('RangeCover', () => {
  it('names the range that covers from a shorter prefix, never an equal one, in either family', () => {
    const cover = new RangeCover(['45.33.0.0/16', '45.33.12.0/24', '2a01:4f8::/32', 'not a range']);

    expect(cover.covering('45.33.12.7/32')).toBeDefined();
    expect(cover.covering('45.33.12.0/24')).toBe('45.33.0.0/16');
    expect(cover.covering('45.33.0.0/16')).toBeUndefined();
    expect(cover.covering('45.34.0.0/24')).toBeUndefined();
    expect(cover.covering('2a01:4f8:1:2::/64')).toBe('2a01:4f8::/32');
    expect(cover.covering('nonsense')).toBeUndefined();
    expect(new RangeCover().empty).toBe(true);
  });

  it('agrees with a scan of the list for any ranges', () => {
    const v4Range = fc.tuple(fc.ipV4(), fc.integer({ min: 8, max: 32 })).map(([ip, prefix]) => {
      const network = ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${prefix}`).toString();
      return `${network}/${prefix}`;
    });
    fc.assert(
      fc.property(fc.array(v4Range, { maxLength: 20 }), v4Range, (list, probe) => {
        const [address, prefix] = ipaddr.parseCIDR(probe);
        const expected = list.filter((range) => {
          const [network, bits] = ipaddr.parseCIDR(range);
          return bits < prefix && address.match(network, bits);
        });
        const found = new RangeCover(list).covering(probe);
        if (expected.length === 0) expect(found).toBeUndefined();
        else expect(expected).toContain(found);
      }),
      { numRuns: 2_000 },
    );
  });
});
