/**
 * Plans the next content of one family's blocklist when it is sharded over several WAF IP sets
 * (`blocker.ipSetsPerFamily`). It decides which set each active range goes to, then plans each set
 * with {@link planReconcile}, so every rule of one set (foreign entries kept, expired ranges
 * removed, preexisting entries never ours) holds in every shard.
 *
 * Placement, in order:
 * - a range already held (as ours) by a set stays in that set: no churn, no write to move it; a
 *   second copy in another set is removed, which frees a slot there;
 * - foreign entries of a set count against that set's capacity;
 * - when the ranges wanted exceed the room of all sets together, the most deserving are kept, as
 *   planReconcile ranks them (latest `lastSeen`, then most `hits`), and the rest is overflow;
 * - the other ranges go, one at a time, to the set with the most free slots (first set on a tie).
 *
 * Pure (no AWS imports): after a WAFOptimisticLockException on one set, the caller re-plans that
 * set alone with {@link planShardAgain} from its fresh addresses, keeping the placement of the others.
 */
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { compareRangeKeys, rangeKey, type RangeKey } from './range-key';
import { IpSetIndex, planReconcile, type ReconcilePlan } from './reconcile';
import type { LedgerEntry } from './types';

/** Input of {@link planShards}; every ledger entry must be of the sets' address family. */
export interface ShardInput {
  /** Each set's addresses as WAF returned them (or their index), in shard order; at least one. */
  readonly shards: readonly (readonly string[] | IpSetIndex)[];
  /** Ledger rows still blocking. */
  readonly active: readonly LedgerEntry[];
  /** Ledger rows whose block ran out. */
  readonly expired: readonly LedgerEntry[];
  /** Most addresses each set may hold. @default 10_000 */
  readonly capacity?: number;
}

/** One set's part of a {@link ShardPlan}: what to send it, and what it was planned from. */
export interface PlannedShard {
  /** The set's plan (its `overflow` is always empty: overflow is the family's, in {@link ShardPlan}). */
  readonly plan: ReconcilePlan;
  /** The active ranges this set is to hold. */
  readonly active: readonly LedgerEntry[];
  /** Entries of ours this set is to give up if it holds them: expired, placed in another set, or overflow. */
  readonly release: readonly LedgerEntry[];
  /** Most addresses the set may hold. */
  readonly capacity: number;
}

/** The plan of every set of one family. */
export interface ShardPlan {
  /** In shard order. */
  readonly shards: readonly PlannedShard[];
  /** Active ranges that fit in no set, most deserving first (a copy held before is removed). */
  readonly overflow: LedgerEntry[];
}

interface Claim {
  readonly entry: LedgerEntry;
  readonly key: RangeKey;
}

/**
 * Plans every set of one family (see the module comment for the placement rules).
 * @throws RangeError when `shards` is empty, `capacity` is not a non-negative integer, or a ledger
 *   range does not parse.
 */
