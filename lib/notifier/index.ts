import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { LEDGER_RESERVED_KEYS, LEDGER_SCHEMA } from '#contracts/ledger-schema';
import type { AttackAlarm } from '../attack-alarm';
import { AutoblockFunction } from '../autoblock-function';
import { shardAddresses, type BlocklistWebAcl, type WafScope } from '../blocklist-web-acl';
import type { LedgerTable } from '../ledger-table';

/** Props of {@link Notifier}. */
export interface NotifierProps {
  /** The deployment's name prefix: the function's service name is `<namePrefix>-notifier`. */
  readonly namePrefix: string;
  readonly scope: WafScope;
  readonly webAcl: BlocklistWebAcl;
  /** Its ALARM and OK topics trigger the notifier; its history tells how long an attack lasted. */
  readonly attackAlarm: AttackAlarm;
  /** The blocker's reports topic. */
  readonly reportsTopic: sns.ITopic;
  /** The blocker's ledger: read for the next expiries in the all-clear message. */
  readonly ledger: LedgerTable;
  /** Telegram chat ids; empty: messages are only logged. */
  readonly chatIds: readonly string[];
  /** Telegram Bot API base URL. */
  readonly telegramApiUrl: string;
  /** Minutes of WAF logs an ALARM message summarizes. */
  readonly summaryMinutes: number;
  /** Longest list of ranges in a block report. */
  readonly maxListedRanges: number;
  /**
   * Name of an existing secret that holds the bot token.
   * @default a new, empty secret (set its value after deploying)
   */
  readonly existingSecretName?: string;
  readonly logRetentionDays: number;
  /** The ops topic: the health alarms' messages trigger the notifier too. */
  readonly opsTopic: sns.ITopic;
  /** Where an event goes with its error once Lambda's retries are spent. */
  readonly deadLetters: sqs.IQueue;
  /** The blocker's log group: an ops message about failed runs quotes its last error. */
  readonly blockerLogGroup: logs.ILogGroup;
}

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../lambdas/notifier/handler.ts');

/**
 * The notifier: sends a Telegram message for every ALARM (with an attack summary from the WAF logs,
 * CloudFront figures and the blocklist sizes), every OK (how long it lasted, what expires next), every
 * block report, every health alarm on the ops topic, and anything else published to those topics.
 * The bot token lives in Secrets Manager.
 */
