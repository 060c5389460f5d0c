/**
 * What the IP set writes of a run did to each range an unban ended: the write took it out of a
 * set, or the set no longer held it (removed by hand or by another tool, or it never fitted), so
 * there was nothing to remove. Worked out from the plans the writes carried out. No AWS imports.
 */
import { asSeenBySet, IpSetIndex, type ReconcilePlan } from '#core/reconcile';
import type { Cidr, Family, LedgerEntry, Tier } from '#core/types';
import type { ActionOutcome } from './actions';

/** One IP set a run wrote (or, on a dry run, would have written), with the plan of that write. */
export interface WrittenSet {
  /** For people: a blocklist's name, e.g. `blocklist-v4`; a shared set's `name (region)`. */
  readonly label: string;
  readonly family: Family;
  /**
   * The tier whose list the set holds: `neighbour` for a neighbour set; unset for a Block set and a
   * shared set (shared sets take the block tier only).
   */
  readonly tier?: Tier;
  /** A shared set's ARN, which ledger entries name in `sharedPreexisting` and `sharedSeen`; unset for a blocklist. */
  readonly sharedArn?: string;
  /** The plan the write carried out: after a lock conflict, the one made from the fresh copy. */
  readonly plan: ReconcilePlan;
}

/** What became of one ended block in the IP sets waf-autoblock had written it to. */
export interface RangeRemoval {
  readonly range: Cidr;
  /** Labels of the sets the write took the range out of (a dry run: would have), in the order of the sets. */
  readonly removedFrom: string[];
  /** Labels of the sets that held the range as waf-autoblock's but no longer did: nothing to remove there. */
  readonly alreadyAbsentFrom: string[];
}

/**
 * For each range an `unbanned` or `released` outcome ended (its range, then those it `alsoEnded`;
 * once per range, in their order), the sets it was removed from and those it was already absent
 * from. Sets that hold the range as someone else's (`preexisting` there) are in neither list: the
 * range stays in them.
 *
 * Each ended row is looked for in the sets of its own tier only: a neighbour row in the neighbour
 * sets, a block row in the Block sets and the shared sets. A family's sets of one tier (no
 * `sharedArn`) are one list: a range is placed in one of them, so it is removed from the set that
 * held it (itself, or inside an aggregate the write split), and is already absent from all of them
 * only when none held it. A shared set stands alone.
 *
 * @param ended - The ledger rows the unbans ended, in every tier (a range in both tiers has two).
 * @param sets - The sets whose writes succeeded (a set whose write failed removed nothing); a
 *   list's sets all of them or none, since one that is missing cannot say it held nothing.
 */
export function removalsOf(
  outcomes: readonly ActionOutcome[],
  ended: readonly LedgerEntry[],
  sets: readonly WrittenSet[],
): RangeRemoval[] {
  const removedBySet = new Map<WrittenSet, IpSetIndex>();
  const removed = (set: WrittenSet): IpSetIndex => {
    let index = removedBySet.get(set);
    if (index === undefined) {
      // A range that left inside a split or removed aggregate is not an entry of `removed` itself.
      index = new IpSetIndex([...set.plan.removed, ...(set.plan.released ?? [])]);
      removedBySet.set(set, index);
    }
    return index;
  };
  const rowsByRange = new Map<Cidr, LedgerEntry[]>();
  // The block tier's row first, so that its sets are named before the neighbour sets.
  for (const row of [...ended].sort((a, b) => tierRank(a) - tierRank(b))) {
    rowsByRange.set(row.range, [...(rowsByRange.get(row.range) ?? []), row]);
  }
  const removals: RangeRemoval[] = [];
  const done = new Set<Cidr>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'unbanned' && outcome.status !== 'released') continue;
    const ranges = [outcome.range, ...(outcome.alsoEnded ?? [])];
    for (const range of ranges) {
      const rows = rowsByRange.get(range);
      if (rows === undefined || done.has(range)) continue;
      done.add(range);
      removals.push(removalOf(range, rows, sets, removed));
    }
  }
  return removals;
}

/** Block rows before neighbour rows. */
function tierRank(row: LedgerEntry): number {
  return row.tier === 'neighbour' ? 1 : 0;
}

/** What the writes did to `range`, whose ended rows (one per tier it was in) are `rows`. */
function removalOf(
  range: Cidr,
  rows: readonly LedgerEntry[],
  sets: readonly WrittenSet[],
  removed: (set: WrittenSet) => IpSetIndex,
): RangeRemoval {
  const removal: RangeRemoval = { range, removedFrom: [], alreadyAbsentFrom: [] };
  const shared = { removedFrom: [] as string[], absentFrom: [] as string[] };
  for (const row of rows) {
    const list = { removedFrom: [] as string[], absentFrom: [] as string[] };
    for (const set of sets) {
      if (set.family !== row.family || (set.tier ?? 'block') !== (row.tier ?? 'block')) continue;
      const [asSeen] = asSeenBySet([row], set.sharedArn);
      if (asSeen?.preexisting === true) continue;
      const into = set.sharedArn === undefined ? list : shared;
      (removed(set).has(row.range) ? into.removedFrom : into.absentFrom).push(set.label);
    }
    if (list.removedFrom.length > 0) removal.removedFrom.push(...list.removedFrom);
    else removal.alreadyAbsentFrom.push(...list.absentFrom);
  }
  // The lists first, as the sets are listed: their sets come before the shared ones.
  removal.removedFrom.push(...shared.removedFrom);
  removal.alreadyAbsentFrom.push(...shared.absentFrom);
  return removal;
}
