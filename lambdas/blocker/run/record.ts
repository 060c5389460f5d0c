/**
 * The ledger phases of a run besides the intent (./intent): the refreshes that go beside the set
 * writes, and the expiries closed once no set holds their ranges any more.
 */
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Family } from '#core/types';
import type { RunDecision } from './decide';
import type { SetWrites } from './write-sets';
import { asWriteError, LISTS, NO_WRITES, sumTallies, type BlockerDeps, type WriteTally } from './types';

/**
 * Refreshes the last-seen time of ranges we already own: it can go beside the IP set writes.
 * Never throws (a failure is in the tally).
 */
export async function refreshRows(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
): Promise<WriteTally> {
  const refreshWrites = LISTS.flatMap((key) => decision.plans[key].writes.refresh);
  if (settings.dryRun || refreshWrites.length === 0) return NO_WRITES;
  try {
    const result = await deps.ledger.upsert(refreshWrites);
    return { ...NO_WRITES, ledgerWrites: result.written, applied: [`ledger: ${result.written} ranges refreshed`] };
  } catch (error) {
    return { ...NO_WRITES, failures: [asWriteError(error, `ledger table ${settings.ledgerTable}`)] };
  }
}

/**
 * Closes expired entries once no set holds them any more (or never held them as ours). Closing an
 * expired entry while a set we could not read or write may still hold its range would leave that
 * range there, unknown to the ledger, for ever: such a family closes nothing this run.
 * Never throws (failures are in the tally).
 */
export async function closeExpiries(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  writes: SetWrites,
  now: number,
): Promise<WriteTally> {
  if (settings.dryRun || decision.sharedFailures.length > 0) return NO_WRITES;
  const sharedWriteFailed = new Set<Family>(
    decision.shared.flatMap((target, index) => (writes.shared[index] === undefined ? [target.family] : [])),
  );
  const closing = LISTS.map(async (key): Promise<WriteTally> => {
    const { family, list, step } = decision.plans[key];
    const expired = step.expired;
    // A failed shared write holds back the block tier only: the neighbour tier is never shared.
    const sharedFailed = list === family && sharedWriteFailed.has(family);
    if (writes.blocklists[key] === undefined || expired.length === 0 || sharedFailed) {
      return NO_WRITES;
    }
    try {
      const result = await deps.ledger.markExpired(expired, now);
      return {
        ...NO_WRITES,
        ledgerWrites: result.expired,
        applied: [`ledger: ${result.expired} ${list === family ? family : `${family} neighbour`} ranges closed`],
      };
    } catch (error) {
      return { ...NO_WRITES, failures: [asWriteError(error, `ledger table ${settings.ledgerTable}`)] };
    }
  });
  return sumTallies(await Promise.all(closing));
}
