/**
 * One blocker run: a short driver over named phases (lambdas/blocker/run/). Read everything in
 * parallel, decide with the pure core (the rules' keys as soon as they and the allowlists are in,
 * while the ledger's reads are still in flight), then write in the one order that is safe when a
 * write fails half-way, and that puts the first IP set write after a bounded number of round trips:
 *
 * 1. ahead of the sets (./run/intent), every range about to enter one, in one round trip whatever
 *    the attack's size, so that a range is known as ours before it enters a set: the rows
 *    themselves when they are few (one wave of parallel writes), else the write-ahead intent.
 *    The IP set plans are made while that write is in flight (they need nothing it returns);
 * 2. the IP sets (lock-safe: a conflict re-reads the set and plans again), refreshes beside;
 * 3. after an intent, a ledger row per new range, then the intent is dropped;
 * 4. expired ledger entries are closed only after their set no longer holds them;
 * 5. the report, when something changed.
 *
 * Round trips before the first UpdateIPSet: the reads (one), the rows or the intent (one), unless a sighted
 * range is in a set but missing from the eventually consistent index (one more, to ask the table),
 * or an intent left by a failed run has several parts (one more, to read them).
 *
 * Each phase returns what it did; the driver adds the tallies up and fails the invocation, after
 * the report, when any write failed.
 */
import { setImmediate } from 'node:timers/promises';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { WriteError } from '#shared/errors';
import { removalsOf } from './removals';
import { sampledHosts, type SampledHosts } from './sampled-hosts';
import { collectKeys, decide, planSets, type CollectedKeys, type RunDecision } from './run/decide';
import { startReads, type Reads, type RunInputs } from './run/read';
import { dropIntents, recordRows, writeAhead, type WrittenAhead } from './run/intent';
import { closeExpiries, refreshRows } from './run/record';
import { changesOf, publishChanges, type RunChanges } from './run/report';
import {
  LISTS,
  setsOf,
  sumTallies,
  type BlockerDeps,
  type RunSummary,
  type Trigger,
  type WriteTally,
} from './run/types';
import { writeSets } from './run/write-sets';

export type { BlockerDeps, RunLogger, RunSummary, Trigger } from './run/types';

/**
 * Runs the blocker once.
 * @param now - Epoch milliseconds: the time the run decides with (sightings, expiry).
 * @throws {ReadError} when an IP set, the allowlist or the ledger cannot be read: nothing is written.
 * @throws {WriteError} when a write fails, after logging what was and was not applied.
 */
export async function runBlocker(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  now: number,
): Promise<RunSummary> {
  const started = Date.now();
  const reads = startReads(deps, settings, trigger);
  const keysJudged = judgeKeysEarly(deps, settings, trigger, reads);
  const inputs = await reads.all;
  const readDone = Date.now();
  const judged = await keysJudged;
  const { decision, ahead: writingAhead } = await decideWhileWritingAhead(
    deps,
    settings,
    trigger,
    { inputs, judged },
    now,
  );
  const ahead = await writingAhead;
  const setsWritten = Promise.all([refreshRows(deps, settings, decision), writeSets(deps, settings, decision)]);
  // Most attacked hosts are only needed for a report: read beside the set writes, sent after them.
  const mayReport = LISTS.some((k) => decision.plans[k].plan.changed || decision.plans[k].step.expired.length > 0);
  const hostsRead: Promise<SampledHosts> = mayReport
    ? sampledHosts(deps.waf, settings, now)
    : Promise.resolve({ hosts: [], unreadable: [] });
  // Neither phase throws (failures are in their tallies), so the hosts read is always awaited below.
  const [refreshed, writes] = await setsWritten;
  const recorded = await recordRows(deps, settings, decision, ahead);
  const changes = changesOf(settings, decision, writes);
  const [closed, dropped, report] = await Promise.all([
    closeExpiries(deps, settings, decision, writes, now),
    dropIntents(deps, settings, decision, ahead.intent, recorded.failures.length === 0),
    publishChanges(deps, settings, decision, writes, changes, hostsRead, now, inputs.pending),
    hostsRead,
  ]);
  const tally = sumTallies([
    { ...ahead.tally, failures: decision.readFailures },
    refreshed,
    writes.tally,
    recorded,
    closed,
    dropped,
    report.tally,
  ]);
  const finished = Date.now();
  const summary = summarize(settings, trigger, inputs, decision, writes.shared, changes, tally, report.reported, {
    read: readDone - started,
    write: finished - readDone,
    total: finished - started,
  });
  failIfAnyWriteFailed(deps, tally, summary);
  return summary;
}

/**
 * The rules' keys judged ({@link collectKeys}) as soon as they, the alarm and the allowlists are
 * in, while the ledger's reads are still in flight. Awaited only once every read is in, so that a
 * failed read is thrown first, as it was before any key was judged; after a failed read no key is
 * judged (nor logged about) at all.
 * @throws {ReadError} as collectKeys, when awaited.
 */
