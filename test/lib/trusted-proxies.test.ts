/**
 * `forwardedIp.trustedProxies` (issue 10 §1, a tester's security finding): a forwarded header
 * decides an ALLOW only on a request that came from your proxy's addresses. A CloudFront
 * distribution answers anybody at its *.cloudfront.net name, and an ALB's security group is easily
 * left open, so a client that skips the proxy and writes an allowlisted address into the header
 * must meet the blocklist and the rate rules like everybody else.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BlocklistWebAcl } from '../../lib/blocklist-web-acl';
import { webAclCapacity } from '#config/capacity';
import { parseConfig } from '#config/load';
import type { WafAutoblockConfig, WafAutoblockConfigInput } from '#config/schema';
import { configErrorOf } from '../support/config-errors';

const RATE_BY_HEADER = [{ name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' as const }];

/** The tester's configuration: a proxy in front of CloudFront said to overwrite X-Forwarded-For. */
const FINDING = {
  scope: 'CLOUDFRONT',
  forwardedIp: { headerName: 'X-Forwarded-For', setByOwnProxy: 'overwrites', proxyInFrontOfCloudFront: true },
  allowlist: ['81.2.69.142'],
  rateRules: RATE_BY_HEADER,
} as const satisfies WafAutoblockConfigInput;

type Rule = { Name: string; Priority: number; Action: unknown; Statement: unknown };

/** The web ACL construct alone for a parsed configuration (no Lambdas): its template, fast. */
function webAclTemplate(config: WafAutoblockConfig): Template {
  const stack = new Stack(new App(), 'Site');
  new BlocklistWebAcl(stack, 'WebAcl', {
    namePrefix: 'Site',
    scope: config.scope,
    rateRules: config.rateRules,
    forwardedIp: config.forwardedIp,
    allowlist: config.allowlist,
    managedRuleGroups: config.managedRuleGroups,
    logRetentionDays: config.logging.retentionDays,
    loggedActions: config.logging.actions,
    associations: [],
    ipSetsPerFamily: 1,
  });
  return Template.fromStack(stack);
}

function rulesOf(template: Template): Rule[] {
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as { Properties: { Rules: Rule[] } }[];
  return acl?.Properties.Rules ?? [];
}

/** The `Fn::GetAtt` Arn of the IP set named `Site-<name>`, and the addresses it holds. */
function ipSetOf(template: Template, name: string): { arn: unknown; addresses: unknown } {
  const sets = Object.entries(
    template.findResources('AWS::WAFv2::IPSet', { Properties: { Name: `Site-${name}` } }) as Record<
      string,
      { Properties: { Addresses: unknown } }
    >,
  );
  expect(sets).toHaveLength(1);
  const [[id, set]] = sets as [[string, { Properties: { Addresses: unknown } }]];
  return { arn: { 'Fn::GetAtt': [id, 'Arn'] }, addresses: set.Properties.Addresses };
}

const reference = (arn: unknown) => ({ IPSetReferenceStatement: { Arn: arn } });
const headerReference = (arn: unknown, headerName: string, position: string) => ({
  IPSetReferenceStatement: {
    Arn: arn,
    IPSetForwardedIPConfig: { HeaderName: headerName, Position: position, FallbackBehavior: 'NO_MATCH' },
  },
});

describe('the finding: CLOUDFRONT, a proxy said to be in front, an allowlist, and no trusted proxies', () => {
  it('is refused at synth, one line naming forwardedIp.trustedProxies and saying how the allowlist would be forged', () => {
    const message = configErrorOf(FINDING, 'forwardedIp.trustedProxies');
    expect(message).toContain("must list your proxy's egress addresses");
    expect(message).toContain('answers anybody at its *.cloudfront.net name');
    expect(message).toContain('could write an allowlisted address into X-Forwarded-For');
  });

  it('is refused with an empty allowlist too, and with trustedProxies: []', () => {
    configErrorOf({ ...FINDING, allowlist: [] }, 'forwardedIp.trustedProxies');
    configErrorOf(
      { ...FINDING, forwardedIp: { ...FINDING.forwardedIp, trustedProxies: [] } },
      'forwardedIp.trustedProxies',
    );
  });
});

