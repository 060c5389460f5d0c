/**
 * Address parsing and normalization for the blocker: turns the keys a rate rule reports into the
 * ranges we block (/24, /64 by default), and refuses ranges that must never reach a blocklist.
 *
 * Numbers, not strings: an address is held as four big-endian unsigned 32-bit words (IPv4 uses
 * the first), so masking, containment and ordering are a few integer operations. The parsers are
 * hand-written because ipaddr.js's regex-based parse costs about 1 µs per IPv6 address and its
 * `parseCIDR` throws internally on every IPv4 input, while the blocker must normalize 20,000 keys
 * and reconcile a full IP set in about 20 ms. They accept what ipaddr.js accepts in strict form
 * (four-part decimal IPv4, RFC 4291 IPv6; two deliberate differences are noted at
 * {@link parseAddress} and `scanIpv6`) and print exactly what its `toString()` prints;
 * `test/lambdas/core/address.property.test.ts` checks both against ipaddr.js on generated input.
 */
import type { Cidr, Family, Sighting } from './types';

/** Why a key was not turned into a sighting. */
export type RejectReason =
  /** Not an IPv4 or IPv6 address or CIDR range in a form we accept. */
  | 'unparsable'
  /** A /0: the whole address family. */
  | 'zero-prefix'
  /** Wider than /8 (IPv4) or /32 (IPv6): blocking it would take out a large part of the Internet. */
  | 'too-wide'
  /** Overlaps a special-purpose block (private, loopback, documentation, ...): see {@link SPECIAL_PURPOSE_BLOCKS}. */
  | 'non-global'
  /** Overlaps an entry of the operator's allowlist. */
  | 'allowlisted';

/**
 * An address as parsed, before any policy: host bits are kept as written. The address is four
 * big-endian unsigned 32-bit words; an IPv4 address is `w0`, and `w1` to `w3` are 0.
 */
export interface ParsedAddress {
  readonly family: Family;
  /** The prefix length written after `/`, or the full width (32 or 128) when there was none. */
  readonly prefix: number;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

/** A CIDR range: host bits cleared, with its canonical text. */
export interface NetworkRange extends ParsedAddress {
  /** Canonical text: dotted IPv4, RFC 5952 IPv6 (lower case, compressed), always with `/prefix`. */
  readonly cidr: Cidr;
}

/** Narrowest prefix the blocker may widen an IPv4 key to, and the widest range it may block. */
export const MIN_IPV4_PREFIX = 8;
/** Narrowest prefix the blocker may widen an IPv6 key to, and the widest range it may block. */
export const MIN_IPV6_PREFIX = 32;
/** Default IPv4 prefix: one /24 is the usual unit of hosting and of abuse. */
export const DEFAULT_IPV4_PREFIX = 24;
/** Default IPv6 prefix: a /64 is one subnet, and one customer can rotate through all of it at will. */
export const DEFAULT_IPV6_PREFIX = 64;

const WIDTH: Readonly<Record<Family, number>> = { IPV4: 32, IPV6: 128 };

// ---------------------------------------------------------------------------------------------
// Parsing
//
// The hot paths (normalizeKeys, planReconcile) parse tens of thousands of keys per run. The
// scanner therefore works on character codes and writes its result into module-level scratch
// state instead of allocating per key; public functions copy it out. Nothing here awaits, so no
// two calls can interleave on the scratch state.

/** Result of the last successful {@link scanAddress}; overwritten by the next call. */
const scanned = { family: 'IPV4' as Family, prefix: 0, w0: 0, w1: 0, w2: 0, w3: 0 };
/** The eight 16-bit groups of the IPv6 address being scanned or formatted. */
const groups: [number, number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0, 0];

/**
 * Parses an IPv4 or IPv6 address, with or without `/prefix`, ignoring surrounding whitespace.
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
 * @returns the parsed address, or `undefined` when the text is not an address we accept.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (!scanAddress(text)) return undefined;
  const { family, prefix, w0, w1, w2, w3 } = scanned;
  return { family, prefix, w0, w1, w2, w3 };
}

/**
 * The range that contains `address` at `prefix`: host bits cleared, in canonical form. An
 * address that already names a wider range keeps its own prefix: this widens, never narrows, so
 * `45.33.0.0/16` collapsed to 24 stays `45.33.0.0/16`.
 *
 * @param prefix - The prefix to widen to, from 0 to the family's width (32 or 128).
 * @throws RangeError when `prefix` is not an integer in that range.
 */
export function collapseToPrefix(address: ParsedAddress, prefix: number): NetworkRange {
  const width = WIDTH[address.family];
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) {
    throw new RangeError(`prefix must be an integer from 0 to ${width} for ${address.family}, got ${prefix}`);
  }
  return networkRange(address, Math.min(prefix, address.prefix));
}

