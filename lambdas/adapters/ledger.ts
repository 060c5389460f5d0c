/**
 * The ledger adapter: persists {@link LedgerEntry} values in DynamoDB and reads back the ranges that
 * are managed right now. The merge itself (new lastSeen, expiresAt, hits) is pure core logic; this
 * module only stores what it is given, guards against concurrent runs, and reports failures loudly.
 */
import { ConditionalCheckFailedException, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { tierOf, type Cidr, type Family, type LedgerEntry, type Tier } from '#core/types';
import {
  ACTIVE_SHARDS,
  activeFamilyOf,
  activeShardKey,
  activeShardOf,
  LEDGER_RESERVED_KEYS,
  LEDGER_SCHEMA,
  ledgerKeyOf,
} from '#contracts/ledger-schema';
import { ReadError, WriteError } from '#shared/errors';
import { withoutSdkLogging } from './sdk-logging';

/** Options of {@link Ledger}. */
export interface LedgerOptions {
  /**
   * How many UpdateItem calls run at once. On-demand tables absorb bursts, but an unbounded fan-out
   * of a few thousand ranges would open as many sockets in a small Lambda.
   * @default 16
   */
  readonly concurrency?: number;
}

/** What {@link Ledger.upsert} did. */
export interface UpsertResult {
  /** Entries stored. */
  readonly written: number;
  /** Entries not stored because a concurrent run had already stored a later lastSeen. */
  readonly skippedStale: number;
}

/** What {@link Ledger.markExpired} did. */
export interface ExpireResult {
  /** Entries that left the active index. */
  readonly expired: number;
  /** Entries left active because a concurrent run had moved their expiry into the future. */
  readonly refreshed: number;
}

/**
 * The key of the run lock item. Not a CIDR, and without `activeFamily`, so no range lookup and no
 * query of the active index ever returns it.
 */
export const RUN_LOCK_KEY = '#run-lock';

/** What {@link Ledger.acquireRunLock} found. */
export type RunLockResult =
  { readonly acquired: true } | { readonly acquired: false; readonly heldBy: string; readonly until: number };

/** One of the two places an intent is kept; a run writes the one its predecessor's left-over is not in. */
export type IntentSlot = 'a' | 'b';

/**
 * A run's write-ahead intent as stored: the entries it was about to add to the IP sets, recorded
 * before the set writes and dropped once each has its own row.
 */
export interface LedgerIntent {
  readonly slot: IntentSlot;
  /** The run that wrote it. */
  readonly runId: string;
  /** Epoch milliseconds. */
  readonly writtenAt: number;
  /** Parts the intent was written in. */
  readonly parts: number;
  /**
   * The entries of the parts found. A part missing, or left from another run, means the intent
   * write itself failed (its run then wrote no set) or its drop was under way (every row written).
   */
  readonly entries: LedgerEntry[];
}

/**
 * Most bytes of entries (JSON, UTF-8) in one intent item: DynamoDB's item limit is 400 KB with
 * attribute names and the other fields, so 350,000 leaves headroom. Entries alike but for their
 * range are grouped: a first run's 10,000 /24s take about 160 KB (one part), 50,000 /64s about
 * 1.5 MB (5 parts, written in parallel).
 */
export const INTENT_PART_BYTES = 350_000;

/**
 * Most parts an intent read believes its first part about: the most ranges a deployment holds
 * (5 sets × 10,000 per family and tier: 200,000), each with a long reason, take about 400. A
 * larger count is a damaged item, refused as unreadable before it costs one GetItem a part.
 */
export const MAX_INTENT_PARTS = 1_000;

/** The active rows of some families, as {@link Ledger.readActive} found them. */
export interface ActiveLedger {
  /** Every active row of each family read, earliest expiry first. */
  readonly rows: Readonly<Partial<Record<Family, LedgerEntry[]>>>;
  /** Whether the table carries the marker that every active row is in the sharded index. */
  readonly sharded: boolean;
  /** Active rows without `activeShard` (left by 0.1.0), found only while the marker is absent. */
  readonly unsharded: readonly LedgerEntry[];
}

/** What {@link Ledger.shardRows} did. */
export interface ShardResult {
  /** Rows that got their `activeShard`. */
  readonly sharded: number;
  /** Rows no longer active when their turn came (a concurrent run closed them). */
  readonly inactive: number;
  /** Whether the marker was written: every active row is in the sharded index now. */
  readonly marked: boolean;
}

/**
 * Most 0.1.0 rows one run gives their `activeShard`: at the default concurrency about 60 calls
 * one after another, so that a run after the upgrade still blocks within a second or so. A 0.1.0
 * table holds at most 20,000 active rows (one 10,000-entry set per family): at most 20 runs.
 */
export const SHARD_ROWS_PER_RUN = 1_000;

/** What {@link Ledger.endBlocks} did. */
export interface EndResult {
  /** Entries whose expiry is now. */
  readonly ended: number;
  /** Entries that were no longer active. */
  readonly inactive: number;
}

const DEFAULT_CONCURRENCY = 16;

/**
 * How long the item outlives its expiry before DynamoDB's TTL deletes it. The blocker removes the
 * range from the IP set itself; if TTL deleted the item first (say, while the blocker was failing),
 * the range would stay in the IP set as a foreign entry that nobody ever removes. A week also lets a
 * range that comes back keep its firstSeen, and an operator see why it was blocked.
 */
const TTL_GRACE_SECONDS = 7 * 24 * 60 * 60;

/** How many failed ranges a WriteError lists; the rest are counted, so a mass failure stays readable. */
const FAILED_RANGES_LISTED = 5;

const {
  partitionKey: RANGE,
  ttlAttribute: TTL,
  activeIndexPartitionKey: ACTIVE_FAMILY,
  shardIndexPartitionKey: ACTIVE_SHARD,
  cidrAttribute: CIDR,
  tierAttribute: TIER,
} = LEDGER_SCHEMA;
const FAMILIES: readonly Family[] = ['IPV4', 'IPV6'];
/** The marker's key, and the fields it carries. */
const SCHEMA_KEY = { [RANGE]: LEDGER_RESERVED_KEYS.schema };
const EXPIRES_AT = LEDGER_SCHEMA.activeIndexSortKey;

/**
 * Creates the document client the {@link Ledger} expects.
 *
 * @param clientOrConfig - A `DynamoDBClient` to share (its owner destroys it, and decides what its
 *   middleware stack holds, which the document client runs on), or the configuration of a new one,
 *   made without the SDK's logger middleware unless it has a `logger` (./sdk-logging). Create it
 *   once per module so that warm invocations reuse its connections.
 */
export function createLedgerClient(clientOrConfig: DynamoDBClient | DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client =
    clientOrConfig instanceof DynamoDBClient
      ? clientOrConfig
      : withoutSdkLogging(new DynamoDBClient(clientOrConfig), clientOrConfig.logger);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * The ledger table: which ranges this deployment manages, since when, and until when.
 *
 * A range is managed exactly while its item carries `activeFamily`; that attribute is the partition
 * key of the sparse `ActiveByExpiry` index, and `activeShard` (set and removed with it) the one of
 * the sparse `ActiveByShard` index that runs read, so reading the managed ranges never scans the table.
 * Expired items stay in the table (with `removedAt`) until TTL deletes them a week later.
 *
 * Each entry is read and written in its tier (`entry.tier`, unset: `block`): a neighbour-tier
 * row has a key and index partitions of its own (lambdas/contracts/ledger-schema.ts), so the same
 * CIDR may be in both tiers, each with its own expiry, and readers of one tier never see the other.
 */
export class Ledger {
  private readonly resource: string;
  /** How many calls a bulk write keeps in flight: this many rows or fewer are one round trip. */
  readonly concurrency: number;
  /** Whether a read found the marker: it is never removed, so the old index is not read again. */
  private markerSeen = false;

  /**
   * @param client - From {@link createLedgerClient}.
   * @param tableName - The ledger table created by the stack.
   * @throws RangeError when `options.concurrency` is not a positive integer.
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: LedgerOptions = {},
  ) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`ledger concurrency must be a positive integer, got ${concurrency}`);
    }
    this.concurrency = concurrency;
    this.resource = `ledger table ${tableName}`;
  }

  /** `ledger table <name>`, as errors name it. */
  get resourceName(): string {
    return this.resource;
  }

  /**
   * Every range of `family` that is managed right now, earliest expiry first. The blocker needs all
   * of them (not just the due ones) to know the full set of ranges it owns in the IP set.
   *
   * The index is eventually consistent: an entry written a moment ago may be missing, so a caller
   * that just called {@link Ledger.upsert} should add the entries it wrote itself.
   *
   * @throws ReadError naming the table when any page cannot be read or any item is malformed; the
   *   caller must then write nothing based on the ledger.
   */
  async activeEntries(family: Family, tier: Tier = 'block'): Promise<LedgerEntry[]> {
    return (await this.readActive([family], tier)).rows[family] ?? [];
  }

  /**
   * The active rows of `families`, read in one wave: the marker, every partition of the sharded
   * index, each followed page by page (at 50,000 active ranges one page each), and, until this
   * ledger has seen the marker, the first page of each family's partition of the old index. When
   * the marker is absent (a table that a 0.1.0 blocker wrote, or a new one), the old index is
   * followed to its end and merged in, so that no row is missed, and its rows without
   * `activeShard` are returned in `unsharded` for {@link Ledger.shardRows}. A new table thus costs
   * no round trip; a 0.1.0 table one more per 6,000 rows of a family beyond the first. Reads only:
   * the notifier and the CLI use it too.
   *
   * The indexes are eventually consistent, as {@link Ledger.activeEntries} says.
   *
   * @param tier - The tier whose rows to read. The neighbour tier was always written sharded: its
   *   rows are read from the sharded index alone, in one wave whatever the marker says.
   * @throws ReadError naming the table when the marker, any page or any item cannot be read.
   */
  async readActive(families: readonly Family[] = FAMILIES, tier: Tier = 'block'): Promise<ActiveLedger> {
    if (tier === 'neighbour') return this.readNeighbours(families);
    try {
      // Settled: once the marker is there, the old index's answer (or failure) does not matter.
      const firstPages = Promise.allSettled(
        this.markerSeen ? [] : families.map((family) => this.queryFamilyPage(family, undefined)),
      );
      const [marker, pages, ...sharded] = await Promise.all([
        this.client.send(new GetCommand({ TableName: this.tableName, Key: SCHEMA_KEY, ConsistentRead: true })),
        firstPages,
        ...families.map((family) => this.queryShards(family, 'block')),
      ]);
      const byFamily = families.map((family, index) => ({ family, items: sharded[index] ?? [] }));
      if (marker.Item !== undefined) {
        this.markerSeen = true;
        return { sharded: true, unsharded: [], rows: toRows(byFamily, [], 'block') };
      }
      const legacy = await Promise.all(
        families.map(async (family, index) => {
          const first = pages[index];
          if (first?.status !== 'fulfilled') return { family, items: await this.queryFamily(family, undefined) };
          const { Items = [], LastEvaluatedKey } = first.value;
          const rest = LastEvaluatedKey === undefined ? [] : await this.queryFamily(family, LastEvaluatedKey);
          return { family, items: [...Items, ...rest] };
        }),
      );
      const unsharded = legacy.flatMap(({ family, items }) =>
        items.filter((item) => item[ACTIVE_SHARD] === undefined).map((item) => toLedgerEntry(item, family, 'block')),
      );
      return { sharded: false, unsharded, rows: toRows(byFamily, legacy, 'block') };
    } catch (error) {
      // One unreadable page or item makes the whole answer unusable: an entry missing from the
      // result would look unmanaged, and its range could neither expire nor be counted.
      throw new ReadError(this.resource, { cause: error });
    }
  }

  /** The neighbour tier's active rows: its partitions of the sharded index, all at once. */
  private async readNeighbours(families: readonly Family[]): Promise<ActiveLedger> {
    try {
      const sharded = await Promise.all(families.map((family) => this.queryShards(family, 'neighbour')));
      const byFamily = families.map((family, index) => ({ family, items: sharded[index] ?? [] }));
      return { sharded: true, unsharded: [], rows: toRows(byFamily, [], 'neighbour') };
    } catch (error) {
      throw new ReadError(this.resource, { cause: error });
    }
  }

  /**
   * Gives rows that a 0.1.0 blocker left (from {@link ActiveLedger.unsharded}) their
   * `activeShard`, at most {@link SHARD_ROWS_PER_RUN} of them, each only while it is still active;
   * when that was all of them, writes the marker, after which readers query the sharded index only.
   * Writes nothing a run relies on: until the marker exists, readers also read the old index.
   * @throws WriteError naming the table when a write fails, after every other write was attempted.
   */
  async shardRows(unsharded: readonly LedgerEntry[]): Promise<ShardResult> {
    const batch = unsharded.slice(0, SHARD_ROWS_PER_RUN);
    const outcomes = await settleBounded(batch, this.concurrency, (entry) => this.shardOne(entry));
    const sharded = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'sharded').length;
    const inactive = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'inactive').length;
    this.throwOnFailures('shard active rows', batch, outcomes, `${sharded} of ${batch.length} rows sharded`);
    if (batch.length < unsharded.length) return { sharded, inactive, marked: false };
    try {
      // UpdateItem, which the blocker may call on any item: its PutItem is kept to the intent items.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SCHEMA_KEY,
          UpdateExpression: 'SET #activeShards = :shards',
          ExpressionAttributeNames: { '#activeShards': 'activeShards' },
          ExpressionAttributeValues: { ':shards': ACTIVE_SHARDS },
        }),
      );
    } catch (error) {
      throw new WriteError(this.resource, 'mark every active row sharded', { cause: error });
    }
    this.markerSeen = true;
    return { sharded, inactive, marked: true };
  }

  /**
   * The managed ranges of `family` whose block has run out (`expiresAt <= now`), earliest first.
   *
   * @param now - Epoch milliseconds.
   * @throws ReadError naming the table, as {@link Ledger.activeEntries}.
   */
  async dueEntries(family: Family, now: number): Promise<LedgerEntry[]> {
    const active = await this.activeEntries(family);
    return active.filter((entry) => entry.expiresAt <= now);
  }

  /**
   * Stores entries that already carry their merged values, one UpdateItem each, and makes them
   * active again if they had expired. `firstSeen` is kept when the item exists. `preexisting` is
   * written as the entry says: the core decides it when a range becomes active (was it already in
   * the IP set, put there by someone else?) and carries it unchanged while the range stays active.
   * A sticky flag would be wrong the other way: a range that a person removed and we later blocked
   * would then never expire.
   *
   * Two runs can overlap (the schedule and the alarm both start the blocker). An entry whose stored
   * lastSeen is later than its own was merged from older data; it is skipped and counted, so the
   * later run's expiry stands.
   *
   * @throws WriteError naming the table when any write fails for another reason, after every other
   *   write has been attempted; the message says how many were written and which ranges failed.
   */
  async upsert(entries: readonly LedgerEntry[]): Promise<UpsertResult> {
    const outcomes = await settleBounded(entries, this.concurrency, (entry) => this.upsertOne(entry));
    const written = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'written').length;
    const skippedStale = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'stale').length;
    const progress = `${written} of ${entries.length} entries written, ${skippedStale} skipped as stale`;
    this.throwOnFailures('upsert', entries, outcomes, progress);
    return { written, skippedStale };
  }

  /**
   * The active entries among `ranges`, read from the table itself with strongly consistent reads.
   * The active index is eventually consistent: right after another run recorded a range, the index
   * may not list it yet, and the range would then look foreign. The blocker asks here, for the few
   * ranges that are in the IP set but missing from the index, before it calls one of them "not ours".
   *
   * @throws ReadError naming the table when a read fails or an item is malformed.
   */
  async activeEntriesOf(family: Family, ranges: readonly string[], tier: Tier = 'block'): Promise<LedgerEntry[]> {
    const outcomes = await settleBounded(ranges, this.concurrency, async (range) => {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { [RANGE]: ledgerKeyOf(range, tier) }, ConsistentRead: true }),
      );
      return Item !== undefined && Item[ACTIVE_FAMILY] === activeFamilyOf(family, tier)
        ? toLedgerEntry(Item, family, tier)
        : undefined;
    });
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw new ReadError(this.resource, { cause: failed.reason });
    return outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' && outcome.value ? [outcome.value] : []));
  }

  /**
   * Ends the blocks of entries whose time has run out: they leave the active index and get
   * `removedAt`, and stay in the table until TTL. Call it only after their ranges were removed from
   * the IP set, so that a failure here leaves an active entry behind (removed again next run), never
   * a blocked range that the ledger has forgotten.
   *
   * An entry whose stored expiry is later than `now` was refreshed by a concurrent run; it stays
   * active and is counted. Its range is back in the ledger but no longer in the IP set, and the next
   * reconcile adds it again.
   *
   * @param now - Epoch milliseconds; only entries with `expiresAt <= now` in the table are expired.
   * @throws WriteError naming the table when any write fails, after every other write has been
   *   attempted; the message says how many were marked and which ranges failed.
   */
  async markExpired(entries: readonly LedgerEntry[], now: number): Promise<ExpireResult> {
    const outcomes = await settleBounded(entries, this.concurrency, (entry) => this.expireOne(entry, now));
    const expired = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'expired').length;
    const refreshed = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'refreshed').length;
    this.throwOnFailures('mark expired', entries, outcomes, `${expired} of ${entries.length} entries marked expired`);
    return { expired, refreshed };
  }

  /**
   * Ends blocks now, as an operator's unban asks: each entry's expiry becomes `now`, so that the
   * reconcile that follows removes its range from the IP sets and {@link Ledger.markExpired} then
   * closes it, the same path as a block that ran out. Call it BEFORE the IP set writes: should they
   * fail, the next run still finds the entry due and removes the range.
   *
   * An entry that is no longer active (a concurrent run closed it) is skipped and counted.
   *
   * @param now - Epoch milliseconds.
   * @throws WriteError naming the table when any write fails, after every other write was attempted.
   */
  async endBlocks(entries: readonly LedgerEntry[], now: number): Promise<EndResult> {
    const outcomes = await settleBounded(entries, this.concurrency, (entry) => this.endOne(entry, now));
    const ended = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'ended').length;
    const inactive = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'inactive').length;
    this.throwOnFailures('end blocks', entries, outcomes, `${ended} of ${entries.length} blocks ended`);
    return { ended, inactive };
  }

  /**
   * Reads the write-ahead intents left by runs that did not finish (normally none): both slots'
   * first parts with strongly consistent reads in one round trip, the other parts only when there are.
   * @throws {ReadError} naming the table when a read fails or an item is malformed.
   */
  async readIntents(): Promise<LedgerIntent[]> {
    try {
      const heads = await Promise.all(INTENT_SLOTS.map((slot) => this.getIntentPart(slot, 0)));
      return await Promise.all(
        heads.flatMap((head, index) => {
          const slot = INTENT_SLOTS[index];
          return head === undefined || slot === undefined ? [] : [this.readIntentRest(slot, head)];
        }),
      );
    } catch (error) {
      throw new ReadError(this.resource, { cause: error });
    }
  }

  /**
   * Records a run's intended additions before it writes any IP set: every part in parallel (one
   * round trip), overwriting whatever `slot` held.
   * @returns how many parts were written.
   * @throws {WriteError} naming the table when a part cannot be written: the run must then write no set.
   */
  async writeIntent(slot: IntentSlot, runId: string, entries: readonly LedgerEntry[], now: number): Promise<number> {
    const parts = intentParts(entries, INTENT_PART_BYTES);
    try {
      await Promise.all(
        parts.map((json, part) =>
          this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: { [RANGE]: intentKey(slot, part), runId, writtenAt: now, parts: parts.length, part, entries: json },
            }),
          ),
        ),
      );
    } catch (error) {
      throw new WriteError(this.resource, `write-ahead intent (${entries.length} ranges, ${parts.length} parts)`, {
        cause: error,
      });
    }
    return parts.length;
  }

  /**
   * Drops an intent once every range in it has its row: the later parts first, the first part
   * last, so that an interrupted drop never leaves a first part that lacks entries still unrecorded.
   * @throws {WriteError} naming the table when a delete fails; the next run finds the intent and finishes it.
   */
  async dropIntent(slot: IntentSlot, parts: number): Promise<void> {
    const drop = (part: number) =>
      this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { [RANGE]: intentKey(slot, part) } }));
    try {
      await Promise.all(Array.from({ length: Math.max(0, parts - 1) }, (_, index) => drop(index + 1)));
      await drop(0);
    } catch (error) {
      throw new WriteError(this.resource, `drop write-ahead intent ${slot}`, { cause: error });
    }
  }

  /**
   * Takes the run lock: one item (not a range: its key is {@link RUN_LOCK_KEY}) that serializes
   * blocker runs across the Lambda and the operator CLI, which reserved concurrency alone cannot.
   * Taken when it is free, its lease has run out, or `owner` holds it already.
   *
   * @param leaseMs - How long the lock holds if its owner dies without releasing it.
   * @returns whether it was taken, and when not, who holds it until when.
   * @throws WriteError naming the table when the write fails for another reason.
   */
  async acquireRunLock(owner: string, now: number, leaseMs: number): Promise<RunLockResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: RUN_LOCK_KEY },
          UpdateExpression: 'SET #owner = :owner, #leaseUntil = :until, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': now + leaseMs,
            ':now': now,
            ':ttl': Math.ceil((now + leaseMs) / 1000) + TTL_GRACE_SECONDS,
          },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new WriteError(this.resource, 'could not take the run lock', { cause: error });
      }
    }
    const { Item } = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: { [RANGE]: RUN_LOCK_KEY }, ConsistentRead: true }))
      .catch((error: unknown) => {
        throw new ReadError(this.resource, { cause: error });
      });
    const heldBy = typeof Item?.owner === 'string' ? Item.owner : 'unknown';
    const until = typeof Item?.leaseUntil === 'number' ? Item.leaseUntil : now;
    return { acquired: false, heldBy, until };
  }

  /**
   * Releases the run lock if `owner` holds it (its lease ends now); a lock someone else took over
   * after our lease ran out is left alone.
   * @throws WriteError naming the table when the write fails for another reason.
   */
  async releaseRunLock(owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: RUN_LOCK_KEY },
          UpdateExpression: 'SET #leaseUntil = :zero',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil' },
          ExpressionAttributeValues: { ':owner': owner, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new WriteError(this.resource, 'could not release the run lock', { cause: error });
    }
  }

  private async endOne(entry: LedgerEntry, now: number): Promise<'ended' | 'inactive'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: ledgerKeyOf(entry.range, tierOf(entry)) },
          UpdateExpression: 'SET #expiresAt = :now, #ttl = :ttl',
          ConditionExpression: 'attribute_exists(#activeFamily)',
          ExpressionAttributeNames: { '#expiresAt': EXPIRES_AT, '#ttl': TTL, '#activeFamily': ACTIVE_FAMILY },
          ExpressionAttributeValues: { ':now': now, ':ttl': Math.ceil(now / 1000) + TTL_GRACE_SECONDS },
        }),
      );
      return 'ended';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'inactive';
      throw error;
    }
  }

  private async getIntentPart(slot: IntentSlot, part: number): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [RANGE]: intentKey(slot, part) }, ConsistentRead: true }),
    );
    return Item;
  }

  private async readIntentRest(slot: IntentSlot, head: Record<string, unknown>): Promise<LedgerIntent> {
    const runId = field(head, 'runId', isNonEmptyString, 'a non-empty string');
    const parts = field(head, 'parts', isPartCount, `an integer from 0 to ${MAX_INTENT_PARTS}`);
    const rest = await Promise.all(
      Array.from({ length: Math.max(0, parts - 1) }, (_, index) => this.getIntentPart(slot, index + 1)),
    );
    const items = [head, ...rest.filter((item) => item !== undefined && item['runId'] === runId)];
    return {
      slot,
      runId,
      writtenAt: field(head, 'writtenAt', isEpochMs, 'epoch milliseconds'),
      parts,
      entries: items.flatMap((item) => parseIntentEntries(field(item ?? {}, 'entries', isString, 'a JSON string'))),
    };
  }

  /** The items of every partition of `family` in `tier` in the sharded index, all read at once. */
  private async queryShards(family: Family, tier: Tier): Promise<Record<string, unknown>[]> {
    const partitions = await Promise.all(
      Array.from({ length: ACTIVE_SHARDS }, (_, shard) =>
        this.queryPages({
          IndexName: LEDGER_SCHEMA.shardIndex,
          KeyConditionExpression: '#activeShard = :shard',
          ExpressionAttributeNames: { '#activeShard': ACTIVE_SHARD },
          ExpressionAttributeValues: { ':shard': activeShardKey(family, shard, tier) },
        }),
      ),
    );
    // A row that a 0.1.0 blocker closed after a rollback keeps a stale `activeShard`: not active.
    const activeFamily = activeFamilyOf(family, tier);
    return partitions.flat().filter((item) => item[ACTIVE_FAMILY] === activeFamily);
  }

  /** The items of `family`'s partition of the old index (`ActiveByExpiry`), from `startKey` on. */
  private async queryFamily(
    family: Family,
    startKey: Record<string, unknown> | undefined,
  ): Promise<Record<string, unknown>[]> {
    return this.queryPages(oldIndexQuery(family), startKey);
  }

  /** One page of `family`'s partition of the old index. */
  private queryFamilyPage(family: Family, startKey: Record<string, unknown> | undefined) {
    return this.client.send(
      new QueryCommand({ TableName: this.tableName, ...oldIndexQuery(family), ExclusiveStartKey: startKey }),
    );
  }

  private async queryPages(query: IndexQuery, from?: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey = from;
    do {
      const page = await this.client.send(
        new QueryCommand({ TableName: this.tableName, ...query, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  private async shardOne(entry: LedgerEntry): Promise<'sharded' | 'inactive'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: entry.range },
          UpdateExpression: 'SET #activeShard = :shard',
          // Only while still active: a row closed meanwhile must not come back into an index.
          ConditionExpression: '#activeFamily = :family',
          ExpressionAttributeNames: { '#activeShard': ACTIVE_SHARD, '#activeFamily': ACTIVE_FAMILY },
          ExpressionAttributeValues: { ':shard': activeShardOf(entry.family, entry.range), ':family': entry.family },
        }),
      );
      return 'sharded';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'inactive';
      throw error;
    }
  }

  private async upsertOne(entry: LedgerEntry): Promise<'written' | 'stale'> {
    const tier = tierOf(entry);
    const names: Record<string, string> = {
      '#family': 'family',
      '#firstSeen': 'firstSeen',
      '#lastSeen': 'lastSeen',
      '#expiresAt': EXPIRES_AT,
      '#hits': 'hits',
      '#source': 'source',
      '#activeFamily': ACTIVE_FAMILY,
      '#activeShard': ACTIVE_SHARD,
      '#ttl': TTL,
      '#removedAt': 'removedAt',
    };
    const values: Record<string, unknown> = {
      ':family': entry.family,
      ':firstSeen': entry.firstSeen,
      ':lastSeen': entry.lastSeen,
      ':expiresAt': entry.expiresAt,
      ':hits': entry.hits,
      ':source': entry.source,
      ':activeFamily': activeFamilyOf(entry.family, tier),
      ':shard': activeShardOf(entry.family, entry.range, tier),
      ':ttl': Math.ceil(entry.expiresAt / 1000) + TTL_GRACE_SECONDS,
    };
    const set = [
      '#family = :family',
      '#firstSeen = if_not_exists(#firstSeen, :firstSeen)',
      '#lastSeen = :lastSeen',
      '#expiresAt = :expiresAt',
      '#hits = :hits',
      '#source = :source',
      '#activeFamily = :activeFamily',
      '#activeShard = :shard',
      '#ttl = :ttl',
    ];
    if (tier === 'neighbour') {
      // The key carries the CIDR prefixed; the row says its CIDR and tier plainly.
      names['#cidr'] = CIDR;
      names['#tier'] = TIER;
      values[':cidr'] = entry.range;
      values[':tier'] = tier;
      set.push('#cidr = :cidr', '#tier = :tier');
    }
    names['#preexisting'] = 'preexisting';
    values[':preexisting'] = entry.preexisting === true;
    set.push('#preexisting = :preexisting');
    // Optional fields are removed when the entry has none, so that a stale reason or set list never lingers.
    const remove = ['#removedAt'];
    names['#reason'] = 'reason';
    if (entry.reason !== undefined) {
      values[':reason'] = entry.reason;
      set.push('#reason = :reason');
    } else remove.push('#reason');
    for (const key of ['sharedPreexisting', 'sharedSeen'] as const) {
      const list = entry[key];
      names[`#${key}`] = key;
      if (list !== undefined && list.length > 0) {
        values[`:${key}`] = [...list];
        set.push(`#${key} = :${key}`);
      } else remove.push(`#${key}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: ledgerKeyOf(entry.range, tier) },
          UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
          // A new item passes too: a first sighting is the normal case.
          ConditionExpression: 'attribute_not_exists(#lastSeen) OR #lastSeen <= :lastSeen',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  private async expireOne(entry: LedgerEntry, now: number): Promise<'expired' | 'refreshed'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [RANGE]: ledgerKeyOf(entry.range, tierOf(entry)) },
          UpdateExpression: 'REMOVE #activeFamily, #activeShard SET #removedAt = :now',
          // Checked against the stored expiry, not the caller's copy: a concurrent run may have seen
          // the range attacking again since this run read the ledger.
          ConditionExpression: '#expiresAt <= :now',
          ExpressionAttributeNames: {
            '#activeFamily': ACTIVE_FAMILY,
            '#activeShard': ACTIVE_SHARD,
            '#removedAt': 'removedAt',
            '#expiresAt': EXPIRES_AT,
          },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return 'expired';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'refreshed';
      throw error;
    }
  }

  private throwOnFailures(
    operation: string,
    entries: readonly LedgerEntry[],
    outcomes: readonly PromiseSettledResult<unknown>[],
    progress: string,
  ): void {
    const failures: { range: string; reason: unknown }[] = [];
    outcomes.forEach((outcome, index) => {
      const entry = entries[index];
      if (outcome.status === 'rejected' && entry) failures.push({ range: entry.range, reason: outcome.reason });
    });
    const first = failures[0];
    if (!first) return;
    const listed = failures.slice(0, FAILED_RANGES_LISTED).map((f) => f.range);
    const more = failures.length > listed.length ? ` and ${failures.length - listed.length} more` : '';
    throw new WriteError(
      this.resource,
      `${operation}: ${progress}, ${failures.length} failed (${listed.join(', ')}${more})`,
      { cause: first.reason },
    );
  }
}

const INTENT_SLOTS: readonly IntentSlot[] = ['a', 'b'];

type IndexQuery = Pick<
  QueryCommandInput,
  'IndexName' | 'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/** The query of `family`'s partition of the old index (`ActiveByExpiry`), as 0.1.0 read it. */
function oldIndexQuery(family: Family): IndexQuery {
  return {
    IndexName: LEDGER_SCHEMA.activeIndex,
    KeyConditionExpression: '#activeFamily = :family',
    ExpressionAttributeNames: { '#activeFamily': ACTIVE_FAMILY },
    ExpressionAttributeValues: { ':family': family },
  };
}

/**
 * Each family's entries, earliest expiry first: the sharded index's items, and the old index's
 * items that it lacks (none once the table is marked).
 * @throws TypeError when an item is malformed.
 */
function toRows(
  sharded: readonly { family: Family; items: readonly Record<string, unknown>[] }[],
  legacy: readonly { family: Family; items: readonly Record<string, unknown>[] }[],
  tier: Tier,
): Partial<Record<Family, LedgerEntry[]>> {
  const rows: Partial<Record<Family, LedgerEntry[]>> = {};
  for (const { family, items } of sharded) {
    const byRange = new Map<string, LedgerEntry>();
    const old = legacy.find((read) => read.family === family)?.items ?? [];
    for (const item of [...items, ...old]) {
      const entry = toLedgerEntry(item, family, tier);
      if (!byRange.has(entry.range)) byRange.set(entry.range, entry);
    }
    rows[family] = [...byRange.values()].sort((a, b) => a.expiresAt - b.expiresAt);
  }
  return rows;
}

function intentKey(slot: IntentSlot, part: number): string {
  return `${LEDGER_SCHEMA.intentKeyPrefix}${slot}#${part}`;
}

/** The bytes of a range in an intent part beside its own (a CIDR is ASCII): its two quotes and a comma. */
const RANGE_PUNCTUATION = 3;

/**
 * One group of an intent part: the fields its entries share (all but the range), and their ranges.
 * A first run's thousands of new ranges share everything but the range, so the intent holds each
 * CIDR once plus a few groups: about 16 bytes a range instead of about 170 as whole entries, and
 * 10,000 /24s fit in one item, which the SDK marshals and DynamoDB writes on the path to the first
 * block.
 */
interface IntentGroup {
  /** The shared fields as JSON (an entry without `range`). */
  readonly json: string;
  readonly ranges: Cidr[];
  /** The ranges' bytes in the intent, each quoted with its comma: what {@link intentParts} counts. */
  readonly rangeBytes: number;
}

/**
 * The entries grouped by everything but their range, in the order each group first appears. An
 * entry alike but for its range to the one before it joins that one's group without being
 * serialized: a first run's entries come in long runs of alike ones, and serializing each to find
 * its group was a third of the intent's CPU on the path to the first block.
 */
function intentGroups(entries: readonly LedgerEntry[]): IntentGroup[] {
  const groups = new Map<string, { ranges: Cidr[]; rangeBytes: number }>();
  let previous: LedgerEntry | undefined;
  let group = { ranges: [] as Cidr[], rangeBytes: 0 };
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LedgerEntry;
    if (previous === undefined || !alikeButRange(previous, entry)) {
      const { range, ...shared } = entry;
      const json = JSON.stringify(shared);
      const known = groups.get(json);
      if (known !== undefined) group = known;
      else groups.set(json, (group = { ranges: [], rangeBytes: 0 }));
      previous = entry;
      group.ranges.push(range);
    } else {
      group.ranges.push(entry.range);
    }
    group.rangeBytes += entry.range.length + RANGE_PUNCTUATION;
  }
  return [...groups].map(([json, { ranges, rangeBytes }]) => ({ json, ranges, rangeBytes }));
}

/**
 * Whether `b`, written with `a`'s fields, reads back as itself: every field but `range` strictly
 * equal (a field absent from one is undefined there, which JSON leaves out too). Arrays
 * (`sharedPreexisting`, `sharedSeen`) compare by identity, so two equal but distinct arrays are
 * told apart here and grouped by their JSON instead. Each field is named: a field added to
 * {@link LedgerEntry} must be compared here (test/lambdas/adapters/ledger-intent.test.ts changes
 * each field of a whole entry in turn), not enumerated: that allocated for each entry (docs/blocker.md).
 */
function alikeButRange(a: LedgerEntry, b: LedgerEntry): boolean {
  return (
    a.family === b.family &&
    a.tier === b.tier &&
    a.firstSeen === b.firstSeen &&
    a.lastSeen === b.lastSeen &&
    a.expiresAt === b.expiresAt &&
    a.hits === b.hits &&
    a.source === b.source &&
    a.preexisting === b.preexisting &&
    a.reason === b.reason &&
    a.sharedPreexisting === b.sharedPreexisting &&
    a.sharedSeen === b.sharedSeen
  );
}

/**
 * Entries as intent parts of at most `maxBytes` UTF-8 bytes each: `{"groups":[{"entry":{…},
 * "ranges":["62.0.0.0/24",…]},…]}`, a group split across parts when it does not fit (one group's
 * fields are far below the limit). At least one part, so that an empty intent still has its first.
 * The entries' order is not kept. A part holds at least one range, so a group's fields and one
 * range bigger than `maxBytes` make a part of their own that is bigger (never with the real limit).
 * @internal Exported for its tests.
 */
export function intentParts(entries: readonly LedgerEntry[], maxBytes: number): string[] {
  const parts: string[] = [];
  let groups: string[] = [];
  let bytes = '{"groups":[]}'.length;
  const close = () => {
    parts.push(`{"groups":[${groups.join(',')}]}`);
    groups = [];
    bytes = '{"groups":[]}'.length;
  };
  const all = intentGroups(entries);
  for (let g = 0; g < all.length; g++) {
    const { json, ranges, rangeBytes } = all[g] as IntentGroup;
    // `{"entry":…,"ranges":[…]},`: the group's fixed bytes, then each range's quotes and comma.
    const head = Buffer.byteLength(json, 'utf8') + '{"entry":,"ranges":[]},'.length;
    // A group that fits whole (a first run's 10,000 new ranges) is not counted range by range.
    if (bytes + head + rangeBytes <= maxBytes) {
      groups.push(`{"entry":${json},"ranges":${JSON.stringify(ranges)}}`);
      bytes += head + rangeBytes;
      continue;
    }
    let taken: string[] = [];
    const flush = () => {
      if (taken.length > 0) groups.push(`{"entry":${json},"ranges":${JSON.stringify(taken)}}`);
      taken = [];
    };
    for (let r = 0; r < ranges.length; r++) {
      const range = ranges[r] as Cidr;
      const size = range.length + RANGE_PUNCTUATION;
      if (bytes + (taken.length === 0 ? head : 0) + size > maxBytes && (groups.length > 0 || taken.length > 0)) {
        flush();
        close();
      }
      if (taken.length === 0) bytes += head;
      taken.push(range);
      bytes += size;
    }
    flush();
  }
  close();
  return parts;
}

/**
 * The entries of one intent part: the grouped form {@link intentParts} writes, or a JSON array of
 * whole entries (as builds before the grouped form wrote it).
 * @throws TypeError when the JSON is neither, or an entry is not well formed.
 */
function parseIntentEntries(json: string): LedgerEntry[] {
  const parsed: unknown = JSON.parse(json);
  if (Array.isArray(parsed)) return parsed.map(intentEntryOf);
  const groups: unknown =
    typeof parsed === 'object' && parsed !== null ? (parsed as { groups?: unknown }).groups : undefined;
  if (!Array.isArray(groups)) throw new TypeError('intent entries are neither a JSON array nor {"groups": [...]}');
  return groups.flatMap((group: unknown) => {
    const { entry, ranges } = (typeof group === 'object' && group !== null ? group : {}) as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null || !Array.isArray(ranges)) {
      throw new TypeError('an intent group is not {"entry": {...}, "ranges": [...]}');
    }
    return ranges.map((range: unknown) => intentEntryOf({ ...entry, [RANGE]: range }));
  });
}

