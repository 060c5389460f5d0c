/**
 * Writing ahead: how a run puts its new ranges into the IP sets after one ledger round trip,
 * whatever the attack's size, and still never leaves a range in a set that the ledger cannot tell
 * is ours. Before any set write, the run records every entry it is about to add (new ranges, and
 * ranges whose ownership changes) in one of two ways:
 *
 * - A few (at most the ledger's concurrency, one wave of parallel writes): their rows, the
 *   conditional upserts. That is the whole ledger work of the run, so a change run waits for the
 *   reads, the rows and the sets only. A run that dies after the rows leaves active rows for ranges
 *   no set holds yet: the next run finds them missing from their sets and puts them there (they
 *   were sighted; their blocks end when the rows say), so nothing is lost or unowned.
 * - More: the intent, whose rows would otherwise take several waves.
 *   1. The intent is split into ~350 KB items written in parallel.
 *   2. The run writes the IP sets, then a row per range.
 *   3. Once every row is written it drops the intent.
 *
 * A run that finds an intent left over (its writer failed or died between 1 and 3) finishes it:
 * each entry whose range is in one of our sets (itself, or inside an aggregate of ours that the
 * rows and the intent tile; or may be: a shared set it could not read) and
 * has no active row is recovered, owned from now on like a row, written as a row this run and
 * carried in this run's own intent until it is. An entry whose range is in no set is dropped: its
 * run never blocked it. The two slots let a run write its intent without overwriting the
 * left-over one it is finishing; runs are serialized by the run lock, so there is at most one
 * writer.
 */
import { randomUUID } from 'node:crypto';
import type { IntentSlot, LedgerIntent } from '#adapters/ledger';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { OwnedRanges, ownedSetEntries } from '#core/aggregate';
import type { IpSetIndex } from '#core/reconcile';
import type { Cidr, LedgerEntry } from '#core/types';
import type { LedgerDecision, RunDecision } from './decide';
import {
  asWriteError,
  LISTS,
  listOf,
  message,
  NO_WRITES,
  perList,
  tierOfList,
  type BlockerDeps,
  type ListKey,
  type SharedTarget,
  type WriteTally,
} from './types';

/** Where this run's intent went, if it wrote one. */
export interface WrittenIntent {
  readonly slot: IntentSlot;
  readonly parts: number;
}

/**
 * The left-over entries this run must own: in a set of ours of their list (or perhaps, behind an
 * unreadable shared set, for the block tier, which alone is shared), without an active row. The
 * latest sighting wins when both slots name a range.
 */
export function recoverIntents(
  intents: readonly LedgerIntent[],
  rows: Readonly<Record<ListKey, readonly LedgerEntry[]>>,
  present: Readonly<Record<ListKey, IpSetIndex>>,
  shared: readonly SharedTarget[],
  anySharedUnreadable: boolean,
): Record<ListKey, LedgerEntry[]> {
  const recovered = perList(() => new Map<string, LedgerEntry>());
  const owned = perList((key) => new Set(rows[key].map((row) => row.range)));
  const entries = intents.flatMap((intent) => intent.entries);
  if (entries.length === 0) return perList(() => []);
  const held = heldByBlocklists(entries, rows, present);
  for (const entry of entries) {
    const { family, range } = entry;
    const key = listOf(entry);
    if (owned[key].has(range)) continue;
    const sharedHolds =
      tierOfList(key) === 'block' &&
      (anySharedUnreadable || shared.some((target) => target.family === family && target.index.has(range)));
    const inASet = sharedHolds || held[key].has(range);
    const earlier = recovered[key].get(range);
    if (inASet && (earlier === undefined || earlier.lastSeen < entry.lastSeen)) recovered[key].set(range, entry);
  }
  return perList((key) => [...recovered[key].values()]);
}

/**
 * The ranges of the rows and the intents that the blocklists hold as ours, each itself or inside
 * an aggregate (core/aggregate): a run that died after its set write may have left its new ranges
 * there as a parent only, tiled by them and the rows together.
 */
function heldByBlocklists(
  entries: readonly LedgerEntry[],
  rows: Readonly<Record<ListKey, readonly LedgerEntry[]>>,
  present: Readonly<Record<ListKey, IpSetIndex>>,
): Record<ListKey, Set<Cidr>> {
  return perList((key): Set<Cidr> => {
    const intended = entries.filter((entry) => listOf(entry) === key);
    if (intended.length === 0) return new Set();
    const ours = rows[key].filter((row) => row.preexisting !== true).map((row) => row.range);
    const owned = new OwnedRanges([...ours, ...intended.map((entry) => entry.range)]);
    return new Set(ownedSetEntries(present[key].addresses, owned).ours.flatMap((entry) => entry.covers));
  });
}

