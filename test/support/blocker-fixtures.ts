/**
 * Shared fixtures of the blocker tests: one deployment's settings and the environment that
 * describes it, ledger rows as the table stores them, attacker addresses that the core accepts as
 * globally routable, and a logger that records instead of printing.
 */
import { vi, type Mock } from 'vitest';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import type { RunLogger } from '#blocker/run';
import type { Family, LedgerEntry } from '#core/types';
import { LEDGER_SCHEMA } from '#contracts/ledger-schema';

export const MINUTE = 60_000;
/** How long a range stays blocked after it was last seen, in these fixtures. */
export const BLOCK_MINUTES = 240;
/** A fixed "now" with a millisecond part, so that a seconds/milliseconds mix-up shows. */
export const NOW = Date.UTC(2025, 4, 17, 3, 0, 0, 123);

export const RATE_RULE = 'RateLimitPerIp';
export const LOGIN_RULE = 'RateLimitLogin';

const SCOPE = 'CLOUDFRONT';

function ipSet(name: string, id: string): IpSetAddress {
  return { name, id, scope: SCOPE };
}

/** One deployment, as the construct describes it in the environment below. */
export const SETTINGS: BlockerSettings = {
  scope: SCOPE,
  webAclName: 'shop-acl',
  webAclId: 'acl-5f2e',
  webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop-acl/acl-5f2e',
  rateRules: [RATE_RULE, LOGIN_RULE],
  blocklist: { IPV4: [ipSet('blocklist-v4', 'bl4-1a2b')], IPV6: [ipSet('blocklist-v6', 'bl6-3c4d')] },
  allowlist: { IPV4: ipSet('allowlist-v4', 'al4-5e6f'), IPV6: ipSet('allowlist-v6', 'al6-7a8b') },
  alarmName: 'shop-acl-attack',
  ledgerTable: 'Ledger-1A2B3C',
  reportsTopicArn: 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-Reports',
  gate: 'alarm',
  blockDurationMs: BLOCK_MINUTES * MINUTE,
  ipv4Prefix: 24,
  ipv6Prefix: 64,
  dryRun: false,
  feedTopicArn: 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-BanFeed',
  sharedIpSets: [],
};

/** The environment the construct sets for {@link SETTINGS}. */
export const BLOCKER_ENVIRONMENT: Readonly<Record<string, string>> = {
  WAF_SCOPE: SCOPE,
  WEB_ACL_NAME: SETTINGS.webAclName,
  WEB_ACL_ID: SETTINGS.webAclId,
  WEB_ACL_ARN: SETTINGS.webAclArn,
  RATE_RULE_NAMES: JSON.stringify(SETTINGS.rateRules),
  BLOCKLIST_IPV4: 'blocklist-v4|bl4-1a2b',
  BLOCKLIST_IPV6: 'blocklist-v6|bl6-3c4d',
  ALLOWLIST_IPV4: 'allowlist-v4|al4-5e6f',
  ALLOWLIST_IPV6: 'allowlist-v6|al6-7a8b',
  ALARM_NAME: SETTINGS.alarmName,
  LEDGER_TABLE: SETTINGS.ledgerTable,
  REPORTS_TOPIC_ARN: SETTINGS.reportsTopicArn,
  GATE: 'alarm',
  BLOCK_DURATION_MINUTES: String(BLOCK_MINUTES),
  IPV4_PREFIX: '24',
  IPV6_PREFIX: '64',
  DRY_RUN: 'false',
  BAN_FEED_TOPIC_ARN: SETTINGS.feedTopicArn,
  SHARED_IP_SET_ARNS: '[]',
};

/**
 * Addresses that look like the public Internet (documentation ranges are refused by the core as
 * non-global), each with the range the blocker widens it to.
 */
export const ATTACKER = {
  /** Widened to {@link RANGE.linode}. */
  linode: '45.33.12.7',
  /** Also in {@link RANGE.linode}. */
  linodeNeighbour: '45.33.12.9',
  /** Widened to {@link RANGE.tor}. */
  tor: '185.220.101.4',
  /** Widened to {@link RANGE.hetzner6}. */
  hetzner6: '2a01:4f8:1:2::5',
} as const;

export const RANGE = {
  linode: '45.33.12.0/24',
  tor: '185.220.101.0/24',
  hetzner6: '2a01:4f8:1:2::/64',
  /** A range the ledger already manages in the fixtures. */
  scanner: '94.102.61.0/24',
  scanner6: '2a03:b0c0:3:d0::/64',
} as const;

/** Entries an operator or another tool put into the blocklists; never ours to remove. */
export const FOREIGN = {
  IPV4: '91.200.12.0/24',
  IPV6: '2a02:c207:2030:1::/64',
} as const;

/** The operator's allowlist: an office /24 and a monitoring host inside an otherwise ordinary /24. */
export const ALLOWED = {
  IPV4: ['80.80.80.0/24', '62.210.5.9/32'],
  IPV6: ['2a00:1450:4001::/48'],
  /** A key in the allowlisted /24. */
  officeKey: '80.80.80.17',
  /** A key whose /24 holds the allowlisted monitoring host. */
  monitorNeighbourKey: '62.210.5.200',
} as const;

/** A ledger entry of `range`, seen at `lastSeen` (default: 10 minutes before {@link NOW}). */
export function ledgerEntry(range: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const lastSeen = overrides.lastSeen ?? NOW - 10 * MINUTE;
  return {
    range,
    family: familyOf(range),
    firstSeen: lastSeen - 30 * MINUTE,
    lastSeen,
    expiresAt: lastSeen + BLOCK_MINUTES * MINUTE,
    hits: 4,
    source: RATE_RULE,
    ...overrides,
  };
}

/** An entry whose block ran out `minutesAgo` before {@link NOW}. */
export function expiredEntry(range: string, minutesAgo = 1): LedgerEntry {
  const expiresAt = NOW - minutesAgo * MINUTE;
  return ledgerEntry(range, { lastSeen: expiresAt - BLOCK_MINUTES * MINUTE, expiresAt });
}

/** The item the ledger table holds for an active entry, as a Query of the active index returns it. */
export function storedItem(entry: LedgerEntry): Record<string, unknown> {
  return {
    ...entry,
    preexisting: entry.preexisting === true,
    [LEDGER_SCHEMA.activeIndexPartitionKey]: entry.family,
    [LEDGER_SCHEMA.ttlAttribute]: Math.ceil(entry.expiresAt / 1000) + 7 * 24 * 3600,
  };
}

export function familyOf(range: string): Family {
  return range.includes(':') ? 'IPV6' : 'IPV4';
}

type LogMethod = RunLogger['info'];

/** A logger whose calls the tests can read. */
export function recordingLogger(): { readonly [level in keyof RunLogger]: Mock<LogMethod> } {
  return { info: vi.fn<LogMethod>(), warn: vi.fn<LogMethod>(), error: vi.fn<LogMethod>() };
}
