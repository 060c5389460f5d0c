/**
 * Web ACL capacity: the WCUs that the web ACL built from a configuration uses, and the check that
 * it fits the configured limit. WAF itself only refuses a web ACL over its fixed maximum of 5,000
 * WCUs, at deploy; between 1,500 and 5,000 it charges extra per request
 * (https://docs.aws.amazon.com/waf/latest/developerguide/aws-waf-capacity-units.html,
 * https://aws.amazon.com/about-aws/whats-new/2023/04/aws-waf-web-acl-capacity-units-limits/). So
 * the default limit is the 1,500 that the base price includes, and raising it is a choice the
 * user writes down (`webAclCapacityLimit`).
 *
 * The count follows the rules that lib/blocklist-web-acl builds (a test cross-checks the two).
 */
import type { ConfigProblem } from './config-error';
import { ipSetForwardedIp, type ForwardedIpConfig, type IpSetRuleAction } from './forwarded-ip';
import { hasNeighbourTier, type NeighbourAction } from './neighbour-tier';
import { HOST_TRANSFORMATIONS, PATH_TRANSFORMATIONS } from './scope-down';
import { trustedProxyFamilies } from './trusted-proxies';

/**
 * AWS managed rule groups that can be switched on, with the WCUs each uses, as the AWS WAF
 * Developer Guide lists them (checked 2026): Baseline rule groups
 * (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html),
 * Use-case specific rule groups (…/aws-managed-rule-groups-use-case.html), IP reputation rule
 * groups (…/aws-managed-rule-groups-ip-rep.html) and the Anti-DDoS rule group
 * (…/aws-managed-rule-groups-anti-ddos.html; it also has fees of its own per request, see docs/cost.md).
 */
export const MANAGED_RULE_GROUPS = {
  AWSManagedRulesAmazonIpReputationList: 25,
  AWSManagedRulesAnonymousIpList: 50,
  AWSManagedRulesCommonRuleSet: 700,
  AWSManagedRulesKnownBadInputsRuleSet: 200,
  AWSManagedRulesSQLiRuleSet: 200,
  AWSManagedRulesLinuxRuleSet: 200,
  AWSManagedRulesUnixRuleSet: 100,
  AWSManagedRulesPHPRuleSet: 100,
  AWSManagedRulesWordPressRuleSet: 100,
  AWSManagedRulesAdminProtectionRuleSet: 100,
  AWSManagedRulesAntiDDoSRuleSet: 50,
} as const;
/** The name of an AWS managed rule group that the configuration offers. */
export type ManagedRuleGroupName = keyof typeof MANAGED_RULE_GROUPS;

/** WCUs that a web ACL's base price includes; the default `webAclCapacityLimit`. */
export const INCLUDED_WEB_ACL_CAPACITY = 1_500;
/** The most WCUs that AWS lets a web ACL use (a fixed quota, not adjustable). */
export const MAX_WEB_ACL_CAPACITY = 5_000;

/**
 * WCUs per rule statement, from the statement pages of the AWS WAF Developer Guide
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statements-list.html).
 */
export const STATEMENT_WCUS = {
  /** IP set match: 1 (waf-rule-statement-type-ipset-match.html). */
  ipSetReference: 1,
  /** IP set match on a forwarded-IP header at position ANY: 4 more than the statement's 1. */
  forwardedIpAnyPosition: 4,
  /** Rate-based: 2 as the base, plus the scope-down statement; no custom aggregation keys (30 each) are used here. */
  rateBased: 2,
  /** String (byte) match with EXACTLY, STARTS_WITH or ENDS_WITH: 2 (waf-rule-statement-type-string-match.html). */
  byteMatch: 2,
  /** Regex match (one inline regex): 3 (waf-rule-statement-type-regex-match.html). */
  regexMatch: 3,
  /** Each text transformation applied before a match: 10; `NONE` applies none (waf-rule-statement-transformation.html). */
  textTransformation: 10,
  /** Label match: 1 (waf-rule-statement-type-label-match.html). */
  labelMatch: 1,
  /** AND / OR / NOT: only what they nest (waf-rule-statements-logical.html). */
  logical: 0,
} as const;

/**
 * Blocklist IP sets per address family by default: 2, so that the default stack holds 20,000
 * ranges of each family (10,000 per set, WAF's quota).
 */
export const DEFAULT_IP_SETS_PER_FAMILY = 2;
/** Most blocklist IP sets per family: 5 holds 50,000 ranges of each family. */
export const MAX_IP_SETS_PER_FAMILY = 5;

