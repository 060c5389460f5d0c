// tsc drops a foo.d.ts that sits beside foo.ts from the include glob (it takes it for foo.ts's own
// output), so the declaration of the untyped 'dynalite' package must be referenced by path here.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./dynalite.d.ts" />
/**
 * A real DynamoDB API on loopback for adapter tests: dynalite (LevelDB in memory) behind an HTTP
 * server on a free port, so tests exercise real expressions, conditions, indexes and paging.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LEDGER_SCHEMA } from '#contracts/ledger-schema';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A client for {@link LocalDynamo.endpoint}; destroyed by `close`. */
  readonly client: DynamoDBClient;
  /** Destroys the client, then stops the server and its store. */
  close(): Promise<void>;
}

/**
 * A client for a local endpoint. Credentials and region are fixed so that the SDK never looks at
 * the environment or ~/.aws of whoever runs the tests.
 */
export function localClient(endpoint: string, overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
    ...overrides,
  });
}

/** Starts dynalite on 127.0.0.1 on a free port, with table state changes taking no time. */
export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      // The SDK's keep-alive sockets would hold close() open until they time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}

/**
 * Creates the ledger table exactly as the stack does (key, on-demand billing, sparse GSI with all
 * attributes) and waits until the table and its index are ACTIVE. dynalite does not implement
 * UpdateTimeToLive, so the TTL setting itself is not reproduced; the `ttl` values are.
 */
export async function createLedgerTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: LEDGER_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_SCHEMA.activeIndexPartitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_SCHEMA.activeIndexSortKey, AttributeType: 'N' },
        { AttributeName: LEDGER_SCHEMA.shardIndexPartitionKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: LEDGER_SCHEMA.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_SCHEMA.activeIndex,
          KeySchema: [
            { AttributeName: LEDGER_SCHEMA.activeIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: LEDGER_SCHEMA.activeIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: LEDGER_SCHEMA.shardIndex,
          KeySchema: [
            { AttributeName: LEDGER_SCHEMA.shardIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: LEDGER_SCHEMA.activeIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${name} is not ACTIVE after 5 s: ${table?.TableStatus}`);
    await sleep(10);
  }
}
