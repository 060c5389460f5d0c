import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { HEALTH_ALARM_KINDS } from '#contracts/health';
import { AttackAlarm } from '../attack-alarm';
import { Blocker } from '../blocker';
import { BlocklistWebAcl } from '../blocklist-web-acl';
import { OperationsDashboard, wafRuleMetricsOf } from '../dashboard';
import { ConfigError } from '#config/config-error';
import { parseConfig } from '#config/load';
import { hasNeighbourTier } from '#config/neighbour-tier';
import type { WafAutoblockConfigInput } from '#config/schema';
import { BLOCKLIST_FULL_PERCENT, HealthAlarms, OpsChannel } from '../health';
import { LedgerTable } from '../ledger-table';
import { Notifier } from '../notifier';
import { namePrefixOf } from './name-prefix';
import { applyRemovalPolicies, cdkRemovalPolicy } from './removal-policy';

/**
 * Props of {@link WafAutoblock}: the protection part of the configuration (see docs/configuration.md
 * for every key). Every field is optional; defaults are the documented ones.
 */
export interface WafAutoblockProps {
  /**
   * `CLOUDFRONT` for distributions (the stack must be in us-east-1) or `REGIONAL` for ALBs, API Gateways and the like.
   * @default 'CLOUDFRONT'
   */
  readonly scope?: WafAutoblockConfigInput['scope'];
  /**
   * Prefix of the WAF resource names, metric names and the `aws-waf-logs-` log group: 1 to 100
   * letters, digits, `-` or `_`. Must differ between deployments in one account and region.
   * @default the name of the stack the construct is in (`Stack.of(this).stackName`), shortened
   *   with a digest when longer than 100 characters
   */
  readonly namePrefix?: string;
  /**
   * Rate-based rules, in evaluation order.
   * @default one rule `rate-all`: 2,000 requests per 300 s per source IP, over all requests
   */
  readonly rateRules?: WafAutoblockConfigInput['rateRules'];
  /**
   * The header that your own proxy in front of WAF (a CDN or load balancer that every request
   * passes) writes the client's address into, and whether it `overwrites` or `appends` to it.
   * Needed by `FORWARDED_IP` rate rules (with `overwrites`); see docs/forwarded-ip.md.
   * @default none: no header is trusted; allowlist and blocklist match the connecting source IP only
   */
  readonly forwardedIp?: WafAutoblockConfigInput['forwardedIp'];
  /**
   * CIDRs that are always allowed and never blocked.
   * @default []
   */
  readonly allowlist?: readonly string[];
  /**
   * AWS managed rule groups, after the rate rules; `AWSManagedRulesAntiDDoSRuleSet` (configured by
   * `antiDdos`) after the blocklist and before the rate rules, so that `rateRules[].labels` can read its labels.
   * @default ['AWSManagedRulesAmazonIpReputationList']
   */
  readonly managedRuleGroups?: WafAutoblockConfigInput['managedRuleGroups'];
  /**
   * What a client blocked by the blocklist or a rate rule sees: `statusCode` (4xx or 5xx that WAF
   * supports), an optional `body` (at most 4,096 bytes) with its `contentType`, and an optional
   * `retryAfterSeconds`; a rate rule's own `blockResponse` wins for that rule. See docs/configuration.md.
   * @default none: WAF's plain 403 with an empty body
   */
  readonly blockResponse?: WafAutoblockConfigInput['blockResponse'];
  /**
   * Settings of `AWSManagedRulesAntiDDoSRuleSet`, when `managedRuleGroups` lists it: `challenge`
   * (`usage`, `sensitivity`, `exemptUriRegularExpressions`) and `blockSensitivity`. See
   * docs/configuration.md.
   * @default challenges ENABLED at HIGH sensitivity except API and asset paths; block at LOW
   */
  readonly antiDdos?: WafAutoblockConfigInput['antiDdos'];
  /**
   * Most web ACL capacity units (WCUs) the rules may use; more is refused (ConfigError).
   * @default 1500, what the web ACL's base price includes (up to 5,000, which WAF charges extra for)
   */
  readonly webAclCapacityLimit?: number;
  /**
   * What `cdk destroy` does with the ledger table and the log groups: `retain` or `destroy`.
   * KMS keys are always destroyed (scheduled, 30-day wait): nothing retained is encrypted with them.
   * @default { ledger: 'retain', logs: 'retain' }
   */
  readonly removalPolicy?: WafAutoblockConfigInput['removalPolicy'];
  /**
   * WAF log retention and which actions are logged.
   * @default 30 days, BLOCK only
   */
  readonly logging?: WafAutoblockConfigInput['logging'];
  /**
   * The BlockedRequests alarm.
   * @default at least 3,000 blocked requests in one 300 s period
   */
  readonly alarm?: WafAutoblockConfigInput['alarm'];
  /**
   * Regional resource ARNs to protect (REGIONAL scope only).
   * @default []
   */
  readonly associations?: readonly string[];
  /**
   * The blocker: schedule, gate, block duration, prefixes, dry run, concurrency, log retention,
   * the ARNs of more IP sets (this account) that get the same managed ranges, and the blocklist IP
   * sets per family (`ipSetsPerFamily`, 10,000 ranges each).
   * @default every 5 minutes and on ALARM; collects only while the alarm is in ALARM; blocks /24 and /64 for 240 minutes after last seen; no shared IP sets; 2 blocklist IP sets per family
   */
  readonly blocker?: WafAutoblockConfigInput['blocker'];
  /**
   * The Telegram notifier: chats, API URL, summary window, an existing token secret, list length, log retention.
   * @default no chats (messages are only logged), a new secret for the bot token, 15-minute summaries
   */
  readonly notifier?: WafAutoblockConfigInput['notifier'];
  /**
   * One CloudWatch dashboard (`<namePrefix>-<region>`): alarms, traffic by rule, blocker activity
   * and runs, blocklist fill, Telegram delivery.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Whether the construct adds the stack outputs an operator and the `waf-autoblock` CLI use:
   * BlockerFunctionName, BlockerLogGroupName, OpsTopicArn, DeadLetterQueueUrl, BanFeedTopicArn,
   * TestAlertCommand, SetTelegramTokenCommand, and DashboardUrl when there is a dashboard. CDK makes
   * their keys unique per construct (the construct's path and a hash before the name, e.g.
   * `ProtectionOpsTopicArn1A2B3C4D`); the CLI finds them by the name's end. The app's own stack sets
   * this to `false` and emits the same outputs under the plain names.
   * @default true
   */
  readonly outputs?: boolean;
}

