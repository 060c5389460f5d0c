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
  type SetEntryOwnership,
} from './aggregate';
import { compareRanges, type NetworkRange } from './network-range';
import { ParsedRanges, parseWith } from './parsed-ranges';
import { scanRangeKey } from './range-key';
import { IpSetIndex, type ReconcilePlan } from './reconcile';
import type { Cidr, LedgerEntry } from './types';

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

/** The claims a set keeps, and the entries they take there. */
type FittedClaims = { readonly claims: readonly PlanClaim[]; readonly entries: readonly Cidr[] };

/** A claim as {@link planSetClaims} takes it: `range` canonical, `block` its parsed range when the caller has it. */
type PlanClaim = { readonly entry: LedgerEntry; readonly range: Cidr; readonly block?: NetworkRange };

/**
 * What the caller of {@link planSetClaims} has computed of the set already (the shard plan, which
 * classified every set and aggregated every floor block to place ranges): not computed twice.
 */
export interface KnownSetParts {
  /** `ownedSetEntries(current, owned, floor, parsed)`. */
  readonly ownership?: SetEntryOwnership;
  /** The set's foreign entries, indexed: `new ForeignEntries(ownership.foreign, floor, parsed)`. */
  readonly taint?: ForeignEntries;
  /**
   * `aggregateAround` of the claims the set is to hold (without a `preexisting` one whose own entry
   * is in the set), around its foreign entries, in range order.
   */
  readonly aggregate?: readonly Cidr[];
}

/**
 * {@link planSetEntries} of claims already made: one per canonical range (`range` is
 * `entry.range` in canonical form), as the shard plan has them, so they are not made twice.
 * @param known - What the caller computed of this set already; each part must be exactly what its doc says.
 * @throws {RangeError} when `capacity` is not a non-negative integer, or a range does not parse.
 */
export function planSetClaims(
  input: Omit<SetEntriesInput, 'hold'>,
  claims: readonly PlanClaim[],
  known: KnownSetParts = {},
): SetEntriesPlan {
  const { capacity, owned, floor = DEFAULT_AGGREGATION_FLOOR, parsed = new ParsedRanges() } = input;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }
  const current = input.current instanceof IpSetIndex ? input.current.addresses : input.current;
  const ownership = known.ownership ?? ownedSetEntries(current, owned, floor, parsed);
  // A first run's sets hold nothing: no index of what they held is made for 10,000 new ranges.
  const heldBefore = new Set(ownership.ours.length === 0 ? [] : ownership.ours.flatMap((entry) => entry.covers));
  const want = claimsWanted(claims, ownership.foreign, parsed);
  const room = Math.max(0, capacity - ownership.foreign.length);
  // Read only from here on: the known aggregate and the wanted claims are not copied.
  const { kept, overflow }: { readonly kept: FittedClaims; readonly overflow: readonly PlanClaim[] } =
    known.aggregate !== undefined && known.aggregate.length <= room
      ? { kept: { claims: want, entries: known.aggregate }, overflow: [] }
      : fitAround(want, room, known.taint ?? new ForeignEntries(ownership.foreign, floor, parsed), floor, parsed);
  const { addresses, removed, appended } = nextAddresses(current, ownership, kept.entries, parsed);
  let added: Cidr[] | undefined;
  return {
    addresses,
    // Sorted when first asked for: the report needs it, the set's write does not, so a first run's
    // 10,000 new ranges are not sorted before its first block (docs/blocker.md).
    get added(): Cidr[] {
      added ??= inAddressOrder(
        heldBefore.size === 0 ? kept.claims : kept.claims.filter((claim) => !heldBefore.has(claim.range)),
        parsed,
      );
      return added;
    },
    removed,
    overflow: overflow.map((claim) => claim.entry),
    foreign: ownership.foreign.length,
    changed: removed.length > 0 || appended > 0,
    released: releasedOf(heldBefore, kept.claims, parsed),
    rangesHeld: kept.claims.length,
  };
}

