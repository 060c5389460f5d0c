/**
 * Which ledger writes a run must make, and when. Writing every sighted range on every run would cost
 * one DynamoDB write per blocked range every five minutes and, worse, put thousands of writes on the
 * path to the IP set. Only two kinds of write matter for correctness; the rest can wait.
 */
import type { Cidr, LedgerEntry } from './types';

/** The longest a stored lastSeen may lag behind the last sighting before it is rewritten. */
export const MAX_REFRESH_MARGIN_MS = 15 * 60_000;

/** Ledger writes of one run, by when they must happen. */
export interface LedgerWrites {
  /**
   * Ranges new to the ledger, or whose ownership (`preexisting`) changed: recorded BEFORE any IP set
   * write, so that a range never sits in a set without the ledger knowing whether it is ours.
   */
  readonly first: LedgerEntry[];
  /** Ranges we already own whose stored expiry is getting old (or whose reason changed): written beside the IP set writes. */
  readonly refresh: LedgerEntry[];
  /** Ranges seen again so recently that rewriting them would change their expiry by less than the margin. */
  readonly skipped: number;
}

/**
 * How far a stored lastSeen may lag: a tenth of the block duration, at most 15 minutes. A range
 * seen on every 5-minute run is then rewritten every 15 minutes (240-minute blocks), and its block
 * ends at most that much before lastSeen + duration: within the precision of the schedule itself.
 */
export function refreshMargin(blockDurationMs: number): number {
  return Math.min(blockDurationMs / 10, MAX_REFRESH_MARGIN_MS);
}

/**
 * Sorts the upserts of {@link advanceLedger}'s step into the writes that must precede the IP set
 * writes, those that may go beside them, and those that may be skipped.
 *
 * @param before - The ledger's active rows as read this run, by range.
 * @param upserts - The merged entries for this run's sightings.
 * @param now - Epoch milliseconds.
 */
export function planLedgerWrites(
  before: ReadonlyMap<Cidr, LedgerEntry>,
  upserts: readonly LedgerEntry[],
  now: number,
  blockDurationMs: number,
): LedgerWrites {
  const margin = refreshMargin(blockDurationMs);
  const first: LedgerEntry[] = [];
  const refresh: LedgerEntry[] = [];
  let skipped = 0;
  for (const entry of upserts) {
    const stored = before.get(entry.range);
    if (stored === undefined || !sameOwnership(stored, entry)) first.push(entry);
    // The expiry moved by at least the margin (for a rate rule sighting that is exactly "lastSeen is
    // that old"; a manual ban for a week moves it far more), or a person gave a new reason.
    else if (entry.expiresAt - stored.expiresAt >= margin || entry.reason !== stored.reason) refresh.push(entry);
    else skipped += 1;
  }
  return { first, refresh, skipped };
}

/** Whether the range is ours in the same sets as before: in the blocklist and in every shared set. */
function sameOwnership(stored: LedgerEntry, entry: LedgerEntry): boolean {
  if ((stored.preexisting === true) !== (entry.preexisting === true)) return false;
  return sameSets(stored.sharedPreexisting, entry.sharedPreexisting) && sameSets(stored.sharedSeen, entry.sharedSeen);
}

function sameSets(a: readonly string[] = [], b: readonly string[] = []): boolean {
  return a.length === b.length && a.every((arn) => b.includes(arn));
}
