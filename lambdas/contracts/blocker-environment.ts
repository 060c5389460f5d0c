/**
 * The blocker's environment: the one contract between the CDK construct that sets these variables
 * and the handler that reads them. No AWS imports, so the construct can use it at synth time.
 */
import { environmentReader } from './environment';
import { parseIpSetArn, type IpSetAddress, type IpSetArnAddress, type IpSetShards } from './ip-set';

export type { IpSetAddress, IpSetArnAddress, IpSetShards };

/** Variable names, set by lib/blocker next to the grant each one needs. */
export const BLOCKER_ENV = {
  scope: 'WAF_SCOPE',
  webAclName: 'WEB_ACL_NAME',
  webAclId: 'WEB_ACL_ID',
  webAclArn: 'WEB_ACL_ARN',
  /** JSON array of rate rule names. */
  rateRules: 'RATE_RULE_NAMES',
  /**
   * The family's Block IP sets (shards): a JSON array of `name|id`, one per shard, or a single
   * `name|id` (one shard, as deployments before sharding set it).
   */
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
  /** The ban feed topic: SNS records from it carry ban and unban messages. */
  feedTopicArn: 'BAN_FEED_TOPIC_ARN',
  /** JSON array of the ARNs of more IP sets (other web ACLs, regions) that get the same managed ranges. */
  sharedIpSets: 'SHARED_IP_SET_ARNS',
} as const;

/**
 * The neighbour tier's variables, set (all of them) only when the web ACL has one: its action
 * (`CHALLENGE` or `CAPTCHA`), each family's neighbour IP sets (written as the blocklists'), and
 * the prefix lengths an offender is blocked by. Without them the blocker runs one tier, as before.
 */
export const NEIGHBOUR_TIER_ENV = {
  neighbourAction: 'NEIGHBOUR_ACTION',
  neighboursIpv4: 'NEIGHBOURS_IPV4',
  neighboursIpv6: 'NEIGHBOURS_IPV6',
  offenderPrefixIpv4: 'OFFENDER_PREFIX_IPV4',
  offenderPrefixIpv6: 'OFFENDER_PREFIX_IPV6',
} as const;

/**
 * The neighbour tier (issue 12): the offender's own range is blocked, the widened range around it
 * challenged. Absent: one tier, the widened range is blocked.
 */
export interface NeighbourTierSettings {
  readonly action: 'CHALLENGE' | 'CAPTCHA';
  /** Each family's neighbour IP sets, in the order the stack created them; never empty. */
  readonly sets: { readonly IPV4: IpSetShards; readonly IPV6: IpSetShards };
  /** The prefix lengths an offender is blocked by: longer than `ipv4Prefix` / `ipv6Prefix`. */
  readonly offenderPrefix: { readonly ipv4: number; readonly ipv6: number };
}

/** The blocker's settings, checked once at module load. */
export interface BlockerSettings {
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  readonly webAclName: string;
  readonly webAclId: string;
  readonly webAclArn: string;
  readonly rateRules: readonly string[];
  /** Each family's Block IP sets, in the order the stack created them; never empty. */
  readonly blocklist: { readonly IPV4: IpSetShards; readonly IPV6: IpSetShards };
  readonly allowlist: { readonly IPV4: IpSetAddress; readonly IPV6: IpSetAddress };
  readonly alarmName: string;
  readonly ledgerTable: string;
  readonly reportsTopicArn: string;
  readonly gate: 'alarm' | 'always';
  readonly blockDurationMs: number;
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  readonly dryRun: boolean;
  readonly feedTopicArn: string;
  /** More IP sets that get the same managed ranges; their family is read from WAF. */
  readonly sharedIpSets: readonly IpSetArnAddress[];
  /** The neighbour tier; unset (the default, `neighbourAction` BLOCK): none. */
  readonly neighbours?: NeighbourTierSettings;
}

/**
 * Reads and checks the blocker's variables.
 * @throws {ConfigurationError} naming the first missing or invalid variable.
 */