/**
 * Parses a range and returns it in canonical form: host bits cleared, IPv6 in RFC 5952 form,
 * `/32` or `/128` added when no prefix was written. Two spellings of one range
 * (`2001:DB8:0:0::/64`, `2001:db8::/64`) give the same `cidr`.
 *
 * @returns the range, or `undefined` when the text does not parse (see {@link parseAddress}).
 */
export function parseRange(text: string): NetworkRange | undefined {
  return scanAddress(text) ? networkRange(scanned, scanned.prefix) : undefined;
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

/** `address` at `prefix` (which must not exceed its own), host bits cleared. */
function networkRange(address: ParsedAddress, prefix: number): NetworkRange {
  const { family } = address;
  const w0 = maskWord(address.w0, prefix);
  const w1 = maskWord(address.w1, prefix - 32);
  const w2 = maskWord(address.w2, prefix - 64);
  const w3 = maskWord(address.w3, prefix - 96);
  return { family, prefix, w0, w1, w2, w3, cidr: formatRange(family, w0, w1, w2, w3, prefix) };
}

/**
 * A compact identity of a range, to match and order many ranges without formatting them: for
 * IPv4 a number (network address × 64 + prefix), for IPv6 a string of nine UTF-16 code units (the
 * eight 16-bit groups of the network address, then the prefix). Equal keys mean equal ranges, and
 * {@link compareRangeKeys} orders keys as {@link compareRanges} orders ranges. Shared by the
 * core's modules; not a format to store, log or send.
 */
export type RangeKey = number | string;

/**
 * The {@link RangeKey} of an address or range as written (host bits ignored).
 *
 * @returns the key, or `undefined` when the text does not parse (see {@link parseAddress}).
 */
export function rangeKey(text: string): RangeKey | undefined {
  return scanAddress(text) ? scannedKey(scanned.prefix) : undefined;
}

/** Orders range keys as {@link compareRanges} orders ranges: IPv4 first, then by address, then wider first. */
export function compareRangeKeys(a: RangeKey, b: RangeKey): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  // Code units compare as the 16-bit groups they hold, so text order is numeric order.
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * `keys` in {@link compareRangeKeys} order, sorted cheaply: IPv4 keys as a
 * Float64Array (numeric order, in native code, three times as fast as a comparator) and IPv6
 * keys by code units (their numeric order) with a comparator that needs no type checks.
 */
function sortedRangeKeys(keys: Iterable<RangeKey>): RangeKey[] {
  const numbers: number[] = [];
  const strings: string[] = [];
  for (const key of keys) {
    if (typeof key === 'number') numbers.push(key);
    else strings.push(key);
  }
  const sorted: RangeKey[] = [];
  for (const key of Float64Array.from(numbers).sort()) sorted.push(key);
  for (const key of strings.sort(compareStrings)) sorted.push(key);
  return sorted;
}

/** Code-unit order; the default sort would convert both operands with ToString on every comparison. */
function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** The canonical text of the range a {@link RangeKey} stands for. */
export function cidrOfKey(key: RangeKey): Cidr {
  if (typeof key === 'number') return formatRange('IPV4', Math.floor(key / 64), 0, 0, 0, key % 64);
  const word = (i: number): number => key.charCodeAt(i) * 65536 + key.charCodeAt(i + 1);
  return formatRange('IPV6', word(0), word(2), word(4), word(6), key.charCodeAt(8));
}

/** The key of {@link scanned} at `prefix` (at most its own). */
function scannedKey(prefix: number): RangeKey {
  const m0 = maskWord(scanned.w0, prefix);
  if (scanned.family === 'IPV4') return m0 * 64 + prefix;
  const m1 = maskWord(scanned.w1, prefix - 32);
  const m2 = maskWord(scanned.w2, prefix - 64);
  const m3 = maskWord(scanned.w3, prefix - 96);
  // One small allocation; decimal or hex text of the words would cost several.
  return String.fromCharCode(
    m0 >>> 16,
    m0 & 0xffff,
    m1 >>> 16,
    m1 & 0xffff,
    m2 >>> 16,
    m2 & 0xffff,
    m3 >>> 16,
    m3 & 0xffff,
    prefix,
  );
}

/** Parses `text` into {@link scanned}; false when it is not an address we accept. */
function scanAddress(text: string): boolean {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
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
    setScanned('IPV4', prefix < 0 ? 32 : prefix, value, 0, 0, 0);
    return true;
  }

  if (prefix > 128 || !scanIpv6(text, start, addressEnd)) return false;
  const w0 = groups[0] * 65536 + groups[1];
  const w1 = groups[2] * 65536 + groups[3];
  const w2 = groups[4] * 65536 + groups[5];
  const w3 = groups[6] * 65536 + groups[7];
  const width = prefix < 0 ? 128 : prefix;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff && width >= 96) setScanned('IPV4', width - 96, w3, 0, 0, 0);
  else setScanned('IPV6', width, w0, w1, w2, w3);
  return true;
}

