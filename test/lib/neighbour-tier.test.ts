/**
 * `blocker.neighbourAction` (issue 12): with CHALLENGE or CAPTCHA the web ACL gets, per family, as
 * many neighbour IP sets as blocklist sets and a rule with that action right after the blocklist
 * rules; the blocker may write them and finds them in its environment. With BLOCK (the default)
 * none of it exists.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { NEIGHBOUR_TIER_ENV, readBlockerSettings } from '#contracts/blocker-environment';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, deployedEnvironment, functionOfService, resourcesOf, statementsOf } from '../support/template';
import { webAclRulesOf } from '../support/web-acl';

type IpSetResource = { Properties: { Name: string; IPAddressVersion: string; Addresses: string[] } };
type Rule = { Name: string; Priority: number; Action?: Record<string, unknown>; Statement: Record<string, unknown> };
type WebAcl = { Properties: { Rules: Rule[]; ChallengeConfig?: unknown; CaptchaConfig?: unknown } };

function webAclOf(template: Template): WebAcl['Properties'] {
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as WebAcl[];
  if (!acl) throw new Error('no web ACL');
  return acl.Properties;
}

/** IP sets of the template by name, with their logical ids. */
function setsNamed(template: Template, part: string): Record<string, string> {
  const sets = template.findResources('AWS::WAFv2::IPSet') as Record<string, IpSetResource>;
  return Object.fromEntries(
    Object.entries(sets)
      .filter(([, set]) => set.Properties.Name.includes(part))
      .map(([id, set]) => [set.Properties.Name, id]),
  );
}

const reference = (logicalId: string) => ({ IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] } } });

describe('blocker.neighbourAction: BLOCK (the default)', () => {
  const { template } = synthesize();
  const [, fn] = functionOfService(template, 'WafAutoblock-blocker');

  it('has no neighbour set, no neighbour rule, no immunity setting and tells the blocker of no tier', () => {
    expect(setsNamed(template, '-neighbours-')).toEqual({});
    const acl = webAclOf(template);
    expect(acl.Rules.map((rule) => rule.Name)).toEqual([
      'allowlist-ipv4',
      'allowlist-ipv6',
      'blocklist-ipv4',
      'blocklist-ipv6',
      'rate-all',
      'AWSManagedRulesAmazonIpReputationList',
    ]);
    expect(acl.ChallengeConfig).toBeUndefined();
    expect(acl.CaptchaConfig).toBeUndefined();
    const variables = Object.keys(fn.Properties.Environment.Variables);
    expect(variables.filter((name) => /NEIGHBOUR|OFFENDER/.test(name))).toEqual([]);
  });
});