export class Notifier extends Construct {
  readonly handler: AutoblockFunction;
  /** Holds the bot token; the function may only read it. */
  readonly botTokenSecret: secretsmanager.ISecret;
  /** How the function and the CLI address the secret: its full ARN, or the name of an existing one. */
  readonly botTokenSecretId: string;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);
    const { webAcl, attackAlarm } = props;
    const stack = Stack.of(this);

    // Timeout: Logs Insights gets up to 40 s (four queries polled together), and delivery keeps 20 s
    // for Telegram's 429 waits and retries. 256 MB: the work is waiting on I/O, not computing.
    this.handler = new AutoblockFunction(this, 'Notifier', {
      entry: HANDLER,
      description:
        'waf-autoblock notifier: Telegram messages for the attack alarm, the blocker reports and the health alarms (ops messages)',
      // Per deployment: the `service` dimension of the metrics the health alarms watch.
      serviceName: `${props.namePrefix}-notifier`,
      timeout: Duration.seconds(90),
      memorySize: 256,
      logRetentionDays: props.logRetentionDays,
      environment: {
        [NOTIFIER_ENV.scope]: props.scope,
        [NOTIFIER_ENV.webAclName]: webAcl.webAclName,
        [NOTIFIER_ENV.telegramChatIds]: JSON.stringify(props.chatIds),
        [NOTIFIER_ENV.telegramApiUrl]: props.telegramApiUrl,
        [NOTIFIER_ENV.summaryMinutes]: String(props.summaryMinutes),
        [NOTIFIER_ENV.maxListedRanges]: String(props.maxListedRanges),
      },
    });
    const fn = this.handler;
    const allow = (actions: string[], resources: string[]) =>
      fn.role.addToPolicy(new iam.PolicyStatement({ actions, resources }));

    // A failed delivery fails the invocation; Lambda retries it twice (one and three minutes later).
    // Parts a warm instance already delivered are not resent; after an hour an alert is stale. An
    // event that still fails waits in the dead-letter queue (the dead-letters health alarm).
    fn.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new destinations.SqsDestination(props.deadLetters),
    });
    fn.addEnvironment(NOTIFIER_ENV.deadLetterQueueUrl, props.deadLetters.queueUrl);

    // The bot token: read this one secret. It is never put in the environment, only its name.
    this.botTokenSecret = props.existingSecretName
      ? secretsmanager.Secret.fromSecretNameV2(this, 'BotToken', props.existingSecretName)
      : this.createBotTokenSecret();
    this.botTokenSecretId = props.existingSecretName ?? this.botTokenSecret.secretArn;
    fn.addEnvironment(NOTIFIER_ENV.telegramSecretId, this.botTokenSecretId);
    this.botTokenSecret.grantRead(fn.role);

    // The attack summary: Logs Insights over the WAF log group. StartQuery is scoped to the group
    // (both ARN forms, with and without the `:*` suffix IAM may evaluate); reading and stopping a
    // query work on query ids, which IAM cannot scope.
    fn.addEnvironment(NOTIFIER_ENV.wafLogGroup, webAcl.logGroup.logGroupName);
    const queryable = (group: logs.ILogGroup) => [
      group.logGroupArn,
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: group.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ];
    allow(['logs:StartQuery'], queryable(webAcl.logGroup));
    allow(['logs:GetQueryResults', 'logs:StopQuery'], ['*']);
    // The last error of a failed blocker run, for the ops message: Logs Insights on its log group only.
    fn.addEnvironment(NOTIFIER_ENV.blockerLogGroup, props.blockerLogGroup.logGroupName);
    allow(['logs:StartQuery'], queryable(props.blockerLogGroup));

    // "Ranges blocked now": the sizes of every blocklist IP set of both families, read only.
    fn.addEnvironment(NOTIFIER_ENV.blocklistIpv4, shardAddresses(this, webAcl.blocklists.IPV4));
    fn.addEnvironment(NOTIFIER_ENV.blocklistIpv6, shardAddresses(this, webAcl.blocklists.IPV6));
    allow(
      ['wafv2:GetIPSet'],
      [...webAcl.blocklists.IPV4, ...webAcl.blocklists.IPV6].map((handle) => handle.ipSet.attrArn),
    );

    // How long the attack lasted: this alarm's history only.
    fn.addEnvironment(NOTIFIER_ENV.alarmName, attackAlarm.alarm.alarmName);
    allow(['cloudwatch:DescribeAlarmHistory'], [attackAlarm.alarm.alarmArn]);

    // What expires next: queries on the ledger's sparse indexes of active ranges, and the one item that
    // says whether the old index must still be read; no other item reads, no writes.
    fn.addEnvironment(NOTIFIER_ENV.ledgerTable, props.ledger.table.tableName);
    allow(
      ['dynamodb:Query'],
      [LEDGER_SCHEMA.shardIndex, LEDGER_SCHEMA.activeIndex].map(
        (index) => `${props.ledger.table.tableArn}/index/${index}`,
      ),
    );
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.ledger.table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LEDGER_RESERVED_KEYS.schema] } },
      }),
    );

    const wildcardReasons = [
      'logs:GetQueryResults and logs:StopQuery act on query ids and support no resource-level permissions (StartQuery is scoped to the WAF and blocker log groups)',
    ];
    if (props.scope === 'CLOUDFRONT') {
      // CloudFront figures: the account's distributions and their metrics. Neither ListDistributions
      // nor GetMetricData supports resource-level permissions; both are read-only.
      allow(['cloudfront:ListDistributions'], ['*']);
      allow(['cloudwatch:GetMetricData'], ['*']);
      wildcardReasons.push(
        'cloudfront:ListDistributions supports no resource-level permissions (it lists the account), read-only',
        'cloudwatch:GetMetricData supports no resource-level permissions, read-only (CloudFront request and error-rate metrics)',
      );
    }
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: `Read-only actions that IAM cannot scope to a resource: ${wildcardReasons.join('; ')}. No write action has a wildcard resource.`,
    });

    // Triggers: the alarm's two topics, the blocker's reports and the health alarms' ops topic. The
    // topics are encrypted with the alarm's key; SNS decrypts before invoking, so the function needs
    // no key permission.
    fn.addEnvironment(NOTIFIER_ENV.opsTopicArn, props.opsTopic.topicArn);
    for (const topic of [attackAlarm.alertTopic, attackAlarm.okTopic, props.reportsTopic, props.opsTopic]) {
      topic.addSubscription(new subscriptions.LambdaSubscription(fn.function));
    }
  }

  private createBotTokenSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'BotToken', {
      description:
        'waf-autoblock: Telegram bot token (from BotFather). Set it with aws secretsmanager put-secret-value; the notifier only logs messages until it holds one.',
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'A Telegram bot token is issued and revoked by Telegram (BotFather /revoke), not by AWS: a rotation Lambda could not create a new one. Rotate with BotFather, then put-secret-value; the notifier picks it up within 5 minutes.',
    });
    return secret;
  }
}
