/**
 * Pure ledger arithmetic: how this run's sightings change what the ledger (DynamoDB) knows, and
 * which blocks have run out. The adapter reads and writes the rows; this module decides them.
 *
 * One run, in order: read every row, {@link advanceLedger} with the merged sightings, plan the IP
 * set with its `active` and `expired`, write the set, then upsert `upserts` and delete `expired`.
 */
import type { Cidr, LedgerEntry, Sighting } from './types';

/** The most a rate rule sighting's stored expiry lies beyond lastSeen + block duration: 15 minutes. */
export const MAX_EXPIRY_MARGIN_MS = 15 * 60_000;

/**
 * How far beyond `lastSeen + blockDurationMs` a rate rule sighting's expiry is written: a tenth of
 * the block duration, at most {@link MAX_EXPIRY_MARGIN_MS} (15 minutes for the default 240).
 *
 * Why ahead: a range seen on every run would otherwise cost one ledger write per run to keep its
 * expiry a full duration after the last sighting. Written ahead, the stored expiry still covers
 * the next sightings, and the row is rewritten only when `now + blockDurationMs` would pass it: once
 * per margin (plus one run) instead of once per run. A block therefore lasts at least
 * `blockDurationMs` after the last sighting, never less, and at most that plus the margin; the run
 * that removes it comes up to one schedule period later.
 *
 * @param blockDurationMs - The deployment's block duration, milliseconds (positive).
 * @returns Milliseconds, `0 < margin <= MAX_EXPIRY_MARGIN_MS`.
 */
export function expiryMargin(blockDurationMs: number): number {
  return Math.min(blockDurationMs / 10, MAX_EXPIRY_MARGIN_MS);
}

/**
 * Merges this run's sightings into the ledger and returns the rows to write, one per sighted range,
 * in the order the ranges first appear in `sightings`.
 *
 * A range the ledger knows keeps its `firstSeen` and `preexisting`; it gets `lastSeen = now`, its
 * hits added and the sighting's source. Expiry counts from the last time the range was seen
 * attacking, and is never moved earlier (a block is extended, never shortened):
 * - a rate rule sighting (no `durationMs`) keeps the stored `expiresAt` while it is at least
 *   `now + blockDurationMs`; otherwise it becomes `now + blockDurationMs + expiryMargin(blockDurationMs)`,
 *   so that the next sightings find it still covered and need no ledger write (see {@link expiryMargin});
 * - a sighting with its own duration (a ban from the CLI or the feed, `--for 7d` or the deployment's
 *   duration) gets exactly `now + durationMs` when that is later than the stored expiry: an
 *   operator's ban is never stretched by the margin.
 *
 * A sighting's reason replaces the stored one. A new range starts with `firstSeen = lastSeen = now`
 * and is `preexisting` when `presentInSet` says it is already in the IP set: someone else put it
 * there, so expiry must never remove it.
 *
 * @param ledgerByRange - The ledger's rows by range. Include rows that are past `expiresAt` but
 *   not yet deleted: a range we blocked that attacks again resumes its row, and is not mistaken
 *   for a preexisting entry just because our own block is still in the set.
 * @param now - Epoch milliseconds of this run.
 * @param blockDurationMs - How long a range stays blocked, at least, after it was last seen; milliseconds.
 * @param presentInSet - Whether the range (canonical form) is in the IP set as last read.
 * @param shared - The shared IP sets of the family as read this run; they decide `sharedPreexisting`
 *   (see {@link SharedSetsView}). @default none
 * @throws RangeError when `now` is not finite, `blockDurationMs` is not positive, or a
 *   sighting's hits are not a positive integer.
 */
export function applySightings(
  ledgerByRange: ReadonlyMap<Cidr, LedgerEntry>,
  sightings: readonly Sighting[],
  now: number,
  blockDurationMs: number,
  presentInSet: (range: Cidr) => boolean,
  shared?: SharedSetsView,
): LedgerEntry[] {
  return [...upsertsByRange(ledgerByRange, sightings, now, blockDurationMs, presentInSet, shared).values()];
}

