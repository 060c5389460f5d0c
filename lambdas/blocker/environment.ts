/**
 * The blocker's environment: the one contract between the CDK construct that sets these variables
 * and the handler that reads them. No AWS imports, so the construct can use it at synth time.
 */
import { ConfigurationError } from '../shared/errors';

/** Variable names, set by lib/blocker next to the grant each one needs. */
export const BLOCKER_ENV = {
  scope: 'WAF_SCOPE',
  webAclName: 'WEB_ACL_NAME',
  webAclId: 'WEB_ACL_ID',
  webAclArn: 'WEB_ACL_ARN',
  /** JSON array of rate rule names. */
  rateRules: 'RATE_RULE_NAMES',
  /** `name|id` of each IP set. */
  blocklistIpv4: 'BLOCKLIST_IPV4',
  blocklistIpv6: 'BLOCKLIST_IPV6',
  allowlistIpv4: 'ALLOWLIST_IPV4',
  allowlistIpv6: 'ALLOWLIST_IPV6',
  alarmName: 'ALARM_NAME',
  ledgerTable: 'LEDGER_TABLE',
  reportsTopicArn: 'REPORTS_TOPIC_ARN',
  gate: 'GATE',
  blockDurationMinutes: 'BLOCK_DURATION_MINUTES',
  ipv4Prefix: 'IPV4_PREFIX',
  ipv6Prefix: 'IPV6_PREFIX',
  dryRun: 'DRY_RUN',
} as const;

export interface IpSetAddress {
  readonly name: string;
  readonly id: string;
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
}

/** The blocker's settings, checked once at module load. */
export interface BlockerSettings {
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  readonly webAclName: string;
  readonly webAclId: string;
  readonly webAclArn: string;
  readonly rateRules: readonly string[];
  readonly blocklist: { readonly IPV4: IpSetAddress; readonly IPV6: IpSetAddress };
  readonly allowlist: { readonly IPV4: IpSetAddress; readonly IPV6: IpSetAddress };
  readonly alarmName: string;
  readonly ledgerTable: string;
  readonly reportsTopicArn: string;
  readonly gate: 'alarm' | 'always';
  readonly blockDurationMs: number;
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  readonly dryRun: boolean;
}

/**
 * Reads and checks the blocker's variables.
 * @throws {ConfigurationError} naming the first missing or invalid variable.
 */
export function readBlockerSettings(env: Readonly<Record<string, string | undefined>>): BlockerSettings {
  const text = (key: keyof typeof BLOCKER_ENV): string => {
    const name = BLOCKER_ENV[key];
    const value = env[name];
    if (value === undefined || value === '') throw new ConfigurationError(name, 'is not set');
    return value;
  };
  const integer = (key: keyof typeof BLOCKER_ENV, min: number, max: number): number => {
    const raw = text(key);
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigurationError(BLOCKER_ENV[key], `must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const scope = text('scope');
  if (scope !== 'CLOUDFRONT' && scope !== 'REGIONAL')
    throw new ConfigurationError(BLOCKER_ENV.scope, 'must be CLOUDFRONT or REGIONAL');
  const ipSet = (key: keyof typeof BLOCKER_ENV): IpSetAddress => {
    const [name, id, ...rest] = text(key).split('|');
    if (!name || !id || rest.length > 0) throw new ConfigurationError(BLOCKER_ENV[key], 'must be "name|id"');
    return { name, id, scope };
  };
  let rateRules: unknown;
  try {
    rateRules = JSON.parse(text('rateRules'));
  } catch {
    rateRules = undefined;
  }
  if (
    !Array.isArray(rateRules) ||
    rateRules.length === 0 ||
    !rateRules.every((rule): rule is string => typeof rule === 'string' && rule !== '')
  ) {
    throw new ConfigurationError(BLOCKER_ENV.rateRules, 'must be a non-empty JSON array of rule names');
  }
  const gate = text('gate');
  if (gate !== 'alarm' && gate !== 'always') throw new ConfigurationError(BLOCKER_ENV.gate, 'must be alarm or always');
  const dryRun = text('dryRun');
  if (dryRun !== 'true' && dryRun !== 'false')
    throw new ConfigurationError(BLOCKER_ENV.dryRun, 'must be true or false');
  return {
    scope,
    webAclName: text('webAclName'),
    webAclId: text('webAclId'),
    webAclArn: text('webAclArn'),
    rateRules,
    blocklist: { IPV4: ipSet('blocklistIpv4'), IPV6: ipSet('blocklistIpv6') },
    allowlist: { IPV4: ipSet('allowlistIpv4'), IPV6: ipSet('allowlistIpv6') },
    alarmName: text('alarmName'),
    ledgerTable: text('ledgerTable'),
    reportsTopicArn: text('reportsTopicArn'),
    gate,
    blockDurationMs: integer('blockDurationMinutes', 1, 525_600) * 60_000,
    ipv4Prefix: integer('ipv4Prefix', 8, 32),
    ipv6Prefix: integer('ipv6Prefix', 32, 128),
    dryRun: dryRun === 'true',
  };
}
