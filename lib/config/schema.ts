/**
 * The one typed configuration of a waf-autoblock deployment, with its defaults and the rules
 * that make a value valid. `cdk.json` (context key `wafAutoblock`) repeats these defaults so that
 * users can see and edit them; a test keeps the two in step.
 *
 * Each default is written once, on its leaf field. Nested objects and lists take `.prefault(...)`,
 * which runs the value through the schema (so a missing `blocker` block gets every `blocker` leaf's
 * default, and each parse gets its own arrays and objects); `.default(...)` would return its value
 * as written, a second copy of the leaves' defaults that could drift from them.
 */
import { domainToASCII } from 'node:url';
import { z } from 'zod';
import { describeAddressProblem, readRange } from '#core/address-verdict';
import { apiUrlProblem, CHAT_ID_PATTERN } from '#contracts/notifier-environment';
import { MAX_LISTED_RANGES } from '#contracts/telegram-limits';
import { REGION_NAME } from '#contracts/environment';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { BLOCKER_MEMORY_MB, BLOCKER_RESERVED_CONCURRENCY } from '#contracts/attack-mode';
import { accountIdSchema, sharedIpSetAccountProblems } from './account';
import { alarmRangeProblems } from './alarm';
import { allowlistCoverageProblems } from './allowlist-coverage';
import { allowlistBehindProxyProblems } from './allowlist-forwarded';
import { associationProblems, unknownRegionProblem } from './associations';
import { repeatedEntryProblems } from './duplicates';
import {
  capacityProblems,
  DEFAULT_IP_SETS_PER_FAMILY,
  INCLUDED_WEB_ACL_CAPACITY,
  MAX_IP_SETS_PER_FAMILY,
  MANAGED_RULE_GROUPS,
  MAX_WEB_ACL_CAPACITY,
  MIN_WEB_ACL_CAPACITY,
  type ManagedRuleGroupName,
} from './capacity';
import { describeConfigValue, quoteConfigValue } from './config-error';
import { blockResponseSchema, customResponseSizeProblems } from './custom-response';
import { antiDdosProblems, antiDdosSchema } from './anti-ddos';
import { labelSyntaxProblem, ruleLabelProblems } from './rule-labels';
import { forwardedIpProblems, forwardedIpSchema, forwardedIpScopeProblems, forwardedRuleName } from './forwarded-ip';
import { neighbourTierProblems, neighbourTierShape } from './neighbour-tier';
import { ruleNameProblems, sameRuleName } from './rule-names';
import { hostProblem, uriPathPrefixProblem } from './scope-down';
import { scheduleDurationProblems, scheduleProblem } from './schedule';
import { sharedIpSetOwnSetProblems, sharedIpSetPartitionProblems, sharedIpSetsSchema } from './shared-ip-sets';
import { trustedProxyProblems } from './trusted-proxies';

/** The refusal of a `blocker.memorySize` out of range. */
const MEMORY_SIZE_RANGE = "must be a whole number of MB from 512 to 10,240 (a big attack's run uses about 200 MB)";

/** Log retentions that CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** AWS managed rule groups that can be switched on, with the web ACL capacity units each uses. */
export { MANAGED_RULE_GROUPS, type ManagedRuleGroupName } from './capacity';

/** Rule names the web ACL uses for its own IP set rules; rate rules may not take them. */
const IP_SET_RULE_NAMES = [
  'allowlist-ipv4',
  'allowlist-ipv6',
  'blocklist-ipv4',
  'blocklist-ipv6',
  'neighbours-ipv4',
  'neighbours-ipv6',
] as const;
export const RESERVED_RULE_NAMES: readonly string[] = [
  ...IP_SET_RULE_NAMES,
  ...IP_SET_RULE_NAMES.map(forwardedRuleName),
];

/** Actions whose requests can be kept in the WAF logs. */
export const LOGGED_ACTIONS = ['ALLOW', 'BLOCK', 'COUNT', 'CAPTCHA', 'CHALLENGE', 'EXCLUDED_AS_COUNT'] as const;

