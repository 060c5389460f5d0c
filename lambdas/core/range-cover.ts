/**
 * Which of a list of CIDR ranges covers a narrower range: one lookup per distinct prefix length
 * of the list, whatever its size. The foreign entries of the blocklists (./foreign-cover) and the
 * ranges an unban names (lambdas/blocker/actions.ts) are asked this of every range of a run.
 *
 * Pure: no AWS imports, no clock.
 */
import { parseRange } from './ip-parse';
import { scanRangeKey, type RangeKey } from './range-key';
import type { Family } from './types';

/** CIDR ranges, to ask which of them covers a range from a strictly shorter prefix. */
export class RangeCover {
  /** The ranges by their {@link RangeKey}, as they were given. */
  private readonly ranges = new Map<RangeKey, string>();
  private readonly prefixes: Record<Family, number[]> = { IPV4: [], IPV6: [] };

  /** @param ranges - CIDR ranges or addresses, as text; those that do not parse are left out. */
  constructor(ranges: Iterable<string> = []) {
    for (const text of ranges) {
      const range = parseRange(text);
      if (range === undefined) continue;
      this.ranges.set(scanRangeKey(range, range.prefix), text);
      const prefixes = this.prefixes[range.family];
      if (!prefixes.includes(range.prefix)) prefixes.push(range.prefix);
    }
  }

  /** Whether no range was given (or none parsed). */
  get empty(): boolean {
    return this.ranges.size === 0;
  }

  /**
   * The range, as it was given, that covers `range` from a strictly shorter prefix; undefined
   * when there is none (a range equal to `range` does not count) or `range` does not parse.
   */
  covering(range: string): string | undefined {
    if (this.ranges.size === 0) return undefined;
    const parsed = parseRange(range);
    if (parsed === undefined) return undefined;
    for (const prefix of this.prefixes[parsed.family]) {
      if (prefix >= parsed.prefix) continue;
      const cover = this.ranges.get(scanRangeKey(parsed, prefix));
      if (cover !== undefined) return cover;
    }
    return undefined;
  }
}
