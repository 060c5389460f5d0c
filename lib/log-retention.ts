import * as logs from 'aws-cdk-lib/aws-logs';

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