/** @throws TypeError when the item is not a well-formed entry. */
function intentEntryOf(item: unknown): LedgerEntry {
  if (typeof item !== 'object' || item === null) throw new TypeError('an intent entry is not an object');
  const record = item as Record<string, unknown>;
  const family = isFamily(record['family']) ? record['family'] : 'IPV4';
  if (record[TIER] !== 'neighbour') return toLedgerEntry(record, family, 'block');
  // An entry as JSON carries its CIDR as `range`; a row carries it in `cidr`, under its prefixed key.
  const range = field(record, RANGE, isNonEmptyString, 'a non-empty string');
  return toLedgerEntry({ ...record, [RANGE]: ledgerKeyOf(range, 'neighbour'), [CIDR]: range }, family, 'neighbour');
}

/**
 * Runs `task` over `items` with at most `limit` in flight and waits for all of them, so that one
 * failure does not leave the others unattempted. Results are in the order of `items`.
 */
async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  // One shared iterator: each worker takes the next item as soon as it is free.
  const queue = items.entries();
  const worker = async (): Promise<void> => {
    for (const [index, item] of queue) {
      try {
        results[index] = { status: 'fulfilled', value: await task(item) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Checks an item read from the active index and turns it into an entry.
 *
 * @param tier - The tier the item was read as: a neighbour row's range is its `cidr`, and its key
 *   must be that CIDR prefixed.
 * @throws TypeError naming the range and the first field that is wrong.
 */
function toLedgerEntry(item: Record<string, unknown>, family: Family, tier: Tier): LedgerEntry {
  const range = item[RANGE];
  const label = typeof range === 'string' ? range : describe(range);
  try {
    const entry: LedgerEntry = {
      range: tier === 'block' ? field(item, RANGE, isNonEmptyString, 'a non-empty string') : neighbourRange(item),
      family: field(item, 'family', isFamily, 'IPV4 or IPV6'),
      firstSeen: field(item, 'firstSeen', isEpochMs, 'epoch milliseconds'),
      lastSeen: field(item, 'lastSeen', isEpochMs, 'epoch milliseconds'),
      expiresAt: field(item, EXPIRES_AT, isEpochMs, 'epoch milliseconds'),
      hits: field(item, 'hits', isCount, 'a non-negative integer'),
      source: field(item, 'source', isString, 'a string'),
    };
    // A range filed under the other family would be written to the wrong IP set.
    if (entry.family !== family) throw new TypeError(`family is ${entry.family} but the item is active as ${family}`);
    const preexisting = field(item, 'preexisting', isOptionalBoolean, 'a boolean when present');
    const reason = field(item, 'reason', isOptionalString, 'a string when present');
    const shared = field(item, 'sharedPreexisting', isOptionalStringList, 'a list of IP set ARNs when present');
    const seen = field(item, 'sharedSeen', isOptionalStringList, 'a list of IP set ARNs when present');
    // Optional fields are carried only when set, as the core writes them.
    return {
      ...entry,
      ...(tier === 'neighbour' ? { tier } : {}),
      ...(preexisting === true ? { preexisting } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(shared !== undefined && shared.length > 0 ? { sharedPreexisting: shared } : {}),
      ...(seen !== undefined && seen.length > 0 ? { sharedSeen: seen } : {}),
    };
  } catch (error) {
    throw new TypeError(`item ${label} is malformed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** @throws TypeError when the row's `cidr` is missing or its key is not that CIDR in the neighbour tier. */
function neighbourRange(item: Record<string, unknown>): string {
  const cidr = field(item, CIDR, isNonEmptyString, 'a non-empty string');
  if (item[RANGE] !== ledgerKeyOf(cidr, 'neighbour')) throw new TypeError(`cidr ${cidr} is not the one its key names`);
  return cidr;
}

function field<T>(
  item: Record<string, unknown>,
  name: string,
  check: (value: unknown) => value is T,
  expected: string,
): T {
  const value = item[name];
  if (!check(value)) throw new TypeError(`${name} must be ${expected}, got ${describe(value)}`);
  return value;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isFamily(value: unknown): value is Family {
  return value === 'IPV4' || value === 'IPV6';
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isPartCount(value: unknown): value is number {
  return isCount(value) && value <= MAX_INTENT_PARTS;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isOptionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isOptionalStringList(value: unknown): value is string[] | undefined {
  return value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
}

function isOptionalBoolean(value: unknown): value is boolean | undefined {
  return value === undefined || typeof value === 'boolean';
}

/** A short rendering of a stored value for an error message; stored text can be long. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // JSON.stringify returns undefined for a function or a symbol, whatever its declared type says.
  const json: unknown = JSON.stringify(value);
  const text = typeof json === 'string' ? json : typeof value;
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
