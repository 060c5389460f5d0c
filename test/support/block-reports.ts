/**
 * Block reports of attack size, as the issue measured them: one global address per /24
 * (62.0.0.1, 62.0.1.1, ...), each widened to its /24. For the report tests and bench/notifier.ts.
 */
import { BLOCK_REPORT_KIND, type BlockReportV1 } from '#contracts/report';

/** The run's time: 2026-11-30 23:00 UTC. */
export const ATTACK_AT = Date.UTC(2026, 10, 30, 23);

/** `n` distinct /24s under `firstOctet` (62.0.0.0/24, 62.0.1.0/24, ...). */
export function distinctSlash24s(n: number, firstOctet = 62): string[] {
  return Array.from(
    { length: n },
    (_, i) => `${firstOctet + Math.floor(i / 65_536)}.${Math.floor(i / 256) % 256}.${i % 256}.0/24`,
  );
}

/**
 * One run's report of `added` new ranges (hits 100 to 1,096, uneven) and `expired` ranges last seen
 * one second apart, four hours before the run, in full (version 1: every range listed).
 */
export function attackReport(added: number, expired: number, at = ATTACK_AT): BlockReportV1 {
  return {
    kind: BLOCK_REPORT_KIND,
    version: 1,
    at: new Date(at).toISOString(),
    webAclName: 'waf-autoblock-WebAcl',
    dryRun: false,
    collected: true,
    added: distinctSlash24s(added).map((range, i) => ({ range, source: 'RateLimitPerIp', hits: 100 + (i % 997) })),
    expired: distinctSlash24s(expired, 100).map((range, i) => ({
      range,
      source: 'RateLimitPerIp',
      lastSeen: new Date(at - 4 * 3_600_000 + i * 1000).toISOString(),
    })),
    overflow: { count: 3, sample: ['164.0.0.0/24', '164.0.1.0/24', '164.0.2.0/24'] },
    ipSets: [{ name: 'waf-autoblock-v4', family: 'IPV4', size: 10_000, capacity: 10_000 }],
    topHosts: [{ host: 'shop.example.com', count: 97 }],
    rejectedKeys: { allowlisted: 1 },
    unreadableRules: [],
  };
}
