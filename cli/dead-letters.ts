/**
 * The dead-letter queue's depth, read for `status`: the events that failed for good and wait there
 * (ban-feed messages, alarm events, reports). The queue is the stack's `DeadLetterQueueUrl` output.
 * One GetQueueAttributes call; SQS's counts are approximate, and close to the truth for a queue this
 * small.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ReadError } from '#shared/errors';

/** The stack output that names the queue. */
export const DEAD_LETTER_QUEUE_OUTPUT = 'DeadLetterQueueUrl';

/** The attributes read: messages waiting, and messages someone has received and not yet deleted. */
export const DEAD_LETTER_ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] as const;

/** What waits in the queue. */
export interface DeadLetterDepth {
  /** The queue's name (the URL's last part). */
  readonly queueName: string;
  /** Messages waiting (ApproximateNumberOfMessages). */
  readonly waiting: number;
  /** Messages being read: received, not yet deleted (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight: number;
}

/**
 * The depth of the queue at `queueUrl`.
 * @throws {ReadError} naming the queue when GetQueueAttributes fails (a missing permission, a
 *   deleted queue) or answers without the counts.
 */
export async function readDeadLetterDepth(client: SQSClient, queueUrl: string): Promise<DeadLetterDepth> {
  const queueName = queueUrl.split('/').pop() ?? queueUrl;
  const resource = `dead-letter queue ${queueName}`;
  let attributes: Partial<Record<string, string>> | undefined;
  try {
    const output = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEAD_LETTER_ATTRIBUTES] }),
    );
    attributes = output.Attributes;
  } catch (cause) {
    throw new ReadError(resource, { cause });
  }
  const [waiting, inFlight] = DEAD_LETTER_ATTRIBUTES.map((name) => Number(attributes?.[name]));
  if (waiting === undefined || inFlight === undefined || !Number.isInteger(waiting) || !Number.isInteger(inFlight)) {
    throw new ReadError(resource, { cause: new Error('GetQueueAttributes answered without the message counts') });
  }
  return { queueName, waiting, inFlight };
}
