/**
 * FROZEN REFERENCE: lambdas/core/aggregate-plan.ts as of commit 769519b, before the planning speed-ups, kept
 * verbatim (imports aside) so that test/lambdas/core/shard-plan-reference.property.test.ts can
 * check that today's plan is exactly the one this gave. Do not change or "fix" it; delete it with
 * that test once nobody doubts the equivalence.
 */
/**
 * Plans the next content of one blocklist IP set whose entries may be aggregates
 * (./aggregate): the set holds the fewest CIDRs covering exactly the ranges placed in it, beside
 * the entries that are not ours, kept verbatim.
 *
 * What a set holds is computed from the ledger each time, never stored: when one child of an
 * aggregate expires (or is unbanned, or overflows), the next plan of the remaining ranges no
 * longer yields the parent, and the same write replaces it with the aggregates of what remains.
 * So the ledger keeps one row per range with its own expiry, and nothing is blocked for less
 * (a remaining child stays covered) or longer (the expired child is in no entry) than its row says.
 *
 * Pure (no AWS imports), like {@link planReconcile}, whose plan shape it returns: after a
 * WAFOptimisticLockException the caller plans again from the fresh addresses.
 */
import {
  aggregateAround,
  DEFAULT_AGGREGATION_FLOOR,
  ForeignEntries,
  OwnedRanges,
  ownedSetEntries,
  type AggregationFloor,
} from './aggregate';
import { compareRanges, type NetworkRange } from '#core/network-range';
import { ParsedRanges, parseWith } from '#core/parsed-ranges';
import { IpSetIndex, type ReconcilePlan } from '#core/reconcile';
import type { Cidr, LedgerEntry } from '#core/types';

/** Input of {@link planSetEntries}; every range must be of the set's address family. */
export interface SetEntriesInput {
  /** The set's addresses exactly as WAF returned them (or their index). */
  readonly current: readonly string[] | IpSetIndex;
  /** The active ranges this set is to hold. */
  readonly hold: readonly LedgerEntry[];
  /**
   * Every range of ours the ledger knows for the family, active or expired, in any set (not
   * `preexisting`): an entry of the set is ours exactly when these own it (ownedSetEntries).
   */
  readonly owned: OwnedRanges;
  /** Most entries the set may hold. */
  readonly capacity: number;
  /** The widest aggregate. @default DEFAULT_AGGREGATION_FLOOR */
  readonly floor?: AggregationFloor;
  /** The plan's parsed ranges (./parsed-ranges), when it keeps them. @default parsed for this plan alone */
  readonly parsed?: ParsedRanges;
}

/** A {@link ReconcilePlan} whose `added` and `overflow` are ledger ranges and `removed` set entries. */
export interface SetEntriesPlan extends ReconcilePlan {
  /** Ranges of ours that an entry of the set covered before and none covers after: taken out by this write. */
  readonly released: Cidr[];
  /** How many ledger ranges the set's entries of ours cover after the write. */
  readonly rangesHeld: number;
}

interface Claim {
  readonly entry: LedgerEntry;
  readonly range: Cidr;
}

/**
 * Plans the set:
 * - entries that are not ours (unknown to the ledger, unparsable, `preexisting`, or an aggregate
 *   not exactly tiled by ranges of ours) are kept verbatim, whatever the capacity, and no
 *   aggregate of ours ever equals or overlaps one of them;
 * - the ranges of `hold` are held as their aggregates (a `preexisting` one whose entry is still
 *   in the set needs none); any other entry of ours is removed or replaced;
 * - when the aggregates do not fit beside the foreign entries, the least deserving ranges (least
 *   recently seen, then fewest hits) overflow until they do.
 *
 * `added` lists the ranges no entry of ours covered before, `removed` the entries taken out (an
 * aggregate that splits is removed and its remaining parts added), `changed` whether the list
 * changed. Planning again from `addresses` gives `changed: false`.
 *
 * @throws {RangeError} when `capacity` is not a non-negative integer, or a range does not parse.
 */
export function planSetEntries(input: SetEntriesInput): SetEntriesPlan {
  const parsed = input.parsed ?? new ParsedRanges();
  return planSetClaims({ ...input, parsed }, claimsOf(input.hold, parsed));
}

/**
 * {@link planSetEntries} of claims already made: one per canonical range (`range` is
 * `entry.range` in canonical form), as the shard plan has them, so they are not made twice.
 * @throws {RangeError} when `capacity` is not a non-negative integer, or a range does not parse.
 */