describe('blocker.neighbourAction: CHALLENGE', () => {
  const { template } = synthesize({ blocker: { neighbourAction: 'CHALLENGE' } });
  const [, fn] = functionOfService(template, 'WafAutoblock-blocker');
  const neighbours = setsNamed(template, '-neighbours-');
  const idOf = (name: string) => neighbours[name] ?? `no set ${name}`;

  it('creates two empty neighbour sets per family beside the blocklist sets', () => {
    expect(Object.keys(neighbours).sort()).toEqual([
      'WafAutoblock-neighbours-ipv4',
      'WafAutoblock-neighbours-ipv4-2',
      'WafAutoblock-neighbours-ipv6',
      'WafAutoblock-neighbours-ipv6-2',
    ]);
    const sets = template.findResources('AWS::WAFv2::IPSet') as Record<string, IpSetResource>;
    for (const id of Object.values(neighbours)) expect(sets[id]?.Properties.Addresses).toEqual([]);
    expect(Object.keys(setsNamed(template, '-blocklist-'))).toHaveLength(4);
  });

  it('evaluates allowlist, exact offenders (Block), neighbours (Challenge), rate rules, managed groups, in that order', () => {
    const rules = webAclOf(template).Rules;
    expect(rules.map((rule) => [rule.Name, Object.keys(rule.Action ?? { managed: {} })[0]])).toEqual([
      ['allowlist-ipv4', 'Allow'],
      ['allowlist-ipv6', 'Allow'],
      ['blocklist-ipv4', 'Block'],
      ['blocklist-ipv6', 'Block'],
      ['neighbours-ipv4', 'Challenge'],
      ['neighbours-ipv6', 'Challenge'],
      ['rate-all', 'Block'],
      ['AWSManagedRulesAmazonIpReputationList', 'managed'],
    ]);
    const priorities = rules.map((rule) => rule.Priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
  });

  it("challenges a request whose source IP is in any of its family's neighbour sets", () => {
    const rule = (name: string) => webAclOf(template).Rules.find((candidate) => candidate.Name === name);
    for (const family of ['ipv4', 'ipv6'] as const) {
      expect(rule(`neighbours-${family}`)?.Statement).toEqual({
        OrStatement: {
          Statements: [`WafAutoblock-neighbours-${family}`, `WafAutoblock-neighbours-${family}-2`].map((name) =>
            reference(idOf(name)),
          ),
        },
      });
    }
  });

  it("keeps a solved challenge for WAF's default 300 s, and sets no CAPTCHA immunity", () => {
    const acl = webAclOf(template);
    expect(acl.ChallengeConfig).toEqual({ ImmunityTimeProperty: { ImmunityTime: 300 } });
    expect(acl.CaptchaConfig).toBeUndefined();
  });

  it("gives the blocker the tier's action, sets and offender prefixes, as the handler's own reader sees them", () => {
    const variables = deployedEnvironment(fn);
    const settings = readBlockerSettings(variables);
    expect(settings.neighbours?.action).toBe('CHALLENGE');
    expect(settings.neighbours?.offenderPrefix).toEqual({ ipv4: 32, ipv6: 128 });
    for (const [family, suffix] of [
      ['IPV4', 'ipv4'],
      ['IPV6', 'ipv6'],
    ] as const) {
      const names = [`WafAutoblock-neighbours-${suffix}`, `WafAutoblock-neighbours-${suffix}-2`];
      expect(settings.neighbours?.sets[family]).toEqual(
        names.map((name) => ({ name, id: `${idOf(name)}.Id`, scope: 'CLOUDFRONT' })),
      );
    }
    expect(variables[NEIGHBOUR_TIER_ENV.neighbourAction]).toBe('CHALLENGE');
  });

  it('lets the blocker read and replace the neighbour sets, and no more than before besides them', () => {
    const updates = statementsOf(template, fn).filter((s) => actionsOf(s).includes('wafv2:UpdateIPSet'));
    const resources = updates.flatMap(resourcesOf);
    for (const id of Object.values(neighbours)) expect(resources).toContainEqual({ 'Fn::GetAtt': [id, 'Arn'] });
    const blocklists = Object.values(setsNamed(template, '-blocklist-'));
    expect(resources).toHaveLength(Object.values(neighbours).length + blocklists.length);
  });

  const metricNames = (value: unknown) => JSON.stringify(value).match(/[A-Za-z]+Utilization/g) ?? [];

  it('has blocklist-full watch the neighbour sets as well as the blocklists, and the dashboard draw both', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { AlarmName: string; Metrics?: unknown; AlarmDescription: unknown };
    }[];
    const full = alarms.find((alarm) => alarm.Properties.AlarmName === 'WafAutoblock-health-blocklist-full');
    expect(metricNames(full?.Properties.Metrics)).toEqual(['BlocklistUtilization', 'NeighbourUtilization']);
    expect(JSON.stringify(full?.Properties.AlarmDescription)).toContain('neighbour IP sets (CHALLENGE)');
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(metricNames(dashboard)).toEqual(['BlocklistUtilization', 'NeighbourUtilization']);
  });
});

