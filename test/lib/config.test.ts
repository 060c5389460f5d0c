import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../lib/config/load';
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
    const arn = (n: number) => `arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/site-${n}/0a1b2c3d-${n}`;

    it.each([
      ['an ARN of another resource', 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/0a1b2c3d'],
      ['a name instead of an ARN', 'blocklist-v4'],
      ['a CloudFront (global) set outside us-east-1', 'arn:aws:wafv2:eu-west-1:123456789012:global/ipset/x/0a1b'],
      ['an ARN without an id', 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/x'],
    ])('%s, with an example of the right form', (_, value) => {
      expect(configErrorOf({ blocker: { sharedIpSets: [arn(1), value] } }, 'blocker.sharedIpSets[1]')).toContain(
        'must be a WAFv2 IP set ARN such as arn:aws:wafv2:us-east-1:123456789012:global/ipset/name/id',
      );
    });

    it('a value that is not a string', () => {
      configErrorOf({ blocker: { sharedIpSets: [42] } }, 'blocker.sharedIpSets[0]');
    });

    it('the same set twice', () => {
      expect(
        configErrorOf({ blocker: { sharedIpSets: [arn(1), arn(2), arn(1)] } }, 'blocker.sharedIpSets[2]'),
      ).toContain('duplicates');
    });

    it('more than 20 sets', () => {
      const arns = Array.from({ length: 21 }, (_, n) => arn(n));
      expect(configErrorOf({ blocker: { sharedIpSets: arns } }, 'blocker.sharedIpSets')).toContain('at most 20');
    });

    it('accepts 20 sets of either scope, in any region', () => {
      const arns = [
        'arn:aws:wafv2:us-east-1:123456789012:global/ipset/cdn/0a1b2c3d',
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
