/**
 * Phase: write the IP sets. The blocklists and the shared sets are written side by side (they are
 * independent sets), each lock-safe: a WAFOptimisticLockException re-reads that set and plans it
 * again from the fresh copy, never resending a list built from stale data.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { describeIpSet, updateIpSet, type IpSetUpdate } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { indexByRange } from '#core/ledger';
import { asSeenBySet, planReconcile, type ReconcilePlan } from '#core/reconcile';
import { combinedPlan, planShardAgain } from '#core/shard-plan';
import type { Cidr, LedgerEntry } from '#core/types';
import { IpSetWriteError, type WriteError } from '#shared/errors';
import type { RunDecision } from './decide';
import { rowsToRecord } from './intent';
import {
  asWriteError,
  awaitLists,
  familyOfList,
  listKey,
  OVERFLOW_SAMPLE,
  perList,
  setsOf,
  tierOfList,
  type BlockerDeps,
  type FamilyPlan,
  type ListKey,
  type SharedTarget,
  type WriteTally,
} from './types';

/** A set's write as it ended: the plan it carried out and the list it holds. */
export interface SetWrite {
  readonly plan: ReconcilePlan;
  readonly update: IpSetUpdate;
}

/** What the set writes did, per list and per shared set (undefined: the write failed). */
export interface SetWrites {
  /** Each list's sets taken together; undefined when the write of any of them failed. */
  readonly blocklists: Readonly<Record<ListKey, SetWrite | undefined>>;
  /** Each list's sets one by one, in shard order. */
  readonly blocklistShards: Readonly<Record<ListKey, readonly (SetWrite | undefined)[]>>;
  /** In the order of `decision.shared`. */
  readonly shared: readonly (SetWrite | undefined)[];
  readonly tally: WriteTally;
}

