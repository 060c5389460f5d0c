/**
 * One address model: whatever text a person or a host writes, the config's `allowlist`, the CLI's
 * `ban`/`unban` argument, the ban feed and the blocker give the same verdict: the same canonical
 * range, or a refusal for the same reason. Where a caller refuses more on purpose (a ban of
 * non-global space or of more than an IPv4 /16; the feed's 100-character limit), the property
 * says so instead of hiding it.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../cli/errors';
import { printable } from '../../../cli/format';
import { readTargetRange } from '../../../cli/targets';
import { MIN_BAN_IPV4_PREFIX, planActions, type OperatorAction } from '#blocker/actions';
import { parseFeedMessage } from '#blocker/feed';
import { describeAddressProblem, readRange, type AddressProblem } from '#core/address-verdict';
import { Allowlist } from '#core/allowlist';
import { parseRange } from '#core/ip-parse';
import type { NetworkRange } from '#core/network-range';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { isNonGlobal } from '#core/special-purpose';
import { trimSurroundingSpace } from '#core/value-space';
import { quoteConfigValue } from '#config/config-error';
import { ConfigError, parseConfig } from '#config/load';
import { synthesize } from '../../support/synth';

const SOURCE = 'fail2ban@web1';
const DURATION_MS = 240 * 60_000;
/** No widening: the blocker's range is the range as written, so it compares with the others'. */
const AS_WRITTEN = createNormalizePolicy({ ipv4Prefix: 32, ipv6Prefix: 128 });

type Verdict = { readonly cidr: string } | { readonly refusal: string };

function configVerdict(text: string): Verdict {
  try {
    const { allowlist } = parseConfig({ allowlist: [text] });
    expect(allowlist).toHaveLength(1);
    return { cidr: allowlist[0] ?? '' };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.key).toBe('allowlist[0]');
    expect(error.message).not.toContain('\n');
    return { refusal: error.message };
  }
}

function cliVerdict(text: string): Verdict {
  try {
    return { cidr: readTargetRange(text).cidr };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { refusal: error.message };
  }
}

/** The feed keeps the address as written for the run to read; a refusal is its `problem`. */
function feedVerdict(text: string, action: 'ban' | 'unban' = 'ban'): { readonly address: string } | Verdict {
  const outcome = parseFeedMessage(JSON.stringify({ action, address: text, source: SOURCE }));
  return 'action' in outcome ? { address: outcome.action.address } : { refusal: outcome.problem };
}

/** What a blocker run makes of a ban or an unban of `text`. */
function blockerVerdict(
  text: string,
  action: 'ban' | 'unban',
  policy = AS_WRITTEN,
): { readonly cidr: string } | { readonly reason: string; readonly detail: string } {
  const actions: OperatorAction[] = [{ action, address: text, source: SOURCE }];
  const [resolved] = planActions(actions, policy, DURATION_MS).resolved;
  if (resolved === undefined) throw new Error('planActions resolved nothing');
  switch (resolved.kind) {
    case 'ban':
      return { cidr: resolved.sighting.range };
    case 'unban':
      return { cidr: resolved.range };
    case 'refused':
      return { reason: resolved.reason, detail: resolved.detail };
  }
}

/** A blocker verdict as one comparable line. */
function outcome(verdict: { readonly cidr: string } | { readonly reason: string }): string {
  return 'cidr' in verdict ? `range: ${verdict.cidr}` : `refused: ${verdict.reason}`;
}

/** The ban policy, written out: what a ban of a readable range `range` (not widened) comes to. */
function expectedBan(range: NetworkRange): { readonly cidr: string } | { readonly reason: string } {
  const v4 = range.family === 'IPV4';
  if (range.prefix < (v4 ? 8 : 32)) return { reason: 'too-wide' };
  if (isNonGlobal(range)) return { reason: 'non-global' };
  if (v4 && range.prefix < MIN_BAN_IPV4_PREFIX) return { reason: 'too-wide' };
  return { cidr: range.cidr };
}

// ------------------------------------------------------------------------------------------------
// Generated text: near-addresses of every kind, and arbitrary strings.