describe('CLOUDFRONT with trustedProxies: the header allows only on requests from the proxy', () => {
  const config = parseConfig({
    ...FINDING,
    forwardedIp: { ...FINDING.forwardedIp, trustedProxies: ['173.245.48.0/20'] },
  });
  const template = webAclTemplate(config);
  const rules = rulesOf(template);
  const rule = (name: string) => rules.find((r) => r.Name === name);

  it('allowlist-ipv4-forwarded is AND(source IP in the trusted proxies, X-Forwarded-For FIRST in the allowlist)', () => {
    const proxies = ipSetOf(template, 'trusted-proxies-ipv4');
    expect(proxies.addresses).toEqual(['173.245.48.0/20']);
    for (const name of ['allowlist-ipv4', 'allowlist-ipv6']) {
      const allowlist = ipSetOf(template, name).arn;
      expect(rule(name)?.Statement).toEqual(reference(allowlist));
      expect(rule(`${name}-forwarded`)).toMatchObject({
        Action: { Allow: {} },
        Priority: (rule(name)?.Priority ?? Number.NaN) + 1,
        Statement: {
          AndStatement: {
            Statements: [reference(proxies.arn), headerReference(allowlist, 'X-Forwarded-For', 'FIRST')],
          },
        },
      });
    }
  });

  it('the BLOCK header rules need no AND: a forged header can at worst get its sender blocked', () => {
    const blocklist = ipSetOf(template, 'blocklist-ipv4').arn;
    expect(rule('blocklist-ipv4-forwarded')?.Statement).toEqual(headerReference(blocklist, 'X-Forwarded-For', 'FIRST'));
  });

  it('creates no IPv6 trusted-proxies set when no proxy address is IPv6', () => {
    expect(template.findResources('AWS::WAFv2::IPSet', { Properties: { Name: 'Site-trusted-proxies-ipv6' } })).toEqual(
      {},
    );
  });

  it('counts one more WCU per ALLOW header rule for the source-IP match (1 + AND(1 + 1) per family)', () => {
    // allowlist 2 × (1 + 2), blocklist 2 × (1 + 1) with one set per family.
    expect(webAclCapacity({ ...config, blocker: { ipSetsPerFamily: 1 } }).ipSetRules).toBe(10);
  });
});

describe('REGIONAL: nginx in the VPC in front of an ALB', () => {
  const REGIONAL = {
    scope: 'REGIONAL',
    forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
    rateRules: RATE_BY_HEADER,
  } as const satisfies WafAutoblockConfigInput;

  it('with an allowlist and no trustedProxies, is refused naming forwardedIp.trustedProxies', () => {
    const message = configErrorOf({ ...REGIONAL, allowlist: ['81.2.69.142'] }, 'forwardedIp.trustedProxies');
    expect(message).toContain('without your proxy could write an allowlisted address into X-Real-IP');
  });

  it('without an allowlist needs no trustedProxies, and then no ALLOW rule reads the header', () => {
    const rules = rulesOf(webAclTemplate(parseConfig(REGIONAL)));
    expect(rules.map((r) => r.Name)).toEqual([
      'allowlist-ipv4',
      'allowlist-ipv6',
      'blocklist-ipv4',
      'blocklist-ipv4-forwarded',
      'blocklist-ipv6',
      'blocklist-ipv6-forwarded',
      'rate-all',
      'AWSManagedRulesAmazonIpReputationList',
    ]);
  });

  it("accepts the proxy's private VPC addresses, and ORs both families of proxies inside the AND", () => {
    const config = parseConfig({
      ...REGIONAL,
      allowlist: ['2a00:1450::/32'],
      forwardedIp: { ...REGIONAL.forwardedIp, trustedProxies: ['10.0.1.0/24', 'fd12:3456::/48'] },
    });
    const template = webAclTemplate(config);
    const v4 = ipSetOf(template, 'trusted-proxies-ipv4');
    const v6 = ipSetOf(template, 'trusted-proxies-ipv6');
    expect([v4.addresses, v6.addresses]).toEqual([['10.0.1.0/24'], ['fd12:3456::/48']]);
    const allowlist = ipSetOf(template, 'allowlist-ipv6').arn;
    expect(rulesOf(template).find((r) => r.Name === 'allowlist-ipv6-forwarded')?.Statement).toEqual({
      AndStatement: {
        Statements: [
          { OrStatement: { Statements: [reference(v4.arn), reference(v6.arn)] } },
          headerReference(allowlist, 'X-Real-IP', 'FIRST'),
        ],
      },
    });
    expect(webAclCapacity({ ...config, blocker: { ipSetsPerFamily: 1 } }).ipSetRules).toBe(12);
  });
});