function setScanned(family: Family, prefix: number, w0: number, w1: number, w2: number, w3: number): void {
  scanned.family = family;
  scanned.prefix = prefix;
  scanned.w0 = w0;
  scanned.w1 = w1;
  scanned.w2 = w2;
  scanned.w3 = w3;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff;
}

/** The decimal prefix in text[start, end), or -1. */
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

/** Strict four-part decimal in text[start, end), as `ipaddr.IPv4.isValidFourPartDecimal`: the address as a uint32, or -1. */
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
  // IPv4-mapped, since only `::ffff:` means "this IPv4 host" (RFC 4291 section 2.5.5).
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

// ---------------------------------------------------------------------------------------------
// Word arithmetic and formatting

/** `word` with every bit after its first `bits` cleared (all of it kept at 32 or more, none at 0 or less). */
function maskWord(word: number, bits: number): number {
  if (bits >= 32) return word;
  if (bits <= 0) return 0;
  return (word & (0xffffffff << (32 - bits))) >>> 0;
}

/** `word` with every bit after its first `bits` set. */
function fillWord(word: number, bits: number): number {
  if (bits >= 32) return word;
  if (bits <= 0) return 0xffffffff;
  return (word | (0xffffffff >>> bits)) >>> 0;
}

/**
 * Numeric order of ranges: IPv4 before IPv6, then by network address, then wider first. This is
 * the order of every list the core returns, so that runs and diffs are reproducible.
 */
export function compareRanges(a: ParsedAddress, b: ParsedAddress): number {
  if (a.family !== b.family) return a.family === 'IPV4' ? -1 : 1;
  return a.w0 - b.w0 || a.w1 - b.w1 || a.w2 - b.w2 || a.w3 - b.w3 || a.prefix - b.prefix;
}

function formatRange(family: Family, w0: number, w1: number, w2: number, w3: number, prefix: number): Cidr {
  if (family === 'IPV4') {
    const a = DECIMAL_BYTE[w0 >>> 24] as string;
    const b = DECIMAL_BYTE[(w0 >>> 16) & 255] as string;
    const c = DECIMAL_BYTE[(w0 >>> 8) & 255] as string;
    const d = DECIMAL_BYTE[w0 & 255] as string;
    return `${a}.${b}.${c}.${d}/${DECIMAL_BYTE[prefix] as string}`;
  }
  return formatIpv6(w0, w1, w2, w3, prefix);
}

/**
 * Text of every byte value: decimal (IPv4 octets), hex without leading zeros (a group's high
 * byte, or a group below 0x100) and two-digit hex (a group's low byte). Formatting a few thousand
 * ranges per run from these allocates one short string per group at most, where building each
 * group digit by digit, or `Number#toString`, allocated several.
 */
const DECIMAL_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX_BYTE_PADDED: readonly string[] = HEX_BYTE.map((hex) => hex.padStart(2, '0'));

/** A 16-bit group in lower-case hex without leading zeros. */
function hexGroup(group: number): string {
  if (group < 0x100) return HEX_BYTE[group] as string;
  return (HEX_BYTE[group >>> 8] as string) + (HEX_BYTE_PADDED[group & 255] as string);
}

