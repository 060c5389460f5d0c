/**
 * One notifier invocation: tell what arrived, gather what the message needs (in parallel, each part
 * allowed to fail on its own), render it, and deliver it to every configured chat.
 *
 * Delivery is the only thing that fails the invocation: a Telegram error after the client's own
 * retries makes the invocation fail, so that Lambda's asynchronous retry sends it again. Parts
 * already delivered by this warm instance are remembered and not sent twice.
 *
 * Ops messages (the health alarms') never fail it: a failed one would feed the very alarms that
 * watch delivery (telegram-undelivered, notifier-failed, dead-letters), whose own ALARM and OK
 * would fail again and raise them anew, every few minutes, for as long as Telegram is down. An
 * ops message Telegram did not take (after the client's own retries) is counted apart
 * (`OpsUndelivered`, drawn on the dashboard, watched by no alarm); the ops e-mail carries it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { readAlarmStart } from '#adapters/alarm-history';
import { listDistributions } from '#adapters/cloudfront';
import { readDistributionTraffic } from '#adapters/cloudfront-metrics';
import type { Ledger } from '#adapters/ledger';
import { runInsightsQueries } from '#adapters/logs-insights';
import { isBotToken, isPermanentRefusal, redactToken, TelegramClient } from '#adapters/telegram';
import { readIpSet } from '#adapters/waf';
import { TelegramError } from '#shared/errors';
import { noticesOf, type IncomingNotice } from './classify';
import { NOTIFIER_ENV, type IpSetAddress, type NotifierSettings } from '#contracts/notifier-environment';
import { LAST_ERROR_LOOKBACK_MS, LAST_ERROR_QUERY, lastFailureOf, SUMMARY_QUERIES, toTopEntries } from './queries';
import { isOkWithoutAlarm, renderAlarm, renderAlarmState, renderAllClear, renderPlain, renderReport } from './render';
import { renderHealth } from './render-ops';
import { htmlToPlainText } from './telegram-html';
import type {
  AlarmNotice,
  AllClearSummary,
  AttackSummary,
  BlockedCounts,
  BlockerFailure,
  CloudFrontFigures,
  DistributionFigures,
  Expiry,
  Gathered,
  HealthNotice,
  Notice,
  TopEntry,
  TopLists,
} from './types';

/** The narrow logger the run needs: the Powertools Logger's leveled methods. */
export type NotifierLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Logs Insights waits at most this long, whatever time the invocation has. */
export const QUERY_WAIT_CAP_MS = 40_000;
/** Time kept back after the queries for rendering and delivery (429 waits included). */
export const SEND_RESERVE_MS = 20_000;
/** CloudFront figures cover this window. */
const CLOUDFRONT_WINDOW_MS = 3_600_000;
const CLOUDFRONT_TOP = 3;
/** Upcoming expiries an all-clear lists. */
const NEXT_EXPIRIES = 5;

/**
 * Remembers which message parts this instance delivered, so that a retried invocation landing on
 * the same warm instance does not send them again. Bounded: oldest entries go first.
 */
export class DeliveryLog {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity = 1_000) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.add(key);
    while (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (oldest.done) break;
      this.keys.delete(oldest.value);
    }
  }
}

/** The clients and collaborators of a run, created once per module by the handler. */
export interface NotifierDeps {
  readonly logs: CloudWatchLogsClient;
  /** Alarm history, in the stack's region. */
  readonly cloudwatch: CloudWatchClient;
  /** CloudFront metrics, in us-east-1. */
  readonly metrics: CloudWatchClient;
  readonly cloudfront: CloudFrontClient;
  readonly waf: WAFV2Client;
  readonly ledger: Ledger;
  /** The bot token (cached by the secrets adapter). */
  readonly botToken: () => Promise<string>;
  readonly delivered: DeliveryLog;
  readonly logger: NotifierLogger;
  /** Injected by tests and benchmarks. */
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  /** Told what became of every message part sent to a chat: the handler's metrics. */
  readonly countDelivery?: (outcome: PartOutcome) => void;
}

/**
 * What became of one message part sent to one chat: `delivered`; `undelivered` (an attack alarm,
 * report or other message: the telegram-undelivered alarm watches it); `ops-undelivered` (an ops
 * message, counted apart so that it raises no alarm about Telegram delivery).
 */
