/**
 * The pending block report: the one report SNS did not take, kept in the ledger table until a later
 * run publishes it. One item under a reserved key (LEDGER_RESERVED_KEYS.pendingReport), which is no
 * CIDR and never carries `activeFamily`: no range lookup and no query of the active index returns it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LEDGER_RESERVED_KEYS, LEDGER_SCHEMA } from '#contracts/ledger-schema';
import { isBlockReport, upgradeReport, type BlockReportV2 } from '#contracts/report';
import { ReadError, WriteError } from '#shared/errors';

/** A pending report as read, with the revision that a store or clear must find to replace it. */
export interface PendingReport {
  readonly report: BlockReportV2;
  /** Changes on every store; a write that expects another revision fails. */
  readonly revision: string;
  /** Epoch milliseconds of the store. */
  readonly storedAt: number;
}

const KEY = { [LEDGER_SCHEMA.partitionKey]: LEDGER_RESERVED_KEYS.pendingReport };

/**
 * Reads, keeps and clears the pending report. Store only a fitted report (lambdas/contracts/report.ts:
 * at most 245,760 bytes), so that the item stays under DynamoDB's 400 KB.
 *
 * Blocker runs are serialized by the run lock; the revision checks make a store or a clear that
 * races another one fail (or do nothing) instead of dropping the other's report. Every write is an
 * UpdateItem, the one write the blocker's role has on the table: a cleared item keeps only its key
 * and last revision, and reads as no pending report.
 */
export class PendingReports {
  private readonly resource: string;

  /**
   * @param client - The ledger's document client (lambdas/adapters/ledger.ts, createLedgerClient).
   * @param tableName - The ledger table created by the stack.
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.resource = `pending report (item ${LEDGER_RESERVED_KEYS.pendingReport}) in ledger table ${tableName}`;
  }

  /** `pending report (item #pending-report) in ledger table <name>`, as errors name it. */
  get resourceName(): string {
    return this.resource;
  }

  /**
   * The pending report, read strongly consistent; undefined when there is none.
   * @throws ReadError naming the item when the read fails or the item does not hold a block report
   *   (delete the item by hand to drop it).
   */
  async read(): Promise<PendingReport | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: KEY, ConsistentRead: true }),
      ));
    } catch (cause) {
      throw new ReadError(this.resource, { cause });
    }
    // A cleared item keeps its key and revision only.
    if (item?.report === undefined) return undefined;
    try {
      return parseItem(item);
    } catch (cause) {
      throw new ReadError(this.resource, { cause });
    }
  }

  /**
   * Keeps `report` as the pending one, with a new revision.
   * @param expected - The revision read before (undefined: there was none); another one stored
   *   since makes the write fail rather than replace it.
   * @throws WriteError naming the item when the write fails or another run stored a report since.
   */
  async store(report: BlockReportV2, expected: string | undefined, now: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY,
          UpdateExpression: 'SET #report = :report, #revision = :revision, #storedAt = :storedAt',
          ConditionExpression: expected === undefined ? 'attribute_not_exists(#report)' : '#revision = :expected',
          ExpressionAttributeNames: { '#report': 'report', '#revision': 'revision', '#storedAt': 'storedAt' },
          ExpressionAttributeValues: {
            ':report': JSON.stringify(report),
            ':revision': randomRevision(),
            ':storedAt': now.getTime(),
            ...(expected === undefined ? {} : { ':expected': expected }),
          },
        }),
      );
    } catch (cause) {
      const detail =
        cause instanceof ConditionalCheckFailedException
          ? 'another run stored a pending report meanwhile'
          : 'could not keep the report';
      throw new WriteError(this.resource, detail, { cause });
    }
  }

  /**
   * Clears the pending report once published, if it is still the revision read; one another run
   * stored meanwhile stays (it is published next time).
   * @returns whether it was cleared.
   * @throws WriteError naming the item when the write fails for another reason.
   */
  async clear(revision: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY,
          UpdateExpression: 'REMOVE #report, #storedAt',
          ConditionExpression: '#revision = :revision',
          ExpressionAttributeNames: { '#report': 'report', '#revision': 'revision', '#storedAt': 'storedAt' },
          ExpressionAttributeValues: { ':revision': revision },
        }),
      );
      return true;
    } catch (cause) {
      if (cause instanceof ConditionalCheckFailedException) return false;
      throw new WriteError(this.resource, 'could not clear the published report', { cause });
    }
  }
}

/** @throws TypeError naming the attribute that is wrong. */
function parseItem(item: Record<string, unknown>): PendingReport {
  const { report, revision, storedAt } = item;
  if (typeof revision !== 'string') throw new TypeError('revision must be a string');
  if (typeof storedAt !== 'number') throw new TypeError('storedAt must be epoch milliseconds');
  if (typeof report !== 'string') throw new TypeError('report must be a JSON string');
  const parsed: unknown = JSON.parse(report);
  if (!isBlockReport(parsed)) throw new TypeError('report is not a block report of version 1 or 2');
  return { report: upgradeReport(parsed), revision, storedAt };
}

function randomRevision(): string {
  return globalThis.crypto.randomUUID();
}