/** RFC 5952, with `/prefix`: lower-case hex without leading zeros; the longest run of two or more zero groups (the first on a tie) becomes `::`. */
function formatIpv6(w0: number, w1: number, w2: number, w3: number, prefix: number): Cidr {
  groups[0] = w0 >>> 16;
  groups[1] = w0 & 0xffff;
  groups[2] = w1 >>> 16;
  groups[3] = w1 & 0xffff;
  groups[4] = w2 >>> 16;
  groups[5] = w2 & 0xffff;
  groups[6] = w3 >>> 16;
  groups[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart === -1) runStart = i;
    } else if (runStart !== -1) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }
  // Joined once from parts: `+=` would build a chain of cons strings that V8 flattens (copies
  // again) the first time the range is hashed or scanned, which every range of a run is.
  parts.length = 0;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push('::');
      i += bestLength - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLength) parts.push(':');
    parts.push(hexGroup(groups[i] ?? 0));
  }
  parts.push('/', DECIMAL_BYTE[prefix] as string);
  return parts.join('');
}

/** Scratch for {@link formatIpv6}. */
const parts: string[] = [];

// ---------------------------------------------------------------------------------------------
// Range tables: special-purpose blocks and the allowlist

/**
 * A set of ranges of both families, answering "does this range intersect any of them?" in
 * O(log n): the ranges are merged into disjoint intervals sorted by first address, per family,
 * each bound stored flat as four words.
 */
class IntervalIndex {
  private readonly firsts: Record<Family, number[]> = { IPV4: [], IPV6: [] };
  private readonly lasts: Record<Family, number[]> = { IPV4: [], IPV6: [] };

  constructor(ranges: Iterable<ParsedAddress>) {
    const sorted = [...ranges].map((range) => networkRange(range, range.prefix)).sort(compareRanges);
    for (const range of sorted) {
      const firsts = this.firsts[range.family];
      const lasts = this.lasts[range.family];
      const [l0, l1, l2, l3] = lastAddress(range);
      const previous = lasts.length - 4;
      // CIDR ranges nest or are disjoint, and these are sorted by first address: a range that
      // starts inside the previous interval can only extend it.
      if (previous >= 0 && compareAt(lasts, previous, range.w0, range.w1, range.w2, range.w3) >= 0) {
        if (compareAt(lasts, previous, l0, l1, l2, l3) < 0) lasts.splice(previous, 4, l0, l1, l2, l3);
      } else {
        firsts.push(range.w0, range.w1, range.w2, range.w3);
        lasts.push(l0, l1, l2, l3);
      }
    }
  }

