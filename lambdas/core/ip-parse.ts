/**
 * The one address parser of the product: config, CLI, ban feed, replay and blocker all read
 * addresses and ranges with it.
 *
 * Hand-written because ipaddr.js's regex-based parse costs about 1 µs per IPv6 address and its
 * `parseCIDR` throws internally on every IPv4 input, while the blocker must normalize 20,000 keys
 * and reconcile a full IP set in about 20 ms. It accepts what ipaddr.js accepts in strict form
 * (four-part decimal IPv4, RFC 4291 IPv6; two deliberate differences are noted at
 * {@link parseAddress} and `scanIpv6`); `test/lambdas/core/address.property.test.ts` checks it
 * against ipaddr.js on generated input.
 *
 * The hot paths (normalizeKeys, planReconcile) parse tens of thousands of keys per run, so the
 * scanner works on character codes and writes its result into an {@link AddressScan} the caller
 * owns and reuses, instead of allocating per key. Its one piece of module state, the IPv6 group
 * scratch, is private to the scanner. Nothing here awaits, so no two calls can interleave on it.
 * The keys of a big attack, nearly all written `a.b.c.d/p`, are read in one loop over them
 * ({@link scanIpv4CidrRun}), which restates this scanner's rules for that form (`parseIpv4`,
 * `parsePrefix`): a change to those rules is made to both.
 */
import { maskWord, networkRange, type NetworkRange, type ParsedAddress } from './network-range';
import type { Cidr, Family } from './types';
import { isSurroundingSpace } from './value-space';

/**
 * Where {@link scanAddress} writes an address: scratch that the caller owns and reuses, so that
 * parsing tens of thousands of keys allocates nothing per key. Same shape as {@link ParsedAddress},
 * host bits as written.
 */
export interface AddressScan {
  family: Family;
  prefix: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

/** A fresh {@link AddressScan} for a module's own reuse. */
export function createAddressScan(): AddressScan {
  return { family: 'IPV4', prefix: 0, w0: 0, w1: 0, w2: 0, w3: 0 };
}

/** The parser's own scan, for {@link parseAddress} and {@link parseRange}. */
const scanned = createAddressScan();
/** The eight 16-bit groups of the IPv6 address being scanned. */
const groups: [number, number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0, 0];

/**
 * Parses an IPv4 or IPv6 address, with or without `/prefix`, ignoring the whitespace that is
 * trimmed around every value (see value-space).
 *
 * Accepted: four-part decimal IPv4 (`45.33.12.7`, `45.33.12.0/24`); IPv6 in any RFC 4291 text
 * form, upper or lower case, including a dotted IPv4 tail (`2a01:4f8::5/128`, `::ffff:1.2.3.4`).
 * An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) with a prefix of 96 or more is returned as the
 * IPv4 address with prefix − 96, since WAF and attackers both mean the IPv4 host.
 *
 * Refused (returns `undefined`): empty text, IPv4 shorthands and octal or hex octets that
 * ipaddr.js would read (`1.2.3`, `0x7f.1`, `01.2.3.4`), octets above 255, prefixes out of range
 * or written with leading zeros, and IPv6 zone ids (`fe80::1%eth0`), which WAF cannot match.
 *
 * @returns the parsed address, or `undefined` when the text is not an address we accept (why:
 *   `readRange` in address-verdict, which every caller that reports a refusal uses).
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (!scanAddress(text, scanned)) return undefined;
  const { family, prefix, w0, w1, w2, w3 } = scanned;
  return { family, prefix, w0, w1, w2, w3 };
}

/**
 * Parses a range and returns it in canonical form: host bits cleared, IPv6 in RFC 5952 form,
 * `/32` or `/128` added when no prefix was written. Two spellings of one range
 * (`2001:DB8:0:0::/64`, `2001:db8::/64`) give the same `cidr`.
 *
 * @returns the range, or `undefined` when the text does not parse (see {@link parseAddress}).
 */
export function parseRange(text: string): NetworkRange | undefined {
  return scanAddress(text, scanned) ? networkRange(scanned, scanned.prefix) : undefined;
}

/**
 * The canonical text of an address or range as written by WAF, a person or a ban feed; see
 * {@link parseRange}.
 *
 * @returns the canonical CIDR, or `undefined` when the text does not parse.
 */
export function canonicalCidr(text: string): Cidr | undefined {
  return parseRange(text)?.cidr;
}

/**
 * Parses `text` (see {@link parseAddress}) into `into`.
 *
 * @returns false when it is not an address we accept; `into` is then unspecified.
 */
export function scanAddress(text: string, into: AddressScan): boolean {
  let start = 0;
  let end = text.length;
  while (start < end && isSurroundingSpace(text.charCodeAt(start))) start++;
  while (end > start && isSurroundingSpace(text.charCodeAt(end - 1))) end--;
  const slash = text.indexOf('/', start);
  const addressEnd = slash === -1 || slash >= end ? end : slash;
  let prefix = -1;
  if (addressEnd < end) {
    prefix = parsePrefix(text, addressEnd + 1, end);
    if (prefix < 0) return false;
  }

  const colon = text.indexOf(':', start);
  if (colon === -1 || colon >= addressEnd) {
    const value = parseIpv4(text, start, addressEnd);
    if (value < 0 || prefix > 32) return false;
    // setScan written out, on every IPv4 key's way (docs/blocker.md, "Fewer functions on the path").
    into.family = 'IPV4';
    into.prefix = prefix < 0 ? 32 : prefix;
    into.w0 = value;
    into.w1 = 0;
    into.w2 = 0;
    into.w3 = 0;
    return true;
  }

  if (prefix > 128 || !scanIpv6(text, start, addressEnd)) return false;
  const w0 = groups[0] * 65536 + groups[1];
  const w1 = groups[2] * 65536 + groups[3];
  const w2 = groups[4] * 65536 + groups[5];
  const w3 = groups[6] * 65536 + groups[7];
  const width = prefix < 0 ? 128 : prefix;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff && width >= 96) setScan(into, 'IPV4', width - 96, w3, 0, 0, 0);
  else setScan(into, 'IPV6', width, w0, w1, w2, w3);
  return true;
}