describe('blocker.neighbourAction: CAPTCHA', () => {
  const config = parseConfig({
    blocker: { neighbourAction: 'CAPTCHA', immunityTimeSeconds: 3600, ipSetsPerFamily: 1 },
  });

  it('puts up a CAPTCHA for the neighbours, solved once an hour, with one plain set reference per family', () => {
    const rules = webAclRulesOf(config);
    const neighbourRules = rules.filter((rule) => rule.name.startsWith('neighbours-'));
    expect(neighbourRules.map((rule) => [rule.name, rule.action])).toEqual([
      ['neighbours-ipv4', { captcha: {} }],
      ['neighbours-ipv6', { captcha: {} }],
    ]);
    for (const rule of neighbourRules) expect(Object.keys(rule.statement)).toEqual(['ipSetReferenceStatement']);
    const { template } = synthesize({
      blocker: { neighbourAction: 'CAPTCHA', immunityTimeSeconds: 3600, ipSetsPerFamily: 1 },
    });
    expect(webAclOf(template).CaptchaConfig).toEqual({ ImmunityTimeProperty: { ImmunityTime: 3600 } });
    expect(webAclOf(template).ChallengeConfig).toBeUndefined();
  });
});

describe('the neighbour tier behind a proxy that writes X-Real-IP', () => {
  const config = parseConfig({
    forwardedIp: {
      headerName: 'X-Real-IP',
      setByOwnProxy: 'overwrites',
      proxyInFrontOfCloudFront: true,
      trustedProxies: ['173.245.48.0/20'],
    },
    rateRules: [{ name: 'all', limit: 100, aggregateKey: 'FORWARDED_IP' }],
    blocker: { neighbourAction: 'CHALLENGE', ipSetsPerFamily: 1 },
  });

  it('challenges on the header address as the blocklist blocks on it: a forged one only gets its sender challenged', () => {
    const rules = webAclRulesOf(config);
    const forwarded = rules.find((rule) => rule.name === 'neighbours-ipv4-forwarded');
    const blocklist = rules.find((rule) => rule.name === 'blocklist-ipv4-forwarded');
    expect(forwarded?.action).toEqual({ challenge: {} });
    const headerOf = (statement: unknown) =>
      (statement as { ipSetReferenceStatement: { ipSetForwardedIpConfig: unknown } }).ipSetReferenceStatement
        .ipSetForwardedIpConfig;
    expect(headerOf(forwarded?.statement)).toEqual(headerOf(blocklist?.statement));
    expect(headerOf(forwarded?.statement)).toMatchObject({ headerName: 'X-Real-IP', position: 'FIRST' });
  });
});

