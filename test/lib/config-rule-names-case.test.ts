/**
 * Rule names that differ only in case from a reserved or managed rule name (issue 10, round 3,
 * finding 4): compared without regard to case, as rate rules are compared with each other.
 */
import { describe, expect, it } from 'vitest';
import { configErrorOf } from '../support/config-errors';

describe('rule names compared without regard to case', () => {
  it.each(['Allowlist-IPv4', 'BLOCKLIST-IPV6', 'allowlist-IPv4-forwarded'])(
    'rateRules[0].name %s is reserved like its lowercase twin',
    (name) => {
      expect(configErrorOf({ rateRules: [{ name, limit: 100 }] }, 'rateRules[0].name')).toContain(
        'is reserved for the IP set rules (allowlist-ipv4',
      );
    },
  );

  it('awsmanagedrulesamazonipreputationlist is refused beside the listed managed group', () => {
    const message = configErrorOf(
      {
        rateRules: [{ name: 'awsmanagedrulesamazonipreputationlist', limit: 100 }],
        managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList'],
      },
      'rateRules[0].name',
    );
    expect(message).toBe(
      'invalid configuration: rateRules[0].name "awsmanagedrulesamazonipreputationlist" differs only in case from AWSManagedRulesAmazonIpReputationList, the rule for managed rule group managedRuleGroups[0]: rule names are compared without regard to case; rename the rate rule',
    );
  });
});
