import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LEDGER_SCHEMA } from '../../lambdas/shared/ledger-schema';

/**
 * The blocker's ledger: one item per range it manages (first and last seen, expiry, hits, source).
 * A sparse index lists only the ranges that are active now, so a run never scans the whole table.
 * Retained on stack deletion: it is what tells our entries in the IP sets from everybody else's.
 */
export class LedgerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER_SCHEMA.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_SCHEMA.activeIndex,
      partitionKey: { name: LEDGER_SCHEMA.activeIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SCHEMA.activeIndexSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}
