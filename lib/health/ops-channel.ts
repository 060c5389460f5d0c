import { Duration, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of {@link OpsChannel}. */
export interface OpsChannelProps {
  /** Encrypts the ops topic: the stack's topic key, which CloudWatch may use to publish. */
  readonly key: kms.IKey;
  /**
   * An e-mail address subscribed to the ops topic, so that health alarms reach a person even when
   * the notifier or Telegram is what is broken. AWS sends a confirmation mail first; nothing is
   * delivered until its link is followed.
   * @default no e-mail subscription
   */
  readonly opsEmail?: string;
}

/**
 * Where the stack says it is unhealthy: the `ops` topic that the health alarms publish to (the
 * notifier renders its messages; an e-mail address may subscribe), and the dead-letter queue that
 * keeps the blocker's and the notifier's asynchronous events that failed for good.
 */
export class OpsChannel extends Construct {
  /** Health alarms publish their ALARM and OK here. */
  readonly topic: sns.Topic;
  /**
   * On-failure destination of the blocker's and the notifier's asynchronous invocations: an event
   * (a ban-feed message, an alarm, a report) lands here with its error after Lambda's retries.
   * Messages are kept 14 days, SQS's longest retention. Encrypted at rest (SSE-SQS), TLS only.
   */
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: OpsChannelProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { masterKey: props.key, enforceSSL: true });
    if (props.opsEmail !== undefined) {
      // No filter policy: CloudWatch publishes an e-mail endpoint a human-readable text, not the
      // JSON a body filter would read, and whether SNS applies a MessageBody filter to that text is
      // not documented; if it does, nothing matches and every ops e-mail is dropped without a word.
      // The e-mail is the channel for when the notifier is broken, so it gets every state change,
      // first OKs included (only a newly created alarm sends one; see docs/operations.md).
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.opsEmail));
    }

    // Encrypted by SQS with its own key (SSE-SQS) rather than the topic key: the Lambdas that send
    // to it then need no key grant (the destination's grant would be kms:GenerateDataKey*,
    // kms:ReEncrypt* and more), and an operator reading it after an incident needs no key access.
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        "This queue is the last stop: the on-failure destination of both Lambdas' asynchronous invocations. Its depth raises the dead-letters health alarm; a queue behind it would only hide the messages further.",
    });
  }
}
