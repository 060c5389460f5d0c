/**
 * An address or range as numbers: four big-endian unsigned 32-bit words (IPv4 uses the first), so
 * masking, containment and ordering are a few integer operations. The word arithmetic every other
 * address module builds on lives here.
 */
import { formatCidr } from './cidr-format';
import type { Cidr, Family } from './types';

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

/** Bits in an address of each family. */
export const ADDRESS_WIDTH: Readonly<Record<Family, number>> = { IPV4: 32, IPV6: 128 };

/** `word` with every bit after its first `bits` cleared (all of it kept at 32 or more, none at 0 or less). */
export function maskWord(word: number, bits: number): number {
  if (bits >= 32) return word;
  if (bits <= 0) return 0;
  return (word & (0xffffffff << (32 - bits))) >>> 0;
}

/** `word` with every bit after its first `bits` set. */
export function fillWord(word: number, bits: number): number {
  if (bits >= 32) return word;
  if (bits <= 0) return 0xffffffff;
  return (word | (0xffffffff >>> bits)) >>> 0;
}

/** `address` at `prefix` (which must not exceed its own), host bits cleared, with its canonical text. */
export function networkRange(address: ParsedAddress, prefix: number): NetworkRange {
  const { family } = address;
  const w0 = maskWord(address.w0, prefix);
  const w1 = maskWord(address.w1, prefix - 32);
  const w2 = maskWord(address.w2, prefix - 64);
  const w3 = maskWord(address.w3, prefix - 96);
  return { family, prefix, w0, w1, w2, w3, cidr: formatCidr(family, w0, w1, w2, w3, prefix) };
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
  const width = ADDRESS_WIDTH[address.family];
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) {
    throw new RangeError(`prefix must be an integer from 0 to ${width} for ${address.family}, got ${prefix}`);
  }
  return networkRange(address, Math.min(prefix, address.prefix));
}

/** The last address of `range` (host bits set); IPv4 leaves `w1` to `w3` at 0. */
export function lastAddress(range: ParsedAddress): [number, number, number, number] {
  const { prefix } = range;
  if (range.family === 'IPV4') return [fillWord(range.w0, prefix), 0, 0, 0];
  return [
    fillWord(range.w0, prefix),
    fillWord(range.w1, prefix - 32),
    fillWord(range.w2, prefix - 64),
    fillWord(range.w3, prefix - 96),
  ];
}

/**
 * Numeric order of ranges: IPv4 before IPv6, then by network address, then wider first. This is
 * the order of every list the core returns, so that runs and diffs are reproducible.
 */
export function compareRanges(a: ParsedAddress, b: ParsedAddress): number {
  if (a.family !== b.family) return a.family === 'IPV4' ? -1 : 1;
  return a.w0 - b.w0 || a.w1 - b.w1 || a.w2 - b.w2 || a.w3 - b.w3 || a.prefix - b.prefix;
}