/** What counts toward the web ACL's capacity in a configuration. */
export interface CapacityInput {
  readonly forwardedIp?: ForwardedIpConfig | undefined;
  /**
   * The blocklist IP sets per family (`blocker.ipSetsPerFamily`): the blocklist rule of each family
   * ORs one IP set reference per set. With `neighbourAction` `CHALLENGE` or `CAPTCHA`, each family
   * also has as many neighbour sets, ORed by the neighbour rule (read like a blocklist's: a forged
   * header can only get its sender challenged).
   * @default ipSetsPerFamily 1, neighbourAction BLOCK (no neighbour tier)
   */
  readonly blocker?:
    | { readonly ipSetsPerFamily?: number | undefined; readonly neighbourAction?: NeighbourAction | undefined }
    | undefined;
  readonly rateRules: readonly {
    readonly uriPathPrefix?: string | undefined;
    readonly host?: string | undefined;
    /** The rule's labels: one label match each, ORed (lib/config/rule-labels.ts). */
    readonly labels?: readonly string[] | undefined;
  }[];
  readonly managedRuleGroups: readonly ManagedRuleGroupName[];
}

/** A web ACL's capacity, in WCUs, in total and by kind of rule. */
export interface WebAclCapacity {
  readonly total: number;
  /**
   * The allowlist, blocklist and (with a neighbour tier) neighbour rules, IPv4 and IPv6 (a blocklist
   * or neighbour rule references each of its family's sets).
   */
  readonly ipSetRules: number;
  readonly rateRules: number;
  readonly managedRuleGroups: number;
}

/**
 * The IP set rules: each family's allowlist (one set) and blocklist (`ipSetsPerFamily` sets,
 * ORed); with a neighbour tier, each family's neighbour rule too (as many sets, read as a block).
 */
const IP_SET_RULE_ACTIONS: readonly IpSetRuleAction[] = ['allow', 'allow', 'block', 'block'];
const NEIGHBOUR_RULE_ACTIONS: readonly IpSetRuleAction[] = ['block', 'block'];

/** The WCUs of the web ACL that lib/blocklist-web-acl builds for this configuration. */
export function webAclCapacity(input: CapacityInput): WebAclCapacity {
  const shards = input.blocker?.ipSetsPerFamily ?? 1;
  const actions = hasNeighbourTier(input.blocker?.neighbourAction)
    ? [...IP_SET_RULE_ACTIONS, ...NEIGHBOUR_RULE_ACTIONS]
    : IP_SET_RULE_ACTIONS;
  // An OR of set references costs what it nests (`logical` is 0): one reference per set.
  const ipSetRules = actions.reduce(
    (sum, action) => sum + (action === 'block' ? shards : 1) * ipSetRuleWcus(input.forwardedIp, action),
    0,
  );
  const rateRules = input.rateRules.reduce((sum, rule) => sum + rateRuleWcus(rule), 0);
  const managedRuleGroups = input.managedRuleGroups.reduce((sum, name) => sum + MANAGED_RULE_GROUPS[name], 0);
  return { total: ipSetRules + rateRules + managedRuleGroups, ipSetRules, rateRules, managedRuleGroups };
}

/**
 * The source-IP rule of one IP set, plus its forwarded-IP rule when a header is trusted. An ALLOW
 * header rule is `AND(source IP in the trusted proxies' sets, header address in the set)`: one
 * more reference per family of trusted proxies (the AND costs only what it nests), and no rule at
 * all without trusted proxies.
 */
function ipSetRuleWcus(forwardedIp: ForwardedIpConfig | undefined, action: IpSetRuleAction): number {
  const header = ipSetForwardedIp(forwardedIp, action);
  const proxySets = trustedProxyFamilies(forwardedIp?.trustedProxies).length;
  if (header === undefined || (action === 'allow' && proxySets === 0)) return STATEMENT_WCUS.ipSetReference;
  const forwarded =
    STATEMENT_WCUS.ipSetReference + (header.position === 'ANY' ? STATEMENT_WCUS.forwardedIpAnyPosition : 0);
  const fromProxy = action === 'allow' ? proxySets * STATEMENT_WCUS.ipSetReference : 0;
  return STATEMENT_WCUS.ipSetReference + forwarded + fromProxy;
}

/** A path match: STARTS_WITH after the path transformations (lib/config/scope-down.ts). */
export const PATH_MATCH_WCUS =
  STATEMENT_WCUS.byteMatch + PATH_TRANSFORMATIONS.length * STATEMENT_WCUS.textTransformation;
