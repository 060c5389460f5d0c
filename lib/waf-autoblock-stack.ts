import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { WafAutoblockConfig } from '#config/schema';
import { WafAutoblock } from './waf-autoblock';

/** The message of the BanFeedExampleCommand output, as the README documents it. */
const BAN_FEED_EXAMPLE = { action: 'ban', address: '198.51.100.7', reason: 'test', source: 'cli@host' };

/** Props of {@link WafAutoblockStack}. */
export interface WafAutoblockStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: WafAutoblockConfig;
}

/** The app's one stack: a {@link WafAutoblock} built from the configuration, and its outputs. */
export class WafAutoblockStack extends Stack {
  readonly protection: WafAutoblock;

  constructor(scope: Construct, id: string, props: WafAutoblockStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.protection = new WafAutoblock(this, 'Protection', {
      namePrefix: config.stackName,
      scope: config.scope,
      rateRules: config.rateRules,
      forwardedIp: config.forwardedIp,
      allowlist: config.allowlist,
      managedRuleGroups: config.managedRuleGroups,
      blockResponse: config.blockResponse,
      antiDdos: config.antiDdos,
      webAclCapacityLimit: config.webAclCapacityLimit,
      removalPolicy: config.removalPolicy,
      logging: config.logging,
      alarm: config.alarm,
      associations: config.associations,
      blocker: config.blocker,
      notifier: config.notifier,
      dashboard: config.dashboard,
      // The stack emits the operator outputs under their plain keys (docs/deploy.md, "Outputs").
      outputs: false,
    });

    const { webAcl, attackAlarm, ledger, blocker, notifier } = this.protection;
    new CfnOutput(this, 'WebAclArn', {
      value: webAcl.webAcl.attrArn,
      description: config.scope === 'CLOUDFRONT' ? 'Attach to your CloudFront distribution (WebACLId)' : 'The web ACL',
    });
    new CfnOutput(this, 'WebAclName', { value: webAcl.webAclName });
    new CfnOutput(this, 'BlocklistIpv4Arn', { value: webAcl.blocklistIpv4.ipSet.attrArn });
    new CfnOutput(this, 'BlocklistIpv6Arn', { value: webAcl.blocklistIpv6.ipSet.attrArn });
    // The outputs above name each family's first set, as before sharding; these name all of them.
    for (const [family, name] of [
      ['IPV4', 'BlocklistIpv4Arns'],
      ['IPV6', 'BlocklistIpv6Arns'],
    ] as const) {
      new CfnOutput(this, name, {
        description: `Every ${family === 'IPV4' ? 'IPv4' : 'IPv6'} blocklist IP set (blocker.ipSetsPerFamily), comma-separated`,
        value: Fn.join(
          ',',
          webAcl.blocklists[family].map((handle) => handle.ipSet.attrArn),
        ),
      });
    }
    new CfnOutput(this, 'AllowlistIpv4Arn', { value: webAcl.allowlistIpv4.ipSet.attrArn });
    new CfnOutput(this, 'AllowlistIpv6Arn', { value: webAcl.allowlistIpv6.ipSet.attrArn });
    new CfnOutput(this, 'AlertTopicArn', { value: attackAlarm.alertTopic.topicArn });
    new CfnOutput(this, 'OkTopicArn', { value: attackAlarm.okTopic.topicArn });
    new CfnOutput(this, 'AlarmName', { value: attackAlarm.alarm.alarmName });
    new CfnOutput(this, 'WafLogGroupName', { value: webAcl.logGroup.logGroupName });
    new CfnOutput(this, 'LedgerTableName', { value: ledger.table.tableName });
    new CfnOutput(this, 'ReportsTopicArn', { value: blocker.reportsTopic.topicArn });
    new CfnOutput(this, 'OpsTopicArn', {
      description: 'The health alarms publish here; subscribe more people with aws sns subscribe',
      value: this.protection.ops.topic.topicArn,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Events that failed for good (ban-feed messages, alarms, reports), kept 14 days',
      value: this.protection.ops.deadLetters.queueUrl,
    });
    new CfnOutput(this, 'BlockerFunctionName', { value: blocker.handler.function.functionName });
    new CfnOutput(this, 'BlockerLogGroupName', { value: blocker.handler.logGroup.logGroupName });
    new CfnOutput(this, 'NotifierFunctionName', { value: notifier.handler.function.functionName });
    new CfnOutput(this, 'NotifierLogGroupName', { value: notifier.handler.logGroup.logGroupName });
    new CfnOutput(this, 'TelegramSecretId', {
      description: 'The Secrets Manager secret that holds the Telegram bot token (ARN, or the configured name)',
      value: notifier.botTokenSecretId,
    });
    new CfnOutput(this, 'SetTelegramTokenCommand', {
      description: 'Stores the bot token (replace <token>); the notifier uses it within 5 minutes',
      value: `aws secretsmanager put-secret-value --region ${this.region} --secret-id ${notifier.botTokenSecretId} --secret-string '<token>'`,
    });
    new CfnOutput(this, 'BanFeedTopicArn', {
      description: 'Hosts publish ban and unban messages here (see docs/ban-feed.md)',
      value: blocker.feedTopic.topicArn,
    });
    new CfnOutput(this, 'BanFeedPublisherPolicyArn', {
      description: 'Attach to the role or user of each host that publishes to the ban feed',
      value: blocker.feedPublisherPolicy.managedPolicyArn,
    });
    new CfnOutput(this, 'BanFeedExampleCommand', {
      description:
        'Bans one address through the ban feed (198.51.100.7 is a documentation address: the blocker refuses it)',
      value: `aws sns publish --region ${this.region} --topic-arn ${blocker.feedTopic.topicArn} --message '${JSON.stringify(BAN_FEED_EXAMPLE)}'`,
    });
    if (this.protection.dashboard) {
      new CfnOutput(this, 'DashboardUrl', {
        description: 'The waf-autoblock dashboard in the CloudWatch console',
        value: this.protection.dashboard.url,
      });
    }
    new CfnOutput(this, 'TestAlertCommand', {
      description: 'Publishes a test message to the alert topic',
      value: `aws sns publish --region ${this.region} --topic-arn ${attackAlarm.alertTopic.topicArn} --message test`,
    });
  }
}