/**
 * Where {@link scanIpv4CidrRun} writes the keys it reads: each one's range key, and its index.
 */
export interface Ipv4KeyRun {
  /**
   * A prefix length in bits, 0 to 32: a key narrower than this stands for its range of this length
   * (24: a /32 key is read as its /24).
   */
  readonly widenTo: number;
  /** A prefix length in bits, 0 to 32: the widest range a key may stand for; a key wider once narrowed ends the run. */
  readonly minPrefix: number;
  /** Range keys, as range-key's IPv4 keys: the network address × 64 + the prefix. */
  readonly rangeKeys: number[];
  /** Each range key's index in the keys. */
  readonly at: number[];
}

/**
 * Reads keys from `from` on while each is an IPv4 range written `a.b.c.d/p` with nothing around
 * it, as a rate-based rule's managed keys of IPv4 are, and pushes each one's range (its prefix
 * narrowed to `run.widenTo`, host bits cleared) to `run`. It stops at the first key in any other
 * form (IPv6, no prefix, surrounding space, a form `scanAddress` refuses), with a prefix of 0, or
 * wider than `run.minPrefix` once narrowed: the caller reads that one key with `scanAddress`, and
 * refuses it there or goes on.
 *
 * One loop over the keys that calls nothing per key but `maskWord`: a first big attack reads
 * 10,000 keys before V8 has compiled the scanner, and compiling `scanAddress` and what it calls,
 * or a per-key function like this one, took about as long as the reading (docs/blocker.md, "The
 * keys in one loop"). The rules are `scanAddress`'s for this form; a key read here is read as
 * `scanAddress` reads it (test/lambdas/core/address-ipv4-cidr.property.test.ts).
 *
 * @param keys - The keys, as the rule's managed keys list them.
 * @param from - The index of the first key to read.
 * @param run - Where each key read goes, and the bounds of its prefix.
 * @returns the index of the key that ended the run, or `keys.length` when none did.
 */
export function scanIpv4CidrRun(keys: readonly string[], from: number, run: Ipv4KeyRun): number {
  for (let k = from; k < keys.length; k++) {
    const text = keys[k] as string;
    const end = text.length;
    let value = 0;
    let octet = 0;
    let digits = 0;
    let dots = 0;
    let i = 0;
    // The address, as parseIpv4 reads it: four decimal octets, none above 255, none with a leading zero.
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        if (digits > 0 && octet === 0) return k;
        octet = octet * 10 + (c - 48);
        digits++;
        if (octet > 255) return k;
      } else if (c === 46 /* . */ && digits > 0) {
        value = value * 256 + octet;
        dots++;
        octet = 0;
        digits = 0;
      } else break;
    }
    if (dots !== 3 || digits === 0 || i >= end - 1 || text.charCodeAt(i) !== 47 /* / */) return k;
    // The prefix, as parsePrefix reads it: one or two digits (32 at most), no leading zero.
    const first = text.charCodeAt(i + 1) - 48;
    if (first < 0 || first > 9 || i + 3 < end) return k;
    let prefix = first;
    if (i + 2 < end) {
      const second = text.charCodeAt(i + 2) - 48;
      if (first === 0 || second < 0 || second > 9) return k;
      prefix = first * 10 + second;
      if (prefix > 32) return k;
    }
    if (prefix > run.widenTo) prefix = run.widenTo;
    // A /0 key (`zero-prefix`) and a key wider than allowed (`too-wide`) are the caller's to refuse.
    if (prefix === 0 || prefix < run.minPrefix) return k;
    run.rangeKeys.push(maskWord(value * 256 + octet, prefix) * 64 + prefix);
    run.at.push(k);
  }
  return keys.length;
}