export function readBlockerSettings(env: Readonly<Record<string, string | undefined>>): BlockerSettings {
  const read = environmentReader(BLOCKER_ENV, env);
  const scope = read.scope('scope');
  const rateRules = read.jsonArray(
    'rateRules',
    (rule): rule is string => typeof rule === 'string' && rule !== '',
    'must be a non-empty JSON array of rule names',
  );
  // A blocker with no rule to read could never block anything: refuse it at start, not silently.
  if (rateRules.length === 0) return read.refuse('rateRules', 'must be a non-empty JSON array of rule names');
  const gate = read.text('gate');
  if (gate !== 'alarm' && gate !== 'always') return read.refuse('gate', 'must be alarm or always');
  const dryRun = read.text('dryRun');
  if (dryRun !== 'true' && dryRun !== 'false') return read.refuse('dryRun', 'must be true or false');
  const blocklist = { IPV4: read.ipSetShards('blocklistIpv4', scope), IPV6: read.ipSetShards('blocklistIpv6', scope) };
  const sharedIpSets = read
    .jsonArray(
      'sharedIpSets',
      (arn): arn is string => typeof arn === 'string' && parseIpSetArn(arn) !== undefined,
      'must be a JSON array of WAFv2 IP set ARNs',
    )
    .map((arn) => parseIpSetArn(arn) as IpSetArnAddress);
  const ipv4Prefix = read.integer('ipv4Prefix', 8, 32);
  const ipv6Prefix = read.integer('ipv6Prefix', 32, 128);
  const neighbours = readNeighbourTier(env, scope, ipv4Prefix, ipv6Prefix);
  // Synth cannot see this (the blocklists' ARNs are only known once deployed): a blocklist that is
  // also a shared set would be written twice per run, with two different views of ownership.
  const ownSets = [
    ...blocklist.IPV4,
    ...blocklist.IPV6,
    ...(neighbours ? [...neighbours.sets.IPV4, ...neighbours.sets.IPV6] : []),
  ];
  const ownIds = new Set(ownSets.map((ref) => ref.id));
  const own = sharedIpSets.find((shared) => ownIds.has(shared.id));
  if (own) read.refuse('sharedIpSets', `lists ${own.arn}, which is this deployment's own blocklist or neighbour set`);
  return {
    scope,
    webAclName: read.text('webAclName'),
    webAclId: read.text('webAclId'),
    webAclArn: read.text('webAclArn'),
    rateRules,
    blocklist,
    allowlist: { IPV4: read.ipSet('allowlistIpv4', scope), IPV6: read.ipSet('allowlistIpv6', scope) },
    alarmName: read.text('alarmName'),
    ledgerTable: read.text('ledgerTable'),
    reportsTopicArn: read.text('reportsTopicArn'),
    gate,
    blockDurationMs: read.integer('blockDurationMinutes', 1, 525_600) * 60_000,
    ipv4Prefix,
    ipv6Prefix,
    dryRun: dryRun === 'true',
    feedTopicArn: read.text('feedTopicArn'),
    sharedIpSets,
    ...(neighbours === undefined ? {} : { neighbours }),
  };
}

/**
 * The neighbour tier's variables: none set, no tier; with `NEIGHBOUR_ACTION`, every one of them.
 * @throws {ConfigurationError} naming the first missing or invalid one.
 */
function readNeighbourTier(
  env: Readonly<Record<string, string | undefined>>,
  scope: 'CLOUDFRONT' | 'REGIONAL',
  ipv4Prefix: number,
  ipv6Prefix: number,
): NeighbourTierSettings | undefined {
  const read = environmentReader(NEIGHBOUR_TIER_ENV, env);
  if (!read.isSet('neighbourAction')) return undefined;
  const action = read.text('neighbourAction');
  if (action !== 'CHALLENGE' && action !== 'CAPTCHA')
    return read.refuse('neighbourAction', 'must be CHALLENGE or CAPTCHA');
  const sets = { IPV4: read.ipSetShards('neighboursIpv4', scope), IPV6: read.ipSetShards('neighboursIpv6', scope) };
  // An offender prefix no longer than the widened one would leave the neighbour sets nothing to hold.
  const offenderPrefix = {
    ipv4: read.integer('offenderPrefixIpv4', Math.min(ipv4Prefix + 1, 32), 32),
    ipv6: read.integer('offenderPrefixIpv6', Math.min(ipv6Prefix + 1, 128), 128),
  };
  if (offenderPrefix.ipv4 <= ipv4Prefix) read.refuse('offenderPrefixIpv4', `must be longer than ${ipv4Prefix}`);
  if (offenderPrefix.ipv6 <= ipv6Prefix) read.refuse('offenderPrefixIpv6', `must be longer than ${ipv6Prefix}`);
  return { action, sets, offenderPrefix };
}
