/**
 * Whom the web ACL believes about a client's address (README, "Forwarded client addresses"): an
 * ALLOW decision never rests on a header the client writes, and a forged header can at worst get
 * the forger's own requests blocked.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app';
import { BlocklistWebAcl } from '../../lib/blocklist-web-acl';
import { webAclCapacity } from '#config/capacity';
import {
  FORWARDED_IP_SETTERS,
  forwardedIpProblems,
  ipSetForwardedIp,
  type ForwardedIpConfig,
} from '#config/forwarded-ip';
import { parseConfig } from '#config/load';
import type { WafAutoblockConfigInput } from '#config/schema';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import { runCli } from '../support/cli-io';
import { configErrorFrom, configErrorOf } from '../support/config-errors';
import { fixtureDir } from '../support/fixture-dir';
import { loginRecord, T0 } from '../support/replay-records';
import { synthesize } from '../support/synth';

const ROOT = join(import.meta.dirname, '..', '..');

type Template = ReturnType<typeof synthesize>['template'];
type Rule = { Name: string; Statement: Record<string, unknown> };

function ruleOf(template: Template, name: string): Rule {
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as { Properties: { Rules: Rule[] } }[];
  const rule = acl?.Properties.Rules.find((r) => r.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
}

/** The `Fn::GetAtt` of the IP set named `<stack>-<name>`, as the rules reference it. */
function arnOf(template: Template, name: string): unknown {
  const sets = Object.keys(
    template.findResources('AWS::WAFv2::IPSet', { Properties: { Name: `WafAutoblock-${name}` } }),
  );
  expect(sets).toHaveLength(1);
  return { 'Fn::GetAtt': [sets[0], 'Arn'] };
}

/** Source IP only: the statement of every IP set rule when no header is trusted. */
const sourceOnly = (arn: unknown) => ({ IPSetReferenceStatement: { Arn: arn } });

/** The header at `position`: the statement of the `-forwarded` rule beside each IP set rule behind a declared proxy. */
const headerOnly = (arn: unknown, headerName: string, position: string) => ({
  IPSetReferenceStatement: {
    Arn: arn,
    IPSetForwardedIPConfig: { HeaderName: headerName, Position: position, FallbackBehavior: 'NO_MATCH' },
  },
});

/**
 * The source-IP rule keeps its statement, and a `-forwarded` rule with the same action reads the
 * header right after it: separate rules, since WAF skips a rule whose forwarded header is missing.
 */
function expectSourceThenHeader(template: Template, name: string, headerName: string, position: string): void {
  const arn = arnOf(template, name);
  const source = ruleOf(template, name) as Rule & { Priority: number; Action: unknown };
  const header = ruleOf(template, `${name}-forwarded`) as Rule & { Priority: number; Action: unknown };
  expect(source.Statement).toEqual(sourceOnly(arn));
  expect(header.Statement).toEqual(headerOnly(arn, headerName, position));
  expect(header.Priority).toBe(source.Priority + 1);
  expect(header.Action).toEqual(source.Action);
}

const IP_SET_RULES = ['allowlist-ipv4', 'allowlist-ipv6', 'blocklist-ipv4', 'blocklist-ipv6'] as const;

describe('default configuration: no header is trusted', () => {
  // One blocklist set per family, so that each rule is one reference (sets ORed: blocklist-shards.test.ts).
  const { template } = synthesize({
    allowlist: ['81.2.69.128/26', '2001:db8:1::/48'],
    blocker: { ipSetsPerFamily: 1 },
  });

  it('the ALLOW rules match the connecting source IP, and nothing else', () => {
    expect(ruleOf(template, 'allowlist-ipv4').Statement).toEqual(sourceOnly(arnOf(template, 'allowlist-ipv4')));
    expect(ruleOf(template, 'allowlist-ipv6').Statement).toEqual(sourceOnly(arnOf(template, 'allowlist-ipv6')));
  });

  it('the blocklist rules match the source IP only, and no rule of the web ACL reads a header address', () => {
    expect(ruleOf(template, 'blocklist-ipv4').Statement).toEqual(sourceOnly(arnOf(template, 'blocklist-ipv4')));
    expect(ruleOf(template, 'blocklist-ipv6').Statement).toEqual(sourceOnly(arnOf(template, 'blocklist-ipv6')));
    const acl = JSON.stringify(template.findResources('AWS::WAFv2::WebACL'));
    expect(acl).not.toContain('ForwardedIPConfig');
    expect(acl).not.toContain('FORWARDED_IP');
    expect(acl).not.toContain('-forwarded');
  });
});

