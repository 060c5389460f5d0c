/**
 * The one set of verdicts on address text: config (`allowlist`), CLI (`ban`, `unban`), ban feed,
 * replay and blocker all read a range with {@link readRange} (or, for rate rule keys, the same
 * checks inside `normalizeKeys`), so they accept the same texts as the same ranges and refuse the
 * rest for the same {@link AddressProblem}. Each caller words the refusal in its own context (the
 * config key, the CLI argument, the feed message) around {@link describeAddressProblem}.
 *
 * What a caller forbids on top (a ban of non-global space, a ban wider than an IPv4 /16) is that
 * caller's policy, not a reading of the text; see `normalizeKeys` and the blocker's actions.
 */
import { createAddressScan, scanAddress, type AddressScan } from './ip-parse';
import { ADDRESS_WIDTH, maskWord, networkRange, type NetworkRange } from './network-range';
import type { Cidr } from './types';
import { describeOtherSpace, otherSpaceIn, trimSurroundingSpace } from './value-space';

/** Why a text names no range that may be allowed or blocked. */
export type AddressProblem =
  /** Not an IPv4 or IPv6 address in a form we accept (`notanip`, `1.2.3`, `01.2.3.4`, `1.2.3.4.5`). */
  | 'unparsable'
  /** An IPv6 zone id (`fe80::1%eth0`): it names an interface of one host, and WAF accepts none. */
  | 'zone-id'
  /** A prefix length written with a leading zero (`1.2.3.0/024`): a typo, or octal to some tools. */
  | 'prefix-leading-zero'
  /** A prefix length that is not a whole number from 0 to the family's width (`/33`, `/129`, `/`, `/x`). */
  | 'prefix-out-of-range'
  /**
   * An IPv6 range below /96 that holds the IPv4-mapped block `::ffff:0:0/96` (`::ffff:0:0/95`,
   * `::/64`): IPv4 clients are IPv4 to WAF, so such a range would mix the two families.
   */
  | 'mapped-prefix'
  /**
   * An IPv4-compatible IPv6 address or range (`::1.2.3.4`, `::0102:0304`, `::1.2.3.0/120`: inside
   * ::/96 at /96 or narrower, other than `::` and `::1`), a form RFC 4291 section 2.5.5.1
   * deprecates. No client has such an address: WAF would match it as IPv6, never the IPv4 host
   * the writer meant, so it is refused with the IPv4 form to write instead.
   */
  | 'ipv4-compatible'
  /** A /0: the whole address family. */
  | 'zero-prefix'
  /** A written range whose address has bits set after the prefix (`10.0.0.5/8`): which range was meant? */
  | 'host-bits'
  /**
   * A space that is not trimmed around values (`\u2003` em space, `\u3000` ideographic space,
   * zero-width space ...; see value-space), inside or around the text: the reading names it.
   */
  | 'unicode-space';

/** What {@link readRange} made of a text: the range, or why there is none. */
export type RangeReading =
  | { readonly range: NetworkRange; readonly problem?: undefined }
  | {
      readonly range?: undefined;
      readonly problem: AddressProblem;
      /**
       * For `host-bits`: the range with the host bits cleared, which the text may have meant. For
       * `zero-prefix` written as IPv4-mapped IPv6 (`::ffff:0:0/96`): `0.0.0.0/0`, the range it maps.
       * For `ipv4-compatible` narrower than /96: the IPv4 range the text stands for (`1.2.3.4/32`
       * for `::1.2.3.4`).
       */
      readonly network?: Cidr;
      /** For `unicode-space`: the code point of the space. */
      readonly space?: number;
    };

/** Options of {@link readRange}. */
export interface ReadRangeOptions {
  /**
   * What to do with a written prefix whose address has host bits set: `refuse` (problem
   * `host-bits`) for text a person or a host wrote, `clear` for a key that WAF reports.
   * @default 'refuse'
   */
  readonly hostBits?: 'refuse' | 'clear';
}

/** This module's scratch for {@link readRange}. */
const scan = createAddressScan();

/**
 * Reads an IPv4 or IPv6 address or CIDR range the way every part of the product reads one:
 * the whitespace trimmed around every value ignored (another space is refused, naming it: see
 * value-space), a bare address is /32 or /128, IPv4-mapped IPv6 with a prefix of
 * 96 or more (`::ffff:81.2.69.142`, `::ffff:0:0/104`) is the IPv4 address or range it maps.
 *
 * @returns the range in canonical form, or the problem (see {@link AddressProblem}).
 */
export function readRange(text: string, options: ReadRangeOptions = {}): RangeReading {
  if (!scanAddress(text, scan)) {
    const space = otherSpaceIn(text);
    return space === undefined ? { problem: unreadableProblem(text) } : { problem: 'unicode-space', space };
  }
  const problem = scannedProblem(scan);
  // A mapped text reads as IPv4: `::ffff:0:0/96` is 0.0.0.0/0, and the refusal should say so.
  if (problem === 'zero-prefix' && scan.family === 'IPV4' && text.includes(':'))
    return { problem, network: '0.0.0.0/0' };
  // ::/96 itself would be 0.0.0.0/0: no IPv4 range to suggest.
  if (problem === 'ipv4-compatible')
    return scan.prefix === 96 ? { problem } : { problem, network: compatibleIpv4(scan) };
  if (problem !== undefined) return { problem };
  const range = networkRange(scan, scan.prefix);
  if (
    options.hostBits !== 'clear' &&
    (range.w0 !== scan.w0 || range.w1 !== scan.w1 || range.w2 !== scan.w2 || range.w3 !== scan.w3)
  ) {
    return { problem: 'host-bits', network: range.cidr };
  }
  return { range };
}

