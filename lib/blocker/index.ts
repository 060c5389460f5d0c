import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ATTACK_TICK_SCHEDULE,
  ATTACK_TICK_SOURCE,
  BLOCKER_MEMORY_MB,
  BLOCKER_TIMEOUT_SECONDS,
} from '#contracts/attack-mode';
import { BLOCKER_ENV, NEIGHBOUR_TIER_ENV } from '#contracts/blocker-environment';
import { parseIpSetArn } from '#contracts/ip-set';
import { LEDGER_SCHEMA } from '#contracts/ledger-schema';
import type { AttackAlarm } from '../attack-alarm';
import { sharedIpSetAccountProblem } from '#config/account';
import { ConfigError } from '#config/config-error';
import { scheduleProblem } from '#config/schedule';
import { AutoblockFunction } from '../autoblock-function';
import { ipSetAddress, shardAddresses, type BlocklistWebAcl, type WafScope } from '../blocklist-web-acl';
import type { LedgerTable } from '../ledger-table';

/** Props of {@link Blocker}. */
export interface BlockerProps {
  /** The deployment's name prefix: the function's service name is `<namePrefix>-blocker`. */
  readonly namePrefix: string;
  readonly scope: WafScope;
  readonly webAcl: BlocklistWebAcl;
  readonly attackAlarm: AttackAlarm;
  readonly ledger: LedgerTable;
  /** Key that encrypts the reports and ban feed topics (the alarm topics' key). */
  readonly topicKey: kms.IKey;
  /** EventBridge schedule expression, e.g. `rate(5 minutes)`. */
  readonly schedule: string;
  readonly gate: 'alarm' | 'always';
  readonly blockDurationMinutes: number;
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  /**
   * The prefix an offender is blocked by when the web ACL has a neighbour tier
   * (`webAcl.neighbours`): the widened range then goes to the neighbour sets.
   * @default { ipv4: 32, ipv6: 128 }: the exact address
   */
  readonly offenderPrefixLength?: { readonly ipv4: number; readonly ipv6: number };
  readonly dryRun: boolean;
  /**
   * Reserved concurrency; undefined leaves the function unreserved. The configuration's default is
   * BLOCKER_RESERVED_CONCURRENCY (3): attack mode's pollers and a ban-feed run side by side, one run
   * at a time under the run lock. AWS refuses a reservation that leaves the account fewer than 100
   * unreserved executions (so none in an account whose limit is 10).
   */
  readonly reservedConcurrency?: number;
  /**
   * The function's memory in MB (128 to 10,240), which sets its CPU too.
   * @default BLOCKER_MEMORY_MB (1,769: one vCPU)
   */
  readonly memorySize?: number;
  readonly logRetentionDays: number;
  /**
   * ARNs of more WAFv2 IP sets, in this account (other web ACLs, regions or scopes), that get the
   * same managed ranges as the blocklists.
   * @default []
   */
  readonly sharedIpSets?: readonly string[];
  /**
   * Where an asynchronous invocation (a schedule tick, an alarm, a ban-feed message) goes with its
   * error once Lambda's retries are spent.
   */
  readonly deadLetters: sqs.IQueue;
}

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../lambdas/blocker/handler.ts');

/**
 * The blocker: runs on a schedule and the moment the alarm fires, takes the addresses the rate rules
 * are limiting, and keeps their ranges in the blocklist IP sets (and any shared ones) until they
 * expire. Reports what it changed to the `Reports` topic. Other hosts push bans and unbans to the
 * `BanFeed` topic, with the `BanFeedPublisher` managed policy attached to their role or user.
 *
 * @throws {ConfigError} when a shared IP set ARN is not a WAFv2 IP set ARN of this stack's account,
 *   or the schedule is not one EventBridge accepts.
 */
export class Blocker extends Construct {
  readonly handler: AutoblockFunction;
  readonly reportsTopic: sns.Topic;
  /** Ban and unban messages from other hosts (fail2ban, CrowdSec, scripts); the blocker consumes them. */
  readonly feedTopic: sns.Topic;
  /** Lets whoever it is attached to publish to {@link feedTopic}, and nothing else. */
  readonly feedPublisherPolicy: iam.ManagedPolicy;
  /** The `scheduled` alias that the schedule rule invokes; its metrics count the scheduled runs only. */
  readonly scheduled: lambda.Alias;
  /** The `attack-tick` alias that the 1-minute attack tick invokes; undefined with gate `always`. */
  readonly attackTick?: lambda.Alias;