/**
 * Synthesizes the stack for `input` as `cdk synth` builds it (bundling skipped: warnings do not
 * depend on it), hands it to `check`, which reads the assembly's annotations, then removes the
 * assembly.
 */
function withStack(input: WafAutoblockConfigInput, check: (stack: Stack) => void): void {
  const config = parseConfig(input);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WafAutoblockStack(app, config.stackName, {
    config,
    env: { account: '123456789012', region: config.scope === 'CLOUDFRONT' ? 'us-east-1' : 'eu-west-1' },
  });
  try {
    check(stack);
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

/** The warnings about `forwardedIp` in the stack's synthesized assembly, as CDK prints them. */
function forwardedIpWarnings(stack: Stack): string[] {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('forwardedIp'))
    .map((warning) => warning.entry.data as string);
}

const OVERWRITES = { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' } as const;

/** Rate rules behind an own proxy: every one keyed by the header it overwrites. */
const LOGIN_BEHIND_PROXY = [
  { name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' },
  { name: 'login', limit: 100, windowSeconds: 60, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' },
] as const;

describe('forwardedIp: nginx in front of an ALB overwrites a single-valued header', () => {
  const config = {
    scope: 'REGIONAL',
    forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', trustedProxies: ['10.0.1.0/24'] },
    rateRules: [...LOGIN_BEHIND_PROXY],
    blocker: { ipSetsPerFamily: 1 }, // one reference per rule; several sets: blocklist-shards.test.ts
  } as const satisfies WafAutoblockConfigInput;
  const { template } = synthesize(config);

  it('the ALLOW rules match the source IP, or the one address the proxy wrote (FIRST) on a request from the proxy', () => {
    const proxies = arnOf(template, 'trusted-proxies-ipv4');
    for (const name of ['allowlist-ipv4', 'allowlist-ipv6']) {
      const arn = arnOf(template, name);
      const source = ruleOf(template, name) as Rule & { Priority: number };
      const header = ruleOf(template, `${name}-forwarded`) as Rule & { Priority: number; Action: unknown };
      expect(source.Statement).toEqual(sourceOnly(arn));
      expect(header.Statement).toEqual({
        AndStatement: { Statements: [sourceOnly(proxies), headerOnly(arn, 'X-Real-IP', 'FIRST')] },
      });
      expect([header.Priority, header.Action]).toEqual([source.Priority + 1, { Allow: {} }]);
    }
  });

  it('the BLOCK rules read the same one address (FIRST), and so cost no more WCUs than the ALLOW rules', () => {
    for (const name of ['blocklist-ipv4', 'blocklist-ipv6']) {
      expectSourceThenHeader(template, name, 'X-Real-IP', 'FIRST');
    }
    // 4 IP sets × (source IP 1 + header 1), + 1 per allowlist rule for the trusted proxies' set; position
    // ANY would have added 4 for each blocklist rule.
    expect(webAclCapacity(parseConfig(config)).ipSetRules).toBe(10);
  });

  it('the FORWARDED_IP rate rules count by that header, and block requests whose header holds no address', () => {
    for (const name of ['rate-all', 'login']) {
      expect(ruleOf(template, name).Statement).toMatchObject({
        RateBasedStatement: {
          AggregateKeyType: 'FORWARDED_IP',
          ForwardedIPConfig: { HeaderName: 'X-Real-IP', FallbackBehavior: 'MATCH' },
        },
      });
    }
  });
});

describe('forwardedIp: warnings at synth for declarations that are often a mistake', () => {
  it('with scope CLOUDFRONT: no warning, as it is refused unless a proxy in front of CloudFront is declared (config-forwarded-ip.test.ts)', () => {
    const input: WafAutoblockConfigInput = {
      scope: 'CLOUDFRONT',
      forwardedIp: {
        headerName: 'True-Client-IP',
        setByOwnProxy: 'overwrites',
        proxyInFrontOfCloudFront: true,
        trustedProxies: ['173.245.48.0/20'],
      },
      rateRules: [...LOGIN_BEHIND_PROXY],
    };
    withStack(input, (stack) => {
      expect(forwardedIpWarnings(stack)).toEqual([]);
    });
  });

  it('X-Forwarded-For declared as overwritten: most proxies append to it', () => {
    const input: WafAutoblockConfigInput = {
      scope: 'REGIONAL',
      forwardedIp: { headerName: 'x-forwarded-for', setByOwnProxy: 'overwrites' },
      rateRules: [...LOGIN_BEHIND_PROXY],
    };
    withStack(input, (stack) => {
      Annotations.fromStack(stack).hasWarning(
        '/WafAutoblock/Protection/WebAcl',
        Match.stringLikeRegexp(
          '^forwardedIp declares that your proxy overwrites x-forwarded-for, a header most proxies append to .*: double-check that yours replaces it with the one address it received the request from; if it appends, the client chooses the FORWARDED_IP rate key, so let the proxy set a single-valued header such as X-Real-IP and declare that instead',
        ),
      );
      expect(forwardedIpWarnings(stack)).toHaveLength(1);
    });
  });

  it('none for a single-valued header behind a REGIONAL web ACL, nor without forwardedIp', () => {
    const behindNginx: WafAutoblockConfigInput = {
      scope: 'REGIONAL',
      forwardedIp: OVERWRITES,
      rateRules: [...LOGIN_BEHIND_PROXY],
    };
    for (const input of [behindNginx, {}]) {
      withStack(input, (stack) => {
        expect(forwardedIpWarnings(stack)).toEqual([]);
      });
    }
  });
});

describe('ipSetForwardedIp', () => {
  it('never lets an ALLOW rule read ANY address, nor the client-written FIRST one of an appended list', () => {
    const positions = FORWARDED_IP_SETTERS.map((setByOwnProxy) => [
      setByOwnProxy,
      ipSetForwardedIp({ headerName: 'X-Client-IP', setByOwnProxy }, 'allow')?.position,
      ipSetForwardedIp({ headerName: 'X-Client-IP', setByOwnProxy }, 'block')?.position,
    ]);
    expect(positions).toEqual([
      ['overwrites', 'FIRST', 'FIRST'],
      ['appends', 'LAST', 'ANY'],
    ]);
    expect(ipSetForwardedIp(undefined, 'allow')).toBeUndefined();
    expect(ipSetForwardedIp(undefined, 'block')).toBeUndefined();
  });
});

const fixtures = fixtureDir('forwarded-ip-');

let apps = 0;

/** An app whose cloud assembly directory is in the fixture dir, so that it goes with it. */
function testApp(context: Record<string, unknown> = {}): App {
  return new App({ outdir: join(fixtures.path, `cdk.out-${++apps}`), context });
}

/** An app as `cdk synth` makes it: cdk.json's context plus what `-c` adds (values as strings), without bundling. */
function appWithContext(extra: Record<string, string>): App {
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return testApp({ ...context, ...extra, 'aws:cdk:bundling-stacks': [] });
}

function ruleNamesOf(stack: ReturnType<typeof buildApp>): string[] {
  return (stack.protection.webAcl.webAcl.rules as wafv2.CfnWebACL.RuleProperty[]).map((rule) => rule.name);
}

describe('the configuration refuses a rate rule that would not count the client', () => {
  const forwardedLogin = { name: 'login', limit: 100, windowSeconds: 60, aggregateKey: 'FORWARDED_IP' } as const;

  it('refuses a rate rule named like the header rule of an IP set, which WAF would see as a duplicate', () => {
    const message = configErrorOf(
      { rateRules: [{ name: 'allowlist-ipv4-forwarded', limit: 2000 }] },
      'rateRules[0].name',
    );
    expect(message).toContain('reserved for the IP set rules');
  });

  it('FORWARDED_IP without forwardedIp, naming the rule', () => {
    const message = configErrorOf(
      { rateRules: [{ name: 'rate-all', limit: 2000 }, forwardedLogin] },
      'rateRules[1].aggregateKey',
    );
    expect(message).toContain("the client chooses X-Forwarded-For's first address");
    expect(message).toContain('set forwardedIp');
  });

  it('FORWARDED_IP behind a proxy that appends: WAF would key on the client-written first address', () => {
    const message = configErrorOf(
      {
        forwardedIp: { headerName: 'X-Forwarded-For', setByOwnProxy: 'appends' },
        rateRules: [forwardedLogin],
      },
      'rateRules[0].aggregateKey',
    );
    expect(message).toBe(
      "invalid configuration: rateRules[0].aggregateKey FORWARDED_IP cannot be used when forwardedIp.setByOwnProxy is appends: WAF keys FORWARDED_IP by X-Forwarded-For's FIRST address, which the client writes (and IP would count the proxy, so no rate key is safe); if your proxy in fact replaces X-Forwarded-For's value with the one client address it saw, declare setByOwnProxy overwrites and use FORWARDED_IP; if it appends, make it write the client address into a header, replacing what the client sent (nginx: proxy_set_header X-Real-IP $remote_addr), and declare that header as overwritten",
    );
  });

  it('IP behind a proxy that overwrites (the default key): it would count the proxy, and the blocker block everybody', () => {
    const message = configErrorOf(
      {
        forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
        rateRules: [forwardedLogin, { name: 'rate-all', limit: 2000 }],
      },
      'rateRules[1].aggregateKey',
    );
    expect(message).toBe(
      "invalid configuration: rateRules[1].aggregateKey IP counts the connecting source IP, which behind the proxy that forwardedIp declares is that proxy for every request: the rule would limit the proxy, and the blocker would block the proxy's /24, which the blocklist then matches as the source IP of everybody; use FORWARDED_IP to count by X-Real-IP",
    );
  });

  it('IP behind a proxy that appends: no rate key is safe, so it says to let the proxy overwrite a header', () => {
    const message = configErrorOf(
      { forwardedIp: { headerName: 'X-Forwarded-For', setByOwnProxy: 'appends' } },
      'rateRules[0].aggregateKey',
    );
    expect(message).toContain('IP counts the connecting source IP, which behind the proxy');
    expect(message).toContain("WAF keys FORWARDED_IP by X-Forwarded-For's FIRST address, which the client writes");
    expect(message).toContain(
      'if it appends, make it write the client address into a header, replacing what the client sent',
    );
  });

  it('the web ACL construct refuses the same, for an app that passes it unparsed props', () => {
    const build = () =>
      new BlocklistWebAcl(new Stack(testApp(), 'Site'), 'WebAcl', {
        namePrefix: 'Site',
        scope: 'REGIONAL',
        rateRules: [{ name: 'rate-all', limit: 2000, windowSeconds: 300, aggregateKey: 'IP' }],
        forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
        allowlist: [],
        managedRuleGroups: [],
        logRetentionDays: 30,
        loggedActions: ['BLOCK'],
        associations: [],
      });
    expect(configErrorFrom(build, 'rateRules[0].aggregateKey')).toContain('use FORWARDED_IP to count by X-Real-IP');
  });

  it("cdk synth with forwardedIp in a config file and cdk.json's rate rule keyed by IP stops, naming the rule", () => {
    const config = fixtures.file('proxy.json', JSON.stringify({ forwardedIp: OVERWRITES }));
    const message = configErrorFrom(() => buildApp(appWithContext({ config }), {}), 'rateRules[0].aggregateKey');
    expect(message).toContain('use FORWARDED_IP to count by X-Real-IP');
  });

  it('the old rateRules[].forwardedIpHeader, saying where it went', () => {
    const message = configErrorOf(
      { rateRules: [{ ...forwardedLogin, forwardedIpHeader: 'X-Forwarded-For' }] },
      'rateRules[0].forwardedIpHeader',
    );
    expect(message).toContain('forwardedIp.headerName');
    expect(message).not.toContain('unknown key');
  });

  it('never suggests the removed forwardedIpHeader for a typo, nor lists it among the known keys', () => {
    const nearRemoved = configErrorOf(
      { rateRules: [{ name: 'login', limit: 100, forwardedIpHedaer: 'X-Forwarded-For' }] },
      'rateRules[0].forwardedIpHedaer',
    );
    expect(nearRemoved).toBe(
      'invalid configuration: unknown key "rateRules[0].forwardedIpHedaer" (known keys here: name, limit, windowSeconds, uriPathPrefix, host, aggregateKey, labels, blockResponse)',
    );
    const otherTypo = configErrorOf(
      { rateRules: [{ name: 'login', limit: 100, aggregateKye: 'IP' }] },
      'rateRules[0].aggregateKye',
    );
    expect(otherTypo).toContain('did you mean "rateRules[0].aggregateKey"?');
    expect(otherTypo).not.toContain('forwardedIpHeader');
  });

  it('suggests the key meant inside forwardedIp', () => {
    expect(
      configErrorOf({ forwardedIp: { ...OVERWRITES, headrName: 'X-Real-IP' } }, 'forwardedIp.headrName'),
    ).toContain(
      'did you mean "forwardedIp.headerName"? (known keys here: headerName, setByOwnProxy, proxyInFrontOfCloudFront, trustedProxies)',
    );
  });

  it('a forwardedIp without setByOwnProxy, or with a header name WAF cannot use', () => {
    configErrorOf({ forwardedIp: { headerName: 'X-Real-IP' } }, 'forwardedIp.setByOwnProxy');
    configErrorOf({ forwardedIp: { headerName: 'X Real IP', setByOwnProxy: 'overwrites' } }, 'forwardedIp.headerName');
  });

  it('refuses exactly the rules that would not count the client: FORWARDED_IP without a header, IP with one, any behind appends (property)', () => {
    const rules = fc.array(fc.record({ aggregateKey: fc.constantFrom('IP' as const, 'FORWARDED_IP' as const) }), {
      maxLength: 20,
    });
    const forwardedIp = fc.option(
      fc.record({ headerName: fc.constant('X-Real-IP'), setByOwnProxy: fc.constantFrom(...FORWARDED_IP_SETTERS) }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(rules, forwardedIp, (rateRules, declared: ForwardedIpConfig | undefined) => {
        const refused = forwardedIpProblems({ rateRules, forwardedIp: declared }).map((p) => p.path);
        const safeKey =
          declared === undefined ? 'IP' : declared.setByOwnProxy === 'overwrites' ? 'FORWARDED_IP' : undefined;
        const expected = rateRules.flatMap((r, i) =>
          r.aggregateKey === safeKey ? [] : [['rateRules', i, 'aggregateKey']],
        );
        expect(refused).toEqual(expected);
      }),
    );
  });
});

describe('-c wafAutoblock.forwardedIp=null, as cdk synth reads it', () => {
  it('switches off the forwardedIp of a config file: no rule reads a header', () => {
    const config = fixtures.file(
      'behind-proxy.json',
      JSON.stringify({
        forwardedIp: { ...OVERWRITES, proxyInFrontOfCloudFront: true, trustedProxies: ['173.245.48.0/20'] },
        rateRules: [{ name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' }],
      }),
    );
    const proxied = buildApp(appWithContext({ config }), {});
    expect(ruleNamesOf(proxied)).toContain('allowlist-ipv4-forwarded');

    const direct = buildApp(
      appWithContext({
        config,
        'wafAutoblock.forwardedIp': 'null',
        'wafAutoblock.rateRules[0].aggregateKey': 'IP',
      }),
      {},
    );
    expect(ruleNamesOf(direct)).toEqual([
      'allowlist-ipv4',
      'allowlist-ipv6',
      'blocklist-ipv4',
      'blocklist-ipv6',
      'rate-all',
      'AWSManagedRulesAmazonIpReputationList',
    ]);
    expect(JSON.stringify(direct.protection.webAcl.webAcl.rules)).not.toMatch(/forwardedIp/i);
  });
});

describe('the shipped example, examples/replay-config.json', () => {
  const example = JSON.parse(
    readFileSync(join(ROOT, 'examples/replay-config.json'), 'utf8'),
  ) as WafAutoblockConfigInput;

  it('synthesizes, and its ALLOW rule matches the source IP only', () => {
    const { template } = synthesize(example);
    expect(ruleOf(template, 'allowlist-ipv4').Statement).toEqual(sourceOnly(arnOf(template, 'allowlist-ipv4')));
    for (const name of IP_SET_RULES) expect(JSON.stringify(ruleOf(template, name))).not.toContain('Forwarded');
  });

  it('trusts no header', () => {
    const config = parseConfig(example);
    expect(config.forwardedIp).toBeUndefined();
    expect(config.rateRules.map((r) => r.aggregateKey)).not.toContain('FORWARDED_IP');
  });
});

describe('replay of a forged X-Forwarded-For (issue 10: 150 POSTs to /login naming a victim first)', () => {
  const attacker = '45.33.99.10';
  /** The client wrote a victim first and itself last. */
  const forged = { name: 'x-forwarded-for', value: `45.33.50.7, ${attacker}` };
  const login = { name: 'login', limit: 100, windowSeconds: 60, uriPathPrefix: '/login' };

  /** 150 POSTs to /login within 30 s, from `clientIp`, as a WAF log file. */
  function logOf(name: string, clientIp: string, headers: { name: string; value: string }[]): string {
    const records = Array.from({ length: 150 }, (_, i) =>
      JSON.stringify(loginRecord(clientIp, T0 + i * 200, { headers })),
    );
    return fixtures.file(name, records.join('\n'));
  }
  const direct = logOf('direct.jsonl', attacker, [forged]);
  // Through an own proxy (34.240.12.7) that overwrote X-Real-IP with the address it received the request from.
  const proxied = logOf('proxied.jsonl', '34.240.12.7', [forged, { name: 'x-real-ip', value: attacker }]);

  async function replay(log: string, config: object) {
    const path = fixtures.file(`config-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(config));
    return runCli(['replay', log, '--config', path, '--format', 'json']);
  }

  it('refuses the rule that would key on the forged first address', async () => {
    const { code, stdout, stderr } = await replay(direct, { rateRules: [{ ...login, aggregateKey: 'FORWARDED_IP' }] });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('rateRules[0].aggregateKey');
  });

  it('by default blocks the sender, never the victim it named', async () => {
    const { code, stdout } = await replay(direct, { rateRules: [login] });
    expect(code).toBe(0);
    const ranges = (JSON.parse(stdout) as { blocked: { range: string }[] }).blocked.map((b) => b.range);
    expect(ranges).toEqual(['45.33.99.0/24']);
  });

  it('behind an own proxy that overwrites X-Real-IP, keys on that header and ignores X-Forwarded-For', async () => {
    const { code, stdout } = await replay(proxied, {
      forwardedIp: {
        headerName: 'X-Real-IP',
        setByOwnProxy: 'overwrites',
        proxyInFrontOfCloudFront: true,
        trustedProxies: ['173.245.48.0/20'],
      },
      rateRules: [{ ...login, aggregateKey: 'FORWARDED_IP' }],
    });
    expect(code).toBe(0);
    const ranges = (JSON.parse(stdout) as { blocked: { range: string }[] }).blocked.map((b) => b.range);
    expect(ranges).toEqual(['45.33.99.0/24']);
  });
});
