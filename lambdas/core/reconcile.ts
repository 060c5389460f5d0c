/**
 * Plans the next content of one WAF IP set from what it holds now and what the ledger wants.
 *
 * WAF's UpdateIPSet replaces the whole list, so the plan is the full list to send. It is a pure
 * function of its input on purpose: after a WAFOptimisticLockException the caller re-reads the set
 * and plans again from the fresh addresses, never resending a list built from stale data.
 */
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { cidrOfKey, compareRangeKeys, rangeKey, type RangeKey } from './range-key';
import type { Cidr, LedgerEntry } from './types';

/** Input of {@link planReconcile}; every ledger entry must be of the IP set's address family. */
export interface ReconcileInput {
  /**
   * The set's addresses exactly as WAF returned them, or an {@link IpSetIndex} of them when the
   * run has built one already (for the ledger's `presentInSet`), so they are parsed only once.
   */
  readonly current: readonly string[] | IpSetIndex;
  /** Ledger rows still blocking. */
  readonly active: readonly LedgerEntry[];
  /** Ledger rows whose block ran out. */
  readonly expired: readonly LedgerEntry[];
  /** Most addresses the set may hold. @default 10_000 */
  readonly capacity?: number;
}

/** What to send to WAF, and what it changes. */
export interface ReconcilePlan {
  /** The full new list to send; equal to `current` when nothing changes. */
  readonly addresses: string[];
  /**
   * Ranges added, canonical, in address order. The blocklists' plans (./aggregate-plan,
   * ./shard-plan) sort it when it is first read, after the set writes that do not need it.
   */
  readonly added: Cidr[];
  /** Entries removed, spelled as WAF returned them, in their order in `current`. */
  readonly removed: string[];
  /** Active ranges that did not fit, most deserving first; those that were in the set are also in `removed`. */
  readonly overflow: LedgerEntry[];
  /**
   * Entries kept whatever the capacity, because they are not ours to remove: entries the ledger
   * does not know (added by a person or another tool, or unparsable), and entries that were
   * already in the set when we first saw the range (`preexisting`).
   */
  readonly foreign: number;
  /**
   * False when the new list holds exactly the current entries (order aside): send nothing.
   * `addresses` is then a copy of `current`. Dropping a second copy of one of our ranges counts as
   * a change: it frees a slot.
   */
  readonly changed: boolean;
  /**
   * Ranges of ours the write takes out of the set that `removed` does not name: those that left
   * inside an aggregate that was split or removed (core/aggregate-plan). Unset: none.
   */
  readonly released?: Cidr[];
}

/** An active ledger range, with the key it is matched by and what it is ranked by, kept flat for the sort. */
interface Claim {
  readonly entry: LedgerEntry;
  readonly key: RangeKey;
  readonly lastSeen: number;
  readonly hits: number;
}

/**
 * Plans the IP set's next content:
 * - foreign entries (not an active or expired ledger range, or unparsable) are kept verbatim,
 *   whatever the capacity;
 * - expired ranges are removed, unless `preexisting` (the entry was never ours);
 * - active ranges are present, capacity allowing: foreign entries count first, the room left goes
 *   to active ranges by `lastSeen` (latest first), then `hits` (most first), then address; the
 *   rest is `overflow`, and an overflowing range that was in the set is removed to make room.
 *
 * Entries are compared by canonical form, so `2001:DB8:0:0::/64` from WAF matches the ledger's
 * `2001:db8::/64`; kept entries keep their original spelling. A range both active and expired
 * counts as active. Planning again with `current = plan.addresses` gives `changed: false`.
 *
 * @throws RangeError when `capacity` is not a non-negative integer, or a ledger entry's range does
 *   not parse (a corrupt ledger: better to write nothing than to send WAF a list it rejects).
 */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const { capacity = IP_SET_CAPACITY } = input;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }
  const index = input.current instanceof IpSetIndex ? input.current : new IpSetIndex(input.current);
  const current = index.addresses;

  // Ranges are matched by RangeKey, not text: WAF may echo another spelling than we sent, and
  // formatting 10,000 entries just to compare them would cost more than the rest of the plan.
  const active = new Map<RangeKey, Claim>();
  for (const entry of input.active) {
    const claim: Claim = { entry, key: keyOf(entry), lastSeen: entry.lastSeen, hits: entry.hits };
    const other = active.get(claim.key);
    if (other === undefined || byPriority(claim, other) < 0) active.set(claim.key, claim);
  }
  const expired = new Map<RangeKey, LedgerEntry>();
  for (const entry of input.expired) {
    const key = keyOf(entry);
    if (!active.has(key)) expired.set(key, entry);
  }

  // 1 = keep; a typed array, since a boolean[] of a full set is 10,000 tagged slots for the GC to scan.
  const keep = new Uint8Array(current.length).fill(1);
  // Each of our active ranges found in the set: the index of the copy we hold and could give up for
  // capacity, or -1 for a preexisting one, which is never ours to give up. One map instead of a
  // "present" set beside a "held at" map: a full set makes each of them thousands of entries.
  const held = new Map<RangeKey, number>();
  let foreign = 0;
  for (let i = 0; i < current.length; i++) {
    const key = index.keys[i];
    const claim = key === undefined ? undefined : active.get(key);
    const lapsed = key === undefined ? undefined : expired.get(key);
    if (key !== undefined && claim !== undefined) {
      if (claim.entry.preexisting === true) {
        foreign++;
        held.set(key, -1);
      } else if (held.has(key)) {
        keep[i] = 0; // a second copy of a range we hold: ours, and redundant
      } else {
        held.set(key, i);
      }
    } else if (lapsed !== undefined && lapsed.preexisting !== true) {
      keep[i] = 0;
    } else {
      foreign++;
    }
  }

  // A preexisting entry that is in the set was counted with the foreign ones: it needs no slot.
  const candidates: Claim[] = [];
  for (const claim of active.values()) {
    if (!(claim.entry.preexisting === true && held.has(claim.key))) candidates.push(claim);
  }
  const room = Math.max(0, capacity - foreign);
  // Only a full set needs the ranking.
  if (candidates.length > room) candidates.sort(byPriority);
  const overflow: LedgerEntry[] = [];
  const addedKeys: RangeKey[] = [];
  for (let rank = 0; rank < candidates.length; rank++) {
    const claim = candidates[rank] as Claim;
    // Candidates that are in the set are never preexisting ones, so `at` is an index here.
    const at = held.get(claim.key);
    if (rank >= room) {
      overflow.push(claim.entry);
      if (at !== undefined) keep[at] = 0;
    } else if (at === undefined) {
      addedKeys.push(claim.key);
    }
  }

  const added = addedKeys.sort(compareRangeKeys).map(cidrOfKey);
  const removed: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < current.length; i++) {
    const address = current[i] as string;
    if (keep[i] === 1) kept.push(address);
    else removed.push(address);
  }
  // Kept entries stay in place and added ones are new, so the order of `current` never counts as a change.
  const changed = added.length > 0 || removed.length > 0;
  // Unchanged, `kept` is already the copy of `current` to return.
  for (const cidr of added) kept.push(cidr);
  const addresses = kept;
  return { addresses, added, removed, overflow, foreign, changed };
}