export function planSetClaims(
  input: Omit<SetEntriesInput, 'hold'>,
  claims: readonly { readonly entry: LedgerEntry; readonly range: Cidr; readonly block?: NetworkRange }[],
): SetEntriesPlan {
  const { capacity, owned, floor = DEFAULT_AGGREGATION_FLOOR, parsed = new ParsedRanges() } = input;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }
  const current = input.current instanceof IpSetIndex ? input.current.addresses : input.current;
  const ownership = ownedSetEntries(current, owned, floor, parsed);
  const foreignRanges = new Set(ownership.foreign.map((entry) => parsed.cidr(entry)));
  const heldBefore = new Set(ownership.ours.flatMap((entry) => entry.covers));

  // A preexisting range whose own entry is still there is blocked by that entry: it needs no slot.
  const want = claims.filter((claim) => !(claim.entry.preexisting === true && foreignRanges.has(claim.range)));
  const room = Math.max(0, capacity - ownership.foreign.length);
  const taint = new ForeignEntries(ownership.foreign, floor, parsed);
  const { kept, overflow } = fitInto(
    want,
    room,
    (claims) =>
      aggregateAround(
        // A claim's parsed range when it has one: not looked up again by its text.
        claims.map((claim) => claim.block ?? claim.range),
        taint,
        floor,
        parsed,
      ),
    rankedWith(parsed),
  );

  const next = new Set(kept.entries);
  const ours = new Set(ownership.ours.map((entry) => entry.entry));
  const addresses: string[] = [];
  const removed: string[] = [];
  const emitted = new Set<Cidr>();
  for (const address of current) {
    if (!ours.has(address)) {
      addresses.push(address);
      continue;
    }
    const cidr = parsed.cidr(address);
    if (cidr !== undefined && next.has(cidr) && !emitted.has(cidr)) {
      emitted.add(cidr);
      addresses.push(address);
    } else {
      removed.push(address);
    }
  }
  const appended = kept.entries.filter((cidr) => !emitted.has(cidr));
  addresses.push(...appended);

  const added = inAddressOrder(
    kept.claims.map((claim) => claim.range).filter((range) => !heldBefore.has(range)),
    parsed,
  );
  return {
    addresses,
    added,
    removed,
    overflow: overflow.map((claim) => claim.entry),
    foreign: ownership.foreign.length,
    changed: removed.length > 0 || appended.length > 0,
    released: releasedOf(heldBefore, kept.claims, parsed),
    rangesHeld: kept.claims.length,
  };
}

/**
 * The ranges held before that no kept claim holds now, in address order. Nothing held before,
 * nothing released: a first run's 10,000 new ranges need no index of what is kept.
 */
function releasedOf(
  heldBefore: ReadonlySet<Cidr>,
  kept: readonly { readonly range: Cidr }[],
  parsed: ParsedRanges,
): Cidr[] {
  if (heldBefore.size === 0) return [];
  const keptRanges = new Set(kept.map((claim) => claim.range));
  return inAddressOrder(
    [...heldBefore].filter((range) => !keptRanges.has(range)),
    parsed,
  );
}

/**
 * The most deserving claims whose entries fit in `room`, and the rest. The first `room` claims
 * always fit (aggregates are never more entries than ranges), so the search starts there.
 */
export function fitInto<T extends { readonly entry: LedgerEntry }>(
  claims: readonly T[],
  room: number,
  entriesOf: (claims: readonly T[]) => Cidr[],
  rank: (a: T, b: T) => number = byPriority,
): { readonly kept: { readonly claims: T[]; readonly entries: Cidr[] }; readonly overflow: T[] } {
  const all = entriesOf(claims);
  if (all.length <= room) return { kept: { claims: [...claims], entries: all }, overflow: [] };
  const ranked = [...claims].sort(rank);
  // Largest count that fits, by bisection: `low` always fits, `high` never does.
  let low = Math.min(room, ranked.length);
  let high = ranked.length;
  let entries = entriesOf(ranked.slice(0, low));
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    const tried = entriesOf(ranked.slice(0, middle));
    if (tried.length <= room) {
      low = middle;
      entries = tried;
    } else {
      high = middle;
    }
  }
  return { kept: { claims: ranked.slice(0, low), entries }, overflow: ranked.slice(low) };
}

/** One claim per range (canonical), the most deserving row when the ledger lists a range twice. */
function claimsOf(entries: readonly LedgerEntry[], parsed: ParsedRanges): Claim[] {
  const claims = new Map<Cidr, Claim>();
  for (const entry of entries) {
    const range = parsed.cidr(entry.range);
    if (range === undefined) throw new RangeError(`ledger range "${entry.range}" is not an IPv4 or IPv6 range`);
    const claim: Claim = { entry, range };
    const other = claims.get(range);
    if (other === undefined || byPriority(claim, other, parsed) < 0) claims.set(range, claim);
  }
  return [...claims.values()];
}

/** {@link fitInto}'s ranking, reading addresses from the plan's parsed ranges. */
export function rankedWith(
  parsed: ParsedRanges,
): (a: { readonly entry: LedgerEntry }, b: { readonly entry: LedgerEntry }) => number {
  return (a, b) => byPriority(a, b, parsed);
}

/** Who keeps a slot when the set is full: the most recently seen, then the most active, then by address. */
function byPriority(
  a: { readonly entry: LedgerEntry },
  b: { readonly entry: LedgerEntry },
  parsed?: ParsedRanges,
): number {
  return (
    b.entry.lastSeen - a.entry.lastSeen ||
    b.entry.hits - a.entry.hits ||
    byAddress(a.entry.range, b.entry.range, parsed)
  );
}

/** Canonical ranges in address order, each parsed once. */
function inAddressOrder(ranges: readonly Cidr[], parsed: ParsedRanges): Cidr[] {
  // Each looked up once, not twice per comparison.
  const keyed = ranges.map((range) => ({ range, block: parsed.range(range) }));
  keyed.sort((a, b) =>
    a.block === undefined || b.block === undefined ? a.range.localeCompare(b.range) : compareRanges(a.block, b.block),
  );
  return keyed.map(({ range }) => range);
}

/** `compareRanges` order of two texts; text order when one does not parse. */
function byAddress(a: string, b: string, parsed: ParsedRanges | undefined): number {
  const left = parseWith(parsed, a);
  const right = parseWith(parsed, b);
  return left === undefined || right === undefined ? a.localeCompare(b) : compareRanges(left, right);
}
