import { describe, expect, it } from 'vitest';
import { Allowlist } from '#core/allowlist';
import { canonicalCidr, parseAddress, parseRange } from '#core/ip-parse';
import { mergeSightings } from '#core/merge';
import { collapseToPrefix } from '#core/network-range';
import { createNormalizePolicy, normalizeKeys, type NormalizePolicy } from '#core/normalize';
import { isNonGlobal, SPECIAL_PURPOSE_BLOCKS } from '#core/special-purpose';
import type { Sighting } from '#core/types';

const defaults = createNormalizePolicy();

/** The ranges normalizeKeys would block for `keys`, and the reasons for the rest. */
function normalize(keys: string[], policy: NormalizePolicy = defaults) {
  const { sightings, rejected } = normalizeKeys(keys, 'rate-ip', policy);
  return { ranges: sightings.map((s) => s.range), reasons: rejected.map((r) => r.reason), sightings, rejected };
}

function mustParse(text: string) {
  const parsed = parseAddress(text);
  if (parsed === undefined) throw new Error(`test address ${text} does not parse`);
  return parsed;
}

describe('parseAddress', () => {
  it('reads IPv4 and IPv6, with or without a prefix, ignoring surrounding whitespace', () => {
    expect(parseAddress('45.33.12.7')).toEqual({ family: 'IPV4', prefix: 32, w0: 0x2d210c07, w1: 0, w2: 0, w3: 0 });
    expect(parseAddress(' \t45.33.12.7/24\n')).toMatchObject({ family: 'IPV4', prefix: 24, w0: 0x2d210c07 });
    expect(parseAddress('2a01:4f8:1:2::5')).toEqual({
      family: 'IPV6',
      prefix: 128,
      w0: 0x2a0104f8,
      w1: 0x10002,
      w2: 0,
      w3: 5,
    });
    expect(parseAddress('2A01:04F8:0001:0002:0000:0000:0000:0005/64')).toMatchObject({ family: 'IPV6', prefix: 64 });
    expect(parseAddress('::')).toMatchObject({ family: 'IPV6', prefix: 128, w0: 0, w3: 0 });
    expect(parseAddress('0.0.0.0/0')).toMatchObject({ family: 'IPV4', prefix: 0 });
  });

  it.each([
    ['', 'unparsable'],
    ['   ', 'unparsable'],
    ['abc', 'unparsable'],
    ['1.2.3', 'unparsable'],
    ['1.2.3.4.5', 'unparsable'],
    ['999.1.1.1', 'unparsable'],
    ['256.1.1.1', 'unparsable'],
    ['1.2.3.4/33', 'prefix-out-of-range'],
    ['::1/129', 'prefix-out-of-range'],
    ['01.2.3.4', 'unparsable'],
    ['1.2.3.04', 'unparsable'],
    ['0x7f.0.0.1', 'unparsable'],
    ['0x7f.1', 'unparsable'],
    ['127.1', 'unparsable'],
    ['2130706433', 'unparsable'],
    ['fe80::1%eth0', 'zone-id'],
    ['fe80::1%1/64', 'zone-id'],
    ['1.2.3.4/', 'prefix-out-of-range'],
    ['1.2.3.4/024', 'prefix-leading-zero'],
    ['1.2.3.4/-1', 'prefix-out-of-range'],
    ['1.2.3.4/a', 'prefix-out-of-range'],
    ['1.2.3.4/24/24', 'prefix-out-of-range'],
    ['1.2.3.4 /24', 'unparsable'],
    ['1 .2.3.4', 'unparsable'],
    ['1:2:3:4:5:6:7:8:9', 'unparsable'],
    ['1:2:3:4:5:6:7', 'unparsable'],
    ['1:2:3:4::5:6:7:8', 'unparsable'],
    ['1::2::3', 'unparsable'],
    [':::', 'unparsable'],
    [':1::', 'unparsable'],
    ['1::2:', 'unparsable'],
    ['12345::', 'unparsable'],
    ['g::1', 'unparsable'],
    ['::ffff:1.2.3', 'unparsable'],
    ['::ffff:01.2.3.4', 'unparsable'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'unparsable'],
  ] as const)('refuses %j: %s', (text, reason) => {
    expect(parseAddress(text)).toBeUndefined();
    expect(normalize([text]).reasons).toEqual([reason]);
  });

  it('reads an IPv4-mapped IPv6 address as its IPv4 address, with prefix - 96', () => {
    expect(parseAddress('::ffff:45.33.12.7')).toMatchObject({ family: 'IPV4', prefix: 32, w0: 0x2d210c07 });
    expect(parseAddress('::FFFF:2d21:c07')).toMatchObject({ family: 'IPV4', prefix: 32, w0: 0x2d210c07 });
    expect(parseAddress('::ffff:45.33.12.7/120')).toMatchObject({ family: 'IPV4', prefix: 24 });
    expect(parseAddress('::ffff:45.33.12.7/96')).toMatchObject({ family: 'IPV4', prefix: 0 });
    expect(normalize(['::ffff:45.33.12.7', '::ffff:45.33.12.9/120']).sightings).toEqual([
      { range: '45.33.12.0/24', family: 'IPV4', source: 'rate-ip', hits: 2 },
    ]);
  });

  it('keeps a mapped range wider than /96 as IPv6, and refuses it as a key: it would mix the families', () => {
    expect(parseAddress('::ffff:45.33.12.7/95')).toMatchObject({ family: 'IPV6', prefix: 95 });
    expect(normalize(['::ffff:45.33.12.7/95', '::/64']).reasons).toEqual(['mapped-prefix', 'mapped-prefix']);
  });

  it('reads the deprecated IPv4-compatible form ::a.b.c.d as IPv6, not as the IPv4 host, and refuses it as a key', () => {
    expect(parseAddress('::45.33.12.7')).toMatchObject({ family: 'IPV6', w2: 0, w3: 0x2d210c07 });
    expect(normalize(['::45.33.12.7', '::2d21:c07/128', '::1', '::']).reasons).toEqual([
      'ipv4-compatible',
      'ipv4-compatible',
      'non-global',
      'non-global',
    ]);
  });
});