describe('forwardedIp.trustedProxies entries', () => {
  const regional = (trustedProxies: unknown, allowlist: string[] = []) => ({
    scope: 'REGIONAL',
    allowlist,
    forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', trustedProxies },
    rateRules: RATE_BY_HEADER,
  });
  const cloudfront = (trustedProxies: unknown) => ({
    ...FINDING,
    forwardedIp: { ...FINDING.forwardedIp, trustedProxies },
  });

  it.each(['0.0.0.0/0', '10.0.0.1/8', 'not-an-ip'])(
    '%s is refused as the allowlist would refuse it, naming the entry',
    (entry) => {
      const message = configErrorOf(regional(['173.245.48.7', entry]), 'forwardedIp.trustedProxies[1]');
      expect(message).toContain(JSON.stringify(entry));
    },
  );

  it.each(['10.0.0.0/8', '192.168.1.10', 'fd00::/8'])(
    'with scope CLOUDFRONT, non-global %s is refused: a proxy in front of CloudFront connects from global space',
    (entry) => {
      const message = configErrorOf(cloudfront([entry]), 'forwardedIp.trustedProxies[0]');
      expect(message).toContain("list the proxy's public egress addresses");
    },
  );

  it.each(['127.0.0.1', '169.254.0.0/16', '192.0.2.0/24', 'fe80::/10'])(
    'with scope REGIONAL, %s is refused: no proxy connects from there',
    (entry) => {
      const message = configErrorOf(regional([entry]), 'forwardedIp.trustedProxies[0]');
      expect(message).toContain('no proxy connects from loopback');
    },
  );

  it('an entry that overlaps the allowlist is refused: the source-IP ALLOW rule would allow everything through the proxy', () => {
    const message = configErrorOf(regional(['81.2.69.0/24'], ['81.2.69.142']), 'forwardedIp.trustedProxies[0]');
    expect(message).toContain('overlaps the allowlist');
  });

  it('a value that is not a list is refused naming the key', () => {
    configErrorOf(regional('173.245.48.0/20'), 'forwardedIp.trustedProxies');
  });

  it('a list that trusts much of the internet is refused, however it is cut into entries (a tester listed all global space but the allowlisted /32)', () => {
    // The /8s from 11 to 99, all global, but 81/8, which holds the allowlisted address: each entry alone is fine.
    const wide = Array.from({ length: 89 }, (_, i) => `${i + 11}.0.0.0/8`).filter((cidr) => cidr !== '81.0.0.0/8');
    const message = configErrorOf(cloudfront(wide), 'forwardedIp.trustedProxies');
    expect(message).toContain(`trusts ${(88 * 2 ** 24).toLocaleString('en-US')} IPv4 addresses together`);
    expect(message).toContain("at most a /8's worth");
    const ipv6 = configErrorOf(cloudfront(['2400::/12']), 'forwardedIp.trustedProxies');
    expect(ipv6).toContain('about 2^116 IPv6 addresses together');
  });

  it("accepts a CDN's published egress ranges (Cloudflare's, 2025): within both limits", () => {
    const cloudflare = [
      '173.245.48.0/20',
      '103.21.244.0/22',
      '103.22.200.0/22',
      '103.31.4.0/22',
      '141.101.64.0/18',
      '108.162.192.0/18',
      '190.93.240.0/20',
      '188.114.96.0/20',
      '197.234.240.0/22',
      '198.41.128.0/17',
      '162.158.0.0/15',
      '104.16.0.0/13',
      '104.24.0.0/14',
      '172.64.0.0/13',
      '131.0.72.0/22',
      '2400:cb00::/32',
      '2606:4700::/32',
      '2803:f800::/32',
      '2405:b500::/32',
      '2405:8100::/32',
      '2a06:98c0::/29',
      '2c0f:f248::/32',
    ];
    expect(parseConfig(cloudfront(cloudflare) as WafAutoblockConfigInput).forwardedIp?.trustedProxies).toHaveLength(
      cloudflare.length,
    );
  });
});