export function planShards(input: ShardInput): ShardPlan {
  const { capacity = IP_SET_CAPACITY } = input;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }
  if (input.shards.length === 0) throw new RangeError('planShards needs at least one IP set');
  const indexes = input.shards.map((s) => (s instanceof IpSetIndex ? s : new IpSetIndex(s)));
  const active = activeClaims(input.active);
  // Expired ranges of ours leave whichever set holds them; a preexisting one stays, as someone else's.
  const lapsed = new Map<RangeKey, boolean>();
  for (const entry of input.expired) lapsed.set(keyOf(entry), entry.preexisting === true);

  // Where each active range is held as ours (the first set holding it), and each set's foreign count.
  const heldIn = new Map<RangeKey, number>();
  const heldPreexisting = new Map<RangeKey, number>();
  const foreign = indexes.map((index, shard) => {
    let count = 0;
    for (const key of index.keys) {
      const claim = key === undefined ? undefined : active.get(key);
      if (key === undefined || claim === undefined) {
        if (key === undefined || lapsed.get(key) !== false) count++;
      } else if (claim.entry.preexisting === true) {
        count++;
        if (!heldPreexisting.has(key)) heldPreexisting.set(key, shard);
      } else if (!heldIn.has(key)) {
        heldIn.set(key, shard);
      }
    }
    return count;
  });

  const room = foreign.map((count) => Math.max(0, capacity - count));
  const candidates = [...active.values()].filter((c) => !heldPreexisting.has(c.key));
  const totalRoom = room.reduce((sum, r) => sum + r, 0);
  if (candidates.length > totalRoom) candidates.sort(byPriority);
  const kept = candidates.slice(0, totalRoom);
  const overflow = candidates.slice(totalRoom).map((c) => c.entry);

  const placed: LedgerEntry[][] = indexes.map(() => []);
  const unplaced: Claim[] = [];
  for (const claim of kept) {
    const shard = heldIn.get(claim.key);
    const list = shard === undefined ? undefined : placed[shard];
    if (list !== undefined && list.length < (room[shard as number] ?? 0)) list.push(claim.entry);
    else unplaced.push(claim);
  }
  for (const claim of unplaced) {
    let best = 0;
    for (let shard = 1; shard < placed.length; shard++) {
      if (free(room, placed, shard) > free(room, placed, best)) best = shard;
    }
    placed[best]?.push(claim.entry);
  }
  for (const [key, shard] of heldPreexisting) {
    const claim = active.get(key);
    if (claim !== undefined) placed[shard]?.push(claim.entry);
  }

  const shards = indexes.map((index, shard): PlannedShard => {
    const mine = placed[shard] ?? [];
    const release = [...input.expired, ...overflow, ...placed.flatMap((list, other) => (other === shard ? [] : list))];
    return {
      plan: planReconcile({ current: index, active: mine, expired: release, capacity }),
      active: mine,
      release,
      capacity,
    };
  });
  return { shards, overflow };
}

/**
 * Plans one set again from its fresh addresses (after a lock conflict), keeping the placement of
 * {@link planShards}: it holds the ranges placed in it and gives up the others. When the fresh set
 * has less room (foreign entries added meanwhile), the least deserving of its ranges overflow.
 * @param withdrawn - Ranges another run ended meanwhile: not put back.
 */
export function planShardAgain(
  shard: PlannedShard,
  current: readonly string[],
  withdrawn: ReadonlySet<string> = new Set(),
): ReconcilePlan {
  const active = withdrawn.size === 0 ? shard.active : shard.active.filter((entry) => !withdrawn.has(entry.range));
  return planReconcile({ current, active, expired: shard.release, capacity: shard.capacity });
}

/**
 * The sets' plans taken together, as one family's blocklist: `addresses` of every set in shard
 * order, `added` and `removed` of every set, `overflow` of the family, `foreign` summed.
 */
export function combinedPlan(plans: readonly ReconcilePlan[], overflow: readonly LedgerEntry[]): ReconcilePlan {
  return {
    addresses: plans.flatMap((plan) => plan.addresses),
    added: plans.flatMap((plan) => plan.added),
    removed: plans.flatMap((plan) => plan.removed),
    overflow: [...overflow, ...plans.flatMap((plan) => plan.overflow)],
    foreign: plans.reduce((sum, plan) => sum + plan.foreign, 0),
    changed: plans.some((plan) => plan.changed),
  };
}

function free(room: readonly number[], placed: readonly LedgerEntry[][], shard: number): number {
  return (room[shard] ?? 0) - (placed[shard]?.length ?? 0);
}

/** One claim per range, the most deserving row when the ledger lists a range twice (as planReconcile). */
function activeClaims(entries: readonly LedgerEntry[]): Map<RangeKey, Claim> {
  const claims = new Map<RangeKey, Claim>();
  for (const entry of entries) {
    const claim: Claim = { entry, key: keyOf(entry) };
    const other = claims.get(claim.key);
    if (other === undefined || byPriority(claim, other) < 0) claims.set(claim.key, claim);
  }
  return claims;
}

function keyOf(entry: LedgerEntry): RangeKey {
  const key = rangeKey(entry.range);
  if (key === undefined) throw new RangeError(`ledger range "${entry.range}" is not an IPv4 or IPv6 range`);
  return key;
}

/** planReconcile's ranking: the most recently seen, then the most active, then by address. */
function byPriority(a: Claim, b: Claim): number {
  return b.entry.lastSeen - a.entry.lastSeen || b.entry.hits - a.entry.hits || compareRangeKeys(a.key, b.key);
}