describe('collapseToPrefix and canonicalCidr', () => {
  it('clears host bits and prints IPv4 dotted', () => {
    const address = mustParse('45.33.12.7');
    expect(collapseToPrefix(address, 24).cidr).toBe('45.33.12.0/24');
    expect(collapseToPrefix(address, 8).cidr).toBe('45.0.0.0/8');
    expect(collapseToPrefix(address, 32).cidr).toBe('45.33.12.7/32');
    expect(collapseToPrefix(address, 0).cidr).toBe('0.0.0.0/0');
  });

  it('prints IPv6 in RFC 5952 form: lower case, compressed', () => {
    const address = mustParse('2A01:04F8:0001:0002:AAAA:0000:0000:0005');
    expect(collapseToPrefix(address, 64).cidr).toBe('2a01:4f8:1:2::/64');
    expect(collapseToPrefix(address, 32).cidr).toBe('2a01:4f8::/32');
    expect(collapseToPrefix(address, 128).cidr).toBe('2a01:4f8:1:2:aaaa::5/128');
    expect(collapseToPrefix(mustParse('2a01:0:0:1:0:0:0:1'), 128).cidr).toBe('2a01:0:0:1::1/128');
    expect(collapseToPrefix(mustParse('2a01:0:1:0:1:0:1:0'), 128).cidr).toBe('2a01:0:1:0:1:0:1:0/128');
  });

  it('widens but never narrows: a wider range keeps its own prefix', () => {
    expect(collapseToPrefix(mustParse('45.33.0.0/16'), 24).cidr).toBe('45.33.0.0/16');
    expect(collapseToPrefix(mustParse('2a01:4f8::/48'), 64).cidr).toBe('2a01:4f8::/48');
  });

  it('throws a RangeError for a prefix the family cannot have', () => {
    expect(() => collapseToPrefix(mustParse('45.33.12.7'), 33)).toThrow(RangeError);
    expect(() => collapseToPrefix(mustParse('2a01:4f8::1'), 129)).toThrow(RangeError);
    expect(() => collapseToPrefix(mustParse('45.33.12.7'), 24.5)).toThrow(/integer/);
  });

  it('gives one canonical text for every spelling of a range', () => {
    expect(canonicalCidr('2001:DB8::/64')).toBe('2001:db8::/64');
    expect(canonicalCidr('2001:0db8:0000:0000:0000:0000:0000:0000/64')).toBe('2001:db8::/64');
    expect(canonicalCidr('2001:db8::1/64')).toBe('2001:db8::/64');
    expect(canonicalCidr('45.33.12.7')).toBe('45.33.12.7/32');
    expect(canonicalCidr('45.33.12.7/24')).toBe('45.33.12.0/24');
    expect(canonicalCidr('not an address')).toBeUndefined();
    expect(parseRange('45.33.12.7/24')).toMatchObject({ family: 'IPV4', prefix: 24, cidr: '45.33.12.0/24' });
  });
});

