/**
 * The ledger phases of a run: what must be recorded before any set write, what can go beside it,
 * and the expiries closed once no set holds their ranges any more.
 */
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Family } from '#core/types';
import type { RunDecision } from './decide';
import type { SetWrites } from './write-sets';
import { asWriteError, FAMILIES, message, NO_WRITES, sumTallies, type BlockerDeps, type WriteTally } from './types';

/**
 * Ranges new to the ledger (or whose ownership changed) are recorded before any set holds them.
 * Unbanned entries are made due first as well: should a set write fail, the next run removes them.
 * @throws {WriteError} when a write fails: no set is written then, so that no range enters one unrecorded.
 */
export async function recordOwnership(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  now: number,
): Promise<WriteTally> {
  const firstWrites = FAMILIES.flatMap((family) => decision.plans[family].writes.first);
  const { ending } = decision;
  if (settings.dryRun || (firstWrites.length === 0 && ending.length === 0)) return NO_WRITES;
  const applied: string[] = [];
  try {
    const [recorded, ended] = await Promise.all([
      firstWrites.length > 0 ? deps.ledger.upsert(firstWrites) : undefined,
      ending.length > 0 ? deps.ledger.endBlocks(ending, now) : undefined,
    ]);
    if (recorded) applied.push(`ledger: ${recorded.written} new ranges recorded`);
    if (ended) applied.push(`ledger: ${ended.ended} blocks ended by unban`);
    return { ...NO_WRITES, ledgerWrites: (recorded?.written ?? 0) + (ended?.ended ?? 0), applied };
  } catch (error) {
    deps.logger.error('ledger write failed; IP sets left untouched so that no range enters them unrecorded', {
      error: message(error),
      applied,
    });
    throw error;
  }
}

/**
 * Refreshes the last-seen time of ranges we already own: it can go beside the IP set writes.
 * Never throws (a failure is in the tally).
 */
export async function refreshRows(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
): Promise<WriteTally> {
  const refreshWrites = FAMILIES.flatMap((family) => decision.plans[family].writes.refresh);
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
  const closing = FAMILIES.map(async (family): Promise<WriteTally> => {
    const expired = decision.plans[family].step.expired;
    if (writes.blocklists[family] === undefined || expired.length === 0 || sharedWriteFailed.has(family)) {
      return NO_WRITES;
    }
    try {
      const result = await deps.ledger.markExpired(expired, now);
      return {
        ...NO_WRITES,
        ledgerWrites: result.expired,
        applied: [`ledger: ${result.expired} ${family} ranges closed`],
      };
    } catch (error) {
      return { ...NO_WRITES, failures: [asWriteError(error, `ledger table ${settings.ledgerTable}`)] };
    }
  });
  return sumTallies(await Promise.all(closing));
}