/**
 * What is wrong with an address that scanned (a /0, mapped space under a prefix below /96, the
 * IPv4-compatible form), before any host bits are considered.
 *
 * @returns the problem, or `undefined` when the range may be used.
 */
export function scannedProblem(address: AddressScan): AddressProblem | undefined {
  if (address.prefix === 0) return 'zero-prefix';
  if (address.family !== 'IPV6') return undefined;
  if (address.prefix < 96) return holdsMappedBlock(address) ? 'mapped-prefix' : undefined;
  return isIpv4Compatible(address) ? 'ipv4-compatible' : undefined;
}

/**
 * True when the IPv6 range (/96 or narrower) lies in ::/96 and holds an address other than `::`
 * (unspecified) and `::1` (loopback): those two are not IPv4-compatible addresses, and neither is
 * ::/127, which holds only them.
 */
function isIpv4Compatible(address: AddressScan): boolean {
  if (address.w0 !== 0 || address.w1 !== 0 || address.w2 !== 0) return false;
  return !(address.prefix >= 127 && maskWord(address.w3, address.prefix - 96) <= 1);
}

/** The IPv4 range an IPv4-compatible range (see {@link isIpv4Compatible}) stands for, host bits cleared. */
function compatibleIpv4(address: AddressScan): Cidr {
  return networkRange(
    { family: 'IPV4', prefix: address.prefix - 96, w0: address.w3, w1: 0, w2: 0, w3: 0 },
    address.prefix - 96,
  ).cidr;
}

/** True when the IPv6 range (below /96) contains ::ffff:0:0/96. */
function holdsMappedBlock(address: AddressScan): boolean {
  const { prefix } = address;
  return (
    maskWord(address.w0, prefix) === 0 &&
    maskWord(address.w1, prefix - 32) === 0 &&
    maskWord(address.w2, prefix - 64) === maskWord(0xffff, prefix - 64)
  );
}

/**
 * Why `scanAddress` refused `text`. Only called on refused text, so it may take its time; the
 * order of the checks picks the most useful of several problems.
 */
export function unreadableProblem(text: string): AddressProblem {
  const trimmed = trimSurroundingSpace(text);
  const slash = trimmed.indexOf('/');
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  // Whitespace is allowed around the whole text only, not around "/" or "%".
  if (trimSurroundingSpace(address) !== address) return 'unparsable';
  const percent = address.indexOf('%');
  if (percent > 0 && percent < address.length - 1 && address.includes(':')) {
    return scanAddress(address.slice(0, percent), scan) ? 'zone-id' : 'unparsable';
  }
  if (!scanAddress(address, scan)) return 'unparsable';
  // The address reads; so the prefix is what is wrong.
  const prefix = trimmed.slice(slash + 1);
  const width = address.includes(':') ? ADDRESS_WIDTH.IPV6 : ADDRESS_WIDTH.IPV4;
  if (/^0\d+$/.test(prefix) && Number(prefix) <= width) return 'prefix-leading-zero';
  return 'prefix-out-of-range';
}

/**
 * The refusal as a phrase that follows the quoted text, e.g. `"1.2.3.0/024" has a prefix length
 * with a leading zero`. Callers put their own context around it (the config key, the command).
 */
export function describeAddressProblem(reading: {
  readonly problem: AddressProblem;
  readonly network?: Cidr;
  readonly space?: number;
}): string {
  switch (reading.problem) {
    case 'unicode-space':
      return describeOtherSpace(reading.space ?? 0x2003);
    case 'unparsable':
      return 'is not an IPv4 or IPv6 address or CIDR range';
    case 'zone-id':
      return 'has an IPv6 zone id (%...), which WAF does not accept; write the address without it';
    case 'prefix-leading-zero':
      return 'has a prefix length with a leading zero; write it without';
    case 'prefix-out-of-range':
      return 'has a prefix length that is not a whole number from 0 to 32 (IPv4) or 128 (IPv6)';
    case 'mapped-prefix':
      return 'holds the IPv4-mapped block ::ffff:0:0/96 with a prefix below /96; write IPv4 ranges as IPv4';
    case 'ipv4-compatible': {
      const ipv4 = reading.network?.endsWith('/32') === true ? reading.network.slice(0, -3) : reading.network;
      return (
        'is an IPv4-compatible IPv6 address (::a.b.c.d, deprecated by RFC 4291), which no client has ' +
        `and WAF matches as IPv6 only${ipv4 === undefined ? '' : `; write ${ipv4}`}`
      );
    }
    case 'zero-prefix':
      return reading.network === undefined
        ? 'is a /0, the whole address family'
        : `is the IPv4-mapped form of ${reading.network}, the whole IPv4 address family`;
    case 'host-bits':
      return reading.network === undefined
        ? 'has host bits set'
        : `has host bits set; did you mean ${reading.network}?`;
  }
}
