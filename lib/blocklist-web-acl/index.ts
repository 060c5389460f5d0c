import { Annotations, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { allowlistByFamily } from '#core/allowlist';
import { retentionDays, wafLogGroupName } from '../log-retention';
import type { WafScope } from '#contracts/ip-set';
import {
  type ForwardedIpConfig,
  forwardedIpProblems,
  forwardedIpWarnings,
  forwardedRuleName,
  ipSetForwardedIp,
  type IpSetRuleAction,
  rateRuleForwardedIp,
} from '#config/forwarded-ip';
import { DEFAULT_IP_SETS_PER_FAMILY, MAX_IP_SETS_PER_FAMILY } from '#config/capacity';
import { hasNeighbourTier, IMMUNITY_SECONDS, type NeighbourAction } from '#config/neighbour-tier';
import {
  BLOCK_RESPONSE_BODY_KEY,
  type BlockAction,
  blockAction,
  type BlockResponseConfig,
  customResponseBodies,
  rateRuleBlockAction,
} from '#config/custom-response';
import { type AntiDdosConfig, antiDdosGroupConfig, antiDdosSettings, ANTI_DDOS_GROUP } from '#config/anti-ddos';
import { LABELLING_GROUPS, ruleLabelWarnings } from '#config/rule-labels';
import { trustedProxiesByFamily } from '#config/trusted-proxies';
import { WEB_ACL_NAME_SUFFIX } from '#contracts/names';
import { ConfigError } from '#config/load';
import { HOST_TRANSFORMATIONS, hostRegex, PATH_TRANSFORMATIONS, pathSearchString } from '#config/scope-down';
import type { ManagedRuleGroupName, RateRuleConfig } from '#config/schema';

/** Whether the web ACL protects CloudFront distributions or regional resources (one type for stack and Lambdas). */
export type { WafScope };

/** Props of {@link BlocklistWebAcl}. Values arrive validated from the configuration. */
export interface BlocklistWebAclProps {
  /** Prefix of every WAF resource name and metric name (the names must be known to the Lambdas and the alarm). */
  readonly namePrefix: string;
  readonly scope: WafScope;
  /** Rate-based rules, in evaluation order. */
  readonly rateRules: readonly RateRuleConfig[];
  /**
   * The header that the user's own proxy in front of WAF writes the client's address into, and how
   * (see {@link ForwardedIpConfig}). With it, the blocklist rules also match the header's address;
   * the allowlist rules match the address that proxy wrote only on a request whose source IP is in
   * `forwardedIp.trustedProxies` (no trusted proxies: the allowlist never reads the header);
   * `FORWARDED_IP` rate rules need it, with `setByOwnProxy: 'overwrites'`.
   * @default undefined: no header is trusted; the IP set rules match the connecting source IP only
   */
  readonly forwardedIp?: ForwardedIpConfig;
  /** Allowed addresses and CIDRs, IPv4 and IPv6 mixed, in any form the core parser accepts (mapped IPv4 counts as IPv4); the construct canonicalizes them. */
  readonly allowlist: readonly string[];
  /**
   * AWS managed rule groups, evaluated after the rate rules; those of `LABELLING_GROUPS`
   * (`AWSManagedRulesAntiDDoSRuleSet`) after the blocklist and before the rate rules instead, so
   * that their labels reach label-scoped rate rules.
   */
  readonly managedRuleGroups: readonly ManagedRuleGroupName[];
  /**
   * Settings of `AWSManagedRulesAntiDDoSRuleSet`, used when `managedRuleGroups` lists it.
   * @default every setting's default (see {@link AntiDdosConfig}): challenges ENABLED at HIGH
   *   sensitivity except AWS's suggested API and asset paths, blocking at LOW sensitivity
   */
  readonly antiDdos?: AntiDdosConfig;
  /** Days to keep WAF logs. */
  readonly logRetentionDays: number;
  /** Actions whose requests are logged; the rest are dropped by the logging filter. */
  readonly loggedActions: readonly string[];
  /** Regional resources to associate (REGIONAL only). */
  readonly associations: readonly string[];
  /**
   * Blocklist IP sets per family (1 to 5), 10,000 entries each: the family's blocklist rule ORs
   * them. The first keeps the construct id and name of a one-set blocklist (`BlocklistIpv4`,
   * `<namePrefix>-blocklist-ipv4`), so that adding sets never replaces it; set N (2 to 5) is
   * `BlocklistIpv4SetN`, `<namePrefix>-blocklist-ipv4-N`. Lowering it deletes the last sets with
   * their entries.
   * @default 2 (`blocker.ipSetsPerFamily`'s default): 20,000 ranges per family
   */
  readonly ipSetsPerFamily?: number;
  /**
   * The neighbour tier (lib/config/neighbour-tier.ts): with `CHALLENGE` or `CAPTCHA`, each family
   * also gets `ipSetsPerFamily` neighbour IP sets (`NeighboursIpv4`, `<namePrefix>-neighbours-ipv4`,
   * then `-2`...), empty and owned by the blocker like the blocklists, and a rule
   * `neighbours-ipv4` / `neighbours-ipv6` with that action right after the blocklist rules, so that
   * an address in both is blocked.
   * @default 'BLOCK': no neighbour sets and no neighbour rule
   */
  readonly neighbourAction?: NeighbourAction;
  /**
   * Seconds a solved challenge or CAPTCHA stays valid: the web ACL's `ChallengeConfig` or
   * `CaptchaConfig` (whichever `neighbourAction` uses), 60 to 259,200 (300 at least for CHALLENGE).
   * Not set on the web ACL without a neighbour tier.
   * @default 300 (WAF's own default)
   */
  readonly immunityTimeSeconds?: number;
  /**
   * What a client that the blocklist rules or the rate rules block sees: status code, body and
   * content type, `Retry-After` (see {@link BlockResponseConfig}); a rate rule's own
   * `blockResponse` wins for that rule. The bodies go to the web ACL's `CustomResponseBodies`.
   * @default undefined: WAF's plain 403 with an empty body, and no `CustomResponseBodies`
   */
  readonly blockResponse?: BlockResponseConfig;
}

/** One WAF IP set as the Lambdas need to address it. */
export interface IpSetHandle {
  readonly ipSet: wafv2.CfnIPSet;
  readonly name: string;
}

/** A family's blocklist IP sets, in shard order; the first is always there. */
export type BlocklistShards = readonly [IpSetHandle, ...IpSetHandle[]];

/**
 * `name|id`, the form the Lambdas read an IP set back from their environment (GetIPSet needs both);
 * read by lambdas/contracts/environment.ts.
 */
export function ipSetAddress(handle: IpSetHandle): string {
  return `${handle.name}|${handle.ipSet.attrId}`;
}

/** A family's blocklist sets as the Lambdas read them back: a JSON array of `name|id`, in shard order. */
export function shardAddresses(scope: Construct, handles: readonly IpSetHandle[]): string {
  return Stack.of(scope).toJsonString(handles.map(ipSetAddress));
}

/**
 * Rule priorities: fixed bands so that rules keep their order as lists grow. `labelling`: the
 * managed groups whose labels the rate rules may read (lib/config/rule-labels.ts).
 */
const PRIORITY = { allowlist: 0, blocklist: 10, neighbours: 20, labelling: 50, rate: 100, managed: 200 } as const;

/**
 * The web ACL: allowlist (ALLOW) -> blocklist owned by the blocker (BLOCK) -> with a neighbour
 * tier, the offenders' neighbours (CHALLENGE or CAPTCHA) -> the Anti-DDoS managed group when
 * listed (labels) -> rate-based rules (BLOCK) -> the other AWS managed rule groups; plus its IP
 * sets, its logging to an `aws-waf-logs-` log group and, for REGIONAL scope, its associations.
 */
export class BlocklistWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  /** Web ACL name; also its metric name (the `WebACL` dimension of its CloudWatch metrics). */
  readonly webAclName: string;
  readonly allowlistIpv4: IpSetHandle;
  readonly allowlistIpv6: IpSetHandle;
  /**
   * The IP sets of `forwardedIp.trustedProxies`, one per family that holds some: the allowlist's
   * header rules read the header only on requests from these addresses.
   */
  readonly trustedProxies: readonly IpSetHandle[];
  /** The first IPv4 blocklist set (`blocklists.IPV4[0]`), the one a one-set blocklist had. */
  readonly blocklistIpv4: IpSetHandle;
  /** The first IPv6 blocklist set (`blocklists.IPV6[0]`). */
  readonly blocklistIpv6: IpSetHandle;
  /** Every blocklist IP set of each family, in shard order. */
  readonly blocklists: Readonly<Record<'IPV4' | 'IPV6', BlocklistShards>>;
  /** Every neighbour IP set of each family, in shard order; undefined without a neighbour tier. */
  readonly neighbours: Readonly<Record<'IPV4' | 'IPV6', BlocklistShards>> | undefined;
  /** What the neighbour rules do; `BLOCK`: there are none. */
  readonly neighbourAction: NeighbourAction;
  readonly logGroup: logs.LogGroup;
  /** Rate rule names as the web ACL knows them (GetRateBasedStatementManagedKeys needs the exact name). */
  readonly rateRuleNames: readonly string[];
  private readonly wafScope: WafScope;

  /**
   * Warns at synth (CDK annotations) about a `forwardedIp` that is often a mistake: with scope
   * CLOUDFRONT, or `X-Forwarded-For` declared as overwritten; and about a label-scoped rate rule
   * whose labels mark only requests the Anti-DDoS group blocks itself (#config/rule-labels).
   * @throws {ConfigError} when a rate rule would not count the client's own address (see
   *   `forwardedIpProblems`), `ipSetsPerFamily` is not a whole number from 1 to 5, or
   *   `immunityTimeSeconds` is outside WAF's range for the neighbour action.
   */
  constructor(scope: Construct, id: string, props: BlocklistWebAclProps) {
    super(scope, id);
    const shards = this.checked(props);
    this.neighbourAction = props.neighbourAction ?? 'BLOCK';
    const immunity = immunityOf(this.neighbourAction, props.immunityTimeSeconds);
    this.wafScope = props.scope;
    const prefix = props.namePrefix;
    const { IPV4: allowV4, IPV6: allowV6 } = allowlistByFamily(props.allowlist);

    this.allowlistIpv4 = this.ipSet(
      'AllowlistIpv4',
      `${prefix}-allowlist-ipv4`,
      'IPV4',
      allowV4,
      'Always allowed, from the waf-autoblock config. Redeploy to change',
    );
    this.allowlistIpv6 = this.ipSet(
      'AllowlistIpv6',
      `${prefix}-allowlist-ipv6`,
      'IPV6',
      allowV6,
      'Always allowed, from the waf-autoblock config. Redeploy to change',
    );
    this.trustedProxies = this.trustedProxySets(prefix, props.forwardedIp);
    // The blocker owns the contents of these sets: CloudFormation creates them empty and never
    // touches their addresses again, and the blocker keeps any entry it did not put there itself.
    this.blocklists = {
      IPV4: this.blocklistShards('Ipv4', `${prefix}-blocklist-ipv4`, 'IPV4', shards),
      IPV6: this.blocklistShards('Ipv6', `${prefix}-blocklist-ipv6`, 'IPV6', shards),
    };
    this.blocklistIpv4 = this.blocklists.IPV4[0];
    this.blocklistIpv6 = this.blocklists.IPV6[0];
    this.neighbours = hasNeighbourTier(this.neighbourAction)
      ? {
          IPV4: this.blocklistShards('Ipv4', `${prefix}-neighbours-ipv4`, 'IPV4', shards, 'Neighbours'),
          IPV6: this.blocklistShards('Ipv6', `${prefix}-neighbours-ipv6`, 'IPV6', shards, 'Neighbours'),
        }
      : undefined;

    this.rateRuleNames = props.rateRules.map((rule) => rule.name);
    this.webAclName = `${prefix}${WEB_ACL_NAME_SUFFIX}`;
    const bodies = customResponseBodies(props);
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: this.webAclName,
      description: 'waf-autoblock: allowlist, self-expiring blocklist, rate-based rules and managed rule groups',
      scope: props.scope,
      defaultAction: { allow: {} },
      visibilityConfig: visibility(this.webAclName),
      ...(Object.keys(bodies).length === 0 ? {} : { customResponseBodies: bodies }),
      rules: [
        ...ipSetRules('allowlist-ipv4', PRIORITY.allowlist, [this.allowlistIpv4], this.headerTrust('allow', props)),
        ...ipSetRules('allowlist-ipv6', PRIORITY.allowlist + 2, [this.allowlistIpv6], this.headerTrust('allow', props)),
        ...ipSetRules('blocklist-ipv4', PRIORITY.blocklist, this.blocklists.IPV4, this.headerTrust('block', props)),
        ...ipSetRules('blocklist-ipv6', PRIORITY.blocklist + 2, this.blocklists.IPV6, this.headerTrust('block', props)),
        ...this.neighbourRules(props),
        ...managedRuleGroups(props, 'labelling'),
        ...props.rateRules.map((rule, index) =>
          rateRule(rule, PRIORITY.rate + index, props.forwardedIp, rateRuleBlockAction(props, index)),
        ),
        ...managedRuleGroups(props, 'managed'),
      ],
      ...immunity,
    });

    this.logGroup = this.logging(props);

    if (props.scope === 'REGIONAL') {
      props.associations.forEach((resourceArn, index) => {
        new wafv2.CfnWebACLAssociation(this, `Association${index}`, { resourceArn, webAclArn: this.webAcl.attrArn });
      });
    }
  }

  /**
   * Refuses what no web ACL may be built from, and warns (at synth) about what is often a mistake.
   * @returns the IP sets per family (`ipSetsPerFamily`, default DEFAULT_IP_SETS_PER_FAMILY).
   * @throws {ConfigError} naming the rate rule that counts by an untrusted header, or a bad `blocker.ipSetsPerFamily`.
   */
  private checked(props: BlocklistWebAclProps): number {
    const [untrusted] = forwardedIpProblems(props);
    if (untrusted) {
      const key = `rateRules[${untrusted.path[1]}].aggregateKey`;
      throw new ConfigError(key, `invalid configuration: ${key} ${untrusted.message}`);
    }
    // Declarations that may be right but are often a mistake: CDK prints them at synth.
    for (const { id: warningId, message } of [...forwardedIpWarnings(props), ...ruleLabelWarnings(props)]) {
      Annotations.of(this).addWarningV2(warningId, message);
    }
    const shards = props.ipSetsPerFamily ?? DEFAULT_IP_SETS_PER_FAMILY;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_IP_SETS_PER_FAMILY) {
      const key = 'blocker.ipSetsPerFamily';
      throw new ConfigError(
        key,
        `invalid configuration: ${key} must be a whole number between 1 and ${MAX_IP_SETS_PER_FAMILY}, got ${shards}`,
      );
    }
    return shards;
  }

  /**
   * How the IP set rules with `action` may read the header: BLOCK whenever a header is declared (a
   * forged one can only get its sender blocked); ALLOW only from the trusted proxies.
   */
  private headerTrust(action: IpSetRuleAction, props: BlocklistWebAclProps): HeaderTrust {
    return {
      action,
      forwardedIp: props.forwardedIp,
      proxies: action === 'allow' ? this.trustedProxies : [],
      block: blockAction(props.blockResponse, BLOCK_RESPONSE_BODY_KEY),
    };
  }

  /**
   * The neighbour rules, one per family, after the blocklist rules: WAF stops at the first
   * terminating match, so an offender in a Block set is blocked, never merely challenged, even
   * though its neighbour set holds the whole widened range around it. The header is read as a
   * blocklist reads it: a forged one can only get its sender challenged.
   */
  private neighbourRules(props: BlocklistWebAclProps): wafv2.CfnWebACL.RuleProperty[] {
    if (this.neighbours === undefined) return [];
    const trust = { ...this.headerTrust('block', props), wafAction: neighbourRuleAction(this.neighbourAction) };
    return [
      ...ipSetRules('neighbours-ipv4', PRIORITY.neighbours, this.neighbours.IPV4, trust),
      ...ipSetRules('neighbours-ipv6', PRIORITY.neighbours + 2, this.neighbours.IPV6, trust),
    ];
  }

  /** One IP set per family that `forwardedIp.trustedProxies` holds addresses of; none without it. */
  private trustedProxySets(prefix: string, forwardedIp: ForwardedIpConfig | undefined): IpSetHandle[] {
    const proxies = trustedProxiesByFamily(forwardedIp?.trustedProxies);
    const description = 'Egress addresses of your own proxy, from the waf-autoblock config. Redeploy to change';
    return (['IPV4', 'IPV6'] as const)
      .filter((family) => proxies[family].length > 0)
      .map((family) => {
        const suffix = family === 'IPV4' ? 'Ipv4' : 'Ipv6';
        const name = `${prefix}-trusted-proxies-${suffix.toLowerCase()}`;
        return this.ipSet(`TrustedProxies${suffix}`, name, family, proxies[family], description);
      });
  }

  private ipSet(
    id: string,
    name: string,
    version: 'IPV4' | 'IPV6',
    addresses: readonly string[],
    description: string,
  ): IpSetHandle {
    const ipSet = new wafv2.CfnIPSet(this, id, {
      name,
      description,
      scope: this.wafScope,
      ipAddressVersion: version,
      addresses: [...addresses],
    });
    return { ipSet, name };
  }

  /**
   * One family's blocklist (or neighbour) sets. The first keeps the id and name a one-set blocklist
   * had: a stack that grows to more sets keeps that set and its entries instead of replacing it.
   */
  private blocklistShards(
    idSuffix: string,
    name: string,
    version: 'IPV4' | 'IPV6',
    count: number,
    list: 'Blocklist' | 'Neighbours' = 'Blocklist',
  ): BlocklistShards {
    const description =
      list === 'Blocklist'
        ? 'Blocked ranges managed by waf-autoblock. Entries added by hand are kept'
        : 'Neighbours of blocked offenders, challenged, managed by waf-autoblock. Entries added by hand are kept';
    const first = this.ipSet(`${list}${idSuffix}`, name, version, [], description);
    const more = Array.from({ length: count - 1 }, (_, index) =>
      this.ipSet(`${list}${idSuffix}Set${index + 2}`, `${name}-${index + 2}`, version, [], description),
    );
    return [first, ...more];
  }

  private logging(props: BlocklistWebAclProps): logs.LogGroup {
    const stack = Stack.of(this);
    // WAF only delivers to log groups whose name starts with `aws-waf-logs-`.
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: wafLogGroupName(this, props.namePrefix),
      retention: retentionDays(props.logRetentionDays),
    });
    // WAF wants the log group ARN without the trailing `:*` that LogGroup.logGroupArn carries.
    const destinationArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: logGroup.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // The log delivery service writes on WAF's behalf; let it, and nothing else, into this group.
    const delivery = new logs.ResourcePolicy(this, 'LogDeliveryPolicy', {
      policyStatements: [
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${destinationArn}:log-stream:*`],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'logs', resource: '*' }) },
          },
        }),
      ],
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [destinationArn],
      // Secrets in these headers must never reach the logs.
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'cookie' } }],
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: props.loggedActions.map((action) => ({ ActionCondition: { Action: action } })),
          },
        ],
      },
    });
    logging.node.addDependency(delivery);
    return logGroup;
  }
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { metricName, cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true };
}

/** What an IP set rule does with a match, and when it may read the header. */
interface HeaderTrust {
  /** How the rule may read the header; also its action, unless `wafAction` says otherwise. */
  readonly action: IpSetRuleAction;
  /** The rule's action when it is not `action`'s: the neighbour rules read the header as BLOCK does. */
  readonly wafAction?: wafv2.CfnWebACL.RuleActionProperty;
  readonly forwardedIp: ForwardedIpConfig | undefined;
  /** For ALLOW: the trusted proxies' sets; the header counts only on a request from one of them. */
  readonly proxies: readonly IpSetHandle[];
  /** For BLOCK: the custom response (`blockResponse`), or `{}` for WAF's plain 403. */
  readonly block: BlockAction;
}

/**
 * The rules of one list (one IP set, or a blocklist's sets): `name` matches the connecting source
 * IP; with `forwardedIp`, a second rule `<name>-forwarded` (next priority) matches the header
 * address that the trust model lets this action read (lib/config/forwarded-ip.ts). An ALLOW rule
 * reads it only as `AND(source IP in the trusted proxies, header address in the list)`, and not
 * at all without trusted proxies: a client that skips the proxy writes the header itself
 * (lib/config/trusted-proxies.ts). A BLOCK rule needs no AND: a forged header can only get its
 * sender blocked. Two rules
 * rather than one OR: AWS WAF "doesn't apply the rule to the web request at all" when the
 * forwarded header is missing (IPSetForwardedIPConfig, AWS WAF API Reference), so inside an OR a
 * missing header could also skip the source-IP match. Several sets of one list are ORed inside
 * each rule (each reference reads the same address, so none can skip another); one set needs no OR.
 */
function ipSetRules(
  name: string,
  priority: number,
  ipSets: readonly IpSetHandle[],
  { action, forwardedIp, proxies, block, wafAction }: HeaderTrust,
): wafv2.CfnWebACL.RuleProperty[] {
  const rule = (ruleName: string, rulePriority: number, statement: wafv2.CfnWebACL.StatementProperty) => ({
    name: ruleName,
    priority: rulePriority,
    action: wafAction ?? (action === 'allow' ? { allow: {} } : { block }),
    statement,
    visibilityConfig: visibility(ruleName),
  });
  const anyOf = (
    sets: readonly IpSetHandle[],
    reference: (ipSet: wafv2.CfnIPSet) => wafv2.CfnWebACL.IPSetReferenceStatementProperty,
  ): wafv2.CfnWebACL.StatementProperty => {
    const statements = sets.map(({ ipSet }) => ({ ipSetReferenceStatement: reference(ipSet) }));
    const [only] = statements;
    return statements.length === 1 && only !== undefined ? only : { orStatement: { statements } };
  };
  const sourceIp = rule(
    name,
    priority,
    anyOf(ipSets, (ipSet) => ({ arn: ipSet.attrArn })),
  );
  const header = ipSetForwardedIp(forwardedIp, action);
  if (header === undefined || (action === 'allow' && proxies.length === 0)) return [sourceIp];
  const headerMatch = anyOf(ipSets, (ipSet) => ({ arn: ipSet.attrArn, ipSetForwardedIpConfig: header }));
  const statement =
    action === 'allow'
      ? { andStatement: { statements: [anyOf(proxies, (ipSet) => ({ arn: ipSet.attrArn })), headerMatch] } }
      : headerMatch;
  return [sourceIp, rule(forwardedRuleName(name), priority + 1, statement)];
}

/** The neighbour rule's action. */
function neighbourRuleAction(action: 'CHALLENGE' | 'CAPTCHA' | 'BLOCK'): wafv2.CfnWebACL.RuleActionProperty {
  if (action === 'CHALLENGE') return { challenge: {} };
  if (action === 'CAPTCHA') return { captcha: {} };
  return { block: {} };
}

/**
 * The web ACL's immunity setting for the neighbour action; nothing without a neighbour tier, so
 * that a one-tier web ACL stays as it was.
 * @throws {ConfigError} when `seconds` is outside WAF's range for the action.
 */
function immunityOf(
  action: NeighbourAction,
  seconds: number = IMMUNITY_SECONDS.default,
): Pick<wafv2.CfnWebACLProps, 'challengeConfig' | 'captchaConfig'> {
  if (!hasNeighbourTier(action)) return {};
  const min = action === 'CHALLENGE' ? IMMUNITY_SECONDS.challengeMin : IMMUNITY_SECONDS.min;
  if (!Number.isInteger(seconds) || seconds < min || seconds > IMMUNITY_SECONDS.max) {
    const key = 'blocker.immunityTimeSeconds';
    throw new ConfigError(
      key,
      `invalid configuration: ${key} must be a whole number between ${min} and ${IMMUNITY_SECONDS.max} with neighbourAction ${action}, got ${seconds}`,
    );
  }
  const config = { immunityTimeProperty: { immunityTime: seconds } };
  return action === 'CHALLENGE' ? { challengeConfig: config } : { captchaConfig: config };
}

function rateRule(
  rule: RateRuleConfig,
  priority: number,
  forwardedIp: ForwardedIpConfig | undefined,
  block: BlockAction,
): wafv2.CfnWebACL.RuleProperty {
  const scopeDown: wafv2.CfnWebACL.StatementProperty[] = [];
  // A client writes the path and Host header in many ways: match them as WAF normalizes them (#config/scope-down).
  if (rule.uriPathPrefix !== undefined) {
    scopeDown.push({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'STARTS_WITH',
        searchString: pathSearchString(rule.uriPathPrefix),
        textTransformations: [...PATH_TRANSFORMATIONS],
      },
    });
  }
  if (rule.host !== undefined) {
    scopeDown.push({
      regexMatchStatement: {
        fieldToMatch: { singleHeader: { Name: 'host' } },
        regexString: hostRegex(rule.host),
        textTransformations: [...HOST_TRANSFORMATIONS],
      },
    });
  }
  // Labels are ORed among themselves: the rule counts a request that carries any of them (#config/rule-labels).
  const labels = (rule.labels ?? []).map((key) => ({ labelMatchStatement: { scope: 'LABEL', key } }));
  const [onlyLabel] = labels;
  if (onlyLabel !== undefined)
    scopeDown.push(labels.length === 1 ? onlyLabel : { orStatement: { statements: labels } });
  const scopeDownStatement =
    scopeDown.length === 0
      ? undefined
      : scopeDown.length === 1
        ? scopeDown[0]
        : { andStatement: { statements: scopeDown } };
  return {
    name: rule.name,
    priority,
    action: { block },
    statement: {
      rateBasedStatement: {
        limit: rule.limit,
        evaluationWindowSec: rule.windowSeconds,
        aggregateKeyType: rule.aggregateKey,
        ...(rule.aggregateKey === 'FORWARDED_IP' ? { forwardedIpConfig: rateRuleForwardedIp(forwardedIp) } : {}),
        ...(scopeDownStatement ? { scopeDownStatement } : {}),
      },
    },
    visibilityConfig: visibility(rule.name),
  };
}

/**
 * The managed groups of one band, each at its band's priority plus its index in
 * `managedRuleGroups`: `labelling` holds those whose labels the rate rules read, `managed` the rest.
 */
function managedRuleGroups(props: BlocklistWebAclProps, band: 'labelling' | 'managed'): wafv2.CfnWebACL.RuleProperty[] {
  return props.managedRuleGroups.flatMap((name, index) =>
    LABELLING_GROUPS.includes(name) === (band === 'labelling')
      ? [managedRuleGroup(name, PRIORITY[band] + index, props.antiDdos)]
      : [],
  );
}

function managedRuleGroup(
  name: ManagedRuleGroupName,
  priority: number,
  antiDdos: AntiDdosConfig | undefined,
): wafv2.CfnWebACL.RuleProperty {
  const managedRuleGroupConfigs =
    name === ANTI_DDOS_GROUP ? [antiDdosGroupConfig(antiDdosSettings(antiDdos))] : undefined;
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ...(managedRuleGroupConfigs ? { managedRuleGroupConfigs } : {}),
      },
    },
    visibilityConfig: visibility(name),
  };
}