  /** True when `range` (host bits cleared) intersects a stored interval. */
  intersects(range: ParsedAddress): boolean {
    const firsts = this.firsts[range.family];
    const [l0, l1, l2, l3] = lastAddress(range);
    // The last interval that starts at or before the range's last address is the only one that
    // can reach back to its first address.
    let low = 0;
    let high = firsts.length / 4 - 1;
    let candidate = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (compareAt(firsts, mid * 4, l0, l1, l2, l3) <= 0) {
        candidate = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return (
      candidate >= 0 && compareAt(this.lasts[range.family], candidate * 4, range.w0, range.w1, range.w2, range.w3) >= 0
    );
  }
}

/** The last address of `range` (host bits set); IPv4 leaves `w1` to `w3` at 0. */
function lastAddress(range: ParsedAddress): [number, number, number, number] {
  const { prefix } = range;
  if (range.family === 'IPV4') return [fillWord(range.w0, prefix), 0, 0, 0];
  return [
    fillWord(range.w0, prefix),
    fillWord(range.w1, prefix - 32),
    fillWord(range.w2, prefix - 64),
    fillWord(range.w3, prefix - 96),
  ];
}

/** Order of the four words at `flat[at]` against (w0, w1, w2, w3). */
function compareAt(flat: readonly number[], at: number, w0: number, w1: number, w2: number, w3: number): number {
  return (flat[at] ?? 0) - w0 || (flat[at + 1] ?? 0) - w1 || (flat[at + 2] ?? 0) - w2 || (flat[at + 3] ?? 0) - w3;
}

/** One special-purpose block that is never written to a blocklist. */
export interface SpecialPurposeBlock {
  readonly cidr: Cidr;
  /** What the block is for, as the registry names it. */
  readonly name: string;
  /** Where it is defined. */
  readonly rfc: string;
}

/**
 * Ranges that are not globally reachable unicast space: blocking them protects nothing and risks
 * cutting off the site's own infrastructure (health checks, NAT, VPC peers). Sources: RFC 6890
 * and the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry), plus everything outside IPv6
 * global unicast 2000::/3 (RFC 4291 section 2.4), written as its three complements. A range that
 * overlaps any of these, in either direction, is refused.
 */
export const SPECIAL_PURPOSE_BLOCKS: readonly SpecialPurposeBlock[] = [
  { cidr: '0.0.0.0/8', name: 'this network', rfc: 'RFC 791' },
  { cidr: '10.0.0.0/8', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '100.64.0.0/10', name: 'shared address space (carrier-grade NAT)', rfc: 'RFC 6598' },
  { cidr: '127.0.0.0/8', name: 'loopback', rfc: 'RFC 1122' },
  { cidr: '169.254.0.0/16', name: 'link local', rfc: 'RFC 3927' },
  { cidr: '172.16.0.0/12', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.2.0/24', name: 'documentation (TEST-NET-1)', rfc: 'RFC 5737' },
  { cidr: '192.88.99.0/24', name: '6to4 relay anycast', rfc: 'RFC 7526' },
  { cidr: '192.168.0.0/16', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '198.18.0.0/15', name: 'benchmarking', rfc: 'RFC 2544' },
  { cidr: '198.51.100.0/24', name: 'documentation (TEST-NET-2)', rfc: 'RFC 5737' },
  { cidr: '203.0.113.0/24', name: 'documentation (TEST-NET-3)', rfc: 'RFC 5737' },
  { cidr: '224.0.0.0/4', name: 'multicast', rfc: 'RFC 5771' },
  { cidr: '240.0.0.0/4', name: 'reserved', rfc: 'RFC 1112' },
  { cidr: '255.255.255.255/32', name: 'limited broadcast', rfc: 'RFC 919' },
  { cidr: '::/128', name: 'unspecified address', rfc: 'RFC 4291' },
  { cidr: '::1/128', name: 'loopback', rfc: 'RFC 4291' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped (only when written with a prefix below 96)', rfc: 'RFC 4291' },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 translation', rfc: 'RFC 6052' },
  { cidr: '64:ff9b:1::/48', name: 'local-use IPv4-IPv6 translation', rfc: 'RFC 8215' },
  { cidr: '100::/64', name: 'discard only', rfc: 'RFC 6666' },
  { cidr: '2001::/23', name: 'IETF protocol assignments (incl. Teredo 2001::/32)', rfc: 'RFC 2928' },
  { cidr: '2001:db8::/32', name: 'documentation', rfc: 'RFC 3849' },
  { cidr: '2002::/16', name: '6to4', rfc: 'RFC 3056' },
  { cidr: '3fff::/20', name: 'documentation', rfc: 'RFC 9637' },
  { cidr: 'fc00::/7', name: 'unique local', rfc: 'RFC 4193' },
  { cidr: 'fe80::/10', name: 'link-local unicast', rfc: 'RFC 4291' },
  { cidr: 'ff00::/8', name: 'multicast', rfc: 'RFC 4291' },
  { cidr: '::/3', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
  { cidr: '4000::/2', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
  { cidr: '8000::/1', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
];

// Mapped addresses parse as IPv4, so ::ffff:0:0/96 would read as 0.0.0.0/0 and flag every IPv4
// range. It is listed for the record; ranges written under it with a prefix below 96 stay IPv6
// and are caught by ::/3.
const SPECIAL_PURPOSE_INDEX = new IntervalIndex(
  SPECIAL_PURPOSE_BLOCKS.filter((block) => block.cidr !== '::ffff:0:0/96').map((block) => {
    const range = parseRange(block.cidr);
    if (range === undefined) throw new Error(`special-purpose block ${block.cidr} does not parse`);
    return range;
  }),
);

/**
 * True when `range` overlaps a special-purpose block (see {@link SPECIAL_PURPOSE_BLOCKS}), i.e.
 * is not entirely globally reachable unicast space.
 */
export function isNonGlobal(range: NetworkRange): boolean {
  return SPECIAL_PURPOSE_INDEX.intersects(range);
}

/**
 * The operator's ranges that must never be blocked (their office, monitoring, partners). Checked
 * in the blocker as well as by the WAF allow rule, so that a key in an allowlisted range never
 * reaches the blocklist even if the allow rule is misconfigured.
 */
export class Allowlist {
  /** The entries in canonical form, in {@link compareRanges} order, without duplicates. */
  readonly entries: readonly Cidr[];
  private readonly index: IntervalIndex;

  /**
   * @param entries - IPv4 and IPv6 addresses or CIDR ranges; host bits are ignored.
   * @throws Error naming the first entry that does not parse.
   */
  constructor(entries: Iterable<string>) {
    const ranges: NetworkRange[] = [];
    for (const entry of entries) {
      const range = parseRange(entry);
      if (range === undefined) throw new Error(`allowlist entry "${entry}" is not an IPv4 or IPv6 address or range`);
      ranges.push(range);
    }
    this.entries = [...new Set(ranges.sort(compareRanges).map((range) => range.cidr))];
    this.index = new IntervalIndex(ranges);
  }

  /**
   * True when `range` and an allowlist entry intersect, whichever contains the other: an
   * allowlisted /16 covers the /24 we would block, and an allowlisted /32 inside that /24 must not
   * be blocked together with its neighbours either.
   *
   * @param range - A range, or its text (any form {@link parseAddress} accepts).
   * @throws RangeError when `range` is text that does not parse.
   */
  overlaps(range: NetworkRange | string): boolean {
    if (typeof range !== 'string') return this.index.intersects(range);
    const parsed = parseRange(range);
    if (parsed === undefined) throw new RangeError(`"${range}" is not an IPv4 or IPv6 address or range`);
    return this.index.intersects(parsed);
  }
}

// ---------------------------------------------------------------------------------------------
// Normalization

/** How keys become ranges. */
export interface NormalizePolicy {
  /** Prefix IPv4 keys are widened to, from 8 to 32. @default 24 */
  readonly ipv4Prefix: number;
  /** Prefix IPv6 keys are widened to, from 32 to 128. @default 64 */
  readonly ipv6Prefix: number;
  /** Ranges never to block. @default an empty allowlist */
  readonly allowlist: Allowlist;
}

/**
 * Builds a {@link NormalizePolicy}, filling in defaults.
 *
 * @throws RangeError naming `ipv4Prefix` or `ipv6Prefix` when it is not an integer within its bounds.
 * @throws Error naming an allowlist entry that does not parse, when entries are given as text.
 */
export function createNormalizePolicy(
  options: {
    readonly ipv4Prefix?: number;
    readonly ipv6Prefix?: number;
    readonly allowlist?: Allowlist | Iterable<string>;
  } = {},
): NormalizePolicy {
  const allowlist = options.allowlist ?? [];
  const policy: NormalizePolicy = {
    ipv4Prefix: options.ipv4Prefix ?? DEFAULT_IPV4_PREFIX,
    ipv6Prefix: options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX,
    allowlist: allowlist instanceof Allowlist ? allowlist : new Allowlist(allowlist),
  };
  assertPolicy(policy);
  return policy;
}

function assertPolicy(policy: NormalizePolicy): void {
  const check = (field: 'ipv4Prefix' | 'ipv6Prefix', min: number, max: number): void => {
    const value = policy[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  check('ipv4Prefix', MIN_IPV4_PREFIX, 32);
  check('ipv6Prefix', MIN_IPV6_PREFIX, 128);
}

/** A key that did not become a sighting, and why. */
export interface RejectedKey {
  readonly key: string;
  readonly reason: RejectReason;
}

/** The outcome of {@link normalizeKeys}. */
export interface NormalizedKeys {
  /** One per range, in {@link compareRanges} order. */
  readonly sightings: Sighting[];
  /** One per refused key, in input order. */
  readonly rejected: RejectedKey[];
}

interface RangeTally {
  readonly key: RangeKey;
  readonly family: Family;
  readonly cidr: Cidr;
  readonly verdict: RejectReason | undefined;
  hits: number;
}

/**
 * Turns the keys one source reported (e.g. the addresses a rate rule is limiting) into the ranges
 * to block: each key is widened to the policy's prefix (a wider key keeps its own), keys in the
 * same range become one sighting whose `hits` is the number of keys, and keys whose range is /0,
 * wider than /8 or /32, non-global or allowlisted are refused with the reason.
 *
 * @param source - Recorded on every sighting, e.g. the rate rule's name.
 * @throws RangeError naming `ipv4Prefix` or `ipv6Prefix` when the policy's prefix is out of bounds.
 */
export function normalizeKeys(keys: Iterable<string>, source: string, policy: NormalizePolicy): NormalizedKeys {
  assertPolicy(policy);
  const rejected: RejectedKey[] = [];
  // Rate rules report many hosts of one range: decide each range once.
  const tallies = new Map<RangeKey, RangeTally>();

  for (const key of keys) {
    if (!scanAddress(key)) {
      rejected.push({ key, reason: 'unparsable' });
      continue;
    }
    if (scanned.prefix === 0) {
      rejected.push({ key, reason: 'zero-prefix' });
      continue;
    }
    const isV4 = scanned.family === 'IPV4';
    const prefix = Math.min(scanned.prefix, isV4 ? policy.ipv4Prefix : policy.ipv6Prefix);
    if (prefix < (isV4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX)) {
      rejected.push({ key, reason: 'too-wide' });
      continue;
    }
    const tallyKey = scannedKey(prefix);
    let tally = tallies.get(tallyKey);
    if (tally === undefined) {
      const range = networkRange(scanned, prefix);
      tally = {
        key: tallyKey,
        family: range.family,
        cidr: range.cidr,
        verdict: judge(range, policy.allowlist),
        hits: 0,
      };
      tallies.set(tallyKey, tally);
    }
    if (tally.verdict === undefined) tally.hits++;
    else rejected.push({ key, reason: tally.verdict });
  }

  const accepted: RangeKey[] = [];
  for (const tally of tallies.values()) if (tally.verdict === undefined) accepted.push(tally.key);
  const sightings: Sighting[] = [];
  for (const key of sortedRangeKeys(accepted)) {
    const { cidr, family, hits } = tallies.get(key) as RangeTally;
    sightings.push({ range: cidr, family, source, hits });
  }
  return { sightings, rejected };
}

function judge(range: NetworkRange, allowlist: Allowlist): RejectReason | undefined {
  if (isNonGlobal(range)) return 'non-global';
  if (allowlist.overlaps(range)) return 'allowlisted';
  return undefined;
}

/** One range being merged, and its hits so far by source. */
interface MergeTally {
  readonly key: RangeKey;
  readonly family: Family;
  /** The range as the first sighting of it spelled it. */
  readonly range: Cidr;
  hits: number;
  /** The source with the most hits so far, and its hits; a map only once a second source appears. */
  source: string;
  sourceHits: number;
  bySource: Map<string, number> | undefined;
}

/**
 * Merges the sightings of several sources (one list per rate rule, ban feed, ...) into one per
 * range: hits are summed, and the source is the one that contributed most hits to the range
 * (alphabetically first on a tie), so reports name the rule that did most of the work.
 *
 * Ranges are matched by value, so two spellings of one range merge; the output keeps the first
 * spelling seen (sightings from {@link normalizeKeys} are canonical already).
 *
 * @returns one sighting per range, in {@link compareRanges} order.
 * @throws RangeError when a sighting's range does not parse.
 */
export function mergeSightings(lists: readonly (readonly Sighting[])[]): Sighting[] {
  const byKey = new Map<RangeKey, MergeTally>();
  for (const list of lists) {
    for (const sighting of list) {
      const key = rangeKey(sighting.range);
      if (key === undefined) throw new RangeError(`sighting range "${sighting.range}" does not parse`);
      let tally = byKey.get(key);
      if (tally === undefined) {
        tally = {
          key,
          family: sighting.family,
          range: sighting.range,
          hits: 0,
          source: sighting.source,
          sourceHits: 0,
          bySource: undefined,
        };
        byKey.set(key, tally);
      }
      addHits(tally, sighting.source, sighting.hits);
    }
  }
  const tallies = [...byKey.values()].sort((a, b) => compareRangeKeys(a.key, b.key));
  return tallies.map(({ range, family, source, hits }): Sighting => ({ range, family, source, hits }));
}

function addHits(tally: MergeTally, source: string, hits: number): void {
  tally.hits += hits;
  if (tally.bySource === undefined && source === tally.source) {
    tally.sourceHits += hits;
    return;
  }
  const bySource = (tally.bySource ??= new Map([[tally.source, tally.sourceHits]]));
  const total = (bySource.get(source) ?? 0) + hits;
  bySource.set(source, total);
  if (total > tally.sourceHits || (total === tally.sourceHits && source < tally.source)) {
    tally.source = source;
    tally.sourceHits = total;
  }
}