/**
 * Everything waf-autoblock deploys into one stack: the web ACL with its allowlist, blocklist and rate
 * rules, its logs, the BlockedRequests alarm with its ALARM and OK topics, the blocker with its
 * ledger and its ban feed topic, and the notifier.
 * Add it to your own stack to protect an existing application.
 *
 * @throws {ConfigError} when a prop is invalid; the message names it.
 */
export class WafAutoblock extends Construct {
  /** Prefix of this deployment's WAF names, alarm names and metric service names. */
  readonly namePrefix: string;
  readonly webAcl: BlocklistWebAcl;
  readonly attackAlarm: AttackAlarm;
  readonly ledger: LedgerTable;
  readonly blocker: Blocker;
  readonly notifier: Notifier;
  /** The ops topic (health alarms; `notifier.opsEmail` subscribes to it) and the dead-letter queue. */
  readonly ops: OpsChannel;
  /** One alarm per health alarm kind, publishing to the ops topic. */
  readonly health: HealthAlarms;
  /**
   * Runs the blocker once when the stack is first deployed, after the function and before the
   * health alarms exist, so that `blocker-stopped` finds a run and a clean deploy pages nobody.
   */
  readonly firstRun: triggers.Trigger;
  /** The operations dashboard; undefined with `dashboard: false`. */
  readonly dashboard?: OperationsDashboard;

