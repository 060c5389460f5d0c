/**
 * Blocker Lambda entry: wires the adapters to the run and turns its summary into one log line and
 * metrics. Clients and settings are created once per module so warm invocations reuse them.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { Context, ScheduledEvent, SNSEvent } from 'aws-lambda';
import { createCloudWatchClient, readAlarmState, type AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createSnsClient } from '#adapters/reports';
import { createWafClient } from '#adapters/waf';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import type { Family } from '#core/types';
import { BLOCKLIST_ENTRIES_METRICS, HEALTH_METRICS } from '#contracts/health';
import { readBlockerSettings } from '#contracts/blocker-environment';
import { primeDecisionPath } from './prime';
import { isAttackTick, pollsWhileAttacked, pollWhileAttacked, runLockWaitMs, type PollingClock } from './attack-mode';
import type { RejectedFeedMessage } from './feed';
import { runBlocker, type BlockerDeps, type RunSummary, type Trigger } from './run';
import { withRunLock } from './run-lock';
import { message } from './run/types';
import { triggerOf } from './trigger';

/**
 * One WAF client per region, created on first use and kept: shared IP sets may live in other
 * regions (a CLOUDFRONT set in us-east-1 beside a REGIONAL deployment), and a warm invocation
 * should reuse the connections of the last one.
 */
export function wafClientsByRegion(
  create: (region: string) => WAFV2Client = (region) => createWafClient({ region }),
): (region: string) => WAFV2Client {
  const clients = new Map<string, WAFV2Client>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = create(region);
      clients.set(region, client);
    }
    return client;
  };
}

const logger = new Logger();
const metrics = new Metrics();
const settings = readBlockerSettings(process.env);
const ledgerClient = createLedgerClient();
const deps: BlockerDeps = {
  waf: createWafClient(),
  wafIn: wafClientsByRegion(),
  cloudwatch: createCloudWatchClient(),
  sns: createSnsClient(),
  ledger: new Ledger(ledgerClient, settings.ledgerTable),
  pending: new PendingReports(ledgerClient, settings.ledgerTable),
  logger,
};

/**
 * Primes the run's decision path (./prime) during init, before the first invocation: one INFO line
 * with what it went through and its `ms`, or one warning with the error. Never rejects, whatever
 * `prime` throws (a first attack would only meet code V8 has not compiled yet).
 * @param prime - What primes; the deployment's own priming by default (given by tests).
 * @param log - Where the line goes; the handler's logger by default.
 */
export async function primeAtInit(
  prime: () => Promise<object> = () => primeDecisionPath(settings),
  log: Pick<Logger, 'info' | 'warn'> = logger,
): Promise<void> {
  const started = performance.now();
  try {
    const primed = await prime();
    log.info('decision path primed', { ...primed, ms: Math.round(performance.now() - started) });
  } catch (error) {
    log.warn('priming failed; a first attack will meet code V8 has not compiled', { error: message(error) });
  }
}

await primeAtInit();

/** Real time for the polling loop. */
const clock: PollingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Runs the blocker for one event: once, or, while the alarm is in ALARM, in rounds every 15 s for
 * 30 s (attack mode, see attack-mode.ts). Each round is a whole run under the run lock, with its own
 * summary line and metrics. The 1-minute attack tick runs nothing unless the alarm is in ALARM.
 * @returns The last round's summary; undefined for an attack tick that found no attack.
 * @throws what a round throws (a ReadError or WriteError), after its error line and metrics.
 */
export async function handler(
  event: ScheduledEvent | SNSEvent | undefined,
  context: Context,
): Promise<RunSummary | undefined> {
  logger.addContext(context);
  if (isAttackTick(event)) return attackTick(context);
  const { trigger, rejected, untrustedAlarmMessage } = triggerOf(event, settings);
  logRejected(rejected);
  // Why a run our alarm started asks for the alarm's state anyway (a message that waited in the queue).
  if (untrustedAlarmMessage) {
    const { state, problem } = untrustedAlarmMessage;
    logger.info('alarm message not trusted; reading the alarm', { announcedState: state, problem });
  }
  return poll(trigger, rejected.length, context);
}