const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('256', '300', '01', '00', '0x7f'));
const ipv4 = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.')),
  fc.tuple(octet, octet, octet).map((parts) => parts.join('.')),
);
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ipv6 = fc.oneof(
  fc.ipV6(),
  fc.ipV6().map((ip) => ip.toUpperCase()),
  fc.tuple(hex, hex, hex).map(([a, b, c]) => `${a}:${b}::${c}`),
  fc.constantFrom('::', '::1', 'fe80::1', '2001:db8::1', '2a01:4f8::', '::ffff:0:0', '1::2::3', ':::', '12345::'),
);
const mapped = fc.oneof(
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.ipV4().map((ip) => `::FFFF:${ip}`),
  fc.tuple(hex, hex).map(([a, b]) => `::ffff:${a}:${b}`),
  fc.ipV4().map((ip) => `0:0:0:0:0:ffff:${ip}`),
  fc.ipV4().map((ip) => `::${ip}`),
);
/** The deprecated IPv4-compatible form (RFC 4291 section 2.5.5.1) in its spellings, and its neighbours `::`, `::1`. */
const compatible = fc.oneof(
  fc.ipV4().map((ip) => `::${ip}`),
  fc.ipV4().map((ip) => `0:0:0:0:0:0:${ip}`),
  fc.tuple(hex, hex).map(([a, b]) => `::${a}:${b}`),
  fc.tuple(hex, hex).map(([a, b]) => `::${a.padStart(4, '0')}:${b.padStart(4, '0')}`),
  fc.integer({ min: 0, max: 3 }).map((n) => `::${n}`),
  fc.constantFrom('::0.0.0.0', '::0.0.0.1', '::0.0.0.2', '::/127', '::1/127', '::/96', '::/95'),
);
const zoned = fc
  .tuple(fc.oneof(ipv6, mapped), fc.constantFrom('eth0', '1', 'en0', '', '%', 'lo/1'))
  .map(([ip, zone]) => `${ip}%${zone}`);
const prefix = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 140 }).map((p) => `/${p}`) },
  { weight: 2, arbitrary: fc.integer({ min: 96, max: 128 }).map((p) => `/${p}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 130 }).map((p) => `/0${p}`) },
  { weight: 1, arbitrary: fc.constantFrom('/', '/x', '/-1', '/ 24', '/24 ', '/24/24', '/+8', '/1e1', '/\u0663', '//') },
);
const space = fc.constantFrom('', '', '', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u2003', '\u3000');
/** Network addresses with their prefix, spelt by ipaddr.js (IPv6 also in full, upper-case form). */
const network = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, bits]) => {
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${bits}`).toString()}/${bits}`;
  }),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }), fc.boolean()).map(([ip, bits, full]) => {
    const address = ipaddr.IPv6.networkAddressFromCIDR(`${ip}/${bits}`);
    return `${full ? address.toNormalizedString().toUpperCase() : address.toString()}/${bits}`;
  }),
  fc.tuple(fc.ipV4(), fc.integer({ min: 96, max: 128 })).map(([ip, bits]) => {
    return `::ffff:${ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${bits - 96}`).toString()}/${bits}`;
  }),
);
const nearAddress = fc
  .oneof(
    { weight: 3, arbitrary: fc.tuple(space, fc.oneof(ipv4, ipv4, ipv6, mapped, compatible, zoned), prefix, space) },
    { weight: 2, arbitrary: fc.tuple(space, network, space) },
  )
  .map((parts) => parts.join(''));
const addressAlphabet = fc.string({
  unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ fx-'.split('')),
  maxLength: 45,
});
const anyText = fc.oneof(
  { weight: 6, arbitrary: nearAddress },
  { weight: 2, arbitrary: addressAlphabet },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 95, maxLength: 110 }) },
);