function judgeKeysEarly(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  reads: Reads,
): Promise<CollectedKeys> {
  let readFailed = false;
  reads.all.catch(() => {
    readFailed = true;
  });
  const judged = reads.forKeys.then((keys) =>
    // Rejected with a placeholder the caller never sees: it has thrown the read's own error.
    readFailed ? Promise.reject(new Error('a read failed')) : collectKeys(deps, settings, trigger, keys),
  );
  // Handled here as well: after a failed read nobody awaits it.
  judged.catch(() => undefined);
  return judged;
}

/**
 * Decides the ledger's part of the run, sends its write-ahead, and plans the IP sets while that
 * write is in flight: on a first run of 10,000 new ranges the plans are most of the run's CPU, and
 * they need nothing the write-ahead returns. Only the set writes wait for it (./run/write-sets).
 * @throws {ReadError} as {@link decide}, before any write.
 * @throws RangeError as {@link planSets}, once the write-ahead has settled (a left-over intent is
 *   finished or dropped by the next run; rows written ahead are rows of sighted ranges).
 */
async function decideWhileWritingAhead(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  { inputs, judged }: { readonly inputs: RunInputs; readonly judged: CollectedKeys },
  now: number,
): Promise<{ readonly decision: RunDecision; readonly ahead: Promise<WrittenAhead> }> {
  const ledgerDecision = await decide(deps, settings, trigger, inputs, judged, now);
  const ahead = writeAhead(deps, settings, ledgerDecision, now);
  // Handled here as well, so that a write failing before it is awaited is not an unhandled rejection.
  ahead.catch(() => undefined);
  // One turn of the event loop: the SDK serializes, signs and sends the write-ahead's requests
  // before the planning below holds the thread. Were a request still unsent, the plans would only
  // come before it instead of beside it: the set writes still wait for the write-ahead.
  await setImmediate();
  try {
    return { decision: planSets(inputs, ledgerDecision), ahead };
  } catch (error) {
    await ahead.catch(() => undefined); // no call may still be in flight when the Lambda freezes
    throw error;
  }
}

function summarize(
  settings: BlockerSettings,
  trigger: Trigger,
  inputs: RunInputs,
  decision: RunDecision,
  sharedWrites: readonly unknown[],
  changes: RunChanges,
  tally: WriteTally,
  reported: boolean,
  durationsMs: RunSummary['durationsMs'],
): RunSummary {
  const { plans } = decision;
  const rejected = Object.values(decision.rejectedByReason).reduce((sum, count) => sum + count, 0);
  return {
    trigger: trigger.kind,
    dryRun: settings.dryRun,
    collected: decision.collected,
    alarmState: inputs.alarmState,
    keysSeen: decision.keysSeen,
    keysRejected: rejected,
    rejectedByReason: decision.rejectedByReason,
    unreadableRules: decision.unreadableRules,
    rangesActive: LISTS.reduce((sum, k) => sum + plans[k].step.active.length - plans[k].plan.overflow.length, 0),
    blocklistSizes: { IPV4: changes.sizes.IPV4, IPV6: changes.sizes.IPV6 },
    blocklistCapacity: {
      IPV4: settings.blocklist.IPV4.length * IP_SET_CAPACITY,
      IPV6: settings.blocklist.IPV6.length * IP_SET_CAPACITY,
    },
    ...(settings.neighbours === undefined
      ? {}
      : {
          neighbourSizes: { IPV4: changes.sizes['neighbour#IPV4'], IPV6: changes.sizes['neighbour#IPV6'] },
          neighbourCapacity: {
            IPV4: setsOf(settings, 'neighbour#IPV4').length * IP_SET_CAPACITY,
            IPV6: setsOf(settings, 'neighbour#IPV6').length * IP_SET_CAPACITY,
          },
        }),
    rangesAdded: changes.added.length,
    rangesExpired: changes.removedExpired.length,
    overflowEnded: changes.overflowEnded,
    overflow: changes.overflow.length,
    lockConflicts: tally.lockConflicts,
    ipSetWrites: tally.ipSetWrites,
    ledgerWrites: tally.ledgerWrites,
    ledgerRefreshSkipped: LISTS.reduce((sum, k) => sum + plans[k].writes.skipped, 0),
    reported,
    actions: decision.outcomes,
    removals: removalsOf(decision.outcomes, decision.unbanned, changes.written),
    sharedFailures: [
      ...decision.sharedFailures,
      ...decision.shared.flatMap((target, index) => (sharedWrites[index] === undefined ? [target.ref.arn] : [])),
    ],
    durationsMs,
  };
}

/** @throws {WriteError} naming every resource whose write failed, the first failure as the cause. */
function failIfAnyWriteFailed(deps: BlockerDeps, tally: WriteTally, summary: RunSummary): void {
  const { failures, applied } = tally;
  const [first] = failures;
  if (first === undefined) return;
  deps.logger.error('run failed: some writes were not applied', {
    applied,
    failed: failures.map((failure) => failure.message),
    summary,
  });
  throw new WriteError(
    failures.map((failure) => failure.resource).join(', '),
    `${failures.length} write(s) failed; applied: ${applied.join('; ') || 'nothing'}`,
    { cause: first },
  );
}
