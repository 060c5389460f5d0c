import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { WafAutoblockConfig } from './config/schema';
import { WafAutoblock } from './waf-autoblock';

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
      allowlist: config.allowlist,
      managedRuleGroups: config.managedRuleGroups,
      logging: config.logging,
      alarm: config.alarm,
      associations: config.associations,
    });

    const { webAcl, attackAlarm, ledger } = this.protection;
    new CfnOutput(this, 'WebAclArn', {
      value: webAcl.webAcl.attrArn,
      description: config.scope === 'CLOUDFRONT' ? 'Attach to your CloudFront distribution (WebACLId)' : 'The web ACL',
    });
    new CfnOutput(this, 'WebAclName', { value: webAcl.webAclName });
    new CfnOutput(this, 'BlocklistIpv4Arn', { value: webAcl.blocklistIpv4.ipSet.attrArn });
    new CfnOutput(this, 'BlocklistIpv6Arn', { value: webAcl.blocklistIpv6.ipSet.attrArn });
    new CfnOutput(this, 'AllowlistIpv4Arn', { value: webAcl.allowlistIpv4.ipSet.attrArn });
    new CfnOutput(this, 'AllowlistIpv6Arn', { value: webAcl.allowlistIpv6.ipSet.attrArn });
    new CfnOutput(this, 'AlertTopicArn', { value: attackAlarm.alertTopic.topicArn });
    new CfnOutput(this, 'OkTopicArn', { value: attackAlarm.okTopic.topicArn });
    new CfnOutput(this, 'AlarmName', { value: attackAlarm.alarm.alarmName });
    new CfnOutput(this, 'WafLogGroupName', { value: webAcl.logGroup.logGroupName });
    new CfnOutput(this, 'LedgerTableName', { value: ledger.table.tableName });
    new CfnOutput(this, 'TestAlertCommand', {
      description: 'Publishes a test message to the alert topic',
      value: `aws sns publish --region ${this.region} --topic-arn ${attackAlarm.alertTopic.topicArn} --message test`,
    });
  }
}