export type PartOutcome = 'delivered' | 'undelivered' | 'ops-undelivered';

/** The invocation's time: when it started and how much is left (Lambda's context). */
export interface Invocation {
  readonly now: number;
  readonly remainingMs: () => number;
}

/** What happened to one notice; logged as one line per invocation. */
export interface NoticeResult {
  readonly messageId: string;
  readonly kind: Notice['kind'];
  readonly state?: string;
  readonly parts: number;
  /** Parts delivered now, over all chats. */
  readonly delivered: number;
  /** Parts skipped because this instance had already delivered them (a retried invocation). */
  readonly alreadyDelivered: number;
  /** Parts of the message that could not be gathered (e.g. `countries`, `CloudFront figures`). */
  readonly incomplete: readonly string[];
}

export interface NotifierSummary {
  readonly notices: readonly NoticeResult[];
  /** `logged-only` when no chat is configured or the secret holds no token yet. */
  readonly delivery: 'telegram' | 'logged-only';
  readonly durationMs: number;
}

interface Composed {
  readonly messages: string[];
  readonly incomplete: string[];
}

/**
 * Handles one Lambda event (an SNS delivery, or anything a person invoked it with).
 * @throws {TelegramError} when a message other than an ops message could not be delivered to a
 *   chat for a reason that may pass (429, 5xx, no answer), after every chat was tried.
 * @throws {ReadError} when the bot token's secret cannot be read and the event holds more than ops messages.
 */
export async function runNotifier(
  deps: NotifierDeps,
  settings: NotifierSettings,
  event: unknown,
  invocation: Invocation,
): Promise<NotifierSummary> {
  const clock = deps.clock ?? Date.now;
  const started = clock();
  const { logger } = deps;
  const incoming = noticesOf(event).map((item) => ({ ...item, ops: isOpsNotice(item.notice, settings) }));

  const composed = await Promise.all(
    incoming.map(({ notice }) =>
      compose(deps, settings, notice, invocation).catch((error: unknown): Composed => {
        // Rendering is pure and gathering never throws; if something still does, say so in the chat.
        logger.error('could not compose the message; sending a plain notice instead', { error: describe(error) });
        return {
          messages: renderPlain({ kind: 'plain', shape: 'text', body: `The notifier failed: ${describe(error)}` }),
          incomplete: ['everything'],
        };
      }),
    ),
  );
  const delivery = await openDelivery(deps, settings, invocation, incoming, composed);

  const failures: TelegramError[] = [];
  const results: NoticeResult[] = [];
  for (const [index, { messageId, notice, ops }] of incoming.entries()) {
    const { messages, incomplete } = composed[index] ?? { messages: [], incomplete: [] };
    const sent = delivery
      ? await deliver(deps, delivery, settings.chatIds, { messageId, messages, ops })
      : { delivered: 0, alreadyDelivered: 0, failures: [] };
    failures.push(...sent.failures);
    results.push({
      messageId,
      kind: notice.kind,
      ...(notice.kind === 'alarm' ? { state: notice.newState } : {}),
      ...(notice.kind === 'health' ? { state: notice.alarm.newState } : {}),
      parts: messages.length,
      delivered: sent.delivered,
      alreadyDelivered: sent.alreadyDelivered,
      incomplete,
    });
  }

  const summary: NotifierSummary = {
    notices: results,
    delivery: delivery ? 'telegram' : 'logged-only',
    durationMs: clock() - started,
  };
  logger.info('notifier run', { summary });
  failIfTransient(logger, failures);
  return summary;
}

/**
 * An ops message: a health alarm's state change. The attack alarm is known by its exact name; a
 * name that also reads as a health alarm's must not turn an attack into an ops message.
 */
function isOpsNotice(notice: Notice, settings: NotifierSettings): boolean {
  return notice.kind === 'health' && notice.alarm.alarmName !== settings.alarmName;
}

/**
 * The Telegram client for this event, or undefined when no chat is configured or the secret holds
 * no token yet (then the messages are logged here). When the token cannot be read at all, the
 * invocation fails so that a retry can deliver the messages, unless they are all ops messages:
 * those are counted as `ops-undelivered` and logged, and the ops e-mail carries them.
 * @throws {ReadError} when the token cannot be read and the event holds more than ops messages.
 */
