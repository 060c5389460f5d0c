import { Fn, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * The RetentionDays member for a number of days. The configuration only admits values that
 * CloudWatch Logs accepts, so a miss here is a programming error.
 * @throws {Error} when CloudWatch Logs offers no such retention.
 */
export function retentionDays(days: number): logs.RetentionDays {
  const match = Object.values(logs.RetentionDays).find((value): value is logs.RetentionDays => Number(value) === days);
  if (match === undefined) throw new Error(`CloudWatch Logs does not offer a retention of ${days} days`);
  return match;
}

/**
 * The name of the web ACL's log group: `aws-waf-logs-<namePrefix>-<id>`, where `<id>` is the first
 * 8 hex characters of the UUID in the stack's id (resolved by CloudFormation at deploy time).
 *
 * WAF delivers only to groups whose name starts with `aws-waf-logs-`, and a log group name is
 * unique per account and region. A stack gets a new UUID each time it is created, so a group that
 * a deleted stack left behind (removalPolicy.logs `retain`) never makes the next deployment fail
 * with "already exists"; updates of the same stack keep the name.
 */
export function wafLogGroupName(scope: IConstruct, namePrefix: string): string {
  // arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
  const stackUuid = Fn.select(2, Fn.split('/', Stack.of(scope).stackId));
  return `aws-waf-logs-${namePrefix}-${Fn.select(0, Fn.split('-', stackUuid))}`;
}
