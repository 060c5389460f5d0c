/**
 * A set of ranges of both families that answers "does this range intersect any of them?" in
 * O(log n): the table behind the allowlist and the special-purpose blocks.
 */
import { compareRanges, fillWord, lastAddress, networkRange, type ParsedAddress } from './network-range';
import type { Family } from './types';

/**
 * Ranges of both families, merged into disjoint intervals sorted by first address, per family,
 * each bound stored flat as four words.
 */
export class IntervalIndex {
  private readonly firsts: Record<Family, number[]> = { IPV4: [], IPV6: [] };
  private readonly lasts: Record<Family, number[]> = { IPV4: [], IPV6: [] };
  private ipv4: number[] | undefined;

  /** @param ranges - Ranges of either family, in any order; host bits are ignored. */
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

  /**
   * The IPv4 intervals as numbers, flat and in address order: the first and last address of each
   * (`[first0, last0, first1, last1, ...]`, each an unsigned 32-bit address). For a caller that
   * takes many ranges in address order (normalizeKeys): it walks the intervals beside them, one
   * comparison per range, where {@link intersects} searches them for each. Made once, then kept.
   */
  ipv4Bounds(): readonly number[] {
    if (this.ipv4 !== undefined) return this.ipv4;
    const firsts = this.firsts.IPV4;
    const lasts = this.lasts.IPV4;
    const bounds: number[] = [];
    for (let at = 0; at < firsts.length; at += 4) bounds.push(firsts[at] ?? 0, lasts[at] ?? 0);
    this.ipv4 = bounds;
    return bounds;
  }

  /** True when `range` (host bits cleared) intersects a stored interval. */
  intersects(range: ParsedAddress): boolean {
    const firsts = this.firsts[range.family];
    // Word by word, not lastAddress's array: each key of a run is judged here twice.
    const { prefix } = range;
    const l0 = fillWord(range.w0, prefix);
    const l1 = range.family === 'IPV4' ? 0 : fillWord(range.w1, prefix - 32);
    const l2 = range.family === 'IPV4' ? 0 : fillWord(range.w2, prefix - 64);
    const l3 = range.family === 'IPV4' ? 0 : fillWord(range.w3, prefix - 96);
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

/** Order of the four words at `flat[at]` against (w0, w1, w2, w3). */
function compareAt(flat: readonly number[], at: number, w0: number, w1: number, w2: number, w3: number): number {
  return (flat[at] ?? 0) - w0 || (flat[at + 1] ?? 0) - w1 || (flat[at + 2] ?? 0) - w2 || (flat[at + 3] ?? 0) - w3;
}