  constructor(scope: Construct, id: string, props: WafAutoblockProps = {}) {
    super(scope, id);
    const { namePrefix, outputs = true, ...rest } = props;
    const config = parseConfig({
      ...rest,
      allowlist: rest.allowlist ? [...rest.allowlist] : undefined,
      associations: rest.associations ? [...rest.associations] : undefined,
    });
    const prefix = namePrefixOf(this, namePrefix);
    refuseMisplaced(this, config.scope, prefix);
    this.namePrefix = prefix;

    this.webAcl = new BlocklistWebAcl(this, 'WebAcl', {
      namePrefix: prefix,
      scope: config.scope,
      rateRules: config.rateRules,
      forwardedIp: config.forwardedIp,
      allowlist: config.allowlist,
      managedRuleGroups: config.managedRuleGroups,
      blockResponse: config.blockResponse,
      antiDdos: config.antiDdos,
      logRetentionDays: config.logging.retentionDays,
      loggedActions: config.logging.actions,
      associations: config.associations,
      ipSetsPerFamily: config.blocker.ipSetsPerFamily,
      neighbourAction: config.blocker.neighbourAction,
      immunityTimeSeconds: config.blocker.immunityTimeSeconds,
    });
    this.attackAlarm = new AttackAlarm(this, 'Alarm', {
      scope: config.scope,
      webAclName: this.webAcl.webAclName,
      threshold: config.alarm.threshold,
      periodSeconds: config.alarm.periodSeconds,
      evaluationPeriods: config.alarm.evaluationPeriods,
    });
    this.ledger = new LedgerTable(this, 'Ledger', { removalPolicy: cdkRemovalPolicy(config.removalPolicy.ledger) });
    applyRemovalPolicies(this, config.removalPolicy);
    this.ops = new OpsChannel(this, 'Ops', {
      key: this.attackAlarm.key,
      opsEmail: config.notifier.opsEmail ?? undefined,
    });
    this.blocker = new Blocker(this, 'Blocker', {
      namePrefix: prefix,
      deadLetters: this.ops.deadLetters,
      scope: config.scope,
      webAcl: this.webAcl,
      attackAlarm: this.attackAlarm,
      ledger: this.ledger,
      topicKey: this.attackAlarm.key,
      schedule: config.blocker.schedule,
      gate: config.blocker.gate,
      blockDurationMinutes: config.blocker.blockDurationMinutes,
      ipv4Prefix: config.blocker.ipv4Prefix,
      ipv6Prefix: config.blocker.ipv6Prefix,
      offenderPrefixLength: config.blocker.offenderPrefixLength,
      dryRun: config.blocker.dryRun,
      reservedConcurrency: config.blocker.reservedConcurrency ?? undefined,
      memorySize: config.blocker.memorySize,
      logRetentionDays: config.blocker.logRetentionDays,
      sharedIpSets: config.blocker.sharedIpSets,
    });
    this.notifier = new Notifier(this, 'Notifier', {
      namePrefix: prefix,
      opsTopic: this.ops.topic,
      deadLetters: this.ops.deadLetters,
      blockerLogGroup: this.blocker.handler.logGroup,
      scope: config.scope,
      webAcl: this.webAcl,
      attackAlarm: this.attackAlarm,
      reportsTopic: this.blocker.reportsTopic,
      ledger: this.ledger,
      chatIds: config.notifier.chatIds,
      telegramApiUrl: config.notifier.telegramApiUrl,
      summaryMinutes: config.notifier.summaryMinutes,
      maxListedRanges: config.notifier.maxListedRanges,
      existingSecretName: config.notifier.existingSecretName,
      logRetentionDays: config.notifier.logRetentionDays,
    });
    // With a neighbour tier, its sets' fill is watched and drawn beside the blocklists'.
    const { neighbourAction } = config.blocker;
    const neighbours = hasNeighbourTier(neighbourAction) ? { neighbourAction } : {};
    this.health = new HealthAlarms(this, 'Health', {
      namePrefix: prefix,
      channel: this.ops,
      blocker: this.blocker.handler,
      attackTick: this.blocker.attackTick,
      notifier: this.notifier.handler,
      schedule: config.blocker.schedule,
      ...neighbours,
    });
    this.firstRun = firstBlockerRun(this, this.blocker, this.health);
    if (config.dashboard) {
      this.dashboard = new OperationsDashboard(this, 'Dashboard', {
        namePrefix: prefix,
        scope: config.scope,
        webAclName: this.webAcl.webAclName,
        rules: wafRuleMetricsOf(this.webAcl.webAcl),
        blocker: this.blocker.handler,
        notifier: this.notifier.handler,
        attackAlarm: this.attackAlarm.alarm,
        healthAlarms: HEALTH_ALARM_KINDS.map((kind) => this.health.alarms[kind]),
        deadLetters: this.ops.deadLetters,
        nearlyFullPercent: BLOCKLIST_FULL_PERCENT,
        ipSetsPerFamily: config.blocker.ipSetsPerFamily,
        ...neighbours,
      });
    }
    if (outputs) addOperatorOutputs(this);
  }
}

/**
 * What the operator CLI looks up (cli/deployment.ts) and what an operator uses first, in any app:
 * ids unique per construct, each description naming the construct's path.
 */
