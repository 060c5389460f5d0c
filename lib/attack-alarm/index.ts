import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { WafScope } from '../blocklist-web-acl';

/** Props of {@link AttackAlarm}. */
export interface AttackAlarmProps {
  readonly scope: WafScope;
  /** The web ACL's name (and metric name): the `WebACL` dimension of its metrics. */
  readonly webAclName: string;
  /** Blocked requests per period at or above which the alarm fires. */
  readonly threshold: number;
  /** Period in seconds. */
  readonly periodSeconds: number;
  /** Periods at or above the threshold before the alarm fires. */
  readonly evaluationPeriods: number;
}

/**
 * A CloudWatch alarm on the web ACL's BlockedRequests, with one SNS topic for ALARM and one for OK.
 * Both topics are encrypted with a customer-managed key: CloudWatch cannot publish to a topic
 * encrypted with the AWS-managed `alias/aws/sns` key.
 */
export class AttackAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly alertTopic: sns.Topic;
  readonly okTopic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AttackAlarmProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the waf-autoblock alarm and report topics; CloudWatch may use it to publish alarms',
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.alertTopic = new sns.Topic(this, 'AlertTopic', { masterKey: this.key, enforceSSL: true });
    this.okTopic = new sns.Topic(this, 'OkTopic', { masterKey: this.key, enforceSSL: true });

    // AWS documents these dimensions for web ACL totals; CloudFront metrics carry no Region.
    const dimensionsMap: Record<string, string> = { WebACL: props.webAclName, Rule: 'ALL' };
    if (props.scope === 'REGIONAL') dimensionsMap.Region = stack.region;

    this.alarm = new cloudwatch.Alarm(this, 'BlockedRequests', {
      alarmDescription: `waf-autoblock: ${props.webAclName} blocked at least ${props.threshold} requests in ${props.periodSeconds} s`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName: 'BlockedRequests',
        dimensionsMap,
        statistic: cloudwatch.Stats.SUM,
        period: Duration.seconds(props.periodSeconds),
      }),
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic means no attack: a quiet night must not page anyone.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(this.alertTopic));
    this.alarm.addOkAction(new actions.SnsAction(this.okTopic));

    for (const topic of [this.alertTopic, this.okTopic]) {
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowThisAlarmToPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            ArnLike: { 'aws:SourceArn': this.alarm.alarmArn },
            StringEquals: { 'aws:SourceAccount': stack.account },
          },
        }),
      );
    }
  }
}
