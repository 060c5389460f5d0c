/**
 * The operator's allowlist as the blocker enforces it, in addition to the WAF allow rule.
 */
import { parseRange } from './ip-parse';
import { compareRanges, type NetworkRange } from './network-range';
import { IntervalIndex } from './range-index';
import type { Cidr, Family } from './types';

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

  /**
   * The allowlist's IPv4 space as disjoint intervals, in address order: see
   * `IntervalIndex.ipv4Bounds` (./range-index).
   */
  ipv4Bounds(): readonly number[] {
    return this.index.ipv4Bounds();
  }
}

/**
 * Allowlist entries split by address family, each in canonical form and without duplicates: what
 * the two WAF allowlist IP sets hold. The family is the parsed one, so an IPv4-mapped IPv6 entry
 * (`::ffff:81.2.69.142`) is the IPv4 entry `81.2.69.142/32`, which is how WAF sees that client.
 *
 * @param entries - Addresses or CIDR ranges; host bits are ignored.
 * @throws RangeError naming the first entry that is not an address or range.
 */
export function allowlistByFamily(entries: Iterable<string>): Record<Family, Cidr[]> {
  const byFamily: Record<Family, Set<Cidr>> = { IPV4: new Set(), IPV6: new Set() };
  for (const entry of entries) {
    const range = parseRange(entry);
    if (range === undefined) throw new RangeError(`allowlist entry "${entry}" is not an IPv4 or IPv6 address or range`);
    byFamily[range.family].add(range.cidr);
  }
  return { IPV4: [...byFamily.IPV4], IPV6: [...byFamily.IPV6] };
}