/** {@link applySightings}, keyed by range: {@link advanceLedger} tells sighted rows apart without a second index. */
function upsertsByRange(
  ledgerByRange: ReadonlyMap<Cidr, LedgerEntry>,
  sightings: readonly Sighting[],
  now: number,
  blockDurationMs: number,
  presentInSet: (range: Cidr) => boolean,
  shared: SharedSetsView | undefined,
): Map<Cidr, LedgerEntry> {
  if (!Number.isFinite(now)) throw new RangeError(`now must be epoch milliseconds, got ${now}`);
  if (!Number.isFinite(blockDurationMs) || blockDurationMs <= 0) {
    throw new RangeError(`blockDurationMs must be a positive number of milliseconds, got ${blockDurationMs}`);
  }
  const margin = expiryMargin(blockDurationMs);
  // Keyed so that a range sighted twice in one call (unmerged lists) adds up instead of overwriting.
  const upserts = new Map<Cidr, LedgerEntry>();
  // An indexed loop: a first big run meets this code before V8 has compiled it (see normalizeKeys).
  for (let i = 0; i < sightings.length; i++) {
    const sighting = sightings[i] as Sighting;
    if (!Number.isInteger(sighting.hits) || sighting.hits < 1) {
      throw new RangeError(`sighting of ${sighting.range} must have a positive integer of hits, got ${sighting.hits}`);
    }
    const duration = sighting.durationMs ?? blockDurationMs;
    if (!Number.isFinite(duration) || duration <= 0) {
      throw new RangeError(`sighting of ${sighting.range} must block for a positive duration, got ${duration}`);
    }
    // The promise: blocked at least until `due`. An explicit duration is kept exactly.
    const due = now + duration;
    const expiresAt = sighting.durationMs === undefined ? due + margin : due;
    const previous = upserts.get(sighting.range) ?? ledgerByRange.get(sighting.range);
    if (previous === undefined) {
      const entry: { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] } = {
        range: sighting.range,
        family: sighting.family,
        firstSeen: now,
        lastSeen: now,
        expiresAt,
        hits: sighting.hits,
        source: sighting.source,
        preexisting: presentInSet(sighting.range),
      };
      if (sighting.reason !== undefined) entry.reason = sighting.reason;
      if (sighting.tier === 'neighbour') entry.tier = sighting.tier;
      const ownership = shareOwnership(entry, shared);
      if (ownership !== undefined) applyOwnership(entry, ownership);
      upserts.set(sighting.range, entry);
    } else {
      // Spread first, then plain stores: V8 clones `{ ...previous }` on a fast path, while a
      // conditional spread in the same literal allocates a throwaway object and takes the generic one.
      const next: { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] } = { ...previous };
      // A clock that stepped back must not shorten a block or rewind its history.
      next.lastSeen = Math.max(previous.lastSeen, now);
      // A stored expiry that still covers the promise stays as it is: nothing to write.
      next.expiresAt = previous.expiresAt >= due ? previous.expiresAt : expiresAt;
      next.hits = previous.hits + sighting.hits;
      next.source = sighting.source;
      // Someone else's entry stays theirs only while it is in the set. Once they removed it, the
      // block we put back is ours and must expire; a sticky flag would keep it forever.
      if (previous.preexisting === true) next.preexisting = presentInSet(sighting.range);
      // The same, per shared set.
      const ownership = shareOwnership(previous, shared);
      if (ownership !== undefined) applyOwnership(next, ownership);
      // The reason belongs to the sighting that asked for the block; a rate rule gives none.
      // (delete only when there is one: a delete on the hot path would turn every row into a slow dictionary).
      if (sighting.reason !== undefined) next.reason = sighting.reason;
      else if (previous.reason !== undefined) delete next.reason;
      upserts.set(sighting.range, next);
    }
  }
  return upserts;
}

/** Ledger rows split by whether their block has run out. */
export interface ExpiryPartition {
  /** `expiresAt > now`: still blocked. */
  readonly active: LedgerEntry[];
  /** `expiresAt <= now`: to be removed from the IP set (unless preexisting) and from the ledger. */
  readonly expired: LedgerEntry[];
}

/**
 * Splits ledger rows into those still blocking and those whose block has run out at `now`; a row
 * expiring exactly at `now` has run out. Input order is kept within each part.
 */
export function partitionByExpiry(entries: Iterable<LedgerEntry>, now: number): ExpiryPartition {
  const active: LedgerEntry[] = [];
  const expired: LedgerEntry[] = [];
  for (const entry of entries) {
    if (entry.expiresAt <= now) expired.push(entry);
    else active.push(entry);
  }
  return { active, expired };
}

/** Ledger rows by range, for {@link applySightings}; a later row for the same range wins. */
export function indexByRange(entries: Iterable<LedgerEntry>): Map<Cidr, LedgerEntry> {
  const index = new Map<Cidr, LedgerEntry>();
  for (const entry of entries) index.set(entry.range, entry);
  return index;
}

/**
 * The ledger as it stands after this run, without reading it again: `before` minus the expired
 * rows, plus the upserted ones. An upsert wins over an expiry of the same range, since a range
 * sighted in this run is blocked again.
 */
export function activeAfter(
  before: ReadonlyMap<Cidr, LedgerEntry>,
  upserts: readonly LedgerEntry[],
  expired: readonly LedgerEntry[],
): Map<Cidr, LedgerEntry> {
  const after = new Map(before);
  for (const entry of expired) after.delete(entry.range);
  for (const entry of upserts) after.set(entry.range, entry);
  return after;
}

/** What one run does to the ledger. */
export interface LedgerStep {
  /**
   * Rows to write: one per sighted range (see {@link applySightings}), then the unsighted active
   * rows whose owner took their entry out of a set (see `preexisting`): from now on the range is ours there.
   */
  readonly upserts: LedgerEntry[];
  /** Every row still blocking after this run: the rows not sighted, in the order of `rows`, then `upserts`. */
  readonly active: LedgerEntry[];
  /** Rows whose block ran out and that were not sighted again: to remove from the set and the ledger. */
  readonly expired: LedgerEntry[];
}