/** Writes every blocklist and shared set that changed; never throws (failures are in the tally). */
export async function writeSets(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
): Promise<SetWrites> {
  const withdrawn = perList(() => new Set<Cidr>());
  const active = (key: ListKey): readonly LedgerEntry[] => activeNow(decision.plans[key], withdrawn[key]);
  const recheck = recheckFor(deps, decision, withdrawn, active);
  const options = {
    dryRun: settings.dryRun,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  const writeOne = async (
    client: WAFV2Client,
    ref: Parameters<typeof updateIpSet>[1],
    target: Pick<FamilyPlan, 'list' | 'snapshot'>,
    planFor: (current: readonly string[]) => ReconcilePlan,
    wouldAdd: (current: readonly string[]) => readonly Cidr[],
  ): Promise<SetWrite> => {
    // The plan the write carries out: after a lock conflict, the one made from the fresh copy.
    let plan: ReconcilePlan | undefined;
    const update = await updateIpSet(
      client,
      ref,
      target.snapshot,
      (current) => {
        plan = planFor(current);
        return plan;
      },
      { ...options, beforeReplan: recheck(target.list, wouldAdd) },
    );
    return { update, plan: plan as ReconcilePlan };
  };
  // Shared sets take the block tier only: its list is keyed by the family.
  const sharedPlan = (target: SharedTarget) => (current: readonly string[]) =>
    planReconcile({
      current,
      active: asSeenBySet(active(target.family), target.ref.arn),
      expired: asSeenBySet(decision.plans[target.family].step.expired, target.ref.arn),
      capacity: IP_SET_CAPACITY,
    });
  // Every changed set at once, each lock-safe on its own: a conflict re-reads and re-plans that set only.
  const [blocklistResults, sharedResults] = await Promise.all([
    awaitLists(
      perList((key) =>
        Promise.allSettled(
          decision.plans[key].shards.map((shard, index) =>
            writeOne(
              deps.waf,
              setsOf(settings, key)[index] as IpSetAddress,
              { list: key, snapshot: shard.snapshot },
              // The first attempt writes the plan the run decided: same list, nothing withdrawn yet.
              (current) =>
                current === shard.snapshot.addresses && withdrawn[key].size === 0
                  ? shard.planned.plan
                  : planShardAgain(shard.planned, current, withdrawn[key]),
              (current) => planShardAgain(shard.planned, current, withdrawn[key]).added,
            ),
          ),
        ),
      ),
    ),
    Promise.allSettled(
      decision.shared.map((target) =>
        writeOne(
          deps.wafIn?.(target.ref.region) ?? deps.waf,
          target.ref,
          { list: listKey(target.family), snapshot: target.snapshot },
          sharedPlan(target),
          (current) => sharedPlan(target)(current).added,
        ),
      ),
    ),
  ]);
  return tallySetWrites(settings, decision, blocklistResults, sharedResults);
}

/**
 * A lock conflict means someone else wrote the set since it was read: possibly another run (the
 * CLI runs beside the Lambda) that has just unbanned or expired a range this run still holds as
 * active. Re-planning from the fresh set alone would put that range back, and with its ledger
 * entry closed it would then stay for ever. So the ranges a re-plan would add are first checked
 * against the table itself.
 */
function recheckFor(
  deps: BlockerDeps,
  decision: RunDecision,
  withdrawn: Record<ListKey, Set<Cidr>>,
  active: (key: ListKey) => readonly LedgerEntry[],
) {
  // Indexed at the first conflict, not before the first set write: most runs meet none.
  let pending: Record<ListKey, Set<Cidr>> | undefined;
  const pendingOf = (key: ListKey): ReadonlySet<Cidr> => {
    if (pending === undefined) {
      const index = perList(() => new Set<Cidr>());
      for (const entry of rowsToRecord(decision)) index[listKey(entry.family, entry.tier)].add(entry.range);
      pending = index;
    }
    return pending[key];
  };
  return (key: ListKey, wouldAdd: (current: readonly string[]) => readonly Cidr[]) =>
    async (current: readonly string[]): Promise<void> => {
      // Only what the re-plan would really add (a full set adds few of the ranges it lacks).
      const toAdd = wouldAdd(current);
      // This run's own new ranges get their rows just before the set writes or, behind an intent,
      // after them: the table may not know them yet, and no other run can have ended them.
      const ours = pendingOf(key);
      const toCheck = toAdd.filter((range) => !ours.has(range));
      if (toCheck.length === 0) return;
      const stored = await deps.ledger.activeEntriesOf(familyOfList(key), toCheck, tierOfList(key));
      // Gone from the index, or its block shortened (an unban, on another machine's clock): a block
      // is otherwise only ever extended, so a stored expiry earlier than ours means it was ended.
      const held = indexByRange(active(key));
      const stillActive = new Set(
        stored
          .filter((entry) => entry.expiresAt >= (held.get(entry.range)?.expiresAt ?? Number.POSITIVE_INFINITY))
          .map((entry) => entry.range),
      );
      const ended = toCheck.filter((range) => !stillActive.has(range));
      for (const range of ended) withdrawn[key].add(range);
      if (ended.length > 0) {
        deps.logger.warn('ranges ended by another run meanwhile; not put back', {
          ranges: ended.slice(0, OVERFLOW_SAMPLE),
        });
      }
    };
}

/** The family's active entries, less those another run ended while this one was writing. */
function activeNow(familyPlan: FamilyPlan, withdrawn: ReadonlySet<Cidr>): readonly LedgerEntry[] {
  const { step } = familyPlan;
  return withdrawn.size === 0 ? step.active : step.active.filter((entry) => !withdrawn.has(entry.range));
}

function tallySetWrites(
  settings: BlockerSettings,
  decision: RunDecision,
  blocklistResults: Readonly<Record<ListKey, readonly PromiseSettledResult<SetWrite>[]>>,
  sharedResults: readonly PromiseSettledResult<SetWrite>[],
): SetWrites {
  let ipSetWrites = 0;
  let lockConflicts = 0;
  const applied: string[] = [];
  const sharedFailures: WriteError[] = [];
  const blocklistFailures: WriteError[] = [];
  const settle = (result: PromiseSettledResult<SetWrite> | undefined, label: string) => {
    if (result?.status !== 'fulfilled') {
      // Conflicts met before giving up count too: they are what the LockConflicts metric is for.
      if (result?.reason instanceof IpSetWriteError) lockConflicts += result.reason.conflicts;
      return undefined;
    }
    lockConflicts += result.value.update.conflicts;
    if (result.value.update.written) {
      ipSetWrites += 1;
      applied.push(`${label}: ${result.value.update.addresses.length} entries written`);
    }
    return result.value;
  };
  const blocklistShards = perList((key) =>
    setsOf(settings, key).map((ref, index) => {
      const result = blocklistResults[key][index];
      const label = describeIpSet(ref);
      if (result?.status === 'rejected') blocklistFailures.push(asWriteError(result.reason, label));
      return settle(result, label);
    }),
  );
  const blocklists = perList((key) => together(blocklistShards[key], decision.plans[key].plan.overflow));
  const shared = decision.shared.map((target, index) => {
    const result = sharedResults[index];
    const label = describeIpSet(target.ref);
    if (result?.status === 'rejected') sharedFailures.push(asWriteError(result.reason, label));
    return settle(result, label);
  });
  return {
    blocklists,
    blocklistShards,
    shared,
    tally: {
      ledgerWrites: 0,
      ipSetWrites,
      lockConflicts,
      applied,
      failures: [...sharedFailures, ...blocklistFailures],
    },
  };
}

/**
 * A family's set writes as one: undefined when any failed, since an expiry is closed in the ledger
 * only once no set of the family may still hold its range.
 */
function together(writes: readonly (SetWrite | undefined)[], overflow: readonly LedgerEntry[]): SetWrite | undefined {
  const done = writes.filter((write): write is SetWrite => write !== undefined);
  if (done.length !== writes.length) return undefined;
  return {
    plan: combinedPlan(
      done.map((write) => write.plan),
      overflow,
    ),
    update: {
      written: done.some((write) => write.update.written),
      attempts: done.reduce((sum, write) => sum + write.update.attempts, 0),
      conflicts: done.reduce((sum, write) => sum + write.update.conflicts, 0),
      addresses: done.flatMap((write) => write.update.addresses),
    },
  };
}
