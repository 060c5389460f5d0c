/**
 * The ledger table's key schema: the one contract between the CDK stack that creates the table and
 * the blocker that reads and writes it. No AWS imports, so the stack can use it at synth time.
 *
 * Two tiers share the table (issue 12). A block-tier row is keyed and indexed exactly as before
 * tiers existed (partition key the canonical CIDR, `activeFamily` `IPV4`, `activeShard` `IPV4#07`),
 * so that a 0.1.0 or 0.2.x blocker rolled back onto the table still reads and writes it. A
 * neighbour-tier row has keys of its own that no CIDR and no older reader can meet: partition key
 * `neighbour#<cidr>` ({@link ledgerKeyOf}), `activeFamily` `neighbour#IPV4`, `activeShard`
 * `neighbour#IPV4#07`. Older readers query `activeFamily = IPV4` or `activeShard = IPV4#nn` and
 * look ranges up by their CIDR, so they never see one; a run without a neighbour tier need not
 * query its partitions either.
 */
import type { Tier } from './ranges';

export type { Tier };
export const LEDGER_SCHEMA = {
  /** Partition key (S): the canonical CIDR of a managed range. */
  partitionKey: 'range',
  /** TTL attribute (N, epoch seconds): a backstop set well after expiry; the blocker removes ranges itself. */
  ttlAttribute: 'ttl',
  /** Sparse global secondary index over the ranges that are managed right now, by expiry. */
  activeIndex: 'ActiveByExpiry',
  /** GSI partition key (S): `IPV4` or `IPV6`, present only while the range is active. */
  activeIndexPartitionKey: 'activeFamily',
  /** GSI sort key (N): expiresAt in epoch milliseconds; also the sort key of the sharded index. */
  activeIndexSortKey: 'expiresAt',
  /**
   * Sparse global secondary index over the same active ranges, spread over {@link ACTIVE_SHARDS}
   * partitions per family, so that a run reads 50,000 of them in one wave of parallel queries (one
   * 1 MB page each) instead of one page after another in `activeIndex`'s single partition per family.
   * Written beside `activeIndex`, which is kept so that a rollback to 0.1.0 still finds every range.
   */
  shardIndex: 'ActiveByShard',
  /**
   * GSI partition key (S): `<family>#<nn>` ({@link activeShardOf}), present exactly while
   * `activeFamily` is: set and removed in the same writes.
   */
  shardIndexPartitionKey: 'activeShard',
  /**
   * Key prefix (not a CIDR, and never with `activeFamily`) of the write-ahead intent items: a run's
   * intended additions, recorded before it writes the IP sets (`#intent#<slot>#<part>`).
   */
  intentKeyPrefix: '#intent#',
  /**
   * Key prefix of a neighbour-tier row (`neighbour#<cidr>`), and of its `activeFamily` and
   * `activeShard` values. Neither a CIDR nor `#`: no range lookup of a block-tier row, no reserved
   * item and no intent item can have such a key.
   */
  neighbourKeyPrefix: 'neighbour#',
  /** Attribute (S) of a neighbour-tier row: its canonical CIDR, which its partition key only carries prefixed. */
  cidrAttribute: 'cidr',
  /** Attribute (S) of a neighbour-tier row: `neighbour`. A block-tier row has none, as before tiers. */
  tierAttribute: 'tier',
} as const;

/**
 * Partition keys of the ledger's items that are not ranges. None is a CIDR and none carries
 * `activeFamily`, so no range lookup and no query of the active index ever returns one.
 */
export const LEDGER_RESERVED_KEYS = {
  /** The block report that could not be published yet; the next run publishes it (lambdas/adapters/pending-report.ts). */
  pendingReport: '#pending-report',
  /**
   * The marker that every active range carries `activeShard`: written once the rows a 0.1.0 blocker
   * left (with `activeFamily` only) have theirs; until then readers also query `activeIndex`.
   */
  schema: '#schema',
} as const;

/** Partitions of `shardIndex` per family. Changing it strands every row written with the old count. */
export const ACTIVE_SHARDS = 16;

/**
 * The `activeShard` of an active range: its family and a stable hash (FNV-1a, 32 bits) of the
 * canonical CIDR modulo {@link ACTIVE_SHARDS}, as two digits (`IPV4#07`). Stable across versions and
 * processes: a row is found again in the partition it was written to.
 */
export function activeShardOf(family: 'IPV4' | 'IPV6', range: string, tier: Tier = 'block'): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < range.length; index++) {
    hash ^= range.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return activeShardKey(family, hash % ACTIVE_SHARDS, tier);
}

/**
 * The `activeShard` value of partition `shard` (0 to {@link ACTIVE_SHARDS} - 1) of `family` in
 * `tier`: `IPV4#07`, or `neighbour#IPV4#07`.
 */
export function activeShardKey(family: 'IPV4' | 'IPV6', shard: number, tier: Tier = 'block'): string {
  return `${activeFamilyOf(family, tier)}#${String(shard).padStart(2, '0')}`;
}

/** The `activeFamily` value of an active row of `family` in `tier`: `IPV4`, or `neighbour#IPV4`. */
export function activeFamilyOf(family: 'IPV4' | 'IPV6', tier: Tier = 'block'): string {
  return tier === 'block' ? family : `${LEDGER_SCHEMA.neighbourKeyPrefix}${family}`;
}

/** The partition key of the row of `range` (a canonical CIDR) in `tier`: the CIDR, or `neighbour#<cidr>`. */
export function ledgerKeyOf(range: string, tier: Tier = 'block'): string {
  return tier === 'block' ? range : `${LEDGER_SCHEMA.neighbourKeyPrefix}${range}`;
}