function setScan(
  into: AddressScan,
  family: Family,
  prefix: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): void {
  into.family = family;
  into.prefix = prefix;
  into.w0 = w0;
  into.w1 = w1;
  into.w2 = w2;
  into.w3 = w3;
}

/** The decimal prefix in text[start, end), or -1. Restated in {@link scanIpv4CidrRun}: change both. */
function parsePrefix(text: string, start: number, end: number): number {
  // Three digits at most, and no leading zero: "/024" is a typo or an attempt at octal, not a prefix.
  if (end - start < 1 || end - start > 3) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9 || (i > start && value === 0)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Strict four-part decimal in text[start, end), as `ipaddr.IPv4.isValidFourPartDecimal`: the address as a uint32, or
 * -1. Restated in {@link scanIpv4CidrRun}: change both.
 */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // A leading zero is how inet_aton spells octal; ipaddr.js follows it, WAF does not.
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** Parses the IPv6 address in text[start, end) into {@link groups}. */
function scanIpv6(text: string, start: number, end: number): boolean {
  // One short backward scan instead of lastIndexOf + indexOf: V8 runs String#lastIndexOf in C++,
  // and that call alone cost more than the rest of the scan. The last colon is at most a group or
  // a dotted quad away from the end.
  let lastColon = end - 1;
  let dotted = false;
  for (let c = text.charCodeAt(lastColon); c !== 58; c = text.charCodeAt(--lastColon)) {
    if (c === 46) dotted = true;
  }
  if (!dotted) return scanHexGroups(text, start, end, 8);
  // A dotted IPv4 tail stands for the last two groups. `::a.b.c.d` (the deprecated
  // IPv4-compatible form) stays the IPv6 address ::a.b.c.d: unlike ipaddr.js we do not read it as
  // IPv4-mapped, since only `::ffff:` means "this IPv4 host" (RFC 4291 section 2.5.5). The
  // verdicts refuse it (`ipv4-compatible` in address-verdict), whichever way it is spelt.
  const v4 = parseIpv4(text, lastColon + 1, end);
  if (v4 < 0) return false;
  // The head keeps its "::" if it ends in one; a single trailing colon only separates the tail.
  const headEnd = lastColon > start && text.charCodeAt(lastColon - 1) === 58 ? lastColon + 1 : lastColon;
  if (!scanHexGroups(text, start, headEnd, 6)) return false;
  groups[6] = v4 >>> 16;
  groups[7] = v4 & 0xffff;
  return true;
}

/** Value of each ASCII hex digit, -1 for every other character below 128. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Parses colon-separated hex groups in text[start, end) into the first `count` slots of
 * {@link groups}, expanding `::`; false when malformed.
 */
function scanHexGroups(text: string, start: number, end: number, count: number): boolean {
  let found = 0;
  let gap = -1; // number of groups before the "::"
  let value = 0;
  let digits = 0;
  let i = start;
  if (end - start >= 2 && text.charCodeAt(start) === 58 && text.charCodeAt(start + 1) === 58) {
    gap = 0;
    i += 2;
  }
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) {
      if (digits === 0 || found === count) return false; // ":::", a stray colon, or too many groups
      groups[found++] = value;
      value = 0;
      digits = 0;
      if (i + 1 < end && text.charCodeAt(i + 1) === 58) {
        if (gap !== -1) return false; // a second "::" is ambiguous
        gap = found;
        i++;
      } else if (i + 1 === end) {
        return false; // a single trailing colon
      }
    } else {
      const digit = c < 128 ? (HEX_VALUE[c] ?? -1) : -1;
      if (digit < 0 || digits === 4) return false;
      value = value * 16 + digit;
      digits++;
    }
  }
  if (digits > 0) {
    if (found === count) return false;
    groups[found++] = value;
  }
  if (gap === -1) return found === count;
  // "::" must stand for at least one group (RFC 4291 section 2.2).
  if (found === count) return false;
  const shift = count - found;
  for (let j = found - 1; j >= gap; j--) groups[j + shift] = groups[j] ?? 0;
  for (let j = gap; j < gap + shift; j++) groups[j] = 0;
  return true;
}
