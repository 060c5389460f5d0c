/**
 * Merging: the sightings of several sources (rate rules, bans, the feed) become one per range.
 */
import { compareRangeKeys, rangeKey, type RangeKey } from './range-key';
import type { Cidr, Family, Sighting } from './types';

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
 * @returns one sighting per range, in `compareRanges` order.
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