  constructor(scope: Construct, id: string, props: BlockerProps) {
    super(scope, id);
    const { attackAlarm, ledger } = props;
    const sharedIpSets = props.sharedIpSets ?? [];
    this.validateSharedIpSets(sharedIpSets);

    this.reportsTopic = new sns.Topic(this, 'Reports', { masterKey: props.topicKey, enforceSSL: true });

    // Timeout: a run is a handful of AWS round trips (one in steady state, four when something
    // changes: npm run bench), but lock conflicts back off and adaptive retry may wait out WAF
    // throttling; 60 s leaves room for both (ROUND_ALLOWANCE_MS). While the alarm is in ALARM a run
    // goes on in rounds every 15 s for 30 s (attack mode, lambdas/blocker/attack-mode.ts), so the
    // timeout is 120 s; a run in peace still ends after its one round. Memory: the worst-case
    // core pass (20,000 keys against a full 10,000-entry set) peaks at about 180 MB resident in the
    // bench process; the default is set for CPU, which Lambda grants in proportion to memory
    // (BLOCKER_MEMORY_MB).
    this.handler = new AutoblockFunction(this, 'Blocker', {
      entry: HANDLER,
      description: 'waf-autoblock blocker: keeps rate-limited ranges in the WAF blocklist until they expire',
      // Per deployment: the `service` dimension of the metrics the health alarms watch.
      serviceName: `${props.namePrefix}-blocker`,
      timeout: Duration.seconds(BLOCKER_TIMEOUT_SECONDS),
      memorySize: props.memorySize ?? BLOCKER_MEMORY_MB,
      logRetentionDays: props.logRetentionDays,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        [BLOCKER_ENV.scope]: props.scope,
        [BLOCKER_ENV.gate]: props.gate,
        [BLOCKER_ENV.blockDurationMinutes]: String(props.blockDurationMinutes),
        [BLOCKER_ENV.ipv4Prefix]: String(props.ipv4Prefix),
        [BLOCKER_ENV.ipv6Prefix]: String(props.ipv6Prefix),
        [BLOCKER_ENV.dryRun]: String(props.dryRun),
      },
    });
    this.configureRetries(props.deadLetters);
    this.grantWebAcl(props);
    this.grantLedger(ledger);
    this.reportsTo(props.topicKey);
    [this.feedTopic, this.feedPublisherPolicy] = this.banFeed(props.topicKey);
    // Shared IP sets: read and replace exactly these, wherever they are; no statement when none.
    this.handler.addEnvironment(BLOCKER_ENV.sharedIpSets, JSON.stringify(sharedIpSets));
    if (sharedIpSets.length > 0) this.allow(['wafv2:GetIPSet', 'wafv2:UpdateIPSet'], [...sharedIpSets]);
    [this.scheduled, this.attackTick] = this.triggers(props.schedule, props.gate, attackAlarm);
  }

  /** Adds a statement allowing `actions` on `resources` to the function's role. */
  private allow(actions: string[], resources: string[]): void {
    this.handler.role.addToPolicy(new iam.PolicyStatement({ actions, resources }));
  }

  /**
   * Lambda's defaults, now said: a failed event is tried twice more, and for up to 6 hours (both
   * the most Lambda allows), so that a ban-feed message outlives a short outage; after that it
   * waits in the dead-letter queue instead of vanishing. A repeated run is harmless (a run
   * reconciles from what it reads), and an old alarm event is checked against the alarm itself.
   */
  private configureRetries(deadLetters: sqs.IQueue): void {
    this.handler.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(deadLetters),
    });
  }

  /** The web ACL's rules, blocklists, neighbour sets, allowlists and alarm: where they are, and what the run may do to each. */
  private grantWebAcl(props: BlockerProps): void {
    const fn = this.handler;
    const { webAcl, attackAlarm } = props;
    // Rate rules' managed keys and sampled requests: read-only, on this web ACL only.
    fn.addEnvironment(BLOCKER_ENV.webAclName, webAcl.webAclName);
    fn.addEnvironment(BLOCKER_ENV.webAclId, webAcl.webAcl.attrId);
    fn.addEnvironment(BLOCKER_ENV.webAclArn, webAcl.webAcl.attrArn);
    fn.addEnvironment(BLOCKER_ENV.rateRules, JSON.stringify(webAcl.rateRuleNames));
    this.allow(['wafv2:GetRateBasedStatementManagedKeys', 'wafv2:GetSampledRequests'], [webAcl.webAcl.attrArn]);

    // The blocklists: read and replace these sets only, every set of both families.
    fn.addEnvironment(BLOCKER_ENV.blocklistIpv4, shardAddresses(this, webAcl.blocklists.IPV4));
    fn.addEnvironment(BLOCKER_ENV.blocklistIpv6, shardAddresses(this, webAcl.blocklists.IPV6));
    this.allow(
      ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'],
      [...webAcl.blocklists.IPV4, ...webAcl.blocklists.IPV6].map((handle) => handle.ipSet.attrArn),
    );

    // The neighbour tier, when the web ACL has one: its sets, read and replaced like the blocklists.
    const { neighbours } = webAcl;
    if (neighbours !== undefined) {
      const offender = props.offenderPrefixLength ?? { ipv4: 32, ipv6: 128 };
      fn.addEnvironment(NEIGHBOUR_TIER_ENV.neighbourAction, webAcl.neighbourAction);
      fn.addEnvironment(NEIGHBOUR_TIER_ENV.neighboursIpv4, shardAddresses(this, neighbours.IPV4));
      fn.addEnvironment(NEIGHBOUR_TIER_ENV.neighboursIpv6, shardAddresses(this, neighbours.IPV6));
      fn.addEnvironment(NEIGHBOUR_TIER_ENV.offenderPrefixIpv4, String(offender.ipv4));
      fn.addEnvironment(NEIGHBOUR_TIER_ENV.offenderPrefixIpv6, String(offender.ipv6));
      this.allow(
        ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'],
        [...neighbours.IPV4, ...neighbours.IPV6].map((handle) => handle.ipSet.attrArn),
      );
    }

    // The allowlists: read only, so that an address allowed by hand is never blocked either.
    fn.addEnvironment(BLOCKER_ENV.allowlistIpv4, ipSetAddress(webAcl.allowlistIpv4));
    fn.addEnvironment(BLOCKER_ENV.allowlistIpv6, ipSetAddress(webAcl.allowlistIpv6));
    this.allow(['wafv2:GetIPSet'], [webAcl.allowlistIpv4.ipSet.attrArn, webAcl.allowlistIpv6.ipSet.attrArn]);

    // The gate: this alarm's state only.
    fn.addEnvironment(BLOCKER_ENV.alarmName, attackAlarm.alarm.alarmName);
    this.allow(['cloudwatch:DescribeAlarms'], [attackAlarm.alarm.alarmArn]);
  }

  /** The ledger: item updates on the table, queries on the sparse index; no scans, no deletes of rows. */
  private grantLedger(ledger: LedgerTable): void {
    this.handler.addEnvironment(BLOCKER_ENV.ledgerTable, ledger.table.tableName);
    this.allow(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [ledger.table.tableArn]);
    this.allow(
      ['dynamodb:Query'],
      [LEDGER_SCHEMA.shardIndex, LEDGER_SCHEMA.activeIndex].map((index) => `${ledger.table.tableArn}/index/${index}`),
    );
    // The write-ahead intent (lambdas/adapters/ledger.ts writeIntent, dropIntent) is put and deleted
    // whole, and the condition limits both to the intent items: no range row can be put over or
    // deleted. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
    this.handler.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [ledger.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LEDGER_SCHEMA.intentKeyPrefix}*`] },
        },
      }),
    );
  }

  /** Reports: publish to the reports topic, with the key that encrypts it. */
  private reportsTo(topicKey: kms.IKey): void {
    this.handler.addEnvironment(BLOCKER_ENV.reportsTopicArn, this.reportsTopic.topicArn);
    this.allow(['sns:Publish'], [this.reportsTopic.topicArn]);
    this.allow(['kms:GenerateDataKey', 'kms:Decrypt'], [topicKey.keyArn]);
  }

  /**
   * The ban feed: other hosts publish to it, the blocker runs on each message. Its records are told
   * from the alarm's by this topic's ARN.
   * @returns the topic, and the managed policy that lets a host publish to it.
   */
  private banFeed(topicKey: kms.IKey): [sns.Topic, iam.ManagedPolicy] {
    const topic = new sns.Topic(this, 'BanFeed', { masterKey: topicKey, enforceSSL: true });
    topic.addSubscription(new subscriptions.LambdaSubscription(this.handler.function));
    this.handler.addEnvironment(BLOCKER_ENV.feedTopicArn, topic.topicArn);
    // Publishing to a KMS-encrypted topic needs the key too. The key policy delegates to IAM (CDK's
    // default), so this policy alone is enough for a role or user of this account.
    const publisher = new iam.ManagedPolicy(this, 'BanFeedPublisher', {
      description:
        'waf-autoblock: publish ban and unban messages to the ban feed topic; attach to the hosts that push bans',
      statements: [
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }),
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [topicKey.keyArn],
        }),
      ],
    });
    return [topic, publisher];
  }

  /**
   * Triggers: the schedule keeps expiry going; the alarm starts a run at once when an attack begins.
   * The schedule invokes an alias whose failed events are neither retried nor kept in the
   * dead-letter queue: the next tick repeats the run, and blocker-failing already reports a
   * failing blocker (the queue is for events that would otherwise be lost: feed, alarm, reports).
   * @returns the `scheduled` alias, and the `attack-tick` alias (gate `alarm` only).
   */
  private triggers(
    schedule: string,
    gate: BlockerProps['gate'],
    attackAlarm: AttackAlarm,
  ): [lambda.Alias, lambda.Alias | undefined] {
    const fn = this.handler;
    const scheduled = new lambda.Alias(this, 'Scheduled', {
      aliasName: 'scheduled',
      version: fn.function.currentVersion,
      retryAttempts: 0,
    });
    new events.Rule(this, 'Schedule', {
      description: 'Runs the waf-autoblock blocker',
      schedule: blockerSchedule(schedule),
      targets: [new targets.LambdaFunction(scheduled, { retryAttempts: 0 })],
    });
    attackAlarm.alertTopic.addSubscription(new subscriptions.LambdaSubscription(fn.function));
    // CDK warns at every permission on a function that has versions. Each alias gets its own
    // Lambda::Permission from its rule target; SNS and the other callers invoke the function
    // unqualified, which is what the function's own permissions allow.
    Annotations.of(fn.function).acknowledgeWarning(
      '@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias',
      'aliases carry their own invoke permissions; unqualified callers use the function',
    );
    return [scheduled, gate === 'alarm' ? this.attackTickAlias() : undefined];
  }

  /**
   * Attack mode's tick: each minute, one DescribeAlarms; while the alarm is in ALARM, rounds every
   * 15 s for half the minute. Not with gate `always`, which does not read the alarm. Through its
   * own alias: a tick that fails or waits a minute is dropped (the next one replaces it), instead
   * of being retried and then kept in the dead-letter queue 1,440 times a day.
   */
  private attackTickAlias(): lambda.Alias {
    const tick = new lambda.Alias(this, 'AttackTickAlias', {
      aliasName: 'attack-tick',
      version: this.handler.function.currentVersion,
      retryAttempts: 0,
      maxEventAge: Duration.seconds(60),
    });
    new events.Rule(this, 'AttackTick', {
      description: 'waf-autoblock attack mode: runs the blocker each minute while the attack alarm is in ALARM',
      schedule: events.Schedule.expression(ATTACK_TICK_SCHEDULE),
      targets: [
        new targets.LambdaFunction(tick, {
          retryAttempts: 0,
          event: events.RuleTargetInput.fromObject({ source: ATTACK_TICK_SOURCE, time: events.EventField.time }),
        }),
      ],
    });
    return tick;
  }

  /**
   * The handler refuses to start with a bad ARN, and the blocker's role can write IP sets only in
   * its own account: refuse both at synth instead, naming the key. The stack's account is known
   * when the app names it (the `account` key, or the CLI's credentials); an environment-agnostic
   * stack cannot be checked here.
   */
  private validateSharedIpSets(arns: readonly string[]): void {
    const account = Stack.of(this).account;
    arns.forEach((arn, index) => {
      const key = `blocker.sharedIpSets[${index}]`;
      if (parseIpSetArn(arn) === undefined)
        throw new ConfigError(key, `invalid configuration: ${key} is not a WAFv2 IP set ARN: ${arn}`);
      if (Token.isUnresolved(account)) return;
      const problem = sharedIpSetAccountProblem(arn, account, "the stack's account");
      if (problem !== undefined) throw new ConfigError(key, `invalid configuration: ${key} ${problem}`);
    });
  }
}

/**
 * The EventBridge schedule for an expression that `blocker.schedule` accepts. Checked here as well,
 * for apps that build the construct without the configuration.
 * @throws {ConfigError} naming `blocker.schedule` when EventBridge would refuse the expression.
 */
export function blockerSchedule(expression: string): events.Schedule {
  const problem = scheduleProblem(expression);
  if (problem !== undefined)
    throw new ConfigError('blocker.schedule', `invalid configuration: blocker.schedule ${problem}`);
  return events.Schedule.expression(expression);
}