describe('createNormalizePolicy', () => {
  it('defaults to /24 and /64 with an empty allowlist', () => {
    expect(defaults.ipv4Prefix).toBe(24);
    expect(defaults.ipv6Prefix).toBe(64);
    expect(defaults.allowlist.entries).toEqual([]);
  });

  it.each([8, 24, 32])('accepts ipv4Prefix %i', (ipv4Prefix) => {
    const policy = createNormalizePolicy({ ipv4Prefix });
    expect(normalize(['45.33.12.7'], policy).ranges).toEqual([canonicalCidr(`45.33.12.7/${ipv4Prefix}`)]);
  });

  it.each([32, 64, 128])('accepts ipv6Prefix %i', (ipv6Prefix) => {
    const policy = createNormalizePolicy({ ipv6Prefix });
    expect(normalize(['2a01:4f8:1:2::5'], policy).ranges).toEqual([canonicalCidr(`2a01:4f8:1:2::5/${ipv6Prefix}`)]);
  });

  it.each([7, 33, 24.5, Number.NaN, -1])('refuses ipv4Prefix %s with a RangeError naming the field', (ipv4Prefix) => {
    expect(() => createNormalizePolicy({ ipv4Prefix })).toThrow(RangeError);
    expect(() => createNormalizePolicy({ ipv4Prefix })).toThrow(/ipv4Prefix/);
  });

  it.each([31, 129, 64.5, 0])('refuses ipv6Prefix %s with a RangeError naming the field', (ipv6Prefix) => {
    expect(() => createNormalizePolicy({ ipv6Prefix })).toThrow(RangeError);
    expect(() => createNormalizePolicy({ ipv6Prefix })).toThrow(/ipv6Prefix/);
  });

  it('checks a hand-built policy when it is used', () => {
    const policy: NormalizePolicy = { ipv4Prefix: 24, ipv6Prefix: 16, allowlist: new Allowlist([]) };
    expect(() => normalizeKeys(['2a01:4f8::1'], 'rate-ip', policy)).toThrow(
      /ipv6Prefix must be an integer from 32 to 128/,
    );
  });
});

describe('normalizeKeys', () => {
  it('collapses keys in one range into one sighting that counts them', () => {
    const { sightings, rejected } = normalize(['45.33.12.7/32', '45.33.12.200/32', '45.33.13.1/32', '45.33.12.7/32']);
    expect(sightings).toEqual([
      { range: '45.33.12.0/24', family: 'IPV4', source: 'rate-ip', hits: 3 },
      { range: '45.33.13.0/24', family: 'IPV4', source: 'rate-ip', hits: 1 },
    ]);
    expect(rejected).toEqual([]);
  });

  it('collapses IPv6 keys to their /64', () => {
    expect(normalize(['2a01:4f8:1:2::5/128', '2a01:4f8:1:2:ffff::1/128', '2A01:4F8:1:3::1/128']).sightings).toEqual([
      { range: '2a01:4f8:1:2::/64', family: 'IPV6', source: 'rate-ip', hits: 2 },
      { range: '2a01:4f8:1:3::/64', family: 'IPV6', source: 'rate-ip', hits: 1 },
    ]);
  });

  it('orders ranges by family, then numerically, not as text', () => {
    expect(normalize(['2a01:4f8::1', '185.220.101.4', '45.33.12.7', '9.9.9.9', '2a00:1450::1']).ranges).toEqual([
      '9.9.9.0/24',
      '45.33.12.0/24',
      '185.220.101.0/24',
      '2a00:1450::/64',
      '2a01:4f8::/64',
    ]);
  });

  it('lists refused keys in input order with the reason', () => {
    const { rejected } = normalize(['45.33.12.7', 'garbage', '10.1.2.3', '0.0.0.0/0', '45.0.0.0/7']);
    expect(rejected).toEqual([
      { key: 'garbage', reason: 'unparsable' },
      { key: '10.1.2.3', reason: 'non-global' },
      { key: '0.0.0.0/0', reason: 'zero-prefix' },
      { key: '45.0.0.0/7', reason: 'too-wide' },
    ]);
  });

  it.each(['1.2.3.4/0', '0.0.0.0/0', '::/0', '2a01:4f8::/0', '::ffff:0:0/96'])('refuses the /0 %s', (key) => {
    expect(normalize([key]).reasons).toEqual(['zero-prefix']);
  });

  it('refuses keys wider than /8 or /32, but keeps a wide key that is within bounds', () => {
    expect(normalize(['45.0.0.0/7', '2a01::/31']).reasons).toEqual(['too-wide', 'too-wide']);
    expect(normalize(['45.0.0.0/8', '2a01:4f8::/32']).ranges).toEqual(['45.0.0.0/8', '2a01:4f8::/32']);
  });

  it('refuses a public key whose widened range reaches a special-purpose block', () => {
    const wide = createNormalizePolicy({ ipv4Prefix: 8 });
    // 100.1.2.3 is public, but 100.0.0.0/8 contains the carrier-grade NAT block 100.64.0.0/10.
    expect(normalize(['100.1.2.3'], wide).reasons).toEqual(['non-global']);
    expect(normalize(['100.1.2.3']).ranges).toEqual(['100.1.2.0/24']);
  });
});

