/**
 * The write-ahead intent's calls (lambdas/blocker/run/intent.ts) answered on a strict ledger mock:
 * no intent left by an earlier run, and the run's own intent written and dropped; and no report
 * pending from an earlier run (lambdas/adapters/pending-report.ts), which every run asks for. For
 * tests of the handler and its metrics, which declare every other DynamoDB call themselves.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';
import { LEDGER_RESERVED_KEYS, LEDGER_SCHEMA } from '#contracts/ledger-schema';
import { answerShardedMarker } from './ledger-mock';

/** A strict mock of the ledger's document client, as `mockClient(DynamoDBDocumentClient)` makes it. */
type LedgerMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;

/**
 * Answers the intent reads with "none", accepts the intent's write and drop in either slot, and
 * answers the pending report's read with "none", and the ledger's marker with "sharded".
 */
export function answerWriteAheadIntent(ddb: LedgerMock): void {
  answerNoPendingReport(ddb);
  answerShardedMarker(ddb);
  for (const slot of ['a', 'b']) {
    const range = `${LEDGER_SCHEMA.intentKeyPrefix}${slot}#0`;
    ddb.on(GetCommand, { Key: { [LEDGER_SCHEMA.partitionKey]: range } }).resolves({});
    ddb.on(PutCommand, { Item: { [LEDGER_SCHEMA.partitionKey]: range } }).resolves({});
    ddb.on(DeleteCommand, { Key: { [LEDGER_SCHEMA.partitionKey]: range } }).resolves({});
  }
}

/** Answers the pending report's read (a run's report phase) with "none pending". */
export function answerNoPendingReport(ddb: LedgerMock): void {
  ddb.on(GetCommand, { Key: { [LEDGER_SCHEMA.partitionKey]: LEDGER_RESERVED_KEYS.pendingReport } }).resolves({});
}