/**
 * The attack tick: one DescribeAlarms, and attack mode's rounds only when the alarm is in ALARM.
 * Quiet otherwise (no line, no metrics: 1,440 of them a day say nothing). An unreadable alarm is
 * logged and left to the schedule's next run, without failing the invocation: Lambda would retry a
 * tick that the next one replaces anyway.
 */
async function attackTick(context: Context): Promise<RunSummary | undefined> {
  if (settings.gate !== 'alarm') return undefined;
  let state: AlarmState;
  try {
    state = await readAlarmState(deps.cloudwatch, settings.alarmName);
  } catch (error) {
    logger.warn('attack tick: alarm state unreadable; the schedule goes on', { error: (error as Error).message });
    return undefined;
  }
  if (state !== 'ALARM') return undefined;
  // The state was read just now: the first round need not read it again.
  return poll({ kind: 'schedule', alarmState: state }, 0, context);
}

/** Attack mode's rounds for one trigger (one round unless it polls); the last round's summary. */
async function poll(trigger: Trigger, feedRejected: number, context: Context): Promise<RunSummary> {
  // Later rounds read everything again, the alarm included, and apply no actions a second time.
  const later: Trigger = { kind: trigger.kind };
  // The lock's owner, unique to this invocation: Lambda may deliver one event twice, with one request
  // id, and with reserved concurrency above 1 both copies may run at once; the lock must keep them apart.
  const owner = `lambda:${context.awsRequestId}#${randomUUID().slice(0, 8)}`;
  const polling = await pollWhileAttacked(
    (index) => runRound(index === 0 ? trigger : later, index, index === 0 ? feedRejected : 0, context, owner),
    (summary) => summary.alarmState,
    {
      polls: pollsWhileAttacked(trigger.kind, settings.gate),
      remainingMs: () => context.getRemainingTimeInMillis(),
      clock,
    },
  );
  if (polling.rounds > 1) logger.info('attack mode rounds', { rounds: polling.rounds, stoppedBecause: polling.stop });
  return polling.last;
}

