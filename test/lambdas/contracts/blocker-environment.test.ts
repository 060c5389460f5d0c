import { describe, expect, it } from 'vitest';
import { BLOCKER_ENV, NEIGHBOUR_TIER_ENV, readBlockerSettings } from '#contracts/blocker-environment';
import { ConfigurationError } from '#contracts/environment';
import { BLOCKER_ENVIRONMENT, MINUTE, SETTINGS } from '../../support/blocker-fixtures';

function errorOf(env: Record<string, string | undefined>): unknown {
  try {
    readBlockerSettings(env);
  } catch (error) {
    return error;
  }
  throw new Error('expected readBlockerSettings to throw');
}

function expectRefused(env: Record<string, string | undefined>, variable: string): void {
  const error = errorOf(env);
  expect(error).toBeInstanceOf(ConfigurationError);
  expect(error).toMatchObject({ variable, message: expect.stringContaining(variable) as unknown });
}

const VARIABLES = Object.values(BLOCKER_ENV);

describe('readBlockerSettings', () => {
  it('reads a complete environment into settings', () => {
    expect(readBlockerSettings(BLOCKER_ENVIRONMENT)).toStrictEqual(SETTINGS);
  });

  it('gives every IP set the web ACL scope, and reads the switches', () => {
    const settings = readBlockerSettings({
      ...BLOCKER_ENVIRONMENT,
      WAF_SCOPE: 'REGIONAL',
      GATE: 'always',
      DRY_RUN: 'true',
      BLOCK_DURATION_MINUTES: '1440',
      IPV4_PREFIX: '32',
      IPV6_PREFIX: '48',
    });

    expect(settings).toMatchObject({
      scope: 'REGIONAL',
      gate: 'always',
      dryRun: true,
      blockDurationMs: 1440 * MINUTE,
      ipv4Prefix: 32,
      ipv6Prefix: 48,
    });
    for (const ref of [...settings.blocklist.IPV4, ...settings.blocklist.IPV6, settings.allowlist.IPV4]) {
      expect(ref.scope).toBe('REGIONAL');
    }
    expect(settings.allowlist.IPV6).toEqual({ name: 'allowlist-v6', id: 'al6-7a8b', scope: 'REGIONAL' });
  });

  it("refuses the deployment's own blocklist as a shared set, saying so", () => {
    const own = 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/blocklist-v6/bl6-3c4d';
    expect(errorOf({ ...BLOCKER_ENVIRONMENT, SHARED_IP_SET_ARNS: JSON.stringify([own]) })).toMatchObject({
      message: expect.stringContaining(`lists ${own}, which is this deployment's own blocklist`) as unknown,
    });
  });

  it("reads a family's blocklist shards from a JSON array, in order, and a bare name|id as one shard", () => {
    const settings = readBlockerSettings({
      ...BLOCKER_ENVIRONMENT,
      WAF_SCOPE: 'REGIONAL',
      BLOCKLIST_IPV4: JSON.stringify(['blocklist-v4-0|b40', 'blocklist-v4-1|b41', 'blocklist-v4-2|b42']),
      BLOCKLIST_IPV6: 'blocklist-v6|b6',
    });

    expect(settings.blocklist).toEqual({
      IPV4: [
        { name: 'blocklist-v4-0', id: 'b40', scope: 'REGIONAL' },
        { name: 'blocklist-v4-1', id: 'b41', scope: 'REGIONAL' },
        { name: 'blocklist-v4-2', id: 'b42', scope: 'REGIONAL' },
      ],
      IPV6: [{ name: 'blocklist-v6', id: 'b6', scope: 'REGIONAL' }],
    });
  });

  it('refuses a shared set that is one of the blocklist shards', () => {
    const shard = 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/blocklist-v4-1/b41';
    expectRefused(
      {
        ...BLOCKER_ENVIRONMENT,
        BLOCKLIST_IPV4: JSON.stringify(['blocklist-v4-0|b40', 'blocklist-v4-1|b41']),
        SHARED_IP_SET_ARNS: JSON.stringify([shard]),
      },
      BLOCKER_ENV.sharedIpSets,
    );
  });

  it('reads shared IP sets from their ARNs: name, id, scope and region', () => {
    const regional = 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner-v4/0f1e-2d3c';
    const global = 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/edge-v6/9a8b';
    const settings = readBlockerSettings({
      ...BLOCKER_ENVIRONMENT,
      SHARED_IP_SET_ARNS: JSON.stringify([regional, global]),
    });

    expect(settings.sharedIpSets).toEqual([
      { arn: regional, name: 'partner-v4', id: '0f1e-2d3c', scope: 'REGIONAL', region: 'eu-west-1' },
      { arn: global, name: 'edge-v6', id: '9a8b', scope: 'CLOUDFRONT', region: 'us-east-1' },
    ]);
  });

  it('checks that the fixture names every variable the blocker reads', () => {
    expect(Object.keys(BLOCKER_ENVIRONMENT).sort()).toEqual([...VARIABLES].sort());
  });

  it.each(VARIABLES)('refuses an environment without %s, naming it', (variable) => {
    const env = Object.fromEntries(Object.entries(BLOCKER_ENVIRONMENT).filter(([name]) => name !== variable));

    expectRefused(env, variable);
  });

  it.each(VARIABLES)('refuses an empty %s, naming it', (variable) => {
    expectRefused({ ...BLOCKER_ENVIRONMENT, [variable]: '' }, variable);
  });

  it.each([
    [BLOCKER_ENV.scope, 'GLOBAL'],
    [BLOCKER_ENV.scope, 'cloudfront'],
    [BLOCKER_ENV.rateRules, 'RateLimitPerIp'],
    [BLOCKER_ENV.rateRules, '{"name":"RateLimitPerIp"}'],
    [BLOCKER_ENV.rateRules, '["RateLimitPerIp", ""]'],
    [BLOCKER_ENV.rateRules, '[1]'],
    // A blocker with no rule to read could never block anything: refuse it at start, not silently.
    [BLOCKER_ENV.rateRules, '[]'],
    [BLOCKER_ENV.blocklistIpv4, 'blocklist-v4'],
    [BLOCKER_ENV.blocklistIpv4, 'blocklist-v4|'],
    [BLOCKER_ENV.blocklistIpv6, '|bl6-3c4d'],
    // Sharded: a JSON array of `name|id`, never empty, no set twice, every entry well formed.
    [BLOCKER_ENV.blocklistIpv4, '[]'],
    [BLOCKER_ENV.blocklistIpv4, '["blocklist-v4-0|b0", "blocklist-v4-0|b0"]'],
    [BLOCKER_ENV.blocklistIpv6, '["blocklist-v6-0|b0", "blocklist-v6-1"]'],
    [BLOCKER_ENV.blocklistIpv6, '["blocklist-v6-0|b0", 7]'],
    [BLOCKER_ENV.blocklistIpv6, '["blocklist-v6-0|b0"'],
    [BLOCKER_ENV.allowlistIpv4, 'allowlist-v4|al4|extra'],
    [BLOCKER_ENV.allowlistIpv6, 'allowlist-v6'],
    [BLOCKER_ENV.gate, 'sometimes'],
    [BLOCKER_ENV.gate, 'ALARM'],
    [BLOCKER_ENV.blockDurationMinutes, '0'],
    [BLOCKER_ENV.blockDurationMinutes, '-5'],
    [BLOCKER_ENV.blockDurationMinutes, '1.5'],
    [BLOCKER_ENV.blockDurationMinutes, 'forever'],
    [BLOCKER_ENV.blockDurationMinutes, '525601'],
    [BLOCKER_ENV.ipv4Prefix, '7'],
    [BLOCKER_ENV.ipv4Prefix, '33'],
    [BLOCKER_ENV.ipv4Prefix, 'slash-24'],
    // Number() would take these; only plain decimal digits are meant.
    [BLOCKER_ENV.ipv4Prefix, '0x18'],
    [BLOCKER_ENV.ipv4Prefix, '2.4e1'],
    [BLOCKER_ENV.ipv4Prefix, ' 24'],
    [BLOCKER_ENV.ipv6Prefix, '31'],
    [BLOCKER_ENV.ipv6Prefix, '129'],
    [BLOCKER_ENV.dryRun, 'yes'],
    [BLOCKER_ENV.dryRun, 'TRUE'],
    [BLOCKER_ENV.dryRun, '1'],
    [BLOCKER_ENV.sharedIpSets, 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b'],
    [BLOCKER_ENV.sharedIpSets, '["arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/partner/1a2b"]'],
    // CLOUDFRONT sets live in us-east-1 only.
    [BLOCKER_ENV.sharedIpSets, '["arn:aws:wafv2:eu-west-1:123456789012:global/ipset/partner/1a2b"]'],
    // The deployment's own blocklist: it would be written twice per run.
    [BLOCKER_ENV.sharedIpSets, '["arn:aws:wafv2:us-east-1:123456789012:global/ipset/blocklist-v4/bl4-1a2b"]'],
  ])('refuses %s=%j, naming it', (variable, value) => {
    expectRefused({ ...BLOCKER_ENVIRONMENT, [variable]: value }, variable);
  });

  it.each([
    [BLOCKER_ENV.blockDurationMinutes, '1', { blockDurationMs: MINUTE }],
    [BLOCKER_ENV.blockDurationMinutes, '525600', { blockDurationMs: 525_600 * MINUTE }],
    [BLOCKER_ENV.ipv4Prefix, '8', { ipv4Prefix: 8 }],
    [BLOCKER_ENV.ipv6Prefix, '128', { ipv6Prefix: 128 }],
    [BLOCKER_ENV.ipv6Prefix, '32', { ipv6Prefix: 32 }],
  ])('accepts %s=%s at the edge of its range', (variable, value, expected) => {
    expect(readBlockerSettings({ ...BLOCKER_ENVIRONMENT, [variable]: value })).toMatchObject(expected);
  });
});

describe('readBlockerSettings: the neighbour tier', () => {
  const TIER = {
    [NEIGHBOUR_TIER_ENV.neighbourAction]: 'CHALLENGE',
    [NEIGHBOUR_TIER_ENV.neighboursIpv4]: JSON.stringify(['site-neighbours-ipv4|n4a', 'site-neighbours-ipv4-2|n4b']),
    [NEIGHBOUR_TIER_ENV.neighboursIpv6]: JSON.stringify(['site-neighbours-ipv6|n6a', 'site-neighbours-ipv6-2|n6b']),
    [NEIGHBOUR_TIER_ENV.offenderPrefixIpv4]: '32',
    [NEIGHBOUR_TIER_ENV.offenderPrefixIpv6]: '128',
  };

  it('has none when the stack set none of its variables: one tier, as before', () => {
    expect(readBlockerSettings(BLOCKER_ENVIRONMENT).neighbours).toBeUndefined();
  });

  it('reads the action, both families’ sets in order, and the offender prefixes', () => {
    expect(readBlockerSettings({ ...BLOCKER_ENVIRONMENT, ...TIER }).neighbours).toEqual({
      action: 'CHALLENGE',
      sets: {
        IPV4: [
          { name: 'site-neighbours-ipv4', id: 'n4a', scope: 'CLOUDFRONT' },
          { name: 'site-neighbours-ipv4-2', id: 'n4b', scope: 'CLOUDFRONT' },
        ],
        IPV6: [
          { name: 'site-neighbours-ipv6', id: 'n6a', scope: 'CLOUDFRONT' },
          { name: 'site-neighbours-ipv6-2', id: 'n6b', scope: 'CLOUDFRONT' },
        ],
      },
      offenderPrefix: { ipv4: 32, ipv6: 128 },
    });
  });

  it.each(Object.values(NEIGHBOUR_TIER_ENV).filter((name) => name !== NEIGHBOUR_TIER_ENV.neighbourAction))(
    'with NEIGHBOUR_ACTION set, refuses an environment without %s, naming it',
    (variable) => {
      expectRefused({ ...BLOCKER_ENVIRONMENT, ...TIER, [variable]: undefined }, variable);
    },
  );

  it.each([
    [NEIGHBOUR_TIER_ENV.neighbourAction, 'BLOCK'],
    [NEIGHBOUR_TIER_ENV.offenderPrefixIpv4, '24'],
    [NEIGHBOUR_TIER_ENV.offenderPrefixIpv6, '64'],
    [NEIGHBOUR_TIER_ENV.offenderPrefixIpv4, '33'],
  ])('refuses %s=%s, naming it (an offender prefix must be narrower than the widened one)', (variable, value) => {
    expectRefused({ ...BLOCKER_ENVIRONMENT, ...TIER, [variable]: value }, variable);
  });

  it('refuses a shared set that is one of the neighbour sets', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/site-neighbours-ipv6-2/n6b';
    const error = errorOf({ ...BLOCKER_ENVIRONMENT, ...TIER, SHARED_IP_SET_ARNS: JSON.stringify([arn]) });
    expect(error).toMatchObject({ variable: BLOCKER_ENV.sharedIpSets });
  });
});
