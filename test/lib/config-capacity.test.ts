import { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app';
import { MIN_WEB_ACL_CAPACITY, webAclCapacity } from '#config/capacity';
import { ConfigError, parseConfig } from '#config/load';
import { MANAGED_RULE_GROUPS, type ManagedRuleGroupName, type WafAutoblockConfig } from '#config/schema';
import { ANTI_DDOS_LABELS } from '#config/rule-labels';
import { configErrorOf } from '../support/config-errors';
import { webAclRulesOf } from '../support/web-acl';

const ALL_GROUPS = Object.keys(MANAGED_RULE_GROUPS) as ManagedRuleGroupName[];
const TWENTY_SCOPED_RULES = Array.from({ length: 20 }, (_, n) => ({
  name: `rule-${n}`,
  limit: 100,
  uriPathPrefix: '/login',
  host: 'www.example.com',
}));
/** The same rules counted by the address the proxy writes, as a web ACL behind a proxy needs. */
const TWENTY_FORWARDED_RULES = TWENTY_SCOPED_RULES.map((rule) => ({ ...rule, aggregateKey: 'FORWARDED_IP' }));
const OVERWRITING_PROXY = {
  headerName: 'X-Real-IP',
  setByOwnProxy: 'overwrites',
  proxyInFrontOfCloudFront: true,
  trustedProxies: ['173.245.48.0/20'],
} as const;

/**
 * WCUs of one statement by the rules of the AWS WAF Developer Guide's statement pages, read off
 * the statement the construct built. Any statement type it does not price fails the test.
 */
function statementWcus(statement: wafv2.CfnWebACL.StatementProperty): number {
  const nested = (list: unknown) =>
    (list as wafv2.CfnWebACL.StatementProperty[]).reduce((sum, s) => sum + statementWcus(s), 0);
  if (statement.orStatement) return nested((statement.orStatement as wafv2.CfnWebACL.OrStatementProperty).statements);
  if (statement.andStatement)
    return nested((statement.andStatement as wafv2.CfnWebACL.AndStatementProperty).statements);
  if (statement.ipSetReferenceStatement) {
    const reference = statement.ipSetReferenceStatement as wafv2.CfnWebACL.IPSetReferenceStatementProperty;
    const forwarded = reference.ipSetForwardedIpConfig as
      wafv2.CfnWebACL.IPSetForwardedIPConfigurationProperty | undefined;
    return 1 + (forwarded?.position === 'ANY' ? 4 : 0);
  }
  if (statement.byteMatchStatement) {
    const match = statement.byteMatchStatement as wafv2.CfnWebACL.ByteMatchStatementProperty;
    const base = { EXACTLY: 2, STARTS_WITH: 2, ENDS_WITH: 2, CONTAINS: 10, CONTAINS_WORD: 10 }[
      match.positionalConstraint
    ];
    if (base === undefined) throw new Error(`unpriced positional constraint ${match.positionalConstraint}`);
    const transformations = (match.textTransformations as wafv2.CfnWebACL.TextTransformationProperty[]).filter(
      (t) => t.type !== 'NONE',
    );
    return base + 10 * transformations.length;
  }
  if (statement.regexMatchStatement) {
    const match = statement.regexMatchStatement as wafv2.CfnWebACL.RegexMatchStatementProperty;
    const transformations = (match.textTransformations as wafv2.CfnWebACL.TextTransformationProperty[]).filter(
      (t) => t.type !== 'NONE',
    );
    return 3 + 10 * transformations.length;
  }
  if (statement.rateBasedStatement) {
    const rate = statement.rateBasedStatement as wafv2.CfnWebACL.RateBasedStatementProperty;
    if (rate.customKeys !== undefined) throw new Error('unpriced custom aggregation keys');
    const scopeDown = rate.scopeDownStatement as wafv2.CfnWebACL.StatementProperty | undefined;
    return 2 + (scopeDown ? statementWcus(scopeDown) : 0);
  }
  if (statement.labelMatchStatement) return 1;
  if (statement.managedRuleGroupStatement) {
    const group = statement.managedRuleGroupStatement as wafv2.CfnWebACL.ManagedRuleGroupStatementProperty;
    return MANAGED_RULE_GROUPS[group.name as ManagedRuleGroupName];
  }
  throw new Error(`unpriced statement ${JSON.stringify(Object.keys(statement))}`);
}

/** The WCUs of the web ACL that the construct builds for `config`, statement by statement. */
function builtWebAclWcus(config: WafAutoblockConfig): number {
  const rules = webAclRulesOf(config);
  return rules.reduce((sum, rule) => sum + statementWcus(rule.statement as wafv2.CfnWebACL.StatementProperty), 0);
}

describe('web ACL capacity', () => {
  it('the default configuration uses 33 WCUs: 2 allowlist sets, 2 × 2 blocklist sets, one rate rule, IP reputation', () => {
    expect(webAclCapacity(parseConfig({}))).toEqual({ total: 33, ipSetRules: 6, rateRules: 2, managedRuleGroups: 25 });
  });

  it.each([
    [1, 4],
    [3, 8],
    [5, 12],
  ])('blocker.ipSetsPerFamily %i: the IP set rules use %i WCUs, one per set reference', (ipSetsPerFamily, wcus) => {
    const config = parseConfig({ blocker: { ipSetsPerFamily } });
    expect(webAclCapacity(config).ipSetRules).toBe(wcus);
    expect(builtWebAclWcus(config)).toBe(webAclCapacity(config).total);
  });

  it('all 11 managed rule groups: refused naming the total, the limit and what to change', () => {
    const message = configErrorOf({ managedRuleGroups: ALL_GROUPS }, 'managedRuleGroups');
    expect(message).toContain('would make the web ACL use 1,833 WCUs');
    expect(message).toContain('over webAclCapacityLimit 1,500');
    expect(message).toContain('AWSManagedRulesCommonRuleSet alone uses 700');
    expect(message).toContain('raise webAclCapacityLimit, up to 5,000');
  });

  it('all 11 groups fit a raised webAclCapacityLimit', () => {
    const config = parseConfig({ managedRuleGroups: ALL_GROUPS, webAclCapacityLimit: 2000 });
    expect(webAclCapacity(config).total).toBe(1833);
  });

  it('the largest configuration there is fits the highest limit', () => {
    const config = parseConfig({
      rateRules: TWENTY_FORWARDED_RULES,
      forwardedIp: OVERWRITING_PROXY,
      managedRuleGroups: ALL_GROUPS,
      webAclCapacityLimit: 5000,
      blocker: { ipSetsPerFamily: 5 },
    });
    // 20 × (2 + 32 + 13) + (2 + 2 × 5) × (1 + 1) + 2 + 1,825: a path match is 2 + 3 transformations, a host
    // regex 3 + 1; behind a proxy that overwrites, every header rule reads FIRST (1 WCU), and each
    // allowlist header rule ANDs it with the source IP in the trusted proxies' one set (1 WCU)
    expect(webAclCapacity(config)).toEqual({ total: 2791, ipSetRules: 26, rateRules: 940, managedRuleGroups: 1825 });
    // Each rule scoped to all 9 labels the Anti-DDoS group adds (no label twice): 1 WCU each, 180 more.
    const labelled = parseConfig({
      ...config,
      forwardedIp: OVERWRITING_PROXY,
      rateRules: TWENTY_FORWARDED_RULES.map((rule) => ({ ...rule, labels: [...ANTI_DDOS_LABELS] })),
    });
    expect(webAclCapacity(labelled)).toEqual({ total: 2971, ipSetRules: 26, rateRules: 1120, managedRuleGroups: 1825 });
    expect(builtWebAclWcus(labelled)).toBe(2971);
  });

  it('a neighbour tier adds one rule per family referencing as many sets as the blocklist: 37 WCUs by default', () => {
    const config = parseConfig({ blocker: { neighbourAction: 'CHALLENGE' } });
    expect(webAclCapacity(config)).toEqual({ total: 37, ipSetRules: 10, rateRules: 2, managedRuleGroups: 25 });
    expect(builtWebAclWcus(config)).toBe(37);
  });

  it('the largest configuration with a neighbour tier still fits the highest limit: 2,991 WCUs', () => {
    const config = parseConfig({
      rateRules: TWENTY_FORWARDED_RULES.map((rule) => ({ ...rule, labels: [...ANTI_DDOS_LABELS] })),
      forwardedIp: OVERWRITING_PROXY,
      managedRuleGroups: ALL_GROUPS,
      webAclCapacityLimit: 5000,
      blocker: { ipSetsPerFamily: 5, neighbourAction: 'CAPTCHA' },
    });
    // The 2,971 of the largest one-tier web ACL, and 2 families × 5 neighbour sets × (source IP 1 + header FIRST 1)
    expect(webAclCapacity(config)).toEqual({ total: 2991, ipSetRules: 46, rateRules: 1120, managedRuleGroups: 1825 });
    expect(builtWebAclWcus(config)).toBe(2991);
  });

  it('rate rules over a low limit: refused naming rateRules, with what each kind of match costs', () => {
    const message = configErrorOf({ rateRules: TWENTY_SCOPED_RULES, webAclCapacityLimit: 300 }, 'rateRules');
    expect(message).toContain(
      'would make the web ACL use 971 WCUs (managed rule groups 25, rate rules 940, IP set rules 6)',
    );
    expect(message).toContain('fewer path, host and label matches (a path match uses 32, a host match 13, a label 1)');
  });

  it.each([[0], [5001], [1500.5], ['1500']])('webAclCapacityLimit %o: refused', (webAclCapacityLimit) => {
    configErrorOf({ webAclCapacityLimit }, 'webAclCapacityLimit');
  });

  it('the smallest web ACL there is (4 IP set rules of one set each, one plain rate rule, no group) takes 6 WCUs: the least limit', () => {
    expect(MIN_WEB_ACL_CAPACITY).toBe(6);
    const smallest = parseConfig({
      managedRuleGroups: [],
      webAclCapacityLimit: MIN_WEB_ACL_CAPACITY,
      blocker: { ipSetsPerFamily: 1 },
    });
    expect(builtWebAclWcus(smallest)).toBe(MIN_WEB_ACL_CAPACITY);
  });

  it('webAclCapacityLimit 3: refused on itself, naming the least that any web ACL needs', () => {
    expect(configErrorOf({ webAclCapacityLimit: 3 }, 'webAclCapacityLimit')).toBe(
      "invalid configuration: webAclCapacityLimit must be at least 6, the WCUs of the smallest web ACL waf-autoblock builds (its allowlist and blocklist rules with blocker.ipSetsPerFamily 1, and one rate rule), and at most 5,000 (AWS's maximum for a web ACL)",
    );
  });

  it('a limit below what the forwardedIp rules need before any other rule: refused on webAclCapacityLimit, not on the groups', () => {
    const input = {
      forwardedIp: OVERWRITING_PROXY,
      rateRules: [{ name: 'all', limit: 100, aggregateKey: 'FORWARDED_IP' }],
    };
    const needed = webAclCapacity(parseConfig({ ...input, webAclCapacityLimit: 5000 }));
    expect(needed.ipSetRules).toBeGreaterThan(MIN_WEB_ACL_CAPACITY); // the header rules cost more than 1
    expect(configErrorOf({ ...input, webAclCapacityLimit: MIN_WEB_ACL_CAPACITY }, 'webAclCapacityLimit')).toBe(
      `invalid configuration: webAclCapacityLimit is 6, below the ${needed.ipSetRules + 2} WCUs that the IP set rules with their forwardedIp rules (${needed.ipSetRules}) and one rate rule (2) need before any other rule: raise it to ${needed.total} or more for this configuration (with blocker.ipSetsPerFamily 1 instead of 2 the IP set rules need 10)`,
    );
  });

  it('the bound and the check agree: 6 holds one set per family, the default 2 sets need 8', () => {
    expect(
      parseConfig({ webAclCapacityLimit: 6, managedRuleGroups: [], blocker: { ipSetsPerFamily: 1 } })
        .webAclCapacityLimit,
    ).toBe(6);
    expect(parseConfig({ webAclCapacityLimit: 8, managedRuleGroups: [] }).webAclCapacityLimit).toBe(8);
    expect(configErrorOf({ webAclCapacityLimit: 7, managedRuleGroups: [] }, 'webAclCapacityLimit')).toBe(
      'invalid configuration: webAclCapacityLimit is 7, below the 8 WCUs that the IP set rules (6) and one rate rule (2) need before any other rule: raise it to 8 or more for this configuration (with blocker.ipSetsPerFamily 1 instead of 2 the IP set rules need 4)',
    );
  });

  it('the figures docs/configuration.md gives: the default uses 33, everything at once 2,779', () => {
    expect(webAclCapacity(parseConfig({})).total).toBe(33);
    const everything = parseConfig({
      forwardedIp: OVERWRITING_PROXY,
      rateRules: Array.from({ length: 20 }, (_, index) => ({
        name: `r${index}`,
        limit: 100,
        uriPathPrefix: '/login',
        host: 'example.com',
        aggregateKey: 'FORWARDED_IP',
      })),
      managedRuleGroups: Object.keys(MANAGED_RULE_GROUPS),
      webAclCapacityLimit: 5000,
    });
    expect(webAclCapacity(everything).total).toBe(2779);
    expect(webAclCapacity({ ...everything, blocker: { ipSetsPerFamily: 5 } }).total).toBe(2791);
  });

  it('whatever the configuration accepts, its count is that of the statements the construct builds', () => {
    const rule = fc.record(
      {
        name: fc.constantFrom('a', 'b', 'c', 'd'),
        limit: fc.constant(100),
        uriPathPrefix: fc.constantFrom('/api', '/login'),
        host: fc.constantFrom('example.com', 'WWW.Example.com'),
        aggregateKey: fc.constantFrom('IP', 'FORWARDED_IP'),
        labels: fc.subarray([...ANTI_DDOS_LABELS], { minLength: 1 }),
      },
      { requiredKeys: ['name', 'limit'] },
    );
    const forwardedIp = fc.option(
      fc.record({
        headerName: fc.constant('X-Real-IP'),
        setByOwnProxy: fc.constantFrom('overwrites', 'appends'),
        proxyInFrontOfCloudFront: fc.constant(true),
        trustedProxies: fc.constantFrom(['173.245.48.0/20'], ['173.245.48.0/20', '2400:cb00::/32']),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 6 }),
        forwardedIp,
        fc.uniqueArray(fc.constantFrom(...ALL_GROUPS)),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('BLOCK', 'CHALLENGE', 'CAPTCHA'),
        (rateRules, forwarded, managedRuleGroups, ipSetsPerFamily, neighbourAction) => {
          let config: WafAutoblockConfig;
          try {
            config = parseConfig({
              rateRules,
              forwardedIp: forwarded,
              managedRuleGroups,
              webAclCapacityLimit: 5000,
              blocker: { ipSetsPerFamily, neighbourAction },
            });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            return;
          }
          expect(webAclCapacity(config).total).toBe(builtWebAclWcus(config));
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('web ACL capacity, in the app', () => {
  it('-c webAclCapacityLimit=5000 lets the stack carry all 11 managed rule groups', () => {
    const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };
    const app = new App({
      context: {
        ...context,
        'wafAutoblock.managedRuleGroups': JSON.stringify(ALL_GROUPS),
        'wafAutoblock.webAclCapacityLimit': '5000',
        'aws:cdk:bundling-stacks': [],
      },
    });
    const stack = buildApp(app, { CDK_DEFAULT_ACCOUNT: '123456789012' });
    const rules = stack.protection.webAcl.webAcl.rules as wafv2.CfnWebACL.RuleProperty[];
    const statements = rules.map((rule) => rule.statement as wafv2.CfnWebACL.StatementProperty);
    expect(statements.filter((statement) => statement.managedRuleGroupStatement !== undefined)).toHaveLength(11);
  });
});
