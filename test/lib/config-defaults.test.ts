import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';

/**
 * The full default configuration, written down before the schema's defaults were reduced to one
 * copy each (zod's `.prefault({})` on the nested objects): a deployment with an empty config block
 * must get exactly this, whatever shape the schema takes.
 */
const DEFAULT_CONFIG = {
  stackName: 'WafAutoblock',
  scope: 'CLOUDFRONT',
  rateRules: [{ name: 'rate-all', limit: 2000, windowSeconds: 300, aggregateKey: 'IP' }],
  allowlist: [],
  managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList'],
  webAclCapacityLimit: 1500,
  logging: { retentionDays: 30, actions: ['BLOCK'] },
  alarm: { threshold: 3000, periodSeconds: 300, evaluationPeriods: 1 },
  associations: [],
  removalPolicy: { ledger: 'retain', logs: 'retain' },
  blocker: {
    schedule: 'rate(5 minutes)',
    gate: 'alarm',
    blockDurationMinutes: 240,
    ipv4Prefix: 24,
    ipv6Prefix: 64,
    dryRun: false,
    reservedConcurrency: 3,
    memorySize: 1769,
    logRetentionDays: 30,
    sharedIpSets: [],
    ipSetsPerFamily: 2,
    neighbourAction: 'BLOCK',
    offenderPrefixLength: { ipv4: 32, ipv6: 128 },
    immunityTimeSeconds: 300,
  },
  notifier: {
    chatIds: [],
    telegramApiUrl: 'https://api.telegram.org',
    summaryMinutes: 15,
    maxListedRanges: 20,
    logRetentionDays: 30,
  },
  dashboard: true,
};

describe('configuration defaults, each written once in the schema', () => {
  it('an empty config block gives the full default configuration, no key more or less', () => {
    expect(parseConfig({})).toStrictEqual(DEFAULT_CONFIG);
  });

  it('a nested block with one key set gets the defaults for the rest of that block', () => {
    const config = parseConfig({
      blocker: { gate: 'always' },
      notifier: { summaryMinutes: 30 },
      logging: { actions: ['BLOCK', 'COUNT'] },
      alarm: { threshold: 500 },
      removalPolicy: { logs: 'destroy' },
    });
    expect(config.blocker).toStrictEqual({ ...DEFAULT_CONFIG.blocker, gate: 'always' });
    expect(config.notifier).toStrictEqual({ ...DEFAULT_CONFIG.notifier, summaryMinutes: 30 });
    expect(config.logging).toStrictEqual({ ...DEFAULT_CONFIG.logging, actions: ['BLOCK', 'COUNT'] });
    expect(config.alarm).toStrictEqual({ ...DEFAULT_CONFIG.alarm, threshold: 500 });
    expect(config.removalPolicy).toStrictEqual({ ...DEFAULT_CONFIG.removalPolicy, logs: 'destroy' });
  });

  it('an empty nested block is the same as leaving it out', () => {
    const config = parseConfig({ logging: {}, alarm: {}, removalPolicy: {}, blocker: {}, notifier: {} });
    expect(config).toStrictEqual(DEFAULT_CONFIG);
  });

  it('two parses share no nested object, so changing one deployment’s config cannot leak into the next', () => {
    const first = parseConfig({});
    first.blocker.sharedIpSets.push('arn:aws:wafv2:us-east-1:123456789012:global/ipset/other/abc');
    first.logging.actions.push('COUNT');
    expect(parseConfig({})).toStrictEqual(DEFAULT_CONFIG);
  });
});