/**
 * Reads one allowlist entry with the parser the blocker, the CLI and the ban feed use, so that
 * all of them see the same range: an IPv4-mapped IPv6 address (`::ffff:81.2.69.142`) is the IPv4
 * address it maps, and goes to the IPv4 allowlist.
 *
 * @returns the entry's canonical CIDR (a bare address gets /32 or /128), or what is wrong with it
 *   as one sentence that quotes the entry.
 */
export function readAllowlistEntry(value: string): { readonly cidr: string } | { readonly problem: string } {
  const reading = readRange(value);
  // JSON quoting keeps the message one line whatever the entry holds, and a long entry is cut.
  if (reading.problem !== undefined)
    return { problem: `${quoteConfigValue(value)} ${describeAddressProblem(reading)}` };
  return { cidr: reading.range.cidr };
}

/**
 * WAF's limit on the SearchString of a string match: 200 bytes, not characters
 * (https://docs.aws.amazon.com/waf/latest/APIReference/API_ByteMatchStatement.html: "The maximum
 * length of the value is 200 bytes"), so `/läden` counts 7. UTF-8, as CloudFormation sends it.
 */
export const MAX_SEARCH_STRING_BYTES = 200;

/** Refuses a search string over {@link MAX_SEARCH_STRING_BYTES} in UTF-8, as the web ACL sends it (after `transform`). */
function withinSearchStringLimit(transform: (value: string) => string = (value) => value) {
  return (value: string, ctx: z.RefinementCtx) => {
    const bytes = Buffer.byteLength(transform(value), 'utf8');
    if (bytes > MAX_SEARCH_STRING_BYTES)
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_SEARCH_STRING_BYTES} bytes in UTF-8, WAF's limit for a string match; it is ${bytes.toLocaleString('en-US')} bytes (${value.length.toLocaleString('en-US')} characters)`,
      });
  };
}

/** A refinement that adds `problem(value)` as the issue, when there is one. */
function withProblem(problem: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  };
}

const ruleName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1 to 100 letters, digits, "-" or "_"')
  .refine((name) => !sameRuleName(name, RESERVED_RULE_NAMES), {
    message: `is reserved for the IP set rules (${RESERVED_RULE_NAMES.join(', ')}; in any case)`,
  });

const rateRule = z.strictObject({
  /** Rule name; also its CloudWatch metric name. */
  name: ruleName,
  /** Requests per evaluation window from one aggregation key before WAF starts blocking it. */
  limit: z
    .number()
    .int('must be a whole number')
    .min(10, 'must be between 10 and 2,000,000,000')
    .max(2_000_000_000, 'must be between 10 and 2,000,000,000'),
  /** Evaluation window in seconds. */
  windowSeconds: z
    .union([z.literal(60), z.literal(120), z.literal(300), z.literal(600)], {
      error: 'must be one of 60, 120, 300, 600',
    })
    .default(300),
  /**
   * Count only requests whose URI path starts with this prefix (e.g. `/login`), compared after
   * WAF decodes, normalizes and lower-cases the path (lib/config/scope-down.ts).
   */
  uriPathPrefix: z
    .string()
    .superRefine(withProblem(uriPathPrefixProblem))
    .superRefine(withinSearchStringLimit())
    .optional(),
  /** Count only requests for this host (case-insensitive; with or without a trailing dot or a port). */
  host: z
    .string()
    .min(1, 'must not be empty')
    .superRefine(withProblem((host) => hostProblem(host, domainToASCII)))
    .optional(),
  /**
   * Count per connecting source IP (`IP`), or per the first address of `forwardedIp.headerName`
   * (`FORWARDED_IP`: needs `forwardedIp` with a proxy that overwrites the header).
   */
  aggregateKey: z.enum(['IP', 'FORWARDED_IP'], { error: 'must be IP or FORWARDED_IP' }).default('IP'),
  /**
   * Count only requests that carry one of these WAF labels (ORed; ANDed with `uriPathPrefix` and
   * `host`), added by a managed rule group that runs before the rate rules (lib/config/rule-labels.ts),
   * e.g. `awswaf:managed:aws:anti-ddos:high-suspicion-ddos-request`.
   */
  labels: z
    .array(z.string().superRefine(withProblem(labelSyntaxProblem)))
    .min(1, 'must hold at least one label; leave labels out to count every request')
    .max(10, 'may hold at most 10 labels')
    .optional(),
  /** What a client this rule blocks sees, instead of the top-level `blockResponse` (lib/config/custom-response.ts). */
  blockResponse: blockResponseSchema.optional(),
  /**
   * Removed, and refused with a message naming it: the header moved to the top-level `forwardedIp`
   * key, which also says who writes it.
   */
  forwardedIpHeader: z
    .never({
      error:
        'has moved: name the header in forwardedIp.headerName and say how your own proxy sets it in forwardedIp.setByOwnProxy (see docs/forwarded-ip.md)',
    })
    .optional(),
});
export type RateRuleConfig = z.output<typeof rateRule>;

