/**
 * What the IP set writes of a run did to each range an unban ended: the write took it out of a
 * set, or the set no longer held it (removed by hand or by another tool, or it never fitted), so
 * there was nothing to remove. Worked out from the plans the writes carried out. No AWS imports.
 */
import { asSeenBySet, IpSetIndex, type ReconcilePlan } from '#core/reconcile';
import type { Cidr, Family, LedgerEntry } from '#core/types';
import type { ActionOutcome } from './actions';

/** One IP set a run wrote (or, on a dry run, would have written), with the plan of that write. */
export interface WrittenSet {
  /** For people: a blocklist's name, e.g. `blocklist-v4`; a shared set's `name (region)`. */
  readonly label: string;
  readonly family: Family;
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
 * For each `unbanned` or `released` outcome (once per range, in their order), the sets its range
 * was removed from and those it was already absent from. Sets that hold the range as someone
 * else's (`preexisting` there) are in neither list: the range stays in them.
 *
 * A family's blocklist sets (no `sharedArn`) are one blocklist: a range is placed in one of them,
 * so it is removed from the set that held it (itself, or inside an aggregate the write split), and
 * is already absent from all of them only when none held it. A shared set stands alone.
 *
 * @param ended - The ledger entries the unbans ended, by range.
 * @param sets - The sets whose writes succeeded (a set whose write failed removed nothing); a
 *   family's blocklist sets all of them or none, since one that is missing cannot say it held nothing.
 */
export function removalsOf(
  outcomes: readonly ActionOutcome[],
  ended: ReadonlyMap<Cidr, LedgerEntry>,
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
  const removals: RangeRemoval[] = [];
  const done = new Set<Cidr>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'unbanned' && outcome.status !== 'released') continue;
    const entry = ended.get(outcome.range);
    if (entry === undefined || done.has(entry.range)) continue;
    done.add(entry.range);
    const removal: RangeRemoval = { range: entry.range, removedFrom: [], alreadyAbsentFrom: [] };
    const blocklist = { removedFrom: [] as string[], absentFrom: [] as string[] };
    for (const set of sets) {
      if (set.family !== entry.family) continue;
      const [asSeen] = asSeenBySet([entry], set.sharedArn);
      if (asSeen?.preexisting === true) continue;
      const wasRemoved = removed(set).has(entry.range);
      if (set.sharedArn === undefined) (wasRemoved ? blocklist.removedFrom : blocklist.absentFrom).push(set.label);
      else (wasRemoved ? removal.removedFrom : removal.alreadyAbsentFrom).push(set.label);
    }
    // The blocklist first, as the sets are listed: its sets come before the shared ones.
    if (blocklist.removedFrom.length > 0) removal.removedFrom.unshift(...blocklist.removedFrom);
    else removal.alreadyAbsentFrom.unshift(...blocklist.absentFrom);
    removals.push(removal);
  }
  return removals;
}
