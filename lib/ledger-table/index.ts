import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LEDGER_SCHEMA } from '#contracts/ledger-schema';

/** Props of {@link LedgerTable}. */
export interface LedgerTableProps {
  /**
   * What `cdk destroy` does with the table. Retained, it is what still tells the blocker's entries
   * in shared IP sets (which the stack does not delete) from everybody else's, and the record of what
   * was blocked and why; its name is CloudFormation's, so a retained table never blocks a redeploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The blocker's ledger: one item per range it manages (first and last seen, expiry, hits, source).
 * Two sparse indexes list only the ranges that are active now, so a run never scans the whole table:
 * `ActiveByShard`, which runs read, and `ActiveByExpiry`, which 0.1.0 read and which is kept for a rollback.
 */
export class LedgerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LedgerTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER_SCHEMA.ttlAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_SCHEMA.activeIndex,
      partitionKey: { name: LEDGER_SCHEMA.activeIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SCHEMA.activeIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // The same rows over 16 partitions per family, read in parallel (lambdas/contracts/ledger-schema.ts).
    // Added beside the old index, not instead of it: CloudFormation adds one GSI per update, and a
    // rollback to 0.1.0 reads the old one.
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_SCHEMA.shardIndex,
      partitionKey: { name: LEDGER_SCHEMA.shardIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SCHEMA.activeIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}
