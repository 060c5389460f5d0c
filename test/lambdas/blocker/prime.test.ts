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
    // Half the keys one per /24 in 20.0.0.0/16 to 20.19.0.0/16: 19 whole /16s and 136 /24s (a /17 and a
    // /21), 21 entries; the other half one per /16: 5,000 entries.
    expect(primed).toEqual({
      keysSeen: 10_000,
      rows: 10_000,
      placed: 10_000,
      entries: 21 + 5_000,
      sharedSets: 0,
      intentParts: 1,
    });
  });

  it('follows the deployment: its widening, its neighbour tier, its shards and shared sets', async () => {
    const oneRule: BlockerSettings = { ...SETTINGS, rateRules: ['rate-all'] };
    expect(await primeDecisionPath(oneRule, PRIMING_KEYS, NOW)).toMatchObject({ keysSeen: 10_000, rows: 10_000 });
    const wider: BlockerSettings = { ...SETTINGS, ipv4Prefix: 16 };
    // The first half's 5,000 /24s fill 19 /16s and part of a 20th; the second half is one per /16.
    expect(await primeDecisionPath(wider, PRIMING_KEYS, NOW)).toMatchObject({ rows: 5_020, placed: 5_020 });
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
    // Each key: its /28 blocked, its /24 challenged; the shared set is read as an IPv4 set of its own.
    expect(await primeDecisionPath(tiered, 500, NOW)).toMatchObject({
      keysSeen: 500,
      rows: 1_000,
      placed: 1_000,
      sharedSets: 1,
    });
  });

  it('primes with as many keys as asked, none included, and more than the sets hold', async () => {
    // 20.0.0.0/24 and 20.0.1.0/24 are one /23; 21.0.0.0/24 is alone.
    expect(await primeDecisionPath(SETTINGS, 3, NOW)).toMatchObject({ keysSeen: 3, rows: 3, placed: 3, entries: 2 });
    expect(await primeDecisionPath(SETTINGS, 0, NOW)).toMatchObject({ keysSeen: 0, rows: 0, placed: 0, entries: 0 });
    // One set of 10,000 entries: the 15,000 siblings take 59 entries, and 9,941 of the 15,000 others fit.
    const over = await primeDecisionPath(SETTINGS, 30_000, NOW);
    expect(over).toMatchObject({ keysSeen: 30_000, rows: 30_000, entries: 10_000 });
    expect(over.placed).toBeGreaterThan(15_000);
    expect(over.placed).toBeLessThan(30_000);
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
