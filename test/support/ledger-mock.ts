/**
 * The ledger's reads of active rows (lambdas/adapters/ledger.ts readActive) answered on a strict
 * mock of its document client: the marker that the table is sharded, and each partition of the
 * sharded index with the rows that hash to it.
 */
import {
  GetCommand,
  QueryCommand,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';
import {
  ACTIVE_SHARDS,
  activeShardKey,
  activeShardOf,
  LEDGER_RESERVED_KEYS,
  LEDGER_SCHEMA,
} from '#contracts/ledger-schema';
import type { Family } from '#core/types';

/** A strict mock of the ledger's document client, as `mockClient(DynamoDBDocumentClient)` makes it. */
type LedgerMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;

/** Answers the marker's read: every active row is in the sharded index (a table written since 0.1.0). */
export function answerShardedMarker(ddb: LedgerMock): void {
  ddb
    .on(GetCommand, { Key: { [LEDGER_SCHEMA.partitionKey]: LEDGER_RESERVED_KEYS.schema } })
    .resolves({ Item: { [LEDGER_SCHEMA.partitionKey]: LEDGER_RESERVED_KEYS.schema, activeShards: ACTIVE_SHARDS } });
}

/**
 * Answers the queries of `family`'s partitions of the sharded index with `items` (stored items,
 * each with its `range`), every one in the partition its range hashes to; or fails each with
 * `items` when it is an error. Answers the marker too.
 */
export function answerActiveRows(
  ddb: LedgerMock,
  family: Family,
  items: readonly Record<string, unknown>[] | Error,
  tableName?: string,
): void {
  answerShardedMarker(ddb);
  for (let shard = 0; shard < ACTIVE_SHARDS; shard++) {
    const key = activeShardKey(family, shard);
    const query = ddb.on(QueryCommand, {
      ...(tableName === undefined ? {} : { TableName: tableName }),
      IndexName: LEDGER_SCHEMA.shardIndex,
      ExpressionAttributeValues: { ':shard': key },
    });
    if (items instanceof Error) query.rejects(items);
    else
      query.resolves({
        Items: items
          .filter((item) => activeShardOf(family, String(item[LEDGER_SCHEMA.partitionKey])) === key)
          .map((item) => ({ ...item, [LEDGER_SCHEMA.shardIndexPartitionKey]: key })),
      });
  }
}
