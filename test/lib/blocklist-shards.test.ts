/**
 * `blocker.ipSetsPerFamily`: the blocklist of each family is that many IP sets, which the family's
 * Block rule ORs; the first set stays the one a one-set blocklist had (same logical id, same name),
 * so that growing the blocklist never replaces the set that holds today's entries.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BLOCKER_ENV, readBlockerSettings } from '#contracts/blocker-environment';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, deployedEnvironment, functionOfService, resourcesOf, statementsOf } from '../support/template';

type IpSetResource = { Properties: { Name: string; IPAddressVersion: string; Addresses: string[] } };
type Rule = { Name: string; Priority: number; Statement: Record<string, unknown> };

/**
 * The logical ids of the two blocklist sets as the stack had them before sharding (and as a
 * one-set stack still has them): CloudFormation replaces a set whose logical id changes, and the
 * new set starts empty.
 */
const ONE_SET_LOGICAL_IDS = {
  IPV4: 'ProtectionWebAclBlocklistIpv4464038E3',
  IPV6: 'ProtectionWebAclBlocklistIpv610181EE7',
} as const;

/** The blocklist IP sets of the template, by logical id. */
function blocklistSets(template: Template): Record<string, IpSetResource['Properties']> {
  const sets = template.findResources('AWS::WAFv2::IPSet') as Record<string, IpSetResource>;
  return Object.fromEntries(
    Object.entries(sets)
      .filter(([, set]) => set.Properties.Name.includes('-blocklist-'))
      .map(([id, set]) => [id, set.Properties]),
  );
}

function ruleOf(template: Template, name: string): Rule {
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as {
    Properties: { Rules: Rule[] };
  }[];
  const rule = acl?.Properties.Rules.find((candidate) => candidate.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
}

const reference = (logicalId: string) => ({ IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] } } });

describe('blocker.ipSetsPerFamily: 1', () => {
  const { template } = synthesize({ blocker: { ipSetsPerFamily: 1 } });

  it('keeps one set per family under the logical ids and names a one-set stack has', () => {
    const sets = Object.entries(blocklistSets(template)).map(([id, set]) => [id, set.Name, set.Addresses]);
    expect(sets).toEqual([
      [ONE_SET_LOGICAL_IDS.IPV4, 'WafAutoblock-blocklist-ipv4', []],
      [ONE_SET_LOGICAL_IDS.IPV6, 'WafAutoblock-blocklist-ipv6', []],
    ]);
  });

  it('blocks on a plain IP set reference, with no OR around it', () => {
    expect(ruleOf(template, 'blocklist-ipv4').Statement).toEqual(reference(ONE_SET_LOGICAL_IDS.IPV4));
    expect(ruleOf(template, 'blocklist-ipv6').Statement).toEqual(reference(ONE_SET_LOGICAL_IDS.IPV6));
  });
});

describe('blocker.ipSetsPerFamily: 3', () => {
  const { template } = synthesize({ blocker: { ipSetsPerFamily: 3 } });
  const sets = blocklistSets(template);
  const idOf = (name: string) => Object.entries(sets).find(([, set]) => set.Name === name)?.[0] ?? `no set ${name}`;

  it('creates three empty sets per family with unique names; the first keeps its logical id and name', () => {
    expect(Object.values(sets).map((set) => [set.Name, set.IPAddressVersion, set.Addresses])).toEqual(
      expect.arrayContaining([
        ['WafAutoblock-blocklist-ipv4', 'IPV4', []],
        ['WafAutoblock-blocklist-ipv4-2', 'IPV4', []],
        ['WafAutoblock-blocklist-ipv4-3', 'IPV4', []],
        ['WafAutoblock-blocklist-ipv6', 'IPV6', []],
        ['WafAutoblock-blocklist-ipv6-2', 'IPV6', []],
        ['WafAutoblock-blocklist-ipv6-3', 'IPV6', []],
      ]),
    );
    expect(Object.keys(sets)).toHaveLength(6);
    expect(idOf('WafAutoblock-blocklist-ipv4')).toBe(ONE_SET_LOGICAL_IDS.IPV4);
    expect(idOf('WafAutoblock-blocklist-ipv6')).toBe(ONE_SET_LOGICAL_IDS.IPV6);
  });

  it("blocks a request whose source IP is in any of its family's sets: one rule ORs the three references", () => {
    for (const [rule, family] of [
      ['blocklist-ipv4', 'ipv4'],
      ['blocklist-ipv6', 'ipv6'],
    ] as const) {
      const names = [
        `WafAutoblock-blocklist-${family}`,
        `WafAutoblock-blocklist-${family}-2`,
        `WafAutoblock-blocklist-${family}-3`,
      ];
      expect(ruleOf(template, rule).Statement).toEqual({
        OrStatement: { Statements: names.map((name) => reference(idOf(name))) },
      });
    }
  });

  it('keeps the logical ids of the first sets when the count changes, and of the others from 2 to 3', () => {
    const two = blocklistSets(synthesize({ blocker: { ipSetsPerFamily: 2 } }).template);
    for (const [id, set] of Object.entries(two)) expect(sets[id]?.Name).toBe(set.Name);
  });
});

