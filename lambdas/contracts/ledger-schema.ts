/**
 * The ledger table's key schema: the one contract between the CDK stack that creates the table and
 * the blocker that reads and writes it. No AWS imports, so the stack can use it at synth time.
 */
export const LEDGER_SCHEMA = {
  /** Partition key (S): the canonical CIDR of a managed range. */
  partitionKey: 'range',
  /** TTL attribute (N, epoch seconds): a backstop set well after expiry; the blocker removes ranges itself. */
  ttlAttribute: 'ttl',
  /** Sparse global secondary index over the ranges that are managed right now, by expiry. */
  activeIndex: 'ActiveByExpiry',
  /** GSI partition key (S): `IPV4` or `IPV6`, present only while the range is active. */
  activeIndexPartitionKey: 'activeFamily',
  /** GSI sort key (N): expiresAt in epoch milliseconds. */
  activeIndexSortKey: 'expiresAt',
  /**
   * Key prefix (not a CIDR, and never with `activeFamily`) of the write-ahead intent items: a run's
   * intended additions, recorded before it writes the IP sets (`#intent#<slot>#<part>`).
   */
  intentKeyPrefix: '#intent#',
} as const;

/**
 * Partition keys of the ledger's items that are not ranges. None is a CIDR and none carries
 * `activeFamily`, so no range lookup and no query of the active index ever returns one.
 */
export const LEDGER_RESERVED_KEYS = {
  /** The block report that could not be published yet; the next run publishes it (lambdas/adapters/pending-report.ts). */
  pendingReport: '#pending-report',
} as const;
