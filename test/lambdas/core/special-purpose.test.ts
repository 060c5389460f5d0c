/**
 * The special-purpose table against the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry): inside a block that is not
 * globally reachable, a more specific row marked "Globally Reachable: True" wins. 192.0.0.0/24 is
 * not globally reachable except 192.0.0.9/32 (PCP anycast) and 192.0.0.10/32 (TURN anycast);
 * 2001::/23 is not, except seven rows (PCP, TURN and DNS-SD SRP anycast, AMT, AS112-v6, ORCHIDv2,
 * Drone Remote ID).
 */
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { parseRange } from '#core/ip-parse';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { GLOBALLY_REACHABLE_ROWS, isNonGlobal } from '#core/special-purpose';

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

  it("treats the registry's globally reachable rows outside any special block as global: AS112, AMT", () => {
    expect(['192.31.196.0/24', '192.52.193.0/24', '192.175.48.0/24'].filter(nonGlobal)).toEqual([]);
  });
});

describe('2001::/23 (IETF protocol assignments) and its globally reachable rows', () => {
  /** Addresses of each globally reachable row: its first, one inside, its last. */
  const rows: [string, string[]][] = [
    ['2001:1::1/128', ['2001:1::1']],
    ['2001:1::2/128', ['2001:1::2']],
    ['2001:1::3/128', ['2001:1::3']],
    ['2001:3::/32', ['2001:3::', '2001:3:45:6::7', '2001:3:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['2001:4:112::/48', ['2001:4:112::', '2001:4:112:9::1', '2001:4:112:ffff:ffff:ffff:ffff:ffff']],
    ['2001:20::/28', ['2001:20::', '2001:25:1::1', '2001:2f:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['2001:30::/28', ['2001:30::', '2001:3a:1::1', '2001:3f:ffff:ffff:ffff:ffff:ffff:ffff']],
  ];

  it('lists exactly the seven rows of the registry', () => {
    expect(GLOBALLY_REACHABLE_ROWS.map((row) => row.cidr).filter((cidr) => cidr.startsWith('2001:'))).toEqual(
      rows.map(([cidr]) => cidr),
    );
  });

  it.each(rows)('%s is globally reachable: the row, and each of its addresses, may be blocked', (cidr, addresses) => {
    expect(nonGlobal(cidr)).toBe(false);
    for (const address of addresses) expect(nonGlobal(address), address).toBe(false);
  });

  it.each([
    ['2001:1::', 'before PCP anycast'],
    ['2001:1::4', 'after DNS-SD SRP anycast'],
    ['2001:1::/64', 'the /64 of the anycast addresses'],
    ['2001::1', 'Teredo'],
    ['2001:2::1', 'benchmarking'],
    ['2001:2:ffff::1', 'before AMT'],
    ['2001:4:111:ffff::1', 'before AS112-v6'],
    ['2001:4:113::', 'after AS112-v6'],
    ['2001:4::/32', 'the /32 that holds AS112-v6'],
    ['2001:10::1', 'the deprecated ORCHID'],
    ['2001:40::1', 'after Drone Remote ID'],
    ['2001:db8::1', 'documentation'],
    ['2001:1ff:ffff::1', 'the last /48 of the /23'],
    ['2001::/23', 'the whole block'],
  ])('%s (%s) is still not globally reachable', (text) => {
    expect(nonGlobal(text)).toBe(true);
  });

  it('agrees with ipaddr.js range() where it names the row, and says where it does not', () => {
    const named: Record<string, string> = {
      '2001:3::7': 'amt',
      '2001:4:112::7': 'as112v6',
      '2001:20::7': 'orchid2',
      '2001:30::7': 'droneRemoteIdProtocolEntityTags',
    };
    for (const [address, name] of Object.entries(named)) {
      expect(ipaddr.parse(address).range()).toBe(name);
      expect(nonGlobal(address)).toBe(false);
    }
    // ipaddr.js 2.x calls the three anycast addresses "reserved" with the rest of 2001::/23; the
    // registry marks them globally reachable, and so do we (as ipaddr.js's 192.0.0.9 "reserved").
    for (const address of ['2001:1::1', '2001:1::2', '2001:1::3', '192.0.0.9', '192.0.0.10']) {
      expect(ipaddr.parse(address).range()).toBe('reserved');
      expect(nonGlobal(address)).toBe(false);
    }
  });

  it('blocks an attacker in AMT space as its /64, and refuses the anycast addresses at /64: the rest is not global', () => {
    const policy = createNormalizePolicy();
    const { sightings, rejected } = normalizeKeys(['2001:3:45:6::7', '2001:1::1', '2001:4:112::9'], 'rate-ip', policy);
    expect(sightings.map((sighting) => sighting.range)).toEqual(['2001:3:45:6::/64', '2001:4:112::/64']);
    expect(rejected).toEqual([{ key: '2001:1::1', reason: 'non-global' }]);
    // At /128 (ipv6Prefix 128) the anycast address itself may be blocked.
    const exact = normalizeKeys(['2001:1::1'], 'rate-ip', createNormalizePolicy({ ipv6Prefix: 128 }));
    expect(exact.sightings.map((sighting) => sighting.range)).toEqual(['2001:1::1/128']);
  });
});
