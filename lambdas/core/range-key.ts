/**
 * A compact identity of a range, to match, count and order many ranges without formatting them:
 * what normalization, merging and reconcile use as map keys.
 */
import { formatCidr, formatIpv4 } from './cidr-format';
import { createAddressScan, scanAddress, type AddressScan } from './ip-parse';
import { maskWord, type NetworkRange } from './network-range';
import type { Cidr } from './types';

/**
 * A compact identity of a range: for IPv4 a number (network address × 64 + prefix), for IPv6 a
 * string of nine UTF-16 code units (the eight 16-bit groups of the network address, then the
 * prefix). Equal keys mean equal ranges, and {@link compareRangeKeys} orders keys as
 * `compareRanges` orders ranges. Shared by the core's modules; not a format to store, log or send.
 */
export type RangeKey = number | string;

/** This module's scratch for {@link rangeKey}. */
const scanned = createAddressScan();

/**
 * The {@link RangeKey} of an address or range as written (host bits ignored).
 *
 * @returns the key, or `undefined` when the text does not parse (see `parseAddress`).
 */
export function rangeKey(text: string): RangeKey | undefined {
  return scanAddress(text, scanned) ? scanRangeKey(scanned, scanned.prefix) : undefined;
}

/**
 * The key of a scanned address at `prefix`, which must not exceed the scanned prefix: the key
 * without an intermediate range object. `scanIpv4CidrRun` (./ip-parse) makes IPv4 keys the same
 * way, written out: change both (its property test compares the two).
 */
export function scanRangeKey(scan: AddressScan, prefix: number): RangeKey {
  const m0 = maskWord(scan.w0, prefix);
  if (scan.family === 'IPV4') return m0 * 64 + prefix;
  const m1 = maskWord(scan.w1, prefix - 32);
  const m2 = maskWord(scan.w2, prefix - 64);
  const m3 = maskWord(scan.w3, prefix - 96);
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

/** Orders range keys as `compareRanges` orders ranges: IPv4 first, then by address, then wider first. */
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
export function sortedRangeKeys(keys: Iterable<RangeKey>): RangeKey[] {
  const numbers: number[] = [];
  const strings: string[] = [];
  for (const key of keys) {
    if (typeof key === 'number') numbers.push(key);
    else strings.push(key);
  }
  // Indexed loops: a first big run meets this code before V8 has compiled it, and an iterator
  // per element costs several times more there.
  const ordered = Float64Array.from(numbers).sort();
  const sorted: RangeKey[] = [];
  for (let i = 0; i < ordered.length; i++) sorted.push(ordered[i] as number);
  strings.sort(compareStrings);
  for (let i = 0; i < strings.length; i++) sorted.push(strings[i] as string);
  return sorted;
}

/** Code-unit order; the default sort would convert both operands with ToString on every comparison. */
function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * The IPv4 range a numeric {@link RangeKey} stands for (network address × 64 + prefix), with its
 * canonical text. normalizeKeys makes its ranges from their keys the same way, written out.
 */
export function ipv4RangeOfKey(key: number): NetworkRange {
  const prefix = key % 64;
  // A key's address has its host bits cleared already (scanRangeKey): no masking to do.
  const w0 = (key - prefix) / 64;
  return { family: 'IPV4', prefix, w0, w1: 0, w2: 0, w3: 0, cidr: formatIpv4(w0, prefix) };
}

/** The canonical text of the range a {@link RangeKey} stands for. */
export function cidrOfKey(key: RangeKey): Cidr {
  if (typeof key === 'number') return ipv4RangeOfKey(key).cidr;
  const word = (i: number): number => key.charCodeAt(i) * 65536 + key.charCodeAt(i + 1);
  return formatCidr('IPV6', word(0), word(2), word(4), word(6), key.charCodeAt(8));
}