describe('every part of the product reads any text the same way', () => {
  it('config, CLI, ban feed and blocker: the same range, or refused for the same reason', () => {
    const seen = { accepted: 0, refused: new Set<AddressProblem>() };
    fc.assert(
      fc.property(anyText, (text) => {
        const reading = readRange(text);
        const config = configVerdict(text);
        const cli = cliVerdict(text);
        const feed = feedVerdict(text);
        const ban = blockerVerdict(text, 'ban');
        const unban = blockerVerdict(text, 'unban');
        // The feed's own limit comes first: an address of 1 to 100 characters.
        const feedReadsIt = text.length >= 1 && text.length <= 100;
        const feedRefusal = 'refusal' in feed ? feed.refusal : undefined;
        if (!feedReadsIt) expect(feedRefusal).toContain('address must be a non-empty string');

        if (reading.problem !== undefined) {
          seen.refused.add(reading.problem);
          const phrase = describeAddressProblem(reading);
          // Config trims every text value first (lib/config/trimmed-values), and quotes what it read.
          const read = reading.problem === 'unicode-space' ? text : trimSurroundingSpace(text);
          expect(config).toEqual({
            refusal: `invalid configuration: allowlist[0] ${quoteConfigValue(read)} ${phrase}`,
          });
          expect(cli).toEqual({ refusal: `<ip|cidr> "${printable(text)}" ${phrase}` });
          if (feedReadsIt) {
            expect(feedRefusal).toMatch(/^address ".*" /s);
            expect(feedRefusal?.endsWith(phrase)).toBe(true);
          }
          expect(outcome(ban)).toBe(`refused: ${reading.problem}`);
          expect('detail' in ban && ban.detail).toContain(phrase);
          expect(unban).toEqual(ban);
          return;
        }

        seen.accepted += 1;
        const { range } = reading;
        expect(config).toEqual({ cidr: range.cidr });
        expect(cli).toEqual({ cidr: range.cidr });
        // The feed passes the text on unchanged; the run reads it with the same parser.
        if (feedReadsIt) expect(feed).toEqual({ address: text });
        // An unban names any range a block can have: never wider than /8 (IPv4) or /32 (IPv6).
        const blockable = range.prefix >= (range.family === 'IPV4' ? 8 : 32);
        expect(outcome(unban)).toBe(blockable ? `range: ${range.cidr}` : 'refused: too-wide');
        // A ban refuses more on purpose: non-global space, and more than an IPv4 /16 (the
        // allowlist may hold a private range or a /8, and an unban may name any range).
        expect(outcome(ban)).toBe(outcome(expectedBan(range)));
      }),
      { numRuns: 3_000 },
    );
    // Both sides were exercised, and every kind of refusal.
    expect(seen.accepted).toBeGreaterThan(300);
    expect([...seen.refused].sort()).toEqual(
      [
        'host-bits',
        'ipv4-compatible',
        'mapped-prefix',
        'prefix-leading-zero',
        'prefix-out-of-range',
        'unparsable',
        'zero-prefix',
        'zone-id',
        'unicode-space',
      ].sort(),
    );
  });

  it('a ban is widened to the deployment prefix from the same range the others read', () => {
    const widening = createNormalizePolicy({ ipv4Prefix: 24, ipv6Prefix: 64 });
    fc.assert(
      fc.property(nearAddress, (text) => {
        const reading = readRange(text);
        fc.pre(reading.range !== undefined && 'cidr' in expectedBan(reading.range));
        const { range } = reading as { range: NetworkRange };
        const widened = Math.min(range.prefix, range.family === 'IPV4' ? 24 : 64);
        const [network = ''] = range.cidr.split('/');
        const expected = readRange(`${network}/${widened}`, { hostBits: 'clear' }).range?.cidr;
        expect(blockerVerdict(text, 'ban', widening)).toEqual({ cidr: expected });
      }),
      { numRuns: 1_000 },
    );
  });

  it('names the problem the text has, not another (checked against ipaddr.js)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const reading = readRange(text);
        fc.pre(reading.problem !== undefined);
        // The whitespace the parser ignores around a text: ASCII, no-break space, byte order mark.
        const trimmed = text.replace(/^[\t-\r \u00a0\ufeff]+|[\t-\r \u00a0\ufeff]+$/g, '');
        const slash = trimmed.indexOf('/');
        const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
        const prefixText = slash === -1 ? undefined : trimmed.slice(slash + 1);
        // The address scans (its range may still be refused: a /0, the IPv4-compatible form).
        const addressReads = parseRange(address) !== undefined;
        switch (reading.problem) {
          case 'zone-id': {
            const percent = address.indexOf('%');
            const [ip, zone] = [address.slice(0, percent), address.slice(percent + 1)];
            expect(ipaddr.IPv6.isValid(ip)).toBe(true);
            expect(zone).not.toBe('');
            break;
          }
          case 'prefix-leading-zero':
            expect(addressReads).toBe(true);
            expect(prefixText).toMatch(/^0\d+$/);
            break;
          case 'prefix-out-of-range': {
            expect(addressReads).toBe(true);
            const width = address.includes(':') ? 128 : 32;
            expect(/^(0|[1-9]\d{0,2})$/.test(prefixText ?? '') && Number(prefixText) <= width).toBe(false);
            break;
          }
          case 'host-bits': {
            const [ip, bits] = ipaddr.parseCIDR(trimmed);
            const network =
              ip.kind() === 'ipv4'
                ? ipaddr.IPv4.networkAddressFromCIDR(trimmed)
                : ipaddr.IPv6.networkAddressFromCIDR(trimmed);
            expect(network.toString()).not.toBe(ip.toString());
            expect(bits).toBeGreaterThan(0);
            expect(reading.network).toBeDefined();
            break;
          }
          case 'unparsable':
            expect(addressReads).toBe(false);
            break;
          case 'ipv4-compatible': {
            // Inside ::/96 at /96 or narrower, and not only :: and ::1 (by ipaddr.js, which reads
            // `::a.b.c.d` as mapped: its ffff group is put back to 0).
            const [ip, bits] = ipaddr.parseCIDR(trimmed.includes('/') ? trimmed : `${trimmed}/128`);
            expect(ip.kind()).toBe('ipv6');
            const parts = [...(ip as ipaddr.IPv6).parts];
            if (!/ffff/i.test(trimmed)) parts[5] = 0;
            expect(parts.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
            expect(bits).toBeGreaterThanOrEqual(96);
            const low = (parts[6] ?? 0) * 65536 + (parts[7] ?? 0);
            expect(bits >= 127 && low <= 1).toBe(false);
            break;
          }
          default:
            // zero-prefix and mapped-prefix: the text reads, its range is refused.
            expect(readRange(text, { hostBits: 'clear' }).problem).toBe(reading.problem);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('the inputs of issue 10', () => {
  it.each([
    ['::1.2.3.4', '1.2.3.4'],
    ['::1.2.3.4/128', '1.2.3.4'],
    ['::0102:0304', '1.2.3.4'],
    ['0:0:0:0:0:0:102:304', '1.2.3.4'],
    ['::1.2.3.0/120', '1.2.3.0/24'],
  ])('%s, the deprecated IPv4-compatible form, is refused everywhere, suggesting %s', (text, ipv4) => {
    const phrase =
      'is an IPv4-compatible IPv6 address (::a.b.c.d, deprecated by RFC 4291), which no client has ' +
      `and WAF matches as IPv6 only; write ${ipv4}`;
    expect(configVerdict(text)).toEqual({ refusal: `invalid configuration: allowlist[0] "${text}" ${phrase}` });
    expect(cliVerdict(text)).toEqual({ refusal: `<ip|cidr> "${text}" ${phrase}` });
    expect(feedVerdict(text)).toEqual({ refusal: `address "${text}" ${phrase}` });
    expect(blockerVerdict(text, 'ban')).toEqual({ reason: 'ipv4-compatible', detail: `"${text}" ${phrase}` });
    expect(blockerVerdict(text, 'unban')).toEqual({ reason: 'ipv4-compatible', detail: `"${text}" ${phrase}` });
    expect(normalizeKeys([text], 'rate-ip', AS_WRITTEN).rejected).toEqual([{ key: text, reason: 'ipv4-compatible' }]);
    // The IPv4 form it suggests is what everybody reads as the IPv4 host.
    expect(configVerdict(ipv4)).toEqual({ cidr: ipv4.includes('/') ? ipv4 : `${ipv4}/32` });
  });

  it('::/96, the whole IPv4-compatible block, is refused without an IPv4 range to write instead', () => {
    expect(cliVerdict('::/96')).toEqual({
      refusal:
        '<ip|cidr> "::/96" is an IPv4-compatible IPv6 address (::a.b.c.d, deprecated by RFC 4291), which no client has and WAF matches as IPv6 only',
    });
  });

  it('::, ::1 and ::/127 (the unspecified and loopback addresses) are no IPv4-compatible addresses: read as IPv6', () => {
    for (const [text, cidr] of [
      ['::', '::/128'],
      ['::1', '::1/128'],
      ['::0.0.0.1', '::1/128'],
      ['::/127', '::/127'],
    ] as const) {
      expect(configVerdict(text)).toEqual({ cidr });
      expect(cliVerdict(text)).toEqual({ cidr });
      expect(blockerVerdict(text, 'ban')).toMatchObject({ reason: 'non-global' });
    }
  });

  it('::ffff:81.2.69.142 is IPv4 everywhere: the IPv4 allowlist set holds 81.2.69.142/32, and the blocker spares its /24 as WAF does', () => {
    const text = '::ffff:81.2.69.142';
    expect(configVerdict(text)).toEqual({ cidr: '81.2.69.142/32' });
    expect(cliVerdict(text)).toEqual({ cidr: '81.2.69.142/32' });
    expect(feedVerdict(text)).toEqual({ address: text });
    expect(blockerVerdict(text, 'unban')).toEqual({ cidr: '81.2.69.142/32' });

    const { template } = synthesize({ allowlist: [text] });
    const addresses = (name: string): string[] => {
      const sets = Object.values(
        template.findResources('AWS::WAFv2::IPSet', { Properties: { Name: `WafAutoblock-${name}` } }),
      ) as { Properties: { Addresses: string[] } }[];
      expect(sets).toHaveLength(1);
      return sets[0]?.Properties.Addresses ?? [];
    };
    expect(addresses('allowlist-ipv4')).toEqual(['81.2.69.142/32']);
    expect(addresses('allowlist-ipv6')).toEqual([]);

    // The blocker reads the allowlist from those two IP sets, as it does at run time.
    const allowlist = new Allowlist([...addresses('allowlist-ipv4'), ...addresses('allowlist-ipv6')]);
    const { sightings, rejected } = normalizeKeys(
      ['81.2.69.142/32', '81.2.69.7/32', '81.2.70.7/32'],
      'rate-ip',
      createNormalizePolicy({ allowlist }),
    );
    expect(rejected).toEqual([
      { key: '81.2.69.142/32', reason: 'allowlisted' },
      { key: '81.2.69.7/32', reason: 'allowlisted' },
    ]);
    expect(sightings.map((sighting) => sighting.range)).toEqual(['81.2.70.0/24']);
  });

  it('1.2.3.0/024 is refused everywhere for its prefix written with a leading zero', () => {
    const text = '1.2.3.0/024';
    const phrase = 'has a prefix length with a leading zero; write it without';
    expect(configVerdict(text)).toEqual({ refusal: `invalid configuration: allowlist[0] "${text}" ${phrase}` });
    expect(cliVerdict(text)).toEqual({ refusal: `<ip|cidr> "${text}" ${phrase}` });
    expect(feedVerdict(text)).toEqual({ refusal: `address "${text}" ${phrase}` });
    expect(blockerVerdict(text, 'ban')).toEqual({ reason: 'prefix-leading-zero', detail: `"${text}" ${phrase}` });
    expect(normalizeKeys([text], 'rate-ip', AS_WRITTEN).rejected).toEqual([
      { key: text, reason: 'prefix-leading-zero' },
    ]);
  });

  it('fe80::1%eth0 is refused everywhere for its zone id, not for host bits', () => {
    const text = 'fe80::1%eth0';
    const phrase = 'has an IPv6 zone id (%...), which WAF does not accept; write the address without it';
    const verdicts = [configVerdict(text), cliVerdict(text), feedVerdict(text), blockerVerdict(text, 'ban')];
    expect(verdicts).toEqual([
      { refusal: `invalid configuration: allowlist[0] "${text}" ${phrase}` },
      { refusal: `<ip|cidr> "${text}" ${phrase}` },
      { refusal: `address "${text}" ${phrase}` },
      { reason: 'zone-id', detail: `"${text}" ${phrase}` },
    ]);
    expect(JSON.stringify(verdicts)).not.toContain('host bits');
    expect(blockerVerdict('fe80::1%eth0/64', 'unban')).toMatchObject({ reason: 'zone-id' });
  });

  it('suggests the network only when host bits are the problem', () => {
    expect(configVerdict('10.0.0.5/8')).toEqual({
      refusal: 'invalid configuration: allowlist[0] "10.0.0.5/8" has host bits set; did you mean 10.0.0.0/8?',
    });
    expect(cliVerdict('2a01:4f8:1:2::5/64')).toEqual({
      refusal: '<ip|cidr> "2a01:4f8:1:2::5/64" has host bits set; did you mean 2a01:4f8:1:2::/64?',
    });
    expect(blockerVerdict('45.33.12.7/24', 'ban')).toEqual({
      reason: 'host-bits',
      detail: '"45.33.12.7/24" has host bits set; did you mean 45.33.12.0/24?',
    });
  });

  it('a mapped range is IPv4 from /96 on, and refused below /96', () => {
    expect(configVerdict('::ffff:81.2.69.0/120')).toEqual({ cidr: '81.2.69.0/24' });
    expect(configVerdict('::ffff:0:0/96')).toEqual({
      refusal:
        'invalid configuration: allowlist[0] "::ffff:0:0/96" is the IPv4-mapped form of 0.0.0.0/0, the whole IPv4 address family',
    });
    for (const text of ['::ffff:0:0/95', '::ffff:81.2.69.142/64']) {
      expect(cliVerdict(text)).toEqual({
        refusal: `<ip|cidr> "${text}" holds the IPv4-mapped block ::ffff:0:0/96 with a prefix below /96; write IPv4 ranges as IPv4`,
      });
      expect(blockerVerdict(text, 'ban')).toMatchObject({ reason: 'mapped-prefix' });
    }
  });
});