async function openDelivery(
  deps: NotifierDeps,
  settings: NotifierSettings,
  invocation: Invocation,
  incoming: readonly (IncomingNotice & { readonly ops: boolean })[],
  composed: readonly Composed[],
): Promise<TelegramClient | undefined> {
  const { logger } = deps;
  let delivery: TelegramClient | undefined;
  try {
    delivery = settings.chatIds.length === 0 ? undefined : await telegramClient(deps, settings, invocation);
  } catch (error) {
    const messages = composed.map((message) => message.messages);
    if (!incoming.every((item) => item.ops)) {
      // Without the token nothing goes out; keep the messages in the log, and fail so that a retry can deliver them.
      logger.error('bot token unreadable; messages logged here, and the invocation fails so that it is retried', {
        error: describe(error),
        messages,
      });
      throw error;
    }
    logger.error('bot token unreadable; ops messages logged here, not retried (the ops e-mail carries them)', {
      error: describe(error),
      messages,
    });
    const parts = messages.reduce((sum, message) => sum + message.length, 0) * settings.chatIds.length;
    for (let part = 0; part < parts; part += 1) deps.countDelivery?.('ops-undelivered');
    return undefined;
  }
  if (!delivery) {
    for (const [index, { messageId, notice }] of incoming.entries()) {
      logger.warn('message not sent to Telegram (see the notifier settings); logged here instead', {
        messageId,
        kind: notice.kind,
        messages: composed[index]?.messages,
      });
    }
  }
  return delivery;
}

/** One notice's message parts to send, and whether it is an ops message. */
interface Outgoing {
  readonly messageId: string;
  readonly messages: readonly string[];
  readonly ops: boolean;
}

/** What {@link deliver} did with one notice. */
interface Sent {
  readonly delivered: number;
  readonly alreadyDelivered: number;
  /** Parts not delivered that may fail the invocation: never an ops message's. */
  readonly failures: readonly TelegramError[];
}

/**
 * Sends one notice's parts to every chat, in order; a chat's first failed part ends that chat's
 * sending (the rest would arrive out of order; the retry sends it). An ops message's failure is
 * logged and counted as `ops-undelivered`, and not returned: nothing retries it.
 */
async function deliver(
  deps: NotifierDeps,
  delivery: TelegramClient,
  chatIds: readonly string[],
  { messageId, messages, ops }: Outgoing,
): Promise<Sent> {
  let delivered = 0;
  let alreadyDelivered = 0;
  const failures: TelegramError[] = [];
  for (const chatId of chatIds) {
    for (const [part, html] of messages.entries()) {
      const key = `${messageId}|${chatId}|${part}/${messages.length}`;
      if (deps.delivered.has(key)) {
        alreadyDelivered += 1;
        continue;
      }
      try {
        await delivery.sendMessage(chatId, html, htmlToPlainText(html));
        deps.delivered.add(key);
        delivered += 1;
        deps.countDelivery?.('delivered');
      } catch (error) {
        const failure =
          error instanceof TelegramError
            ? error
            : new TelegramError(chatId, `unexpected failure: ${redactToken(describe(error), '')}`);
        deps.logger.error(
          ops
            ? 'Telegram ops message not delivered; not retried (OpsUndelivered; the ops e-mail carries it)'
            : 'Telegram message not delivered',
          { chatId, messageId, part: part + 1, of: messages.length, status: failure.status, error: failure.message },
        );
        deps.countDelivery?.(ops ? 'ops-undelivered' : 'undelivered');
        if (!ops) failures.push(failure);
        break;
      }
    }
  }
  return { delivered, alreadyDelivered, failures };
}

/**
 * Fails the invocation when a message could not be delivered for a reason that may pass (429, 5xx,
 * no answer), so that Lambda retries the event.
 *
 * A permanent refusal (revoked token, bot removed from the chat) is counted as TelegramUndelivered,
 * which the telegram-undelivered alarm watches, and the invocation succeeds: a retry would be
 * refused again, and the failed event would reach the dead-letter queue, raise dead-letters, whose
 * own message would be refused again.
 * @throws {TelegramError} naming the chats and the first transient failure.
 */
