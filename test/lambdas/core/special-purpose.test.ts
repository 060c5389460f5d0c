/**
 * The special-purpose table against the IANA IPv4 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry): 192.0.0.0/24 is not globally
 * reachable except its rows 192.0.0.9/32 (Port Control Protocol anycast, RFC 7723) and
 * 192.0.0.10/32 (TURN anycast, RFC 8155), which the registry marks "Globally Reachable: True".
 */
import { describe, expect, it } from 'vitest';
import { parseRange } from '#core/ip-parse';
import { isNonGlobal } from '#core/special-purpose';

function nonGlobal(cidr: string): boolean {
  const range = parseRange(cidr);
  if (range === undefined) throw new Error(`${cidr} does not parse`);
  return isNonGlobal(range);
}

describe('192.0.0.0/24 (IETF protocol assignments)', () => {
  it('lets 192.0.0.9 and 192.0.0.10 through, as globally reachable anycast addresses', () => {
    expect(nonGlobal('192.0.0.9/32')).toBe(false);
    expect(nonGlobal('192.0.0.10/32')).toBe(false);
    expect(nonGlobal('192.0.0.9')).toBe(false);
  });

  it('refuses every other address of the /24, and the /24 and /31 that hold the two', () => {
    const refused = Array.from({ length: 256 }, (_, i) => i).filter((i) => nonGlobal(`192.0.0.${i}/32`));
    expect(refused).toHaveLength(254);
    expect(refused).not.toContain(9);
    expect(refused).not.toContain(10);
    expect(nonGlobal('192.0.0.0/24')).toBe(true);
    expect(nonGlobal('192.0.0.8/30')).toBe(true);
  });

  it('keeps its neighbours global', () => {
    expect(nonGlobal('192.0.1.0/24')).toBe(false);
    expect(nonGlobal('191.255.255.0/24')).toBe(false);
  });
});
