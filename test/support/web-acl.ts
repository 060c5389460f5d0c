/** Builds only the web ACL construct for a configuration: no Lambdas, no synth. */
import { App, Stack } from 'aws-cdk-lib';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { BlocklistWebAcl } from '../../lib/blocklist-web-acl';
import type { WafAutoblockConfig } from '#config/schema';

/** The rules, in order, of the web ACL that the construct builds for `config` (an empty allowlist). */
export function webAclRulesOf(config: WafAutoblockConfig): wafv2.CfnWebACL.RuleProperty[] {
  const stack = new Stack(new App(), 'WebAclOnly');
  const { webAcl } = new BlocklistWebAcl(stack, 'WebAcl', {
    namePrefix: 'Site',
    scope: config.scope,
    rateRules: config.rateRules,
    forwardedIp: config.forwardedIp,
    allowlist: [],
    managedRuleGroups: config.managedRuleGroups,
    logRetentionDays: config.logging.retentionDays,
    loggedActions: config.logging.actions,
    associations: [],
    ipSetsPerFamily: config.blocker.ipSetsPerFamily,
    neighbourAction: config.blocker.neighbourAction,
    immunityTimeSeconds: config.blocker.immunityTimeSeconds,
    blockResponse: config.blockResponse,
    antiDdos: config.antiDdos,
  });
  return webAcl.rules as wafv2.CfnWebACL.RuleProperty[];
}
