import { RemovalPolicies, RemovalPolicy } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { WafAutoblockConfig } from '#config/schema';

/** What `cdk destroy` does with the resources of a waf-autoblock construct that hold data. */
export type RemovalPolicyConfig = WafAutoblockConfig['removalPolicy'];

/** The CDK removal policy of a configured `retain` or `destroy`. */
export function cdkRemovalPolicy(setting: 'retain' | 'destroy'): RemovalPolicy {
  return setting === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}

/**
 * Makes what stays behind after `cdk destroy` a decision rather than a CDK default, for every
 * resource of these types under `scope`, including ones added later:
 * - log groups (the WAF log group and each function's) follow `policy.logs`. A retained group keeps
 *   its retention, so it empties itself; the WAF group's name carries a per-deployment suffix
 *   (lib/log-retention.ts), so a retained one never blocks the next deployment.
 * - KMS keys are destroyed: CloudFormation schedules the deletion with a 30-day waiting period. The
 *   key only encrypts topics and the dead-letter queue, which go with the stack; nothing that can
 *   be retained (ledger, log groups) is encrypted with it, and a retained key costs $1 a month.
 *
 * The ledger table follows `policy.ledger` through its own prop (lib/ledger-table).
 */
export function applyRemovalPolicies(scope: IConstruct, policy: RemovalPolicyConfig): void {
  RemovalPolicies.of(scope).apply(cdkRemovalPolicy(policy.logs), { applyToResourceTypes: ['AWS::Logs::LogGroup'] });
  RemovalPolicies.of(scope).destroy({ applyToResourceTypes: ['AWS::KMS::Key'] });
}