describe('neighbour tier configuration', () => {
  it.each([['ALLOW'], ['challenge'], [true]])('neighbourAction %o: refused, naming the key', (neighbourAction) => {
    expect(configErrorOf({ blocker: { neighbourAction } }, 'blocker.neighbourAction')).toContain(
      'must be one of BLOCK, CHALLENGE, CAPTCHA',
    );
  });

  it('an offender prefix no narrower than the widened range: refused, since the neighbours would be nothing', () => {
    expect(
      configErrorOf(
        { blocker: { neighbourAction: 'CHALLENGE', offenderPrefixLength: { ipv4: 24 } } },
        'blocker.offenderPrefixLength.ipv4',
      ),
    ).toContain('is 24, not narrower than blocker.ipv4Prefix 24');
    expect(
      configErrorOf(
        { blocker: { neighbourAction: 'CAPTCHA', ipv6Prefix: 56, offenderPrefixLength: { ipv6: 48 } } },
        'blocker.offenderPrefixLength.ipv6',
      ),
    ).toContain('57 to 128');
  });

  it('ipv4Prefix 32 with a tier: names the widened prefix as the problem, with no impossible range to pick from', () => {
    const message = configErrorOf({ blocker: { neighbourAction: 'CHALLENGE', ipv4Prefix: 32 } }, 'blocker.ipv4Prefix');
    expect(message).toBe(
      'invalid configuration: blocker.ipv4Prefix is 32, single addresses, so with neighbourAction CHALLENGE ' +
        "an offender's range holds no neighbours: the neighbour tier needs blocker.ipv4Prefix shorter than " +
        'blocker.offenderPrefixLength.ipv4 (32), e.g. 24; or set neighbourAction BLOCK to block single addresses',
    );
    expect(message).not.toMatch(/33 to 32/);
  });

  it('both families at single addresses: one refusal that says both, so that fixing one does not meet the other', () => {
    const message = configErrorOf(
      { blocker: { neighbourAction: 'CAPTCHA', ipv4Prefix: 32, ipv6Prefix: 128 } },
      'blocker.ipv4Prefix',
    );
    expect(message).toContain('blocker.ipv4Prefix is 32, single addresses, so with neighbourAction CAPTCHA');
    expect(message).toContain(
      '; and blocker.ipv6Prefix is 128, single addresses, so with neighbourAction CAPTCHA ' +
        "an offender's range holds no neighbours: the neighbour tier needs blocker.ipv6Prefix shorter than " +
        'blocker.offenderPrefixLength.ipv6 (128), e.g. 64',
    );
    expect(message).not.toMatch(/129 to 128|33 to 32/);
  });

  it('an offender prefix problem in one family and single addresses in the other: both said', () => {
    const message = configErrorOf(
      { blocker: { neighbourAction: 'CHALLENGE', offenderPrefixLength: { ipv4: 20 }, ipv6Prefix: 128 } },
      'blocker.offenderPrefixLength.ipv4',
    );
    expect(message).toContain('blocker.offenderPrefixLength.ipv4 is 20, not narrower than blocker.ipv4Prefix 24');
    expect(message).toContain('25 to 32');
    expect(message).toContain('; and blocker.ipv6Prefix is 128, single addresses');
  });

  // A tester's findings: the refusals suggested values the configuration refuses in turn ("shorter than
  // (8), e.g. 24", "(24), e.g. 24", "32 to 32"), and left a short Challenge immunity for the next try.
  describe('suggests only values the configuration accepts', () => {
    /** The blocker settings of a configuration the refusal says to write: it must be accepted. */
    const accepted = (blocker: Record<string, unknown>) => parseConfig({ blocker }).blocker;

    it('single addresses over an offender prefix of 24: the prefixes below 24, no "e.g. 24"', () => {
      const message = configErrorOf(
        { blocker: { neighbourAction: 'CHALLENGE', ipv4Prefix: 32, offenderPrefixLength: { ipv4: 24 } } },
        'blocker.ipv4Prefix',
      );
      expect(message).toContain('shorter than blocker.offenderPrefixLength.ipv4 (24), so 8 to 23;');
      expect(message).not.toContain('e.g. 24');
      const [low, high] = [8, 23].map((ipv4Prefix) =>
        accepted({ neighbourAction: 'CHALLENGE', ipv4Prefix, offenderPrefixLength: { ipv4: 24 } }),
      );
      expect([low?.ipv4Prefix, high?.ipv4Prefix]).toEqual([8, 23]);
    });

    it('single addresses over the shortest offender prefix: names the offender prefix, and suggests a pair accepted together', () => {
      const message = configErrorOf(
        { blocker: { neighbourAction: 'CHALLENGE', ipv4Prefix: 32, offenderPrefixLength: { ipv4: 8 } } },
        'blocker.ipv4Prefix',
      );
      expect(message).toContain(
        'blocker.offenderPrefixLength.ipv4 is 8, the shortest prefix accepted, so none can be: set ' +
          'blocker.offenderPrefixLength.ipv4 longer (32, the exact address, by default) and blocker.ipv4Prefix ' +
          'shorter than it, e.g. 24 with the default',
      );
      expect(message).not.toMatch(/\(8\), e\.g\./);
      expect(accepted({ neighbourAction: 'CHALLENGE', ipv4Prefix: 24 }).ipv4Prefix).toBe(24);
    });

    it('IPv6 single addresses over an offender prefix of 32: names the offender prefix, never "e.g. 64"', () => {
      const message = configErrorOf(
        { blocker: { neighbourAction: 'CAPTCHA', ipv6Prefix: 128, offenderPrefixLength: { ipv6: 32 } } },
        'blocker.ipv6Prefix',
      );
      expect(message).toContain(
        'blocker.offenderPrefixLength.ipv6 is 32, the shortest prefix accepted, so none can be',
      );
      expect(message).toContain('e.g. 64 with the default');
      expect(message).not.toMatch(/\(32\), e\.g\. 64/);
    });

    it('offender and widened prefix both 31: the one accepted offender prefix, not "32 to 32"', () => {
      const message = configErrorOf(
        { blocker: { neighbourAction: 'CHALLENGE', ipv4Prefix: 31, offenderPrefixLength: { ipv4: 31 } } },
        'blocker.offenderPrefixLength.ipv4',
      );
      expect(message).toContain('only 32, the exact address (the default), with this ipv4Prefix');
      expect(message).not.toContain('32 to 32');
      expect(accepted({ neighbourAction: 'CHALLENGE', ipv4Prefix: 31 }).offenderPrefixLength.ipv4).toBe(32);
    });

    it('says a Challenge immunity below 300 s in the same refusal as a prefix problem', () => {
      const message = configErrorOf(
        { blocker: { neighbourAction: 'CHALLENGE', ipv4Prefix: 32, immunityTimeSeconds: 120 } },
        'blocker.ipv4Prefix',
      );
      expect(message).toContain('blocker.ipv4Prefix is 32, single addresses');
      expect(message).toContain(
        "; and blocker.immunityTimeSeconds is 120, below 300, WAF's minimum for the Challenge action",
      );
    });
  });

  it('single addresses without a tier are the one-tier blocklist of before, accepted', () => {
    expect(parseConfig({ blocker: { ipv4Prefix: 32, ipv6Prefix: 128 } }).blocker.neighbourAction).toBe('BLOCK');
  });

  it('a narrower offender prefix is accepted: a /28 is blocked, the rest of its /24 challenged', () => {
    const config = parseConfig({ blocker: { neighbourAction: 'CHALLENGE', offenderPrefixLength: { ipv4: 28 } } });
    expect(config.blocker.offenderPrefixLength).toEqual({ ipv4: 28, ipv6: 128 });
  });

  it.each([
    [{ neighbourAction: 'CHALLENGE', immunityTimeSeconds: 120 }, "below 300, WAF's minimum for the Challenge action"],
    [{ neighbourAction: 'CAPTCHA', immunityTimeSeconds: 59 }, 'must be between 60 and 259200'],
    [{ neighbourAction: 'CAPTCHA', immunityTimeSeconds: 259_201 }, 'must be between 60 and 259200'],
    [{ neighbourAction: 'CAPTCHA', immunityTimeSeconds: 90.5 }, 'must be a whole number'],
  ])('%o: refused on blocker.immunityTimeSeconds', (blocker, message) => {
    expect(configErrorOf({ blocker }, 'blocker.immunityTimeSeconds')).toContain(message);
  });

  it('a CAPTCHA may be kept for as little as 60 s and as long as three days', () => {
    for (const immunityTimeSeconds of [60, 259_200]) {
      expect(
        parseConfig({ blocker: { neighbourAction: 'CAPTCHA', immunityTimeSeconds } }).blocker.immunityTimeSeconds,
      ).toBe(immunityTimeSeconds);
    }
  });

  it.each([['neighbours-ipv4'], ['Neighbours-IPv6'], ['neighbours-ipv4-forwarded']])(
    'a rate rule named %s: refused, the name is the neighbour rule’s',
    (name) => {
      expect(configErrorOf({ rateRules: [{ name, limit: 100 }] }, 'rateRules[0].name')).toContain('reserved');
    },
  );
});
