/**
 * Shared vocabulary of the blocker's pure core. Nothing in `lambdas/core` imports an AWS SDK.
 */

import type { Cidr, Family, Tier } from '#contracts/ranges';

export type { Cidr, Family, Tier };

/** One range that a source (a rate rule, an operator, a ban feed) wants blocked in this run. */
export interface Sighting {
  readonly range: Cidr;
  readonly family: Family;
  /** Who saw it: the rate rule's name, or e.g. `manual` / `fail2ban@web1`. */
  readonly source: string;
  /** How many keys collapsed into this range in this run (at least 1). */
  readonly hits: number;
  /** How long this sighting blocks the range; unset: the deployment's block duration. A manual ban may set it. */
  readonly durationMs?: number;
  /** Why, when a person or another host asked for the block. */
  readonly reason?: string;
  /** The list it is for; unset: `block`. A new ledger entry takes it from its first sighting. */
  readonly tier?: Tier;
}

/**
 * What the ledger (DynamoDB) knows about a range. A range is "managed by us" exactly when the
 * ledger has an active entry for it; entries in an IP set that the ledger does not know are foreign
 * and are never removed.
 */
export interface LedgerEntry {
  readonly range: Cidr;
  readonly family: Family;
  /**
   * The list the range is in. Unset: `block`, as every entry was before tiers (so that an intent
   * or a row of a block-tier range reads as it always did).
   */
  readonly tier?: Tier;
  /** Epoch milliseconds. */
  readonly firstSeen: number;
  /** Epoch milliseconds; expiry counts from here. As stored, it may lag the last sighting (see expiresAt). */
  readonly lastSeen: number;
  /**
   * Epoch milliseconds, never earlier than the last sighting + its block duration. A rate rule
   * sighting writes it up to `expiryMargin` later and rewrites it only once a sighting is no longer covered.
   */
  readonly expiresAt: number;
  /** Total keys collapsed into this range over its life. */
  readonly hits: number;
  /** Source of the most recent sighting. */
  readonly source: string;
  /**
   * True when the range was already in the IP set, put there by a person or another tool, when we
   * first saw it. Expiry then ends our claim but never removes the entry: we do not own it.
   */
  readonly preexisting?: boolean;
  /** Why, when the most recent sighting was a manual or fed ban that said so. */
  readonly reason?: string;
  /**
   * The shared IP sets (by ARN) that already held the range, put there by someone else, when we
   * first claimed it: expiry never removes it from those. The same rule as `preexisting`, per set.
   */
  readonly sharedPreexisting?: readonly string[];
  /**
   * The shared IP sets (by ARN) the range has been compared with, once each, to decide
   * `sharedPreexisting`: a set added to the config later is compared on the first run that reads it.
   */
  readonly sharedSeen?: readonly string[];
}

/** The addresses of one WAF IP set as last read, with the token that guards the next write. */
export interface IpSetSnapshot {
  readonly addresses: readonly string[];
  readonly lockToken: string;
  readonly description?: string;
  /** The set's IPAddressVersion, as WAF reports it. */
  readonly family?: Family;
}

/** The tier of an entry: `block` unless it says `neighbour`. */
export function tierOf(entry: Pick<LedgerEntry, 'tier'>): Tier {
  return entry.tier ?? 'block';
}
