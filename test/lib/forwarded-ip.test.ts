/**
 * Whom the web ACL believes about a client's address (README, "Forwarded client addresses"): an
 * ALLOW decision never rests on a header the client writes, and a forged header can at worst get
 * the forger's own requests blocked.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';
import {
  FORWARDED_IP_SETTERS,
  forwardedIpProblems,
  ipSetForwardedIp,
  type ForwardedIpConfig,
} from '../../lib/config/forwarded-ip';
import { parseConfig } from '../../lib/config/load';
import type { WafAutoblockConfigInput } from '../../lib/config/schema';
import { configErrorOf } from '../support/config-errors';
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
  const { template } = synthesize({ allowlist: ['81.2.69.128/26', '2001:db8:1::/48'] });

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

describe('forwardedIp: the own proxy overwrites a single-valued header', () => {
  const { template } = synthesize({
    forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
    rateRules: [
      { name: 'rate-all', limit: 2000 },
      { name: 'login', limit: 100, windowSeconds: 60, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' },
    ],
  });

  it('the ALLOW rules match the source IP or the one address the proxy wrote (FIRST)', () => {
    for (const name of ['allowlist-ipv4', 'allowlist-ipv6']) {
      expectSourceThenHeader(template, name, 'X-Real-IP', 'FIRST');
    }
  });

  it('the BLOCK rules match the source IP or any address in the header', () => {
    for (const name of ['blocklist-ipv4', 'blocklist-ipv6']) {
      expectSourceThenHeader(template, name, 'X-Real-IP', 'ANY');
    }
  });

  it('the FORWARDED_IP rate rule counts by that header, and blocks requests whose header holds no address', () => {
    expect(ruleOf(template, 'login').Statement).toMatchObject({
      RateBasedStatement: {
        AggregateKeyType: 'FORWARDED_IP',
        ForwardedIPConfig: { HeaderName: 'X-Real-IP', FallbackBehavior: 'MATCH' },
      },
    });
    expect(ruleOf(template, 'rate-all').Statement).toEqual({
      RateBasedStatement: { Limit: 2000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' },
    });
  });
});

describe('forwardedIp: the own proxy appends to X-Forwarded-For', () => {
  const { template } = synthesize({
    forwardedIp: { headerName: 'X-Forwarded-For', setByOwnProxy: 'appends' },
    allowlist: ['81.2.69.128/26'],
  });

  it('the ALLOW rules match the source IP or only the LAST address, the one the proxy appended', () => {
    for (const name of ['allowlist-ipv4', 'allowlist-ipv6']) {
      expectSourceThenHeader(template, name, 'X-Forwarded-For', 'LAST');
    }
  });

  it('the BLOCK rules match the source IP or any address in the header', () => {
    for (const name of ['blocklist-ipv4', 'blocklist-ipv6']) {
      expectSourceThenHeader(template, name, 'X-Forwarded-For', 'ANY');
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
      ['overwrites', 'FIRST', 'ANY'],
      ['appends', 'LAST', 'ANY'],
    ]);
    expect(ipSetForwardedIp(undefined, 'allow')).toBeUndefined();
    expect(ipSetForwardedIp(undefined, 'block')).toBeUndefined();
  });
});

describe('the configuration refuses what hands the rate key to the client', () => {
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
        rateRules: [{ name: 'rate-all', limit: 2000 }, forwardedLogin],
      },
      'rateRules[1].aggregateKey',
    );
    expect(message).toContain('FIRST');
    expect(message).toContain('overwrites');
  });

  it('the old rateRules[].forwardedIpHeader, saying where it went', () => {
    const message = configErrorOf(
      { rateRules: [{ ...forwardedLogin, forwardedIpHeader: 'X-Forwarded-For' }] },
      'rateRules[0].forwardedIpHeader',
    );
    expect(message).toContain('forwardedIp.headerName');
    expect(message).not.toContain('unknown key');
  });

  it('a forwardedIp without setByOwnProxy, or with a header name WAF cannot use', () => {
    configErrorOf({ forwardedIp: { headerName: 'X-Real-IP' } }, 'forwardedIp.setByOwnProxy');
    configErrorOf({ forwardedIp: { headerName: 'X Real IP', setByOwnProxy: 'overwrites' } }, 'forwardedIp.headerName');
  });

  it('finds exactly the FORWARDED_IP rules, unless the proxy overwrites the header (property)', () => {
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
        const expected =
          declared?.setByOwnProxy === 'overwrites'
            ? []
            : rateRules.flatMap((r, i) =>
                r.aggregateKey === 'FORWARDED_IP' ? [['rateRules', i, 'aggregateKey']] : [],
              );
        expect(refused).toEqual(expected);
      }),
    );
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
  const dir = mkdtempSync(join(tmpdir(), 'forwarded-ip-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const start = Date.UTC(2025, 2, 14, 2, 0, 0);
  const attacker = '45.33.99.10';
  /** The client wrote a victim first and itself last. */
  const forged = { name: 'x-forwarded-for', value: `45.33.50.7, ${attacker}` };
  const login = { name: 'login', limit: 100, windowSeconds: 60, uriPathPrefix: '/login' };

  /** 150 POSTs to /login within 30 s, from `clientIp`, as a WAF log file. */
  function logOf(name: string, clientIp: string, headers: { name: string; value: string }[]): string {
    const path = join(dir, name);
    const records = Array.from({ length: 150 }, (_, i) =>
      JSON.stringify(wafRecord(start + i * 200, clientIp, headers)),
    );
    writeFileSync(path, records.join('\n'));
    return path;
  }
  const direct = logOf('direct.jsonl', attacker, [forged]);
  // Through an own proxy (34.240.12.7) that overwrote X-Real-IP with the address it received the request from.
  const proxied = logOf('proxied.jsonl', '34.240.12.7', [forged, { name: 'x-real-ip', value: attacker }]);

  async function replay(log: string, config: object) {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(config));
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
      forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
      rateRules: [{ ...login, aggregateKey: 'FORWARDED_IP' }],
    });
    expect(code).toBe(0);
    const ranges = (JSON.parse(stdout) as { blocked: { range: string }[] }).blocked.map((b) => b.range);
    expect(ranges).toEqual(['45.33.99.0/24']);
  });
});

/** One AWS WAF log record (the fields WAF writes) of a POST to /login. */
function wafRecord(timestamp: number, clientIp: string, extraHeaders: { name: string; value: string }[]) {
  return {
    timestamp,
    formatVersion: 1,
    webaclId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/WafAutoblock/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    terminatingRuleId: 'Default_Action',
    terminatingRuleType: 'REGULAR',
    action: 'ALLOW',
    terminatingRuleMatchDetails: [],
    httpSourceName: 'CF',
    httpSourceId: 'E2EXAMPLE0SAMPLE',
    ruleGroupList: [],
    rateBasedRuleList: [],
    nonTerminatingMatchingRules: [],
    requestHeadersInserted: null,
    responseCodeSent: null,
    httpRequest: {
      clientIp,
      country: 'US',
      headers: [{ name: 'host', value: 'shop.example.com' }, ...extraHeaders],
      uri: '/login',
      args: '',
      httpVersion: 'HTTP/2.0',
      httpMethod: 'POST',
      requestId: `forged-${timestamp}`,
    },
  };
}
