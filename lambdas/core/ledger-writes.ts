/**
 * Which ledger writes a run must make, and when. Writing every sighted range on every run would cost
 * one DynamoDB write per blocked range every five minutes and, worse, put thousands of writes on the
 * path to the IP set. Only two kinds of write matter for correctness; the rest can wait.
 *
 * What keeps the rest rare is decided in `advanceLedger` (./ledger): a rate rule sighting writes its
 * expiry a margin ahead (see `expiryMargin`) and leaves a stored expiry that still covers it
 * untouched. So a row whose expiry did not move needs no write, and a row whose expiry moved always
 * gets one: the stored expiry is never earlier than the block the run holds, and a block never ends
 * before `blockDurationMs` after the range was last seen.
 *
 * Writes per hour for one range seen on every 5-minute run with 240-minute blocks (margin 15
 * minutes): the expiry is rewritten when `now + 240` passes `written + 240 + 15`, i.e. 20 minutes
 * after the previous write: 3 writes an hour.
 */
import type { Cidr, LedgerEntry } from './types';

/** Ledger writes of one run, by when they must happen. */
export interface LedgerWrites {
  /**
   * Ranges new to the ledger, or whose ownership (`preexisting`) changed: recorded BEFORE any IP set
   * write, so that a range never sits in a set without the ledger knowing whether it is ours.
   */
  readonly first: LedgerEntry[];
  /** Ranges we already own whose expiry moved (or whose reason changed): written beside the IP set writes. */
  readonly refresh: LedgerEntry[];
  /** Ranges seen again whose stored expiry already covers this sighting, with the same reason and ownership: not written. */
  readonly skipped: number;
}

/**
 * Sorts the upserts of `advanceLedger`'s step into the writes that must precede the IP set
 * writes, those that may go beside them, and those that may be skipped. An upsert whose `expiresAt`
 * differs from the stored one is always written: skipping it would let the stored block end
 * before the one this run holds.
 *
 * @param before - The ledger's active rows as read this run, by range.
 * @param upserts - The merged entries for this run's sightings and hand-overs (`advanceLedger`).
 */
export function planLedgerWrites(
  before: ReadonlyMap<Cidr, LedgerEntry>,
  upserts: readonly LedgerEntry[],
): LedgerWrites {
  // Nothing stored (a deployment's first attack): every upsert is new, none is looked up.
  if (before.size === 0) return { first: [...upserts], refresh: [], skipped: 0 };
  const first: LedgerEntry[] = [];
  const refresh: LedgerEntry[] = [];
  let skipped = 0;
  // An indexed loop: a first big run meets this code before V8 has compiled it (see normalizeKeys).
  for (let i = 0; i < upserts.length; i++) {
    const entry = upserts[i] as LedgerEntry;
    const stored = before.get(entry.range);
    if (stored === undefined || !sameOwnership(stored, entry)) first.push(entry);
    // The expiry moved (a rate rule sighting that the stored expiry no longer covers, or a ban
    // that asks for longer), or a person gave a new reason.
    else if (entry.expiresAt !== stored.expiresAt || entry.reason !== stored.reason) refresh.push(entry);
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
