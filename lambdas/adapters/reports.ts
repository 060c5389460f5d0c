/** Thin adapter over SNS: publishes the blocker's report for the notifier. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { WriteError } from '#shared/errors';
import type { BlockReport } from '#contracts/report';

/**
 * Publishes one block report as JSON.
 * @throws {WriteError} naming the topic when SNS refuses it.
 */
export async function publishReport(client: SNSClient, topicArn: string, report: BlockReport): Promise<void> {
  try {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: `waf-autoblock report for ${report.webAclName}`.slice(0, 100),
        Message: JSON.stringify(report),
      }),
    );
  } catch (cause) {
    throw new WriteError(`reports topic ${topicArn}`, 'publish failed', { cause });
  }
}

/** Creates the SNS client once per module, so warm invocations reuse its connections. */
export function createSnsClient(): SNSClient {
  return new SNSClient({});
}
