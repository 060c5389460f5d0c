/**
 * Canonical CIDR text of a range held as four address words: dotted decimal IPv4, RFC 5952 IPv6,
 * always with `/prefix`. It prints exactly what ipaddr.js's `toString()` prints
 * (`test/lambdas/core/address.property.test.ts` checks it).
 *
 * A run formats a few thousand ranges: the text is assembled from precomputed byte strings and
 * this module's own scratch arrays, so one range costs one join, not a string per digit.
 */
import type { Cidr, Family } from './types';

/**
 * Text of every byte value: decimal (IPv4 octets), hex without leading zeros (a group's high
 * byte, or a group below 0x100) and two-digit hex (a group's low byte).
 */
const DECIMAL_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX_BYTE_PADDED: readonly string[] = HEX_BYTE.map((hex) => hex.padStart(2, '0'));
/** Each byte's decimal text and a dot, and each prefix's text after a slash: an IPv4 range is four joins. */
const DOTTED_BYTE: readonly string[] = DECIMAL_BYTE.map((text) => `${text}.`);
const SLASH_PREFIX: readonly string[] = Array.from({ length: 129 }, (_, i) => `/${i}`);

/** Scratch of {@link formatIpv6}: the eight 16-bit groups, and the parts of the text. */
const groups: [number, number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0, 0];
const parts: string[] = [];

/**
 * The canonical text of a range.
 *
 * @param w0 - The address as four big-endian unsigned 32-bit words; IPv4 uses `w0` only. Host
 *   bits are printed as given: clear them first for a network address.
 * @param prefix - 0 to 32 (IPv4) or 0 to 128 (IPv6).
 */
export function formatCidr(family: Family, w0: number, w1: number, w2: number, w3: number, prefix: number): Cidr {
  return family === 'IPV4' ? formatIpv4(w0, prefix) : formatIpv6(w0, w1, w2, w3, prefix);
}

/**
 * The canonical text of an IPv4 range: {@link formatCidr} for IPv4, for a caller that formats
 * many IPv4 ranges and no other (normalizeKeys; docs/blocker.md, "Fewer functions on the path").
 *
 * @param w0 - The address as an unsigned 32-bit number; host bits are printed as given.
 * @param prefix - 0 to 32.
 */
export function formatIpv4(w0: number, prefix: number): Cidr {
  // Four joins of precomputed parts; a short result is copied at each join, so fewer is cheaper
  // (a first run formats 10,000 of these before its first block).
  const a = DOTTED_BYTE[w0 >>> 24] as string;
  const b = DOTTED_BYTE[(w0 >>> 16) & 255] as string;
  const c = DOTTED_BYTE[(w0 >>> 8) & 255] as string;
  const d = DECIMAL_BYTE[w0 & 255] as string;
  return a + b + c + d + (SLASH_PREFIX[prefix] as string);
}

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