/** The claims that need a slot: a preexisting range whose own entry is still there is blocked by that entry. */
function claimsWanted(
  claims: readonly PlanClaim[],
  foreign: readonly string[],
  parsed: ParsedRanges,
): readonly PlanClaim[] {
  if (foreign.length === 0) return claims;
  const foreignRanges = new Set(foreign.map((entry) => parsed.cidr(entry)));
  return claims.filter((claim) => !(claim.entry.preexisting === true && foreignRanges.has(claim.range)));
}

/** {@link fitInto} of the claims' aggregates around the set's foreign entries. */
function fitAround(
  want: readonly PlanClaim[],
  room: number,
  taint: ForeignEntries,
  floor: AggregationFloor,
  parsed: ParsedRanges,
): { readonly kept: { readonly claims: PlanClaim[]; readonly entries: Cidr[] }; readonly overflow: PlanClaim[] } {
  return fitInto(
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
}

/**
 * The set's next addresses: its entries that are not ours verbatim and in place, each entry of
 * ours that stays (once), then the new entries; and the entries taken out.
 */
function nextAddresses(
  current: readonly string[],
  ownership: SetEntryOwnership,
  entries: readonly Cidr[],
  parsed: ParsedRanges,
): { readonly addresses: string[]; readonly removed: string[]; readonly appended: number } {
  // Nothing of ours in the set: it keeps every entry and gains every aggregate (a first run's sets).
  if (ownership.ours.length === 0)
    return { addresses: [...current, ...entries], removed: [], appended: entries.length };
  const next = new Set(entries);
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
  const appended = entries.filter((cidr) => !emitted.has(cidr));
  addresses.push(...appended);
  return { addresses, removed, appended: appended.length };
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
  const released: { readonly range: Cidr }[] = [];
  for (const range of heldBefore) if (!keptRanges.has(range)) released.push({ range });
  return inAddressOrder(released, parsed);
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

/**
 * Canonical ranges in address order, each parsed once (or taken parsed from its claim). IPv4
 * ranges (a first run's 10,000 new /24s) are sorted as numbers in native code, not through a
 * comparator that V8 has not compiled yet.
 */
function inAddressOrder(
  ranges: readonly { readonly range: Cidr; readonly block?: NetworkRange }[],
  parsed: ParsedRanges,
): Cidr[] {
  const blocks: (NetworkRange | undefined)[] = [];
  for (let i = 0; i < ranges.length; i++) {
    const item = ranges[i] as { readonly range: Cidr; readonly block?: NetworkRange };
    blocks.push(item.block ?? parsed.range(item.range));
  }
  return ipv4InAddressOrder(ranges, blocks) ?? byComparison(ranges, blocks);
}

/** Positions {@link ipv4InAddressOrder} packs beside a range's key: 2^15, so that key × 2^15 + position < 2^53. */
const POSITIONS = 32_768;

/**
 * IPv4 ranges in address order, or `undefined` when one is not IPv4 or there are too many to pack:
 * each range's key (./range-key: a number in `compareRanges` order) with its position below it, so
 * that equal ranges keep their order, as in a stable sort.
 */
function ipv4InAddressOrder(
  ranges: readonly { readonly range: Cidr }[],
  blocks: readonly (NetworkRange | undefined)[],
): Cidr[] | undefined {
  if (ranges.length > POSITIONS) return undefined;
  const keys = new Float64Array(ranges.length);
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    if (block?.family !== 'IPV4') return undefined;
    keys[i] = (scanRangeKey(block, block.prefix) as number) * POSITIONS + i;
  }
  keys.sort();
  const sorted: Cidr[] = [];
  for (let i = 0; i < keys.length; i++)
    sorted.push((ranges[(keys[i] as number) % POSITIONS] as { readonly range: Cidr }).range);
  return sorted;
}

function byComparison(
  ranges: readonly { readonly range: Cidr }[],
  blocks: readonly (NetworkRange | undefined)[],
): Cidr[] {
  const keyed = ranges.map(({ range }, i) => ({ range, block: blocks[i] }));
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
