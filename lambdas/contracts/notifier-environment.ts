/**
 * The notifier's environment: the one contract between the CDK construct that sets these variables
 * and the handler that reads them. No AWS imports, so the construct can use it at synth time. The
 * bot token is not among them: only the name of the secret that holds it.
 */
import { environmentReader } from './environment';
import type { IpSetAddress, IpSetShards } from './ip-set';
import { MAX_LISTED_RANGES } from './telegram-limits';

export type { IpSetAddress, IpSetShards };

/** Variable names, set by lib/notifier next to the grant each one needs. */
export const NOTIFIER_ENV = {
  scope: 'WAF_SCOPE',
  webAclName: 'WEB_ACL_NAME',
  /** The WAF log group that Logs Insights queries. */
  wafLogGroup: 'WAF_LOG_GROUP_NAME',
  /**
   * The family's blocklist IP sets (their sizes summed are "ranges blocked now"): a JSON array of
   * `name|id`, one per shard, or a single `name|id` (a stack deployed before sharding).
   */
  blocklistIpv4: 'BLOCKLIST_IPV4',
  blocklistIpv6: 'BLOCKLIST_IPV6',
  /** The attack alarm, whose history tells how long an attack lasted. */
  alarmName: 'ALARM_NAME',
  ledgerTable: 'LEDGER_TABLE',
  /** ARN or name of the Secrets Manager secret that holds the bot token. */
  telegramSecretId: 'TELEGRAM_SECRET_ID',
  /** JSON array of chat ids; `[]` means messages are only logged. */
  telegramChatIds: 'TELEGRAM_CHAT_IDS',
  telegramApiUrl: 'TELEGRAM_API_URL',
  summaryMinutes: 'SUMMARY_MINUTES',
  maxListedRanges: 'MAX_LISTED_RANGES',
  /**
   * The blocker's log group, where the ops message of a blocker-failed/-failing health alarm looks
   * up the last error. Optional: without it the message says the error is not readable.
   */
  blockerLogGroup: 'BLOCKER_LOG_GROUP',
  /** The ops topic: the health alarms publish their ALARM and OK to it (set by lib/notifier). */
  opsTopicArn: 'OPS_TOPIC_ARN',
  /** URL of the dead-letter queue that keeps asynchronous events that failed for good (set by lib/notifier). */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
} as const;

/** The notifier's settings, checked once at module load. */
export interface NotifierSettings {
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  readonly webAclName: string;
  readonly wafLogGroup: string;
  /** Each family's blocklist IP sets, in shard order; never empty. */
  readonly blocklist: { readonly IPV4: IpSetShards; readonly IPV6: IpSetShards };
  readonly alarmName: string;
  readonly ledgerTable: string;
  readonly telegramSecretId: string;
  readonly chatIds: readonly string[];
  /** Without a trailing slash. */
  readonly telegramApiUrl: string;
  readonly summaryMinutes: number;
  readonly maxListedRanges: number;
  /** Undefined when the variable is unset or empty (an older stack): no last error is looked up. */
  readonly blockerLogGroup?: string;
  /** Undefined when unset or empty: the dead-letters ops message then says `<url>`. */
  readonly deadLetterQueueUrl?: string;
}

/** A Telegram chat id (`-1001234567890`) or a public channel's username (`@mychannel`). */
export const CHAT_ID_PATTERN = /^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$/;

/**
 * Why `value` is not an acceptable Telegram API base URL, or undefined when it is: https anywhere,
 * plain http only on loopback (a local stand-in in tests); no credentials, query or fragment.
 */
export function apiUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://api.telegram.org';
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return 'must use https (plain http only on 127.0.0.1 / localhost, for tests)';
  }
  if (url.username || url.password || url.search || url.hash) {
    return 'must not carry credentials, a query or a fragment';
  }
  return undefined;
}

/**
 * Reads and checks the notifier's variables.
 * @throws {ConfigurationError} naming the first missing or invalid variable.
 */
export function readNotifierSettings(env: Readonly<Record<string, string | undefined>>): NotifierSettings {
  const read = environmentReader(NOTIFIER_ENV, env);
  const scope = read.scope('scope');
  const chatIds = read.jsonArray(
    'telegramChatIds',
    (chatId): chatId is string => typeof chatId === 'string' && CHAT_ID_PATTERN.test(chatId),
    'must be a JSON array of chat ids, e.g. ["-100123"]',
  );
  const apiUrl = read.text('telegramApiUrl');
  const problem = apiUrlProblem(apiUrl);
  if (problem) return read.refuse('telegramApiUrl', problem);
  const blockerLogGroup = env[NOTIFIER_ENV.blockerLogGroup];
  const deadLetterQueueUrl = env[NOTIFIER_ENV.deadLetterQueueUrl];

  return {
    scope,
    webAclName: read.text('webAclName'),
    wafLogGroup: read.text('wafLogGroup'),
    blocklist: { IPV4: read.ipSetShards('blocklistIpv4', scope), IPV6: read.ipSetShards('blocklistIpv6', scope) },
    alarmName: read.text('alarmName'),
    ledgerTable: read.text('ledgerTable'),
    telegramSecretId: read.text('telegramSecretId'),
    chatIds,
    telegramApiUrl: apiUrl.replace(/\/+$/, ''),
    summaryMinutes: read.integer('summaryMinutes', 1, 180),
    maxListedRanges: read.integer('maxListedRanges', 1, MAX_LISTED_RANGES),
    ...(blockerLogGroup ? { blockerLogGroup } : {}),
    ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
  };
}
