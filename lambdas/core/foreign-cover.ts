/**
 * Entries of the blocklists that are not ours and cover wider ranges than the ranges we would
 * record inside them.
 *
 * Ownership of a set entry is read from the ledger (./aggregate, `ownedSetEntries`): an entry is
 * ours when it is an owned range, or an aggregate that owned ranges tile exactly. So ranges we
 * record strictly inside someone else's entry can, once they tile it, make that entry look like
 * an aggregate of ours, and their expiry then removes it: a tester hand-added `88.9.0.0/23` during
 * an attack, the rate rule went on listing `88.9.0.5` and `88.9.1.5` for its window, and when the
 * two /24s expired the /23 went with them. The entry blocks those ranges already; the run leaves
 * such sightings out (see lambdas/blocker/run/decide.ts), and records them if they are seen again
 * after the entry's owner took it out.
 *
 * Pure: no AWS imports, no clock.
 */
import { DEFAULT_AGGREGATION_FLOOR, ownedSetEntries, type AggregationFloor } from './aggregate';
import { RangeCover } from './range-cover';
import type { Cidr } from './types';

/** The foreign entries of a family's sets, to ask which of them covers a range. */
export class ForeignCover {
  private readonly cover: RangeCover;

  /**
   * @param sets - The entries of each of the family's sets, as read.
   * @param owned - Canonical CIDRs of the ranges the ledger says are ours (active or due).
   * @param floor - The aggregation floor of the plans. @default DEFAULT_AGGREGATION_FLOOR
   * @throws {RangeError} naming an owned range that is not a range.
   */
  constructor(
    sets: readonly (readonly string[])[],
    owned: Iterable<Cidr>,
    floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR,
  ) {
    const entries = sets.flat();
    this.cover = new RangeCover(entries.length === 0 ? [] : ownedSetEntries(entries, owned, floor).foreign);
  }

  /**
   * The foreign entry, as the set holds it, that covers `range` from a strictly shorter prefix;
   * undefined when there is none (an entry equal to the range does not count: see the ledger's
   * `preexisting`) or `range` does not parse.
   */
  coveringEntry(range: Cidr): string | undefined {
    return this.cover.covering(range);
  }
}