/**
 * One run's ledger change in a single call: {@link applySightings} over all `rows`, then
 * {@link partitionByExpiry} of the result. Rows past `expiresAt` take part in the merge, so a
 * range that attacks again before its row was deleted is extended rather than expired.
 *
 * @param rows - Every row the ledger holds, expired or not.
 * @throws RangeError as {@link applySightings}.
 */
export function advanceLedger(
  rows: Iterable<LedgerEntry>,
  sightings: readonly Sighting[],
  now: number,
  blockDurationMs: number,
  presentInSet: (range: Cidr) => boolean,
  shared?: SharedSetsView,
): LedgerStep {
  const before = indexByRange(rows);
  const sighted = upsertsByRange(before, sightings, now, blockDurationMs, presentInSet, shared);
  // One pass, as partitionByExpiry over the unsighted rows would do, without the intermediate lists.
  const active: LedgerEntry[] = [];
  const expired: LedgerEntry[] = [];
  const handedOver: LedgerEntry[] = [];
  for (const entry of before.values()) {
    if (sighted.has(entry.range)) continue;
    if (entry.expiresAt <= now) {
      expired.push(entry);
      continue;
    }
    const owned = handOver(entry, presentInSet, shared);
    if (owned === entry) active.push(entry);
    else handedOver.push(owned);
  }
  const upserts = Array.from(sighted.values());
  for (let i = 0; i < handedOver.length; i++) upserts.push(handedOver[i] as LedgerEntry);
  // Upserts expire after `now` by construction: every one of them is active. (concat, not a push
  // per entry: a first run's 10,000 new ranges meet this code cold.)
  return { upserts, active: active.concat(upserts), expired };
}

/**
 * An active row that is not sighted this run, with its ownership brought up to date: an entry that
 * was someone else's when we claimed the range, but is no longer in that set, is put back by the
 * reconcile as ours, so it must expire as ours. Left `preexisting`, it would stay in the set for
 * ever once our claim ran out. And a shared set the row was never compared with is compared now.
 * Nearly every row needs neither and is returned as it is.
 */
function handOver(
  entry: LedgerEntry,
  presentInSet: (range: Cidr) => boolean,
  shared: SharedSetsView | undefined,
): LedgerEntry {
  const lostPrimary = entry.preexisting === true && !presentInSet(entry.range);
  const ownership = shareOwnership(entry, shared);
  if (!lostPrimary && ownership === undefined) return entry;
  const next: { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] } = { ...entry };
  if (lostPrimary) next.preexisting = false;
  if (ownership !== undefined) applyOwnership(next, ownership);
  return next;
}

/**
 * The shared IP sets of one address family as read this run. A set that could not be read is not
 * in it: it gets nothing written, and no range is compared with it until it can be read.
 */
export interface SharedSetsView {
  /** The ARNs of the sets that were read. */
  readonly readable: readonly string[];
  /** The ARNs of the read sets that hold `range`. */
  holding(range: Cidr): readonly string[];
}

type SharedOwnership = Required<Pick<LedgerEntry, 'sharedPreexisting' | 'sharedSeen'>>;

/**
 * Whose a range is in each shared set, updated from this run's reads, or undefined when nothing
 * changes. A range is compared with a set once, the first time both are there (`sharedSeen`): if
 * the set already holds it, someone else put it there and it stays theirs (`sharedPreexisting`),
 * also when the set was added to the config long after we blocked the range. A set that no longer
 * holds a range it had is ours from now on, as for the blocklist's `preexisting`.
 */
function shareOwnership(
  entry: Pick<LedgerEntry, 'range' | 'sharedPreexisting' | 'sharedSeen'>,
  shared: SharedSetsView | undefined,
): SharedOwnership | undefined {
  if (shared === undefined || shared.readable.length === 0) return undefined;
  const seen = entry.sharedSeen ?? [];
  const theirs = entry.sharedPreexisting ?? [];
  const unseen = shared.readable.filter((arn) => !seen.includes(arn));
  const watched = theirs.some((arn) => shared.readable.includes(arn));
  // The steady state: every set compared once, nothing of anyone else's to watch. No lookup at all.
  if (unseen.length === 0 && !watched) return undefined;
  const holding = new Set(shared.holding(entry.range));
  const kept = theirs.filter((arn) => !shared.readable.includes(arn) || holding.has(arn));
  const found = unseen.filter((arn) => holding.has(arn));
  if (unseen.length === 0 && kept.length === theirs.length) return undefined;
  return { sharedSeen: [...seen, ...unseen], sharedPreexisting: [...kept, ...found] };
}

/** Stores `ownership` on `entry`, leaving out empty lists (an item carries them only when set). */
function applyOwnership(
  entry: { -readonly [K in keyof LedgerEntry]: LedgerEntry[K] },
  ownership: SharedOwnership,
): void {
  if (ownership.sharedSeen.length > 0) entry.sharedSeen = ownership.sharedSeen;
  else if (entry.sharedSeen !== undefined) delete entry.sharedSeen;
  if (ownership.sharedPreexisting.length > 0) entry.sharedPreexisting = ownership.sharedPreexisting;
  else if (entry.sharedPreexisting !== undefined) delete entry.sharedPreexisting;
}
