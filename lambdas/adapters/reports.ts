/** Thin adapter over SNS: publishes the blocker's report for the notifier. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { WriteError } from '#shared/errors';
import { withoutSdkLogging } from './sdk-logging';
import type { BlockReport } from '#contracts/report';

/**
 * Publishes one block report as JSON. Fit it first (fitReport in lambdas/contracts/report.ts): SNS
 * refuses a message over 262,144 bytes.
 * @returns the size of the published message in UTF-8 bytes, as SNS counts it.
 * @throws {WriteError} naming the topic when SNS refuses it.
 */
export async function publishReport(client: SNSClient, topicArn: string, report: BlockReport): Promise<number> {
  const message = JSON.stringify(report);
  try {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: `waf-autoblock report for ${report.webAclName}`.slice(0, 100),
        Message: message,
      }),
    );
  } catch (cause) {
    throw new WriteError(`reports topic ${topicArn}`, 'publish failed', { cause });
  }
  return Buffer.byteLength(message, 'utf8');
}

/**
 * Creates the SNS client once per module, so warm invocations reuse its connections; without the
 * SDK's logger middleware (./sdk-logging), which would copy every report.
 */
export function createSnsClient(): SNSClient {
  return withoutSdkLogging(new SNSClient({}));
}