describe('non-global ranges', () => {
  it.each([
    ['0.1.2.3', 'this network'],
    ['10.1.2.3', 'private'],
    ['100.64.1.2', 'carrier-grade NAT'],
    ['100.127.255.1', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link local'],
    ['172.16.5.4', 'private'],
    ['172.31.255.1', 'private'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.1', 'benchmarking'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.1', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['64:ff9b::45.33.12.7', 'NAT64'],
    ['64:ff9b:1::1', 'local NAT64'],
    ['100::1', 'discard only'],
    ['2001::1', 'Teredo'],
    ['2001:2::1', 'benchmarking (in 2001::/23)'],
    ['2001:1ff::1', 'end of 2001::/23'],
    ['2001:db8::1', 'documentation'],
    ['2002:2d21:c07::1', '6to4'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link local'],
    ['ff02::1', 'multicast'],
    ['1000::1', 'outside 2000::/3'],
    ['4000::1', 'outside 2000::/3'],
    ['8000::1', 'outside 2000::/3'],
  ])('refuses %s (%s)', (key) => {
    expect(normalize([key]).reasons).toEqual(['non-global']);
  });

  it.each([
    '100.63.255.1',
    '100.128.0.1',
    '172.15.255.1',
    '172.32.0.1',
    '192.169.0.1',
    '198.17.255.1',
    '198.20.0.1',
    '11.0.0.1',
    '223.255.255.1',
    '45.33.12.7',
    '185.220.101.4',
    '2001:200::1',
    '2001:4860:4860::8888',
    '2003::1',
    '2a01:4f8:1:2::5',
    '3ffe::1',
  ])('blocks the global neighbour %s', (key) => {
    expect(normalize([key]).reasons).toEqual([]);
  });

  it('refuses every block of the table, its first address alone, and the /8 or /32 around it', () => {
    for (const block of SPECIAL_PURPOSE_BLOCKS) {
      // Mapped addresses read as IPv4, so this block is 0.0.0.0/0 here: zero-prefix and ::/3 cover it.
      if (block.cidr === '::ffff:0:0/96') continue;
      const [network = ''] = block.cidr.split('/');
      const wide = network.includes(':') ? 32 : 8;
      for (const text of [block.cidr, network, `${network}/${wide}`]) {
        const range = parseRange(text);
        expect(range && isNonGlobal(range), `${text} (${block.name})`).toBe(true);
      }
    }
  });
});

describe('Allowlist', () => {
  const allowlist = new Allowlist(['45.33.0.0/16', '185.220.101.4', '2a01:4f8::/32', '2a02:c207:1:2::7/128']);
  const policy = createNormalizePolicy({ allowlist });

  it('refuses a range that an allowlist entry contains', () => {
    expect(normalize(['45.33.12.7', '2a01:4f8:1:2::5'], policy).reasons).toEqual(['allowlisted', 'allowlisted']);
  });

  it('refuses a range that contains an allowlist entry: the neighbours of an allowlisted host stay unblocked', () => {
    expect(normalize(['185.220.101.77', '2a02:c207:1:2::1'], policy).reasons).toEqual(['allowlisted', 'allowlisted']);
  });

  it('does not touch ranges next to the entries, or of the other family', () => {
    expect(normalize(['45.34.0.1', '185.220.102.4', '2a01:4f9::1', '2a02:c207:1:3::7'], policy).ranges).toEqual([
      '45.34.0.0/24',
      '185.220.102.0/24',
      '2a01:4f9::/64',
      '2a02:c207:1:3::/64',
    ]);
    expect(new Allowlist(['2a01:4f8::/32']).overlaps('45.33.12.0/24')).toBe(false);
  });

  it('answers for text as well as for parsed ranges', () => {
    expect(allowlist.overlaps('45.33.12.0/24')).toBe(true);
    expect(allowlist.overlaps('45.0.0.0/8')).toBe(true);
    expect(allowlist.overlaps('45.34.0.0/16')).toBe(false);
    expect(() => allowlist.overlaps('nope')).toThrow(RangeError);
  });

  it('lists its entries canonical, ordered and without duplicates', () => {
    expect(new Allowlist(['2A01:4F8::/32', '185.220.101.4', '2a01:4f8::/32', '45.33.1.2/16']).entries).toEqual([
      '45.33.0.0/16',
      '185.220.101.4/32',
      '2a01:4f8::/32',
    ]);
  });

  it('names the entry that does not parse', () => {
    expect(() => new Allowlist(['45.33.0.0/16', '10.0.0.0/33'])).toThrow('allowlist entry "10.0.0.0/33"');
    expect(() => createNormalizePolicy({ allowlist: ['office'] })).toThrow(/"office"/);
  });

  it('merges nested and overlapping entries without losing any', () => {
    const nested = new Allowlist(['45.0.0.0/8', '45.33.0.0/16', '46.1.1.1', '2a01::/16', '2a01:4f8::/32', '2a02::1']);
    expect(nested.overlaps('45.255.255.0/24')).toBe(true);
    expect(nested.overlaps('46.1.1.0/24')).toBe(true);
    expect(nested.overlaps('46.1.2.0/24')).toBe(false);
    expect(nested.overlaps('2a01:ffff::/64')).toBe(true);
    expect(nested.overlaps('2a02::/64')).toBe(true);
    expect(nested.overlaps('2a02:0:0:1::/64')).toBe(false);
  });
});

describe('mergeSightings', () => {
  const sighting = (range: string, source: string, hits: number): Sighting => ({
    range,
    family: range.includes(':') ? 'IPV6' : 'IPV4',
    source,
    hits,
  });

  it('sums hits per range and names the source with most hits', () => {
    const merged = mergeSightings([
      [sighting('45.33.12.0/24', 'rate-ip', 3), sighting('185.220.101.0/24', 'rate-ip', 1)],
      [sighting('45.33.12.0/24', 'rate-login', 5), sighting('2a01:4f8:1:2::/64', 'rate-login', 2)],
    ]);
    expect(merged).toEqual([
      sighting('45.33.12.0/24', 'rate-login', 8),
      sighting('185.220.101.0/24', 'rate-ip', 1),
      sighting('2a01:4f8:1:2::/64', 'rate-login', 2),
    ]);
  });

  it('breaks a tie between sources alphabetically, whatever the list order', () => {
    const a = [sighting('45.33.12.0/24', 'rate-login', 2)];
    const b = [sighting('45.33.12.0/24', 'rate-api', 2)];
    expect(mergeSightings([a, b])[0]?.source).toBe('rate-api');
    expect(mergeSightings([b, a])[0]?.source).toBe('rate-api');
  });

  it('adds up a source that appears in several lists before comparing', () => {
    const merged = mergeSightings([
      [sighting('45.33.12.0/24', 'rate-login', 2)],
      [sighting('45.33.12.0/24', 'rate-api', 3)],
      [sighting('45.33.12.0/24', 'rate-login', 2)],
    ]);
    expect(merged).toEqual([sighting('45.33.12.0/24', 'rate-login', 7)]);
  });

  it('merges two spellings of one range, keeping the first', () => {
    const merged = mergeSightings([
      [sighting('2a01:4f8:1:2::/64', 'rate-ip', 1)],
      [sighting('2A01:04F8:0001:0002::/64', 'rate-ip', 1)],
    ]);
    expect(merged).toEqual([sighting('2a01:4f8:1:2::/64', 'rate-ip', 2)]);
  });

  it('returns nothing for nothing, and refuses a range that does not parse', () => {
    expect(mergeSightings([])).toEqual([]);
    expect(mergeSightings([[], []])).toEqual([]);
    expect(() => mergeSightings([[sighting('45.33.12.0/33', 'rate-ip', 1)]])).toThrow(RangeError);
  });
});