/** A host match: a regex after the host transformations. */
export const HOST_MATCH_WCUS =
  STATEMENT_WCUS.regexMatch + HOST_TRANSFORMATIONS.length * STATEMENT_WCUS.textTransformation;

/** The rate-based statement with its scope-down: a path match, a host match and its label matches, each when set. */
function rateRuleWcus(rule: CapacityInput['rateRules'][number]): number {
  const path = rule.uriPathPrefix === undefined ? 0 : PATH_MATCH_WCUS;
  const host = rule.host === undefined ? 0 : HOST_MATCH_WCUS;
  const labels = (rule.labels?.length ?? 0) * STATEMENT_WCUS.labelMatch;
  return STATEMENT_WCUS.rateBased + path + host + labels;
}

/**
 * The WCUs of the smallest web ACL that a configuration can build: the four IP set rules (allowlist
 * and blocklist, IPv4 and IPv6, with `blocker.ipSetsPerFamily` 1, not the default 2) and the one
 * rate rule that `rateRules` needs at least, no header trusted, no managed rule group: 6. No
 * `webAclCapacityLimit` below it can hold any configuration; {@link capacityProblems} checks a
 * limit against what the configuration's own IP set rules need (8 with the default 2 sets).
 */
export const MIN_WEB_ACL_CAPACITY = webAclCapacity({ rateRules: [{}], managedRuleGroups: [] }).total;

const number = (value: number) => value.toLocaleString('en-US');

/**
 * The web ACL's capacity over `limit`, as one problem naming the list that uses the most:
 * `managedRuleGroups` or `rateRules`; or `webAclCapacityLimit` itself when it cannot hold even
 * the IP set rules and one plain rate rule that every web ACL here has.
 */
export function capacityProblems(input: CapacityInput & { readonly webAclCapacityLimit: number }): ConfigProblem[] {
  const capacity = webAclCapacity(input);
  const limit = input.webAclCapacityLimit;
  if (capacity.total <= limit) return [];
  const least = capacity.ipSetRules + STATEMENT_WCUS.rateBased;
  if (limit < least) {
    const rules = input.forwardedIp === undefined ? 'IP set rules' : 'IP set rules with their forwardedIp rules';
    const oneSet = webAclCapacity({ ...input, blocker: { ...input.blocker, ipSetsPerFamily: 1 } }).ipSetRules;
    const fewerSets =
      oneSet < capacity.ipSetRules
        ? ` (with blocker.ipSetsPerFamily 1 instead of ${input.blocker?.ipSetsPerFamily ?? 1} the IP set rules need ${number(oneSet)})`
        : '';
    return [
      {
        path: ['webAclCapacityLimit'],
        message: `is ${number(limit)}, below the ${number(least)} WCUs that the ${rules} (${number(capacity.ipSetRules)}) and one rate rule (${STATEMENT_WCUS.rateBased}) need before any other rule: raise it to ${number(capacity.total)} or more for this configuration${fewerSets}`,
      },
    ];
  }
  const parts = `managed rule groups ${number(capacity.managedRuleGroups)}, rate rules ${number(capacity.rateRules)}, IP set rules ${number(capacity.ipSetRules)}`;
  const raise =
    limit < MAX_WEB_ACL_CAPACITY
      ? `, or raise webAclCapacityLimit, up to ${number(MAX_WEB_ACL_CAPACITY)} (AWS's maximum; WAF charges extra for WCUs over ${number(INCLUDED_WEB_ACL_CAPACITY)})`
      : ` (${number(MAX_WEB_ACL_CAPACITY)} is AWS's maximum)`;
  const byGroups = capacity.managedRuleGroups >= capacity.rateRules;
  const largest = [...input.managedRuleGroups].sort((a, b) => MANAGED_RULE_GROUPS[b] - MANAGED_RULE_GROUPS[a])[0];
  const fewer = byGroups
    ? `list fewer groups${largest === undefined ? '' : ` (${largest} alone uses ${number(MANAGED_RULE_GROUPS[largest])})`}`
    : `use fewer rate rules or fewer path, host and label matches (a path match uses ${number(PATH_MATCH_WCUS)}, a host match ${number(HOST_MATCH_WCUS)}, a label ${number(STATEMENT_WCUS.labelMatch)})`;
  return [
    {
      path: [byGroups ? 'managedRuleGroups' : 'rateRules'],
      message: `would make the web ACL use ${number(capacity.total)} WCUs (${parts}), over webAclCapacityLimit ${number(limit)}: ${fewer}${raise}`,
    },
  ];
}