function addOperatorOutputs(protection: WafAutoblock): void {
  const region = Stack.of(protection).region;
  const what = `waf-autoblock ${protection.node.path}`;
  const outputs: Record<string, { readonly description: string; readonly value: string }> = {
    BlockerFunctionName: {
      description: `${what}: the blocker function (read by the waf-autoblock CLI)`,
      value: protection.blocker.handler.function.functionName,
    },
    BlockerLogGroupName: {
      description: `${what}: the blocker's log group (read by waf-autoblock status)`,
      value: protection.blocker.handler.logGroup.logGroupName,
    },
    OpsTopicArn: {
      description: `${what}: the health alarms publish here; subscribe more people with aws sns subscribe`,
      value: protection.ops.topic.topicArn,
    },
    DeadLetterQueueUrl: {
      description: `${what}: events that failed for good (ban-feed messages, alarms, reports), kept 14 days`,
      value: protection.ops.deadLetters.queueUrl,
    },
    BanFeedTopicArn: {
      description: `${what}: hosts publish ban and unban messages here (see docs/ban-feed.md)`,
      value: protection.blocker.feedTopic.topicArn,
    },
    TestAlertCommand: {
      description: `${what}: publishes a test message to the alert topic`,
      value: `aws sns publish --region ${region} --topic-arn ${protection.attackAlarm.alertTopic.topicArn} --message test`,
    },
    SetTelegramTokenCommand: {
      description: `${what}: stores the bot token (replace <token>); the notifier uses it within 5 minutes`,
      value: `aws secretsmanager put-secret-value --region ${region} --secret-id ${protection.notifier.botTokenSecretId} --secret-string '<token>'`,
    },
    ...(protection.dashboard === undefined
      ? {}
      : {
          DashboardUrl: {
            description: `${what}: the dashboard in the CloudWatch console`,
            value: protection.dashboard.url,
          },
        }),
  };
  for (const [id, output] of Object.entries(outputs)) new CfnOutput(protection, id, output);
}

/**
 * The blocker's first run, during the first deploy: without it, `blocker-stopped` (no run for three
 * schedule intervals, missing data breaching) sees three empty periods when it is created and goes
 * to ALARM before the schedule's first tick. The run is invoked synchronously (its event is `{}`,
 * which the blocker treats like a scheduled run: it reads the alarm's state itself) after the
 * function exists and before the health alarms are created; CloudWatch reads data points from
 * before an alarm was created when it first evaluates it. A first run that fails fails the deploy,
 * with the blocker's error in the stack events: a blocker that cannot run is found at deploy time.
 * Not run again when only the code changes (`executeOnHandlerChange: false`).
 */
function firstBlockerRun(scope: Construct, blocker: Blocker, health: HealthAlarms): triggers.Trigger {
  const trigger = new triggers.Trigger(scope, 'FirstRun', {
    handler: blocker.handler.function,
    invocationType: triggers.InvocationType.REQUEST_RESPONSE,
    // The blocker's own timeout is 60 s; this is how long the deploy waits for its answer.
    timeout: Duration.minutes(2),
    executeOnHandlerChange: false,
    // After the function without executeAfter: the trigger names a version of it, and the function
    // already waits for its role's policy and everything its environment names.
    executeBefore: [health],
  });
  // The trigger names a published version of the function; CDK keeps old versions by default, one
  // more per code change, which nothing here invokes again.
  blocker.handler.function.currentVersion.applyRemovalPolicy(RemovalPolicy.DESTROY);
  return trigger;
}

/**
 * Refuses what CloudFormation would only refuse at deploy time, or with a message that does not say
 * why: a CLOUDFRONT web ACL outside us-east-1, and a second construct in the same stack with the same
 * name prefix (its web ACL, IP sets and alarms would take the first one's names).
 * @throws {ConfigError} naming `scope` or `namePrefix`.
 */
function refuseMisplaced(construct: WafAutoblock, scope: 'CLOUDFRONT' | 'REGIONAL', prefix: string): void {
  const stack = Stack.of(construct);
  if (scope === 'CLOUDFRONT' && !Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
    throw new ConfigError(
      'scope',
      `invalid configuration: scope CLOUDFRONT needs a stack in us-east-1 (AWS keeps CloudFront web ACLs there), got stack ${stack.stackName} in ${stack.region}`,
    );
  }
  const twin = stack.node
    .findAll()
    .find(
      (other) =>
        other !== construct &&
        other instanceof WafAutoblock &&
        Stack.of(other) === stack &&
        other.namePrefix === prefix,
    );
  if (twin !== undefined) {
    throw new ConfigError(
      'namePrefix',
      `invalid configuration: namePrefix ${JSON.stringify(prefix)} of ${construct.node.path} is already used by ${twin.node.path} in the same stack; give each WafAutoblock its own namePrefix (WAF, alarm and metric names are made from it)`,
    );
  }
}