/**
 * The addresses of an IP set as read, parsed once: for the ledger's `presentInSet` (through
 * {@link IpSetIndex.has}) and for {@link planReconcile}, which accepts it in place of the list.
 */
export class IpSetIndex {
  /** The set's addresses exactly as WAF returned them (a copy: the keys must stay in step). */
  readonly addresses: readonly string[];
  /** The key of each address, `undefined` for an entry that does not parse. */
  readonly keys: readonly (RangeKey | undefined)[];
  private present: Set<RangeKey> | undefined;

  /** @param addresses - The set's addresses exactly as WAF returned them. */
  constructor(addresses: readonly string[]) {
    this.addresses = [...addresses];
    this.keys = this.addresses.map((text) => rangeKey(text));
  }

  /**
   * Whether the set holds `range`, compared by value: an entry WAF echoes as `2001:DB8:0:0::/64`
   * is present for `2001:db8::/64`. Unparsable entries match nothing, and so does unparsable `range`.
   */
  has(range: Cidr): boolean {
    if (this.present === undefined) {
      this.present = new Set();
      for (const key of this.keys) if (key !== undefined) this.present.add(key);
    }
    // An empty set holds nothing: a first run's 10,000 new ranges are not parsed to learn that.
    if (this.present.size === 0) return false;
    const key = rangeKey(range);
    return key !== undefined && this.present.has(key);
  }
}

function keyOf(entry: LedgerEntry): RangeKey {
  const key = rangeKey(entry.range);
  if (key === undefined) throw new RangeError(`ledger range "${entry.range}" is not an IPv4 or IPv6 range`);
  return key;
}

/** Who keeps a slot when the set is full: the most recently seen, then the most active, then by address for a stable order. */
function byPriority(a: Claim, b: Claim): number {
  return b.lastSeen - a.lastSeen || b.hits - a.hits || compareRangeKeys(a.key, b.key);
}

/**
 * Ledger entries as one shared IP set sees them: there, `preexisting` means "that set held the
 * range before we claimed it" (`sharedPreexisting`) or "the range was never compared with that
 * set" (not in `sharedSeen`), not the blocklist's flag. Entries that carry
 * neither flag, nearly all of them, are passed through as they are.
 *
 * @param sharedArn - The shared set's ARN; undefined for the deployment's own blocklist.
 */
export function asSeenBySet(entries: readonly LedgerEntry[], sharedArn: string | undefined): LedgerEntry[] {
  if (sharedArn === undefined) return [...entries];
  return entries.map((entry) => {
    // Never compared with this set (it was unreadable while the range was active): we never wrote
    // the range there, so whatever the set holds for it is someone else's.
    const preexisting =
      entry.sharedPreexisting?.includes(sharedArn) === true || entry.sharedSeen?.includes(sharedArn) !== true;
    return preexisting === (entry.preexisting === true) ? entry : { ...entry, preexisting };
  });
}