/** The rows this run records before or after its set writes: its new ranges, then the recovered ones. */
export function rowsToRecord(decision: Pick<LedgerDecision, 'steps' | 'recovered'>): LedgerEntry[] {
  // concat, not flatMap: flatMap copies a first run's 10,000 rows one by one in generic code.
  const first = ([] as LedgerEntry[]).concat(...LISTS.map((key) => decision.steps[key].writes.first));
  // Normally nothing is left over: a first run's 10,000 new rows need no index of their keys.
  if (LISTS.every((key) => decision.recovered[key].length === 0)) return first;
  // By list and range: the same CIDR may be in both tiers.
  const firstKeys = new Set(first.map((entry) => `${listOf(entry)} ${entry.range}`));
  const recovered = LISTS.flatMap((key) => decision.recovered[key]).filter(
    (entry) => !firstKeys.has(`${listOf(entry)} ${entry.range}`),
  );
  return [...first, ...recovered];
}

/** What the run recorded before its set writes. */
export interface WrittenAhead {
  /** Where its intent went, if it wrote one. */
  readonly intent: WrittenIntent | undefined;
  /** Whether the rows themselves were written (no intent then): nothing is left to record after the sets. */
  readonly rowsRecorded: boolean;
  readonly tally: WriteTally;
}

/**
 * Phase: before any set write, in one round trip, record what the sets are about to take (the rows
 * of a few ranges, else the intent) and end unbanned blocks.
 * @throws {WriteError} when either fails: no set is written then.
 */
export async function writeAhead(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: LedgerDecision,
  now: number,
): Promise<WrittenAhead> {
  const entries = rowsToRecord(decision);
  const { ending } = decision;
  if (settings.dryRun || (entries.length === 0 && ending.length === 0)) {
    return { intent: undefined, rowsRecorded: false, tally: NO_WRITES };
  }
  const rowsFirst = entries.length <= deps.ledger.concurrency;
  const slot = freeSlot(decision.leftover);
  try {
    const [recorded, parts, ended] = await Promise.all([
      entries.length > 0 && rowsFirst ? deps.ledger.upsert(entries) : undefined,
      entries.length > 0 && !rowsFirst ? deps.ledger.writeIntent(slot, randomUUID(), entries, now) : undefined,
      ending.length > 0 ? deps.ledger.endBlocks(ending, now) : undefined,
    ]);
    return {
      intent: parts === undefined ? undefined : { slot, parts },
      rowsRecorded: recorded !== undefined,
      tally: {
        ...NO_WRITES,
        ledgerWrites: (recorded?.written ?? 0) + (ended?.ended ?? 0),
        applied: [
          ...(parts === undefined ? [] : [`ledger: intent to add ${entries.length} ranges recorded`]),
          ...(recorded ? [`ledger: ${recorded.written} new ranges recorded`] : []),
          ...(ended ? [`ledger: ${ended.ended} blocks ended by unban`] : []),
        ],
      },
    };
  } catch (error) {
    deps.logger.error('ledger write failed; IP sets left untouched so that no range enters them unrecorded', {
      error: message(error),
    });
    throw error;
  }
}

/**
 * Phase: a row per range of the intent, after the set writes (nothing when the rows went ahead). Never throws (a failure is in the
 * tally, and the intent then stays for the next run to finish).
 */
export async function recordRows(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  ahead: WrittenAhead,
): Promise<WriteTally> {
  const entries = rowsToRecord(decision);
  if (settings.dryRun || ahead.rowsRecorded || entries.length === 0) return NO_WRITES;
  try {
    const result = await deps.ledger.upsert(entries);
    return { ...NO_WRITES, ledgerWrites: result.written, applied: [`ledger: ${result.written} new ranges recorded`] };
  } catch (error) {
    return { ...NO_WRITES, failures: [asWriteError(error, `ledger table ${settings.ledgerTable}`)] };
  }
}

/**
 * Phase: drop this run's intent and the left-over ones it finished, once every row is written.
 * Never throws (a failure is in the tally; the next run finds the intent, and finds its rows).
 */
export async function dropIntents(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  written: WrittenIntent | undefined,
  rowsRecorded: boolean,
): Promise<WriteTally> {
  if (settings.dryRun || !rowsRecorded) return NO_WRITES;
  const slots = new Map<IntentSlot, number>(decision.leftover.map((intent) => [intent.slot, intent.parts]));
  if (written) slots.set(written.slot, Math.max(written.parts, slots.get(written.slot) ?? 0));
  try {
    await Promise.all([...slots].map(([slot, parts]) => deps.ledger.dropIntent(slot, parts)));
    return NO_WRITES;
  } catch (error) {
    return { ...NO_WRITES, failures: [asWriteError(error, `ledger table ${settings.ledgerTable}`)] };
  }
}

/** The slot without a left-over intent; with both taken, the older one (the newer one holds what matters). */
function freeSlot(leftover: readonly LedgerIntent[]): IntentSlot {
  const taken = new Map(leftover.map((intent) => [intent.slot, intent.writtenAt]));
  if (!taken.has('a')) return 'a';
  if (!taken.has('b')) return 'b';
  return (taken.get('a') ?? 0) <= (taken.get('b') ?? 0) ? 'a' : 'b';
}