/** One run under the run lock: its summary line, outcome lines and one EMF flush of its metrics. */
async function runRound(
  trigger: Trigger,
  round: number,
  feedRejected: number,
  context: Context,
  owner: string,
): Promise<RunSummary> {
  // Counted before the run: a run that fails still received (and turned away) these messages.
  metrics.addMetric('FeedRejected', MetricUnit.Count, feedRejected);
  // Only feed records carry actions into this handler (the CLI runs its own).
  metrics.addMetric('FeedActions', MetricUnit.Count, trigger.actions?.length ?? 0);
  try {
    // Other invocations (attack mode's pollers, ban-feed runs) and the CLI's ban, unban and flush
    // are runs too: one at a time (see run-lock.ts). Taken per round, so that a ban-feed message or
    // an operator's ban waits for a round, not for a whole attack.
    const summary = await withRunLock(deps.ledger, owner, () => runBlocker(deps, settings, trigger, Date.now()), {
      waitMs: runLockWaitMs(context.getRemainingTimeInMillis()),
      onWait: (heldBy, until) => {
        logger.info('waiting for the run lock', { heldBy, leaseUntil: new Date(until).toISOString() });
      },
    });
    logger.info('blocker run', { summary, ...(round > 0 ? { round } : {}) });
    logOutcomes(summary);
    recordMetrics(summary);
    return summary;
  } catch (error) {
    // Said as a 0, not only by absence: the dashboard's "Blocker runs" graph then shows runs that
    // happen and fail apart from runs that do not happen. No alarm watches RunSucceeded: a failed
    // run is blocker-failed's and blocker-failing's (Lambda Errors), a run that never happens
    // blocker-stopped's (Lambda Invocations).
    metrics.addMetric(HEALTH_METRICS.runSucceeded, MetricUnit.Count, 0);
    // One structured line naming the resource; the rethrow makes the invocation fail (Errors alarm).
    logger.error('blocker run failed', error as Error);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** A bad feed message is the publisher's bug: one warning each, never its text (it may be anything). */
function logRejected(rejected: readonly RejectedFeedMessage[]): void {
  for (const { problem, messageId, topicArn } of rejected) {
    logger.warn('ban feed message rejected', { problem, messageId, topic: topicArn });
  }
}

/**
 * One line per ban or unban, so that `aws logs tail --filter-pattern` finds what became of it; an
 * unban's line names the IP sets it left and those that no longer held it.
 */
function logOutcomes({ actions, removals }: Pick<RunSummary, 'actions' | 'removals'>): void {
  const removalOf = new Map(removals.map((removal) => [removal.range, removal]));
  for (const outcome of actions) {
    const { action } = outcome;
    const ended = outcome.status === 'unbanned' || outcome.status === 'released';
    const removal = ended ? removalOf.get(outcome.range) : undefined;
    const fields = {
      status: outcome.status,
      action: action.action,
      address: action.address,
      source: action.source,
      ...(outcome.status === 'refused' ? { reason: outcome.reason, detail: outcome.detail } : { range: outcome.range }),
      ...(outcome.status === 'banned' ? { expiresAt: new Date(outcome.expiresAt).toISOString() } : {}),
      // The list it went to or left, when it is the neighbour tier's (a ban challenged, not blocked).
      ...('tier' in outcome && outcome.tier === 'neighbour' ? { tier: outcome.tier } : {}),
      ...(removal === undefined
        ? {}
        : { removedFrom: removal.removedFrom, alreadyAbsentFrom: removal.alreadyAbsentFrom }),
    };
    if (outcome.status === 'refused') logger.warn('operator action refused', fields);
    else logger.info('operator action', fields);
  }
}

/**
 * The run's metrics, for the dashboard; the health alarms (lib/health) watch Overflow,
 * BlocklistUtilization and, with a neighbour tier, NeighbourUtilization (the others watch Lambda's
 * own Errors and Invocations).
 */
function recordMetrics(summary: RunSummary): void {
  metrics.addMetric(HEALTH_METRICS.runSucceeded, MetricUnit.Count, 1);
  metrics.addMetric(HEALTH_METRICS.keysSeen, MetricUnit.Count, summary.keysSeen);
  metrics.addMetric(HEALTH_METRICS.rangesActive, MetricUnit.Count, summary.rangesActive);
  metrics.addMetric(HEALTH_METRICS.rangesAdded, MetricUnit.Count, summary.rangesAdded);
  metrics.addMetric(HEALTH_METRICS.rangesExpired, MetricUnit.Count, summary.rangesExpired);
  metrics.addMetric(HEALTH_METRICS.lockConflicts, MetricUnit.Count, summary.lockConflicts);
  metrics.addMetric('KeysRejected', MetricUnit.Count, summary.keysRejected);
  metrics.addMetric(HEALTH_METRICS.overflow, MetricUnit.Count, summary.overflow);
  metrics.addMetric('RulesUnreadable', MetricUnit.Count, summary.unreadableRules.length);
  metrics.addMetric(
    HEALTH_METRICS.blocklistUtilization,
    MetricUnit.Percent,
    fullestFamilyPercent(summary.blocklistSizes, summary.blocklistCapacity),
  );
  // Only with a neighbour tier: a stack without one publishes (and pays for) no such metric.
  if (summary.neighbourSizes !== undefined && summary.neighbourCapacity !== undefined) {
    metrics.addMetric(
      HEALTH_METRICS.neighbourUtilization,
      MetricUnit.Percent,
      fullestFamilyPercent(summary.neighbourSizes, summary.neighbourCapacity),
    );
  }
  // Each family against its own capacity, for the dashboard (BlocklistUtilization is the fuller one's).
  for (const family of ['IPV4', 'IPV6'] as const) {
    metrics.addMetric(BLOCKLIST_ENTRIES_METRICS[family], MetricUnit.Count, summary.blocklistSizes[family]);
  }
}

/**
 * The fill of the fuller family of one tier's sets (the blocklists, or the neighbour sets), in
 * percent of what all that family's sets may hold together (sets × IP_SET_CAPACITY): new ranges go
 * to whichever set has room, so a family is full only when all its sets are, and the families are
 * apart, so the fuller one is the one to watch.
 */
function fullestFamilyPercent(
  sizes: Readonly<Record<Family, number>>,
  capacity: Readonly<Record<Family, number>>,
): number {
  const percent = (family: Family) => (100 * sizes[family]) / Math.max(capacity[family], IP_SET_CAPACITY);
  return Math.max(percent('IPV4'), percent('IPV6'));
}
