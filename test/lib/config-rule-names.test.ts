import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#config/load';
import { MANAGED_RULE_GROUPS, type ManagedRuleGroupName, type WafAutoblockConfig } from '#config/schema';
import { configErrorOf } from '../support/config-errors';
import { webAclRulesOf } from '../support/web-acl';

const GROUPS = Object.keys(MANAGED_RULE_GROUPS) as ManagedRuleGroupName[];

/** The rule names of the web ACL that the construct builds for `config` (no Lambdas, no synth). */
function webAclRuleNames(config: WafAutoblockConfig): string[] {
  return webAclRulesOf(config).map((rule) => rule.name);
}

describe('web ACL rule names', () => {
  it('a managed rule group listed twice: refused naming the second entry', () => {
    const message = configErrorOf(
      { managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesAmazonIpReputationList'] },
      'managedRuleGroups[1]',
    );
    expect(message).toContain('managedRuleGroups[0]');
    expect(message).toContain('unique rule names');
  });

  it('a rate rule named like a listed managed rule group: refused naming the rule', () => {
    const message = configErrorOf(
      {
        rateRules: [
          { name: 'all', limit: 2000 },
          { name: 'AWSManagedRulesCommonRuleSet', limit: 100 },
        ],
        managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesCommonRuleSet'],
      },
      'rateRules[1].name',
    );
    expect(message).toContain('managedRuleGroups[1]');
  });

  it('a rate rule may take the name of a managed rule group that is not listed', () => {
    const config = parseConfig({ rateRules: [{ name: 'AWSManagedRulesCommonRuleSet', limit: 100 }] });
    expect(webAclRuleNames(config)).toContain('AWSManagedRulesCommonRuleSet');
  });

  it('two rate rules of one name: refused naming the second, and the first', () => {
    const message = configErrorOf(
      {
        rateRules: [
          { name: 'a', limit: 100 },
          { name: 'a', limit: 200 },
        ],
      },
      'rateRules[1].name',
    );
    expect(message).toContain('"a" of rateRules[0]');
  });

  it('whatever the configuration accepts, the web ACL names every rule differently', () => {
    const names = fc.constantFrom('all', 'login', 'api', ...GROUPS.slice(0, 4));
    fc.assert(
      fc.property(
        fc.array(names, { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom(...GROUPS.slice(0, 5)), { maxLength: 5 }),
        (rateRuleNames, managedRuleGroups) => {
          let config: WafAutoblockConfig;
          try {
            config = parseConfig({ rateRules: rateRuleNames.map((name) => ({ name, limit: 100 })), managedRuleGroups });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            return;
          }
          const ruleNames = webAclRuleNames(config);
          expect(new Set(ruleNames).size).toBe(ruleNames.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