const positiveInt = z.number().int('must be a whole number').positive('must be a positive number');

/**
 * The most reserved concurrency `blocker.reservedConcurrency` may ask for: 900, what an account at
 * Lambda's default concurrency limit (1,000 per region) can reserve, since Lambda keeps 100 unreserved
 * for the functions without a reservation ("You can reserve up to the Unreserved account concurrency
 * value that is shown, minus 100", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html;
 * the default limit: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 * AWS refuses more only at deploy; the blocker's runs never overlap (the run lock), so anything
 * near this bound buys nothing anyway.
 */
export const MAX_RESERVED_CONCURRENCY = 900;

/** The refusal of a `blocker.reservedConcurrency` that is not a whole number of at least 1. */
const RESERVED_CONCURRENCY_RANGE = `must be a whole number from 1 to ${MAX_RESERVED_CONCURRENCY}, or null (unreserved)`;

/** A number of days that CloudWatch Logs accepts as a retention. */
const logRetentionDays = z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
  message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
});

export const configSchema = z
  .strictObject({
    /** CloudFormation stack name; also the prefix of the WAF resource names. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must start with a letter and hold only letters, digits and "-" (max 64)')
      .default('WafAutoblock'),
    /** `CLOUDFRONT` protects CloudFront distributions (deployed to us-east-1); `REGIONAL` protects ALBs, API Gateways and the like. */
    scope: z.enum(['CLOUDFRONT', 'REGIONAL'], { error: 'must be CLOUDFRONT or REGIONAL' }).default('CLOUDFRONT'),
    /** Target account id (text, or a 12-digit number); default: the CLI's current account, or environment-agnostic. */
    account: accountIdSchema.optional(),
    /** Target region; CLOUDFRONT scope requires (and defaults to) us-east-1. */
    region: z.string().regex(REGION_NAME, 'must be an AWS region such as eu-west-1').optional(),
    /** Rate-based rules, evaluated in this order after the IP set rules. */
    rateRules: z
      .array(rateRule)
      .min(1, 'must hold at least one rule: the blocker takes its attackers from them')
      .max(20, 'may hold at most 20 rules')
      .prefault([{ name: 'rate-all', limit: 2000 }]),
    /**
     * The header that your own proxy (a CDN or load balancer in front of WAF, that every request
     * passes) writes the client's address into, and how. Unset or `null` (so that
     * `-c wafAutoblock.forwardedIp=null` switches off one set in a file): no header is trusted.
     */
    forwardedIp: forwardedIpSchema.nullish().transform((declared) => declared ?? undefined),
    /**
     * What a client blocked by the blocklist or a rate rule sees: status code, body, `Retry-After`
     * (lib/config/custom-response.ts). Unset or `null`: WAF's plain 403 with an empty body.
     */
    blockResponse: blockResponseSchema.nullish().transform((declared) => declared ?? undefined),
    /**
     * CIDRs (IPv4 and IPv6) that are always allowed and never blocked. A bare address means /32 or
     * /128. Read into canonical CIDRs, without duplicates: the family of each is the parsed one.
     */
    allowlist: z
      .array(
        z.string().transform((value, ctx) => {
          const entry = readAllowlistEntry(value);
          if ('cidr' in entry) return entry.cidr;
          ctx.addIssue({ code: 'custom', message: entry.problem });
          return z.NEVER;
        }),
      )
      .max(10_000, 'may hold at most 10,000 entries')
      .transform((cidrs) => [...new Set(cidrs)])
      .prefault([]),
    /**
     * AWS managed rule groups to add after the rate rules; `AWSManagedRulesAntiDDoSRuleSet` runs
     * before them instead (its labels must reach label-scoped rate rules), configured by `antiDdos`.
     */
    managedRuleGroups: z
      .array(
        z.enum(Object.keys(MANAGED_RULE_GROUPS) as [ManagedRuleGroupName, ...ManagedRuleGroupName[]], {
          error: `must be one of ${Object.keys(MANAGED_RULE_GROUPS).join(', ')}`,
        }),
      )
      .prefault(['AWSManagedRulesAmazonIpReputationList']),
    /**
     * Settings of `AWSManagedRulesAntiDDoSRuleSet` when `managedRuleGroups` lists it
     * (lib/config/anti-ddos.ts); unset: every setting's default.
     */
    antiDdos: antiDdosSchema.optional(),
    /**
     * Most WCUs the web ACL may use. The 1,500 that the web ACL's base price includes by default;
     * up to 5,000 (AWS's maximum), for which WAF charges extra per request.
     */
    webAclCapacityLimit: z
      .number()
      .int('must be a whole number')
      .min(
        MIN_WEB_ACL_CAPACITY,
        `must be at least ${MIN_WEB_ACL_CAPACITY}, the WCUs of the smallest web ACL waf-autoblock builds (its allowlist and blocklist rules with blocker.ipSetsPerFamily 1, and one rate rule), and at most ${MAX_WEB_ACL_CAPACITY.toLocaleString('en-US')} (AWS's maximum for a web ACL)`,
      )
      .max(
        MAX_WEB_ACL_CAPACITY,
        `must be between ${MIN_WEB_ACL_CAPACITY} and ${MAX_WEB_ACL_CAPACITY.toLocaleString('en-US')} (AWS's maximum for a web ACL)`,
      )
      .default(INCLUDED_WEB_ACL_CAPACITY),
    logging: z
      .strictObject({
        /** Days to keep WAF logs. */
        retentionDays: logRetentionDays.default(30),
        /** Only requests that ended with one of these actions are logged (the rest are dropped). */
        actions: z
          .array(z.enum(LOGGED_ACTIONS, { error: `must be one of ${LOGGED_ACTIONS.join(', ')}` }))
          .min(1, 'must name at least one action')
          .prefault(['BLOCK']),
      })
      .prefault({}),
    alarm: z
      .strictObject({
        /** Blocked requests per period that raise the alarm. */
        threshold: positiveInt.default(3000),
        /** Alarm period in seconds (60 or a multiple of 60). */
        periodSeconds: positiveInt
          .refine((seconds) => seconds % 60 === 0, { message: 'must be a multiple of 60' })
          .default(300),
        /** Periods over the threshold before the alarm fires. */
        evaluationPeriods: positiveInt.default(1),
      })
      .prefault({}),
    /** ARNs of regional resources (ALB, API Gateway stage, AppSync, Cognito, App Runner) to protect. REGIONAL only. */
    associations: z
      .array(
        z
          .string()
          .regex(
            /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/,
            'must be a resource ARN such as arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188',
          ),
      )
      .prefault([]),
    /**
     * What `cdk destroy` does with the resources that hold data: `retain` leaves them in the account,
     * `destroy` deletes them with the stack. KMS keys are always destroyed (after AWS's 30-day wait).
     */
    removalPolicy: z
      .strictObject({
        /** The ledger table: which blocklist entries are the blocker's, when each range was seen, why it was blocked. */
        ledger: z.enum(['retain', 'destroy'], { error: retainOrDestroy }).default('retain'),
        /** The WAF log group and the blocker's and notifier's log groups (each still expires by its retention). */
        logs: z.enum(['retain', 'destroy'], { error: retainOrDestroy }).default('retain'),
      })
      .prefault({}),
    blocker: z
      .strictObject({
        /** When the blocker runs besides the alarm: an EventBridge `rate(...)` or `cron(...)` expression. */
        schedule: z
          .string({ error: 'must be an EventBridge expression such as "rate(5 minutes)" or "cron(0/5 * * * ? *)"' })
          .superRefine((expression, ctx) => {
            const problem = scheduleProblem(expression);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          })
          .default('rate(5 minutes)'),
        /** `alarm`: take new attackers only while the alarm is in ALARM; `always`: on every run. Expiry runs always. */
        gate: z.enum(['alarm', 'always'], { error: 'must be alarm or always' }).default('alarm'),
        /** Minutes a range stays blocked after it was LAST seen attacking. */
        blockDurationMinutes: positiveInt.max(525_600, 'must be at most 525,600 (one year)').default(240),
        /** IPv4 attackers are blocked by this prefix (24 blocks the whole /24). */
        ipv4Prefix: z.number().int().min(8, 'must be between 8 and 32').max(32, 'must be between 8 and 32').default(24),
        /** IPv6 attackers are blocked by this prefix (64 blocks the whole /64). */
        ipv6Prefix: z
          .number()
          .int()
          .min(32, 'must be between 32 and 128')
          .max(128, 'must be between 32 and 128')
          .default(64),
        /** Compute, log and report everything, write nothing. */
        dryRun: z.boolean({ error: 'must be true or false' }).default(false),
        /**
         * Reserved concurrency (3: attack mode's pollers and a ban-feed run side by side; the run lock keeps runs apart),
         * 1 to {@link MAX_RESERVED_CONCURRENCY}; null leaves it unreserved for accounts with a concurrency limit under 103.
         */
        reservedConcurrency: z
          .number()
          .int(RESERVED_CONCURRENCY_RANGE)
          .min(1, RESERVED_CONCURRENCY_RANGE)
          .max(MAX_RESERVED_CONCURRENCY, {
            error: (issue) =>
              `must be at most ${MAX_RESERVED_CONCURRENCY} (got ${describeConfigValue(issue.input)}): AWS refuses at deploy ` +
              "a reservation that leaves an account fewer than 100 unreserved executions, and Lambda's default limit " +
              "is 1,000 per region; the blocker's runs never overlap, so the default 3 is enough",
          })
          .nullable()
          .default(BLOCKER_RESERVED_CONCURRENCY),
        /**
         * The blocker's memory in MB, 512 to 10,240, which also sets its CPU: 1,769 gives one vCPU, so
         * that a first run of a big attack decides in a fraction of a second. Lambda allows 128 and up,
         * but a run over full sets peaks near 200 MB resident: 512 is the least that leaves headroom.
         */
        memorySize: z
          .number({ error: MEMORY_SIZE_RANGE })
          .int(MEMORY_SIZE_RANGE)
          .min(512, MEMORY_SIZE_RANGE)
          .max(10_240, MEMORY_SIZE_RANGE)
          .default(BLOCKER_MEMORY_MB),
        /** Days to keep the blocker's own logs. */
        logRetentionDays: logRetentionDays.default(30),
        /** ARNs of more WAFv2 IP sets in this account (other web ACLs, regions, scopes) that get the same managed ranges. */
        sharedIpSets: sharedIpSetsSchema.prefault([]),
        /**
         * Blocklist IP sets per address family, 10,000 ranges each (WAF's quota): 2 holds 20,000 IPv4
         * and 20,000 IPv6 ranges, 5 holds 50,000. The blocklist rule of a family ORs its sets (1 WCU each).
         */
        ipSetsPerFamily: z
          .number()
          .int('must be a whole number')
          .min(1, `must be between 1 and ${MAX_IP_SETS_PER_FAMILY}`)
          .max(
            MAX_IP_SETS_PER_FAMILY,
            `must be between 1 and ${MAX_IP_SETS_PER_FAMILY} (${MAX_IP_SETS_PER_FAMILY} sets hold ${(MAX_IP_SETS_PER_FAMILY * IP_SET_CAPACITY).toLocaleString('en-US')} ranges per family)`,
          )
          .default(DEFAULT_IP_SETS_PER_FAMILY),
        ...neighbourTierShape,
      })
      .prefault({}),
    notifier: z
      .strictObject({
        /** Telegram chats to notify: chat ids as strings (`"-1001234567890"`) or `"@channelname"`. Empty: messages are only logged. */
        chatIds: z
          .array(
            z
              .string({ error: 'must be a chat id as a string, e.g. "-1001234567890", or "@channelname"' })
              .regex(CHAT_ID_PATTERN, 'must be a chat id as a string, e.g. "-1001234567890", or "@channelname"'),
          )
          .max(10, 'may hold at most 10 chats')
          .prefault([]),
        /** Telegram Bot API base URL; https, or http on 127.0.0.1 for a local stand-in. */
        telegramApiUrl: z
          .string()
          .superRefine((value, ctx) => {
            const problem = apiUrlProblem(value);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .default('https://api.telegram.org'),
        /** Minutes of WAF logs an ALARM message summarizes. */
        summaryMinutes: z
          .number()
          .int('must be a whole number')
          .min(1, 'must be between 1 and 180')
          .max(180, 'must be between 1 and 180')
          .default(15),
        /** Name of an existing Secrets Manager secret that holds the bot token; unset: the stack creates one. */
        existingSecretName: z
          .string()
          .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name')
          .optional(),
        /** An e-mail address subscribed to the ops topic (health alarms), for when Telegram is what is broken; unset: none. */
        // null (e.g. `-c wafAutoblock.notifier.opsEmail=null`) switches off an address set in cdk.json.
        opsEmail: z.email({ error: 'must be an e-mail address such as "ops@example.com"' }).nullish(),
        /** Longest list of ranges in a block report; the rest are counted ("and 12 more"). At most 98: Telegram formats 100 entities per message. */
        maxListedRanges: z
          .number()
          .int('must be a whole number')
          .min(1, `must be between 1 and ${MAX_LISTED_RANGES}`)
          .max(
            MAX_LISTED_RANGES,
            `must be between 1 and ${MAX_LISTED_RANGES} (Telegram formats at most 100 entities in a message; a list takes two more)`,
          )
          .default(20),
        /** Days to keep the notifier's own logs. */
        logRetentionDays: logRetentionDays.default(30),
      })
      .prefault({}),
    /** One CloudWatch dashboard of traffic, blocker, blocklist fill, Telegram delivery and alarms; false: none. */
    dashboard: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .superRefine((config, ctx) => {
    for (const problem of ruleNameProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of forwardedIpProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of forwardedIpScopeProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of sharedIpSetAccountProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of sharedIpSetPartitionProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of sharedIpSetOwnSetProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of scheduleDurationProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of alarmRangeProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of associationProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of allowlistCoverageProblems(config.allowlist)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of allowlistBehindProxyProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of trustedProxyProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of neighbourTierProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    const repeated = [
      ...repeatedEntryProblems(
        config.notifier.chatIds,
        ['notifier', 'chatIds'],
        ': that chat would get every message twice',
      ),
      ...repeatedEntryProblems(config.logging.actions, ['logging', 'actions'], ''),
    ];
    for (const problem of repeated) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of capacityProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of customResponseSizeProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of antiDdosProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    for (const problem of ruleLabelProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
    // The pattern only checks the shape: eu-wset-1 would reach the deploy and fail there.
    const regionProblem = config.region === undefined ? undefined : unknownRegionProblem(config.region);
    if (regionProblem !== undefined) ctx.addIssue({ code: 'custom', path: ['region'], message: regionProblem });
    if (config.scope === 'CLOUDFRONT' && config.region !== undefined && config.region !== 'us-east-1') {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: `must be us-east-1 when scope is CLOUDFRONT (AWS keeps CloudFront web ACLs there), got ${config.region}`,
      });
    }
    if (config.scope === 'CLOUDFRONT' && config.associations.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['associations'],
        message: 'must be empty when scope is CLOUDFRONT: attach the web ACL on the distribution instead (see README)',
      });
    }
  });

/** The validated configuration, defaults applied. */
export type WafAutoblockConfig = z.output<typeof configSchema>;
/** What a user may write: every key optional. */
export type WafAutoblockConfigInput = z.input<typeof configSchema>;

/** The removalPolicy keys' refusal, naming what arrived. */
function retainOrDestroy(issue: { readonly input?: unknown }): string {
  return `must be retain or destroy (got ${describeConfigValue(issue.input)})`;
}
