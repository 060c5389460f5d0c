/**
 * AWS's Anti-DDoS managed rule group as a source (issue 12, part 2): the group's configuration in
 * the template, its place in the rule order (after the blocklist, before the rate rules, so that
 * its labels reach them), label-scoped rate rules, and the refusals at synth, each naming its key.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { describe, expect, it } from 'vitest';
import { antiDdosGroupConfig, antiDdosSettings, DEFAULT_EXEMPT_URI_REGEX } from '#config/anti-ddos';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { BlocklistWebAcl } from '../../lib/blocklist-web-acl';
import { webAclRulesOf } from '../support/web-acl';

const ANTI_DDOS = 'AWSManagedRulesAntiDDoSRuleSet';
const HIGH = 'awswaf:managed:aws:anti-ddos:high-suspicion-ddos-request';
const MEDIUM = 'awswaf:managed:aws:anti-ddos:medium-suspicion-ddos-request';

type Rule = { Name: string; Priority: number; Statement: Record<string, unknown> };

describe('the Anti-DDoS group in the template (with cdk-nag)', () => {
  const { template } = synthesize({
    managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList', ANTI_DDOS],
    antiDdos: {
      challenge: { sensitivity: 'MEDIUM', exemptUriRegularExpressions: ['^/api/', String.raw`\.(css|js|png)$`] },
      blockSensitivity: 'MEDIUM',
    },
    rateRules: [
      { name: 'ddos-flagged', limit: 100, windowSeconds: 60, labels: [HIGH, MEDIUM] },
      { name: 'rate-all', limit: 2000 },
    ],
  });
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as { Properties: { Rules: Rule[] } }[];
  const rules = [...(acl?.Properties.Rules ?? [])].sort((a, b) => a.Priority - b.Priority);

  it('evaluates allowlist, blocklist, the Anti-DDoS group, the rate rules, then the other groups', () => {
    expect(rules.map((rule) => [rule.Name, rule.Priority])).toEqual([
      ['allowlist-ipv4', 0],
      ['allowlist-ipv6', 2],
      ['blocklist-ipv4', 10],
      ['blocklist-ipv6', 12],
      [ANTI_DDOS, 51],
      ['ddos-flagged', 100],
      ['rate-all', 101],
      ['AWSManagedRulesAmazonIpReputationList', 200],
    ]);
  });

  it('configures the group with its client-side action config and block sensitivity', () => {
    expect(rules.find((rule) => rule.Name === ANTI_DDOS)).toMatchObject({
      OverrideAction: { None: {} },
      Statement: {
        ManagedRuleGroupStatement: {
          VendorName: 'AWS',
          Name: ANTI_DDOS,
          ManagedRuleGroupConfigs: [
            {
              AWSManagedRulesAntiDDoSRuleSet: {
                ClientSideActionConfig: {
                  Challenge: {
                    UsageOfAction: 'ENABLED',
                    Sensitivity: 'MEDIUM',
                    ExemptUriRegularExpressions: [
                      { RegexString: '^/api/' },
                      { RegexString: String.raw`\.(css|js|png)$` },
                    ],
                  },
                },
                SensitivityToBlock: 'MEDIUM',
              },
            },
          ],
        },
      },
    });
  });

  it('scopes the label rule to its labels, ORed, and leaves the other rule unscoped', () => {
    expect(rules.find((rule) => rule.Name === 'ddos-flagged')?.Statement).toEqual({
      RateBasedStatement: {
        Limit: 100,
        EvaluationWindowSec: 60,
        AggregateKeyType: 'IP',
        ScopeDownStatement: {
          OrStatement: {
            Statements: [
              { LabelMatchStatement: { Scope: 'LABEL', Key: HIGH } },
              { LabelMatchStatement: { Scope: 'LABEL', Key: MEDIUM } },
            ],
          },
        },
      },
    });
    expect(rules.find((rule) => rule.Name === 'rate-all')?.Statement).toEqual({
      RateBasedStatement: { Limit: 2000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' },
    });
  });
});

describe('the Anti-DDoS group without antiDdos, and labels with a path and host', () => {
  const rulesOf = (input: Parameters<typeof parseConfig>[0]) => webAclRulesOf(parseConfig(input));
  const statementOf = (rules: wafv2.CfnWebACL.RuleProperty[], name: string) =>
    rules.find((rule) => rule.name === name)?.statement as wafv2.CfnWebACL.StatementProperty;

  it('listed by name alone, it gets the defaults: challenges on at HIGH except AWS suggested paths, block at LOW', () => {
    const group = statementOf(rulesOf({ managedRuleGroups: [ANTI_DDOS] }), ANTI_DDOS);
    expect(group.managedRuleGroupStatement).toEqual({
      vendorName: 'AWS',
      name: ANTI_DDOS,
      managedRuleGroupConfigs: [
        {
          awsManagedRulesAntiDDoSRuleSet: {
            clientSideActionConfig: {
              challenge: {
                usageOfAction: 'ENABLED',
                sensitivity: 'HIGH',
                exemptUriRegularExpressions: [{ regexString: DEFAULT_EXEMPT_URI_REGEX }],
              },
            },
            sensitivityToBlock: 'LOW',
          },
        },
      ],
    });
  });

  it('with challenges DISABLED, sends no challenge settings that would do nothing', () => {
    const group = statementOf(
      rulesOf({ managedRuleGroups: [ANTI_DDOS], antiDdos: { challenge: { usage: 'DISABLED' } } }),
      ANTI_DDOS,
    );
    expect(group.managedRuleGroupStatement).toMatchObject({
      managedRuleGroupConfigs: [
        {
          awsManagedRulesAntiDDoSRuleSet: {
            clientSideActionConfig: { challenge: { usageOfAction: 'DISABLED' } },
            sensitivityToBlock: 'LOW',
          },
        },
      ],
    });
  });

  it('ANDs one label with the path and host matches', () => {
    const rules = rulesOf({
      managedRuleGroups: [ANTI_DDOS],
      rateRules: [{ name: 'login-ddos', limit: 50, uriPathPrefix: '/login', host: 'shop.example.com', labels: [HIGH] }],
    });
    const scopeDown = (
      statementOf(rules, 'login-ddos').rateBasedStatement as wafv2.CfnWebACL.RateBasedStatementProperty
    ).scopeDownStatement as wafv2.CfnWebACL.StatementProperty;
    const statements = (scopeDown.andStatement as wafv2.CfnWebACL.AndStatementProperty).statements as object[];
    expect(statements).toHaveLength(3);
    expect(statements[2]).toEqual({ labelMatchStatement: { scope: 'LABEL', key: HIGH } });
  });

  it('a web ACL without the group keeps today: no rule between the blocklist and the rate rules', () => {
    expect(rulesOf({}).map((rule) => [rule.name, rule.priority])).toEqual([
      ['allowlist-ipv4', 0],
      ['allowlist-ipv6', 2],
      ['blocklist-ipv4', 10],
      ['blocklist-ipv6', 12],
      ['rate-all', 100],
      ['AWSManagedRulesAmazonIpReputationList', 200],
    ]);
  });
});

describe('refusals, each naming its key', () => {
  it('a label in no namespace this web ACL produces', () => {
    const message = configErrorOf(
      { rateRules: [{ name: 'r', limit: 100, labels: ['awswaf:managed:aws:bot-control:bot:verified'] }] },
      'rateRules[0].labels[0]',
    );
    expect(message).toContain('is added by no rule of this web ACL');
  });

  it('a label of the Anti-DDoS group while managedRuleGroups does not list it', () => {
    expect(
      configErrorOf({ rateRules: [{ name: 'r', limit: 100, labels: [HIGH] }] }, 'rateRules[0].labels[0]'),
    ).toContain(`is a label of ${ANTI_DDOS}, which managedRuleGroups does not list`);
  });

  it('a label of a group that runs after the rate rules', () => {
    const message = configErrorOf(
      {
        rateRules: [
          { name: 'r', limit: 100 },
          { name: 's', limit: 100, labels: ['awswaf:managed:aws:amazon-ip-list:AWSManagedIPDDoSList'] },
        ],
      },
      'rateRules[1].labels[0]',
    );
    expect(message).toContain('evaluates after the rate rules');
  });

  it('a misspelt Anti-DDoS label, naming the ones it adds', () => {
    const message = configErrorOf(
      {
        managedRuleGroups: [ANTI_DDOS],
        rateRules: [{ name: 'r', limit: 100, labels: [HIGH, 'awswaf:managed:aws:anti-ddos:high-suspicion-ddos'] }],
      },
      'rateRules[0].labels[1]',
    );
    expect(message).toContain('high-suspicion-ddos-request, medium-suspicion-ddos-request');
  });

  it.each(['challengeable-request', 'ChallengeAllDuringEvent', 'ChallengeDDoSRequests'])(
    'a challenge label (%s) while antiDdos.challenge.usage is DISABLED: the group adds it to no request',
    (name) => {
      const message = configErrorOf(
        {
          managedRuleGroups: [ANTI_DDOS],
          antiDdos: { challenge: { usage: 'DISABLED' } },
          rateRules: [{ name: 'r', limit: 100, labels: [MEDIUM, `awswaf:managed:aws:anti-ddos:${name}`] }],
        },
        'rateRules[0].labels[1]',
      );
      expect(message).toContain('antiDdos.challenge.usage is DISABLED');
      expect(message).toContain('counts nothing');
    },
  );

  it('the same challenge label is accepted while challenges are ENABLED (the default)', () => {
    const config = parseConfig({
      managedRuleGroups: [ANTI_DDOS],
      rateRules: [{ name: 'r', limit: 100, labels: ['awswaf:managed:aws:anti-ddos:challengeable-request'] }],
    });
    expect(config.rateRules[0]?.labels).toEqual(['awswaf:managed:aws:anti-ddos:challengeable-request']);
  });

  it('a label that is no label name, a label listed twice, and an empty list', () => {
    const base = { managedRuleGroups: [ANTI_DDOS] };
    expect(
      configErrorOf(
        { ...base, rateRules: [{ name: 'r', limit: 100, labels: ['anti ddos'] }] },
        'rateRules[0].labels[0]',
      ),
    ).toContain('must be a label name');
    expect(
      configErrorOf(
        { ...base, rateRules: [{ name: 'r', limit: 100, labels: [HIGH, HIGH] }] },
        'rateRules[0].labels[1]',
      ),
    ).toContain('repeats rateRules[0].labels[0]');
    configErrorOf({ ...base, rateRules: [{ name: 'r', limit: 100, labels: [] }] }, 'rateRules[0].labels');
  });

  it('a sensitivity that is not LOW, MEDIUM or HIGH', () => {
    const base = { managedRuleGroups: [ANTI_DDOS] };
    expect(configErrorOf({ ...base, antiDdos: { blockSensitivity: 'low' } }, 'antiDdos.blockSensitivity')).toContain(
      'LOW, MEDIUM or HIGH',
    );
    configErrorOf({ ...base, antiDdos: { challenge: { sensitivity: 'MAX' } } }, 'antiDdos.challenge.sensitivity');
    configErrorOf({ ...base, antiDdos: { challenge: { usage: 'ON' } } }, 'antiDdos.challenge.usage');
  });

  it.each([
    ['^/api/(', 'never closed'],
    [String.raw`^/\\\1`, 'a backreference'],
    [String.raw`^/(a)\1`, 'a backreference'],
    ['^/(?>api)', 'an atomic group'],
    ['^/a++', 'a possessive quantifier'],
    ['/'.repeat(513), 'at most 512 characters'],
  ])('an exempt URI regex %s that WAF would refuse (%s)', (regex, reason) => {
    expect(
      configErrorOf(
        { managedRuleGroups: [ANTI_DDOS], antiDdos: { challenge: { exemptUriRegularExpressions: ['^/ok/', regex] } } },
        'antiDdos.challenge.exemptUriRegularExpressions[1]',
      ),
    ).toContain(reason);
  });

  it.each(['', '^/api/[a', '^/api)'])('an exempt URI regex %j that is empty or unbalanced', (regex) => {
    configErrorOf(
      { managedRuleGroups: [ANTI_DDOS], antiDdos: { challenge: { exemptUriRegularExpressions: [regex] } } },
      'antiDdos.challenge.exemptUriRegularExpressions[0]',
    );
  });

  it.each([
    '(?i)^/api',
    '(?i:^/api/)',
    String.raw`^/files\\1`,
    String.raw`^/a\++`,
    String.raw`^/static/\Q(?>a++\E`,
    '^/[]a]+$',
    '^/[[:alpha:]]+/',
    '^/(a|b)+?$',
    '^/api(?# a ( in a comment)/',
  ])('an exempt URI regex %s that PCRE and WAF take is accepted and sent as written', (regex) => {
    const config = parseConfig({
      managedRuleGroups: [ANTI_DDOS],
      antiDdos: { challenge: { exemptUriRegularExpressions: [regex] } },
    });
    expect(config.antiDdos?.challenge.exemptUriRegularExpressions).toEqual([regex]);
  });

  it('with challenges DISABLED, the exempt regexes are neither checked nor sent', () => {
    for (const exemptUriRegularExpressions of [[], ['a', 'b', 'c', 'd', 'e', '^/api/(']]) {
      const config = parseConfig({
        managedRuleGroups: [ANTI_DDOS],
        antiDdos: { challenge: { usage: 'DISABLED', exemptUriRegularExpressions } },
      });
      expect(antiDdosGroupConfig(antiDdosSettings(config.antiDdos))).toEqual({
        awsManagedRulesAntiDDoSRuleSet: {
          clientSideActionConfig: { challenge: { usageOfAction: 'DISABLED' } },
          sensitivityToBlock: 'LOW',
        },
      });
    }
  });

  it('no exempt regex, or more than 5', () => {
    for (const exemptUriRegularExpressions of [[], ['a', 'b', 'c', 'd', 'e', 'f']])
      configErrorOf(
        { managedRuleGroups: [ANTI_DDOS], antiDdos: { challenge: { exemptUriRegularExpressions } } },
        'antiDdos.challenge.exemptUriRegularExpressions',
      );
  });

  it('antiDdos without the group in managedRuleGroups', () => {
    expect(configErrorOf({ antiDdos: { blockSensitivity: 'HIGH' } }, 'antiDdos')).toContain(
      `configures ${ANTI_DDOS}, which managedRuleGroups does not list`,
    );
  });
});

describe('synth warnings', () => {
  /** The warnings `cdk synth` prints for the web ACL of `input`. */
  function warningsOf(input: Parameters<typeof parseConfig>[0]): string[] {
    const config = parseConfig(input);
    const stack = new Stack(new App(), 'Warned');
    new BlocklistWebAcl(stack, 'WebAcl', {
      namePrefix: 'Site',
      scope: config.scope,
      rateRules: config.rateRules,
      allowlist: [],
      managedRuleGroups: config.managedRuleGroups,
      antiDdos: config.antiDdos,
      logRetentionDays: 30,
      loggedActions: ['BLOCK'],
      associations: [],
    });
    return Annotations.fromStack(stack)
      .findWarning('*', Match.anyValue())
      .map((warning) => warning.entry.data as string);
  }

  it('a rule scoped only to labels the group blocks itself (high at the default LOW) counts next to nothing: warned', () => {
    const [warning, ...more] = warningsOf({
      managedRuleGroups: [ANTI_DDOS],
      rateRules: [{ name: 'ddos-high', limit: 100, labels: [HIGH] }],
    });
    expect(more).toEqual([]);
    expect(warning).toContain(
      'rateRules[0] (ddos-high) counts only requests that AWSManagedRulesAntiDDoSRuleSet blocks itself',
    );
    expect(warning).toContain('medium-suspicion-ddos-request');
  });

  it('no warning for a label the group lets through, nor for high with medium', () => {
    expect(
      warningsOf({ managedRuleGroups: [ANTI_DDOS], rateRules: [{ name: 'r', limit: 100, labels: [MEDIUM] }] }),
    ).toEqual([]);
    expect(
      warningsOf({ managedRuleGroups: [ANTI_DDOS], rateRules: [{ name: 'r', limit: 100, labels: [HIGH, MEDIUM] }] }),
    ).toEqual([]);
  });

  it('medium is warned once blockSensitivity MEDIUM blocks it too', () => {
    expect(
      warningsOf({
        managedRuleGroups: [ANTI_DDOS],
        antiDdos: { blockSensitivity: 'MEDIUM' },
        rateRules: [{ name: 'r', limit: 100, labels: [MEDIUM] }],
      }),
    ).toHaveLength(1);
  });
});