describe('the blocker with blocker.ipSetsPerFamily: 3', () => {
  const { template } = synthesize({ blocker: { ipSetsPerFamily: 3 } });
  const [, fn] = functionOfService(template, 'WafAutoblock-blocker');
  const sets = blocklistSets(template);
  const idOf = (name: string) => Object.entries(sets).find(([, set]) => set.Name === name)?.[0] ?? `no set ${name}`;

  it("reads every set of each family from its environment, in order, as the handler's own reader sees it", () => {
    const variables = deployedEnvironment(fn);
    const { blocklist } = readBlockerSettings(variables);
    for (const [family, suffix] of [
      ['IPV4', 'ipv4'],
      ['IPV6', 'ipv6'],
    ] as const) {
      const names = [1, 2, 3].map((n) => `WafAutoblock-blocklist-${suffix}${n === 1 ? '' : `-${n}`}`);
      expect(blocklist[family]).toEqual(names.map((name) => ({ name, id: `${idOf(name)}.Id`, scope: 'CLOUDFRONT' })));
    }
    expect(variables[BLOCKER_ENV.blocklistIpv4]).toMatch(/^\["WafAutoblock-blocklist-ipv4\|/);
  });

  it('names every set of each family in an output, in order; the one-set outputs keep naming the first', () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const names = [1, 2, 3].map((n) => `WafAutoblock-blocklist-${family}${n === 1 ? '' : `-${n}`}`);
      const key = family === 'ipv4' ? 'Ipv4' : 'Ipv6';
      template.hasOutput(`Blocklist${key}Arns`, {
        Value: { 'Fn::Join': [',', names.map((name) => ({ 'Fn::GetAtt': [idOf(name), 'Arn'] }))] },
      });
      template.hasOutput(`Blocklist${key}Arn`, { Value: { 'Fn::GetAtt': [idOf(names[0]!), 'Arn'] } });
    }
  });

  it('may read and replace all six sets, and no other set', () => {
    const updates = statementsOf(template, fn).filter((s) => actionsOf(s).includes('wafv2:UpdateIPSet'));
    expect(updates).toHaveLength(1);
    expect(actionsOf(updates[0]!)).toEqual(['wafv2:GetIPSet', 'wafv2:UpdateIPSet']);
    expect(resourcesOf(updates[0]!)).toEqual(
      Object.values(sets)
        .map((set) => set.Name)
        .sort()
        .map((name) => ({ 'Fn::GetAtt': [idOf(name), 'Arn'] })),
    );
  });
});

describe('blocker.ipSetsPerFamily in the configuration', () => {
  it('defaults to 2: the default stack holds 20,000 ranges of each family', () => {
    const sets = blocklistSets(synthesize().template);
    expect(
      Object.values(sets)
        .map((set) => set.Name)
        .sort(),
    ).toEqual([
      'WafAutoblock-blocklist-ipv4',
      'WafAutoblock-blocklist-ipv4-2',
      'WafAutoblock-blocklist-ipv6',
      'WafAutoblock-blocklist-ipv6-2',
    ]);
  });

  it.each([[0], [6], [2.5], ['2']])('%o: refused, naming blocker.ipSetsPerFamily', (ipSetsPerFamily) => {
    expect(configErrorOf({ blocker: { ipSetsPerFamily } }, 'blocker.ipSetsPerFamily')).toMatch(
      /^invalid configuration: blocker\.ipSetsPerFamily must be/,
    );
  });
});
