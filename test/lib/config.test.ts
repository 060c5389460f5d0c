import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const run = promisify(execFile);

describe('configuration defaults', () => {
  it('match the block in cdk.json, key for key', () => {
    const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: { wafAutoblock: unknown } };
    expect(cdkJson.context.wafAutoblock).toEqual(parseConfig({}));
  });

  it('are a CLOUDFRONT ACL with one 2,000/300 s rule, IP reputation on, BLOCK logged for 30 days, alarm at 3,000', () => {
    const config = parseConfig({});
    expect(config.scope).toBe('CLOUDFRONT');
    expect(config.rateRules).toEqual([{ name: 'rate-all', limit: 2000, windowSeconds: 300, aggregateKey: 'IP' }]);
    expect(config.managedRuleGroups).toEqual(['AWSManagedRulesAmazonIpReputationList']);
    expect(config.logging).toEqual({ retentionDays: 30, actions: ['BLOCK'] });
    expect(config.alarm).toEqual({ threshold: 3000, periodSeconds: 300, evaluationPeriods: 1 });
  });
});

describe('configuration validation names the key', () => {
  it('CLOUDFRONT outside us-east-1', () => {
    expect(configErrorOf({ scope: 'CLOUDFRONT', region: 'eu-west-1' }, 'region')).toContain('us-east-1');
  });

  it("a region name of no AWS partition, while the partitions' own names (sovereign, ISO, GovCloud, China) pass", () => {
    for (const region of ['eusc-de-east-1', 'us-isob-east-1', 'us-gov-west-1', 'cn-north-1', 'eu-west-1']) {
      expect(parseConfig({ scope: 'REGIONAL', region }).region).toBe(region);
    }
    expect(configErrorOf({ scope: 'REGIONAL', region: 'Frankfurt' }, 'region')).toContain('such as eu-west-1');
  });

  it('an unknown scope, with the allowed values', () => {
    expect(configErrorOf({ scope: 'GLOBAL' }, 'scope')).toContain('CLOUDFRONT or REGIONAL');
  });

  it('a rate limit below 10', () => {
    expect(configErrorOf({ rateRules: [{ name: 'a', limit: 9 }] }, 'rateRules[0].limit')).toContain(
      'between 10 and 2,000,000,000',
    );
  });

  it('a rate limit above 2,000,000,000', () => {
    configErrorOf({ rateRules: [{ name: 'a', limit: 2_000_000_001 }] }, 'rateRules[0].limit');
  });

  describe('rateRules[].uriPathPrefix and host: WAF matches at most 200 bytes; a host name is at most 253 characters', () => {
    const rule = (match: Record<string, string>) => ({ rateRules: [{ name: 'a', limit: 100, ...match }] });

    it('a path prefix of 201 characters: refused in bytes', () => {
      expect(configErrorOf(rule({ uriPathPrefix: `/${'a'.repeat(200)}` }), 'rateRules[0].uriPathPrefix')).toBe(
        "invalid configuration: rateRules[0].uriPathPrefix must be at most 200 bytes in UTF-8, WAF's limit for a string match; it is 201 bytes (201 characters)",
      );
    });

    it('non-ASCII is refused before it is counted (test/lib/config-scope-down.test.ts)', () => {
      expect(configErrorOf(rule({ uriPathPrefix: `/${'€'.repeat(100)}` }), 'rateRules[0].uriPathPrefix')).toContain(
        'must be ASCII',
      );
    });

    it('a host of 254 characters is no host name', () => {
      const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`;
      expect(host).toHaveLength(254);
      expect(configErrorOf(rule({ host }), 'rateRules[0].host')).toContain('must be a host name');
      expect(parseConfig(rule({ host: host.slice(1) })).rateRules[0]?.host).toHaveLength(253);
    });

    it('200 bytes exactly are accepted', () => {
      const config = parseConfig(rule({ uriPathPrefix: `/${'a'.repeat(199)}` }));
      expect(config.rateRules[0]?.uriPathPrefix).toHaveLength(200);
    });

    it('an empty host is refused in our words', () => {
      expect(configErrorOf(rule({ host: '' }), 'rateRules[0].host')).toBe(
        'invalid configuration: rateRules[0].host must not be empty',
      );
    });
  });

  it('an evaluation window that WAF does not offer', () => {
    expect(
      configErrorOf({ rateRules: [{ name: 'a', limit: 100, windowSeconds: 30 }] }, 'rateRules[0].windowSeconds'),
    ).toContain('60, 120, 300, 600');
  });

  it('an allowlist entry that is not a CIDR', () => {
    expect(configErrorOf({ allowlist: ['198.51.100.0/24', 'office'] }, 'allowlist[1]')).toContain('"office"');
  });

  it('an allowlist /0, which would allow everybody', () => {
    expect(configErrorOf({ allowlist: ['0.0.0.0/0'] }, 'allowlist[0]')).toContain('/0');
    configErrorOf({ allowlist: ['::/0'] }, 'allowlist[0]');
  });

  it('::ffff:0:0/96 in the allowlist: refused as the IPv4-mapped form of 0.0.0.0/0, not as "a /0"', () => {
    for (const text of ['::ffff:0:0/96', '::ffff:0.0.0.0/96', '0:0:0:0:0:ffff:0:0/96']) {
      expect(configErrorOf({ allowlist: [text] }, 'allowlist[0]')).toBe(
        `invalid configuration: allowlist[0] "${text}" is the IPv4-mapped form of 0.0.0.0/0, the whole IPv4 address family`,
      );
    }
    expect(configErrorOf({ allowlist: ['::/0'] }, 'allowlist[0]')).toContain(
      '"::/0" is a /0, the whole address family',
    );
  });

  it('an allowlist CIDR with host bits set, suggesting the network', () => {
    expect(configErrorOf({ allowlist: ['198.51.100.7/24'] }, 'allowlist[0]')).toContain('198.51.100.0/24');
  });

  it('duplicate rule names', () => {
    expect(
      configErrorOf(
        {
          rateRules: [
            { name: 'a', limit: 100 },
            { name: 'a', limit: 200 },
          ],
        },
        'rateRules[1].name',
      ),
    ).toContain('"a"');
  });

  it('a rule name reserved for the IP set rules', () => {
    configErrorOf({ rateRules: [{ name: 'blocklist-ipv4', limit: 100 }] }, 'rateRules[0].name');
  });

  it('a non-positive alarm threshold', () => {
    expect(configErrorOf({ alarm: { threshold: 0 } }, 'alarm.threshold')).toContain('positive');
    configErrorOf({ alarm: { threshold: -5 } }, 'alarm.threshold');
  });

  it('a non-positive evaluation period count', () => {
    configErrorOf({ alarm: { evaluationPeriods: 0 } }, 'alarm.evaluationPeriods');
  });

  it('an alarm period that is not a multiple of 60', () => {
    configErrorOf({ alarm: { periodSeconds: 90 } }, 'alarm.periodSeconds');
  });

  it('a log retention CloudWatch does not offer', () => {
    expect(configErrorOf({ logging: { retentionDays: 31 } }, 'logging.retentionDays')).toContain('30, 60');
  });

  it('an unknown managed rule group', () => {
    configErrorOf({ managedRuleGroups: ['AWSManagedRulesBogus'] }, 'managedRuleGroups[0]');
  });

  it('associations with CLOUDFRONT scope', () => {
    configErrorOf(
      { associations: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1'] },
      'associations',
    );
  });

  describe('blocker.sharedIpSets', () => {
    /** A WAF IP set id: a lowercase UUID, as WAF writes them. */
    const id = (n: number) => `0a1b2c3d-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const arn = (n: number) => `arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/site-${n}/${id(n)}`;
    const ARN_EXAMPLE =
      'must be a WAFv2 IP set ARN such as arn:aws:wafv2:us-east-1:123456789012:global/ipset/name/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d';

    it.each([
      ['an ARN of another resource', `arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/${id(1)}`],
      ['a name instead of an ARN', 'blocklist-v4'],
      ['an ARN without an id', 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/x'],
    ])('%s, with an example of the right form', (_, value) => {
      expect(configErrorOf({ blocker: { sharedIpSets: [arn(1), value] } }, 'blocker.sharedIpSets[1]')).toContain(
        ARN_EXAMPLE,
      );
    });

    it('a CloudFront (global) set outside us-east-1: refused saying that AWS keeps them all in us-east-1', () => {
      const global = `arn:aws:wafv2:eu-west-1:123456789012:global/ipset/cdn-v4/${id(1)}`;
      expect(configErrorOf({ blocker: { sharedIpSets: [global] } }, 'blocker.sharedIpSets[0]')).toContain(
        'is a CloudFront (global) IP set in eu-west-1, but AWS keeps every CloudFront IP set in us-east-1: its ARN reads arn:aws:wafv2:us-east-1:…:global/ipset/cdn-v4/…',
      );
    });

    it('a CloudFront (global) set in us-east-1 from a REGIONAL stack in eu-west-1: accepted (the blocker reaches every region)', () => {
      const global = `arn:aws:wafv2:us-east-1:123456789012:global/ipset/cdn-v4/${id(1)}`;
      const config = parseConfig({ scope: 'REGIONAL', region: 'eu-west-1', blocker: { sharedIpSets: [global] } });
      expect(config.blocker.sharedIpSets).toEqual([global]);
    });

    it('an arn:aws-cn: set for a stack in an aws region: refused naming both partitions', () => {
      const china = `arn:aws-cn:wafv2:cn-north-1:123456789012:regional/ipset/site/${id(1)}`;
      expect(configErrorOf({ blocker: { sharedIpSets: [china] } }, 'blocker.sharedIpSets[0]')).toBe(
        "invalid configuration: blocker.sharedIpSets[0] is in partition aws-cn (arn:aws-cn:), but this stack deploys to us-east-1 in partition aws: the blocker's credentials reach one partition only; share with a set in aws, or deploy a stack in aws-cn for it",
      );
      const regional = { scope: 'REGIONAL', region: 'eu-west-1', blocker: { sharedIpSets: [china] } };
      expect(configErrorOf(regional, 'blocker.sharedIpSets[0]')).toContain('deploys to eu-west-1 in partition aws');
    });

    it('an arn:aws-cn: set for a stack in a China region: accepted; with the region left to the CLI: left to synth', () => {
      const china = `arn:aws-cn:wafv2:cn-north-1:123456789012:regional/ipset/site/${id(1)}`;
      for (const config of [
        { scope: 'REGIONAL', region: 'cn-northwest-1', blocker: { sharedIpSets: [china] } },
        { scope: 'REGIONAL', blocker: { sharedIpSets: [china] } },
      ]) {
        expect(parseConfig(config).blocker.sharedIpSets).toEqual([china]);
      }
    });

    it("an ARN whose partition is not its region's: refused with the right one", () => {
      const mixed = `arn:aws-cn:wafv2:eu-west-1:123456789012:regional/ipset/site/${id(1)}`;
      expect(configErrorOf({ blocker: { sharedIpSets: [mixed] } }, 'blocker.sharedIpSets[0]')).toContain(
        'names partition aws-cn (arn:aws-cn:) with region eu-west-1, which is in partition aws: write arn:aws:',
      );
    });

    it('an id in capitals: refused with the lowercase id WAF knows, so two ARNs that differ in case are never two sets', () => {
      const upper = arn(1).replace(id(1), id(1).toUpperCase());
      expect(configErrorOf({ blocker: { sharedIpSets: [arn(1), upper] } }, 'blocker.sharedIpSets[1]')).toContain(
        `has the id ${id(1).toUpperCase()} in capitals, but WAF ids are lowercase and GetIPSet refuses any other: write ${id(1)}`,
      );
    });

    it('an id that is no WAF id: refused', () => {
      const short = arn(1).replace(id(1), '0a1b');
      expect(configErrorOf({ blocker: { sharedIpSets: [short] } }, 'blocker.sharedIpSets[0]')).toContain(
        'has the id "0a1b", but WAF IP set ids are lowercase UUIDs',
      );
    });

    it('a value that is not a string', () => {
      configErrorOf({ blocker: { sharedIpSets: [42] } }, 'blocker.sharedIpSets[0]');
    });

    it('the same set twice, also under another name', () => {
      expect(
        configErrorOf({ blocker: { sharedIpSets: [arn(1), arn(2), arn(1)] } }, 'blocker.sharedIpSets[2]'),
      ).toContain(`names the same IP set as blocker.sharedIpSets[0] (id ${id(1)} in eu-west-1)`);
      const renamed = arn(1).replace('site-1', 'site-one');
      configErrorOf({ blocker: { sharedIpSets: [arn(1), renamed] } }, 'blocker.sharedIpSets[1]');
    });

    it('the same id in two regions: two sets', () => {
      const elsewhere = arn(1).replace('eu-west-1', 'eu-central-1');
      expect(parseConfig({ blocker: { sharedIpSets: [arn(1), elsewhere] } }).blocker.sharedIpSets).toHaveLength(2);
    });

    it('more than 20 sets', () => {
      const arns = Array.from({ length: 21 }, (_, n) => arn(n));
      expect(configErrorOf({ blocker: { sharedIpSets: arns } }, 'blocker.sharedIpSets')).toContain('at most 20');
    });

    it('accepts 20 sets of either scope, in any region', () => {
      const arns = [
        `arn:aws:wafv2:us-east-1:123456789012:global/ipset/cdn/${id(99)}`,
        ...Array.from({ length: 19 }, (_, n) => arn(n)),
      ];
      expect(parseConfig({ blocker: { sharedIpSets: arns } }).blocker.sharedIpSets).toEqual(arns);
      expect(parseConfig({}).blocker.sharedIpSets).toEqual([]);
    });
  });

  it('an unknown top-level key, suggesting the likely one', () => {
    expect(configErrorOf({ allowList: [] }, 'allowList')).toContain('did you mean "allowlist"');
  });

  it('an unknown nested key, suggesting the likely one', () => {
    expect(configErrorOf({ alarm: { treshold: 10 } }, 'alarm.treshold')).toContain('did you mean "alarm.threshold"');
  });

  it('an unknown key inside a rate rule', () => {
    expect(
      configErrorOf({ rateRules: [{ name: 'a', limit: 100, windowSecs: 60 }] }, 'rateRules[0].windowSecs'),
    ).toContain('did you mean "rateRules[0].windowSeconds"');
  });
});

describe('configuration layers', () => {
  const defaults = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

  function contextOf(extra: Record<string, unknown>) {
    const context: Record<string, unknown> = { ...defaults.context, ...extra };
    return [(key: string) => context[key], Object.keys(context)] as const;
  }

  it('a -c config=file merges over cdk.json, objects deeply, arrays replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'waf-autoblock-'));
    const file = join(dir, 'prod.json');
    writeFileSync(file, JSON.stringify({ alarm: { threshold: 10000 }, allowlist: ['198.51.100.0/24'] }));
    const config = loadConfig(...contextOf({ config: file }));
    expect(config.alarm).toEqual({ threshold: 10000, periodSeconds: 300, evaluationPeriods: 1 });
    expect(config.allowlist).toEqual(['198.51.100.0/24']);
  });

  it('-c wafAutoblock.<key>=<value> overrides one key, JSON values parsed', () => {
    const config = loadConfig(
      ...contextOf({
        'wafAutoblock.scope': 'REGIONAL',
        'wafAutoblock.alarm.threshold': '500',
        'wafAutoblock.allowlist': '["2001:db8::/32"]',
      }),
    );
    expect(config.scope).toBe('REGIONAL');
    expect(config.alarm.threshold).toBe(500);
    expect(config.allowlist).toEqual(['2001:db8::/32']);
  });

  it('a missing config file is an error that names it', () => {
    expect(() => loadConfig(...contextOf({ config: '/nonexistent/prod.json' }))).toThrow(
      /config file \/nonexistent\/prod.json/,
    );
  });
});

describe('the app', () => {
  it('synthesizes under the real ESM loader with an allowlist given on the command line', async () => {
    // vitest smooths over CommonJS interop that Node's own loader (tsx, as `cdk synth` runs it) does
    // not: this once rejected every allowlist entry at synth while the in-process tests passed.
    const out = mkdtempSync(join(tmpdir(), 'cdkout-'));
    await run(
      'npx',
      ['cdk', 'synth', '-q', '-o', out, '-c', 'wafAutoblock.allowlist=["198.51.100.0/24","2001:db8::/32"]'],
      {
        env: { ...process.env, CI: 'true' },
      },
    );
    const template = readFileSync(join(out, 'WafAutoblock.template.json'), 'utf8');
    expect(template).toContain('"198.51.100.0/24"');
    expect(template).toContain('"2001:db8::/32"');
  });

  it('stops `cdk synth` with one line naming the key when a value is invalid', async () => {
    const failure = await run(
      'npx',
      ['cdk', 'synth', '-q', '-o', mkdtempSync(join(tmpdir(), 'cdkout-')), '-c', 'wafAutoblock.alarm.threshold=0'],
      {
        env: { ...process.env, CI: 'true' },
      },
    ).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).not.toBe(0);
    const ours = failure?.stderr.split('\n').filter((line) => line.startsWith('waf-autoblock:'));
    expect(ours).toEqual(['waf-autoblock: invalid configuration: alarm.threshold must be a positive number']);
  });
});