function failIfTransient(logger: NotifierLogger, failures: readonly TelegramError[]): void {
  const transient = failures.filter((failure) => !isPermanentRefusal(failure));
  if (transient.length === 0 && failures.length > 0) {
    logger.error('Telegram refused for good; not retried (alarm telegram-undelivered)', {
      chats: [...new Set(failures.map((failure) => failure.chatId))],
      first: failures[0]?.detail,
    });
  }
  const [first] = transient;
  if (first) {
    throw new TelegramError(
      [...new Set(transient.map((failure) => failure.chatId))].join(', '),
      `${transient.length} message(s) not delivered; first: ${first.detail}`,
      first.status,
      { cause: first },
    );
  }
}

/**
 * The Telegram client, or undefined when the secret holds no bot token yet (the stack creates it
 * without one): then messages are logged, and the invocation succeeds so that nothing retries in vain.
 */
async function telegramClient(
  deps: NotifierDeps,
  settings: NotifierSettings,
  invocation: Invocation,
): Promise<TelegramClient | undefined> {
  const token = await deps.botToken();
  if (!isBotToken(token)) {
    deps.logger.error(
      `secret ${settings.telegramSecretId} does not hold a Telegram bot token (<bot id>:<secret>); ` +
        `set it with: aws secretsmanager put-secret-value --secret-id ${settings.telegramSecretId} --secret-string '<token>'`,
    );
    return undefined;
  }
  return new TelegramClient({
    apiUrl: settings.telegramApiUrl,
    token,
    remainingMs: invocation.remainingMs,
    logger: deps.logger,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}

async function compose(
  deps: NotifierDeps,
  settings: NotifierSettings,
  notice: Notice,
  invocation: Invocation,
): Promise<Composed> {
  const options = { now: invocation.now, maxListedRanges: settings.maxListedRanges };
  switch (notice.kind) {
    case 'plain':
      return { messages: renderPlain(notice), incomplete: [] };
    case 'report':
      return { messages: renderReport(notice.report, options), incomplete: [] };
    case 'health':
      if (!isOpsNotice(notice, settings)) return composeAlarm(deps, settings, notice.alarm, invocation);
      return composeHealth(deps, settings, notice, invocation);
    case 'alarm':
      return composeAlarm(deps, settings, notice, invocation);
  }
}

async function composeAlarm(
  deps: NotifierDeps,
  settings: NotifierSettings,
  notice: AlarmNotice,
  invocation: Invocation,
): Promise<Composed> {
  // Our own alarm gets the summary; any other alarm on the topic gets its state and reason.
  if (notice.alarmName !== settings.alarmName) return { messages: renderAlarmState(notice), incomplete: [] };
  if (notice.newState === 'ALARM') {
    const summary = await attackSummary(deps, settings, invocation);
    return { messages: renderAlarm(notice, summary), incomplete: missingParts(summary) };
  }
  if (isOkWithoutAlarm(notice)) {
    deps.logger.info('attack alarm has data and is OK (its first evaluation, as after a deploy); nothing sent', {
      alarmName: notice.alarmName,
      oldState: notice.oldState,
    });
    return { messages: [], incomplete: [] };
  }
  if (notice.newState === 'OK') {
    const summary = await allClearSummary(deps, settings, notice, invocation);
    const options = { now: invocation.now, maxListedRanges: settings.maxListedRanges };
    return { messages: renderAllClear(notice, summary, options), incomplete: missingParts(summary) };
  }
  return { messages: renderAlarmState(notice), incomplete: [] };
}

/** An ops message; a blocker failure in ALARM quotes the blocker's last error. */
async function composeHealth(
  deps: NotifierDeps,
  settings: NotifierSettings,
  notice: HealthNotice,
  invocation: Invocation,
): Promise<Composed> {
  const failing = notice.health === 'blocker-failed' || notice.health === 'blocker-failing';
  const lastError =
    failing && notice.alarm.newState === 'ALARM'
      ? await lastBlockerError(deps, settings, notice, invocation)
      : undefined;
  const details = {
    ...(lastError === undefined ? {} : { lastError }),
    ...(settings.blockerLogGroup === undefined ? {} : { blockerLogGroup: settings.blockerLogGroup }),
    ...(settings.deadLetterQueueUrl === undefined ? {} : { deadLetterQueueUrl: settings.deadLetterQueueUrl }),
  };
  const messages = renderHealth(notice, details);
  if (messages.length === 0) {
    deps.logger.info('health alarm has data and is OK (its first evaluation, as after a deploy); nothing sent', {
      alarmName: notice.alarm.alarmName,
      oldState: notice.alarm.oldState,
    });
  }
  return { messages, incomplete: lastError?.ok === false ? ['lastError'] : [] };
}

/**
 * The blocker's last failure, from its log group with one Logs Insights query over the hours
 * before the alarm. Never throws: an unset log group, a query that fails or runs out of time is a
 * reason the message shows instead.
 */
export async function lastBlockerError(
  deps: NotifierDeps,
  settings: NotifierSettings,
  notice: HealthNotice,
  invocation: Invocation,
): Promise<Gathered<BlockerFailure | undefined>> {
  const logGroupName = settings.blockerLogGroup;
  if (logGroupName === undefined) {
    deps.logger.warn('no blocker log group in the settings; the ops message says the last error is not readable', {
      variable: NOTIFIER_ENV.blockerLogGroup,
    });
    return { ok: false, reason: `the notifier is not told the blocker's log group (${NOTIFIER_ENV.blockerLogGroup})` };
  }
  const clock = deps.clock ?? Date.now;
  const waitMs = Math.max(0, Math.min(QUERY_WAIT_CAP_MS, invocation.remainingMs() - SEND_RESERVE_MS));
  const end = invocation.now;
  const [outcome] = await runInsightsQueries(deps.logs, {
    logGroupName,
    startTime: Math.min(notice.alarm.changedAt ?? end, end) - LAST_ERROR_LOOKBACK_MS,
    endTime: end,
    queries: [LAST_ERROR_QUERY],
    deadline: clock() + waitMs,
    now: clock,
    ...(deps.pollIntervalMs === undefined ? {} : { pollIntervalMs: deps.pollIntervalMs }),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  if (outcome?.status === 'complete') return { ok: true, value: lastFailureOf(outcome.rows) };
  const reason = outcome ? outcome.reason : 'no outcome';
  deps.logger.warn("the blocker's last error could not be read; the ops message says so", {
    logGroupName,
    reason,
  });
  return { ok: false, reason };
}

function missingParts(summary: AttackSummary | AllClearSummary): string[] {
  const parts: [string, Gathered<unknown> | undefined][] =
    'top' in summary
      ? [
          ['hosts', summary.top.hosts],
          ['clientIps', summary.top.clientIps],
          ['countries', summary.top.countries],
          ['rules', summary.top.rules],
          ['cloudfront', summary.cloudfront],
          ['blocked', summary.blocked],
        ]
      : [
          ['alarmStartedAt', summary.alarmStartedAt],
          ['blocked', summary.blocked],
          ['managed', summary.managed],
        ];
  return parts.flatMap(([name, part]) => (part && !part.ok ? [name] : []));
}

/** Settles a read into a {@link Gathered} part, logging a failure once. */
async function gather<T>(deps: NotifierDeps, part: string, read: () => Promise<T>): Promise<Gathered<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    const reason = describe(error);
    deps.logger.warn('summary part unavailable; the message says so', { part, error: reason });
    return { ok: false, reason };
  }
}

/** The attack summary of an ALARM message: queries, CloudFront figures and blocklist sizes at once. */
export async function attackSummary(
  deps: NotifierDeps,
  settings: NotifierSettings,
  invocation: Invocation,
): Promise<AttackSummary> {
  const clock = deps.clock ?? Date.now;
  const end = invocation.now;
  const waitMs = Math.max(0, Math.min(QUERY_WAIT_CAP_MS, invocation.remainingMs() - SEND_RESERVE_MS));
  const [outcomes, cloudfront, blocked] = await Promise.all([
    runInsightsQueries(deps.logs, {
      logGroupName: settings.wafLogGroup,
      startTime: end - settings.summaryMinutes * 60_000,
      endTime: end,
      queries: SUMMARY_QUERIES,
      deadline: clock() + waitMs,
      now: clock,
      ...(deps.pollIntervalMs === undefined ? {} : { pollIntervalMs: deps.pollIntervalMs }),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    }),
    settings.scope === 'CLOUDFRONT'
      ? gather(deps, 'cloudfront', () => cloudFrontFigures(deps, end))
      : Promise.resolve(undefined),
    gather(deps, 'blocked', () => blockedCounts(deps, settings)),
  ]);

  const list = (name: keyof TopLists): Gathered<TopEntry[]> => {
    const index = SUMMARY_QUERIES.findIndex((query) => query.name === name);
    const query = SUMMARY_QUERIES[index];
    const outcome = outcomes[index];
    if (query && outcome?.status === 'complete') return { ok: true, value: toTopEntries(outcome.rows, query.keyField) };
    const reason = outcome && outcome.status !== 'complete' ? outcome.reason : 'no outcome';
    deps.logger.warn('Logs Insights query gave no result; the message says so', { query: name, reason });
    return { ok: false, reason };
  };
  const top: TopLists = {
    hosts: list('hosts'),
    clientIps: list('clientIps'),
    countries: list('countries'),
    rules: list('rules'),
  };

  return {
    windowMinutes: settings.summaryMinutes,
    top,
    ...(cloudfront === undefined ? {} : { cloudfront }),
    blocked,
  };
}

async function cloudFrontFigures(deps: NotifierDeps, now: number): Promise<CloudFrontFigures> {
  const distributions = (await listDistributions(deps.cloudfront)).filter((distribution) => distribution.enabled);
  if (distributions.length === 0) return { distributions: 0, byRequests: [], byErrorRate: [] };
  const traffic = await readDistributionTraffic(
    deps.metrics,
    distributions.map((distribution) => distribution.id),
    { start: now - CLOUDFRONT_WINDOW_MS, end: now },
  );
  const figures: DistributionFigures[] = distributions.map((distribution) => {
    const figure = traffic.get(distribution.id);
    return {
      id: distribution.id,
      label: distribution.aliases[0] ?? (distribution.comment || distribution.domainName),
      requests: figure?.requests ?? 0,
      ...(figure?.errorRate5xx === undefined ? {} : { errorRate5xx: figure.errorRate5xx }),
      ...(figure?.errorRateTotal === undefined ? {} : { errorRateTotal: figure.errorRateTotal }),
    };
  });
  const served = figures.filter((figure) => figure.requests > 0);
  return {
    distributions: distributions.length,
    byRequests: [...served].sort((a, b) => b.requests - a.requests).slice(0, CLOUDFRONT_TOP),
    byErrorRate: served
      .filter((figure) => figure.errorRate5xx !== undefined)
      .sort(
        (a, b) =>
          (b.errorRate5xx ?? 0) - (a.errorRate5xx ?? 0) ||
          (b.errorRateTotal ?? 0) - (a.errorRateTotal ?? 0) ||
          b.requests - a.requests,
      )
      .slice(0, CLOUDFRONT_TOP),
  };
}

/**
 * Entries in every blocklist set of each family, summed per family; all sets read at once. A set
 * that cannot be read fails the whole count (its ReadError names the set): a sum without it would
 * understate what is blocked.
 */
async function blockedCounts(deps: NotifierDeps, settings: NotifierSettings): Promise<BlockedCounts> {
  const entries = async (shards: readonly IpSetAddress[]): Promise<number> => {
    const snapshots = await Promise.all(shards.map((shard) => readIpSet(deps.waf, shard)));
    return snapshots.reduce((sum, snapshot) => sum + snapshot.addresses.length, 0);
  };
  const [ipv4, ipv6] = await Promise.all([entries(settings.blocklist.IPV4), entries(settings.blocklist.IPV6)]);
  return { ipv4, ipv6 };
}

/** The summary of an OK message: how long the alarm lasted, what is blocked, what expires next. */
export async function allClearSummary(
  deps: NotifierDeps,
  settings: NotifierSettings,
  notice: AlarmNotice,
  invocation: Invocation,
): Promise<AllClearSummary> {
  const at = notice.changedAt ?? invocation.now;
  const [alarmStartedAt, blocked, managed] = await Promise.all([
    gather(deps, 'alarmStartedAt', () => readAlarmStart(deps.cloudwatch, settings.alarmName, at)),
    gather(deps, 'blocked', () => blockedCounts(deps, settings)),
    gather(deps, 'managed', async () => {
      const [ipv4, ipv6] = await Promise.all([deps.ledger.activeEntries('IPV4'), deps.ledger.activeEntries('IPV6')]);
      const next: Expiry[] = [...ipv4, ...ipv6]
        .map(({ range, expiresAt }) => ({ range, expiresAt }))
        .sort((a, b) => a.expiresAt - b.expiresAt || a.range.localeCompare(b.range))
        .slice(0, NEXT_EXPIRIES);
      return { count: ipv4.length + ipv6.length, next };
    }),
  ]);
  return { alarmStartedAt, blocked, managed };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
