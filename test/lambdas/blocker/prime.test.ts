import { describe, expect, it } from 'vitest';
import { parseIpSetArn } from '#contracts/ip-set';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { offlineDeps, primeDecisionPath, PRIMING_KEYS } from '#blocker/prime';
import { NOW, SETTINGS } from '../../support/blocker-fixtures';

const SHARED = parseIpSetArn('arn:aws:wafv2:us-east-1:123456789012:global/ipset/partner-bl/ps-9f8e');

describe('primeDecisionPath', () => {
  it("takes a first attack's path: every made-up key accepted, recorded, placed and serialized", async () => {
    const primed = await primeDecisionPath(SETTINGS, PRIMING_KEYS, NOW);
    // Two rules (SETTINGS): the first limits the keys, the second nothing; their sightings are merged.
    expect(primed).toEqual({ keys: 10_000, rows: 10_000, placed: 10_000, intentParts: 1 });
  });

  it('follows the deployment: its widening, its neighbour tier, its shards and shared sets', async () => {
    const wider: BlockerSettings = { ...SETTINGS, ipv4Prefix: 16 };
    // 10,000 /24s from 20.0.0.0 fill 39 /16s and part of a 40th.
    expect(await primeDecisionPath(wider, PRIMING_KEYS, NOW)).toMatchObject({ rows: 40, placed: 40 });
    const tiered: BlockerSettings = {
      ...SETTINGS,
      blocklist: {
        ...SETTINGS.blocklist,
        IPV4: [...SETTINGS.blocklist.IPV4, { name: 'blocklist-v4-2', id: 'bl4-2', scope: 'CLOUDFRONT' }],
      },
      sharedIpSets: SHARED === undefined ? [] : [SHARED],
      neighbours: {
        action: 'CHALLENGE',
        sets: {
          IPV4: [{ name: 'neighbours-v4', id: 'nb4-1', scope: 'CLOUDFRONT' }],
          IPV6: [{ name: 'neighbours-v6', id: 'nb6-1', scope: 'CLOUDFRONT' }],
        },
        offenderPrefix: { ipv4: 28, ipv6: 96 },
      },
    };
    // Each key: its /28 blocked, its /24 challenged.
    expect(await primeDecisionPath(tiered, 500, NOW)).toMatchObject({ keys: 500, rows: 1_000, placed: 1_000 });
  });

  it('primes with as many keys as asked, none included', async () => {
    expect(await primeDecisionPath(SETTINGS, 3, NOW)).toEqual({ keys: 3, rows: 3, placed: 3, intentParts: 1 });
    expect(await primeDecisionPath(SETTINGS, 0, NOW)).toEqual({ keys: 0, rows: 0, placed: 0, intentParts: 1 });
  });

  it('decides with deps that refuse any AWS call, naming the client', () => {
    const deps = offlineDeps();
    const touch = (client: object | undefined, property: string) => () => {
      Reflect.get(client ?? {}, property);
    };
    expect(touch(deps.waf, 'send')).toThrow('priming reached for AWS: waf.send');
    expect(touch(deps.wafIn?.('eu-west-1'), 'send')).toThrow('priming reached for AWS: wafIn.send');
    expect(touch(deps.ledger, 'upsert')).toThrow('priming reached for AWS: ledger.upsert');
    expect(touch(deps.pending, 'read')).toThrow('priming reached for AWS: pending.read');
    expect(touch(deps.cloudwatch, 'send')).toThrow('priming reached for AWS: cloudwatch.send');
    expect(touch(deps.sns, 'send')).toThrow('priming reached for AWS: sns.send');
  });
});
