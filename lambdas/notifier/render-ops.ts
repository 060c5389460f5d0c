/**
 * Ops messages: a state change of one of the stack's health alarms, told as what happened to
 * waf-autoblock, what it means, and what to check, for the small team that has to act on it.
 * Pure, like ./render: every text goes through the span model of ./telegram-html (escaped, cut,
 * within Telegram's limits); nothing here writes a tag by hand.
 */
import type { HealthAlarmKind } from '#contracts/health';
import { formatDuration, formatTime, isOkWithoutAlarm, renderAlarmState } from './render';
import { bold, clip, code, escapeHtml, italic, text, toMessages, type Line, type Span } from './telegram-html';
import type { AlarmTrigger, BlockerFailure, Gathered, HealthNotice, OpsDetails } from './types';

/** Longest text shown of the alarm's reason and name, and of a reason why the last error is unreadable. */
const FIELD = { reason: 300, name: 255, why: 300, label: 120, place: 64 } as const;
/** Longest last error quoted, in characters (see {@link shown} for text that escapes long). */
export const LAST_ERROR_SHOWN = 400;

/**
 * `value` cut to at most `max` characters, and to at most twice `max` once escaped for Telegram
 * HTML (`&` is 5 characters as `&amp;`, `<` and `>` are 4, `"` is 6). Plain text is cut at `max`
 * as `clip` cuts it; text full of markup characters is cut shorter. Without the second bound, an
 * alarm whose name, reason, dimensions and last error were all long runs of `&` escaped to about
 * 5,800 characters and the ops message split in two (the property in render-ops.test.ts found it);
 * with it the worst case stays one message (test/lambdas/notifier/ops-worst-case.test.ts).
 */
function shown(value: string, max: number): string {
  let escaped = 0;
  for (let i = 0; i < value.length && i < max; i++) {
    escaped += escapeHtml(value.charAt(i)).length;
    if (escaped > 2 * max) return clip(value, Math.max(1, i));
  }
  return clip(value, max);
}

/** What an ops message says for one kind of health alarm. */
interface HealthWords {
  /** Completes "waf-autoblock is unhealthy: …". */
  unhealthy(trigger: AlarmTrigger | undefined): string;
  /** What it means for the protection, one sentence. */
  readonly effect: string;
  /** Completes "waf-autoblock is healthy again: …". */
  healthy(trigger: AlarmTrigger | undefined): string;
  /** Completes "waf-autoblock health unknown: …" (INSUFFICIENT_DATA), one sentence. */
  readonly unknown: string;
  /** What to check, spans of one line. */
  check(where: Where): Span[];
}

/** Names the check can point at, when known. */
interface Where {
  readonly blockerLogGroup?: string;
  readonly deadLetterQueueUrl?: string;
  /** The alarm's region, from its ARN. */
  readonly region?: string;
  /** The alarm's dimensions (`FunctionName`, `QueueName`). */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** `the blocker function <code>x</code>`, or just `the blocker function` when its name is unknown. */
function named(what: string, name: string | undefined): Span[] {
  return name === undefined ? [text(what)] : [text(`${what} `), code(shown(name, FIELD.label))];
}

function window(trigger: AlarmTrigger | undefined): string | undefined {
  const { periodSeconds, evaluationPeriods } = trigger ?? {};
  return periodSeconds === undefined ? undefined : formatDuration(periodSeconds * (evaluationPeriods ?? 1) * 1000);
}

/** The alarm's threshold as a percentage, when it has one. */
function percent(trigger: AlarmTrigger | undefined): string | undefined {
  const threshold = trigger?.threshold;
  return threshold === undefined ? undefined : `${Math.round(threshold)}%`;
}

const BLOCKER_CHECKS = (where: Where): Span[] => [
  text('the last error; '),
  ...named("the blocker's log group", where.blockerLogGroup),
  text(' (or run '),
  code('waf-autoblock status'),
  text("); the role's permissions (a removed or changed policy); the ledger table (deleted, or throttled); "),
  text('the IP sets (deleted or changed by hand).'),
];

const CAPACITY_CHECKS: Span[] = [
  code('waf-autoblock status'),
  text(' shows each IP set against its 10,000 entries, and how many were added by others; a shorter '),
  code('blocker.blockDurationMinutes'),
  text(' lets ranges expire sooner.'),
];

const WORDS: Readonly<Record<HealthAlarmKind, HealthWords>> = {
  'blocker-failed': {
    unhealthy: (trigger) => {
      const span = window(trigger);
      return span === undefined ? 'a blocker run failed' : `a blocker run failed in the last ${span}`;
    },
    effect: 'Attackers the failed run saw may not be blocked until a run succeeds.',
    healthy: () => 'the blocker runs without errors',
    unknown: 'there is not enough data to tell whether blocker runs fail.',
    check: BLOCKER_CHECKS,
  },
  'blocker-failing': {
    unhealthy: (trigger) => {
      const runs = trigger?.evaluationPeriods;
      return runs === undefined ? 'the blocker keeps failing' : `the blocker has failed ${runs} runs in a row`;
    },
    effect: 'Until a run succeeds, no new attacker is blocked and no block expires.',
    healthy: () => 'the blocker runs without errors',
    unknown: 'there is not enough data to tell whether blocker runs fail.',
    check: BLOCKER_CHECKS,
  },
  'blocker-stopped': {
    unhealthy: (trigger) => {
      const span = window(trigger);
      return span === undefined ? 'the blocker is not being invoked' : `the blocker has not been invoked for ${span}`;
    },
    effect: 'Until it runs, no new attacker is blocked and no block expires.',
    healthy: () => 'the blocker is invoked again',
    unknown: 'there is not enough data to tell whether the blocker is being invoked.',
    check: (where) => [
      text('the EventBridge schedule rule is enabled; '),
      ...named('the blocker function', where.dimensions.FunctionName),
      text(' exists and its reserved concurrency ('),
      code('blocker.reservedConcurrency'),
      text(') is not 0 (throttled invocations do not count).'),
    ],
  },
  'notifier-failed': {
    unhealthy: () => 'a notifier invocation failed',
    effect:
      'An alert or a block report may be missing from the chat; Lambda retries it, then keeps it in the dead-letter queue.',
    healthy: () => 'the notifier runs without errors',
    unknown: 'there is not enough data to tell whether the notifier fails.',
    check: (where) => [
      ...named('the log of the notifier function', where.dimensions.FunctionName),
      text(' (its error line names the cause); the bot token secret; the chats in '),
      code('notifier.chatIds'),
      text('.'),
    ],
  },
  'telegram-undelivered': {
    unhealthy: () => 'a Telegram message could not be delivered',
    effect:
      'Alerts and block reports may be missing from a chat, and this message may not arrive either: ' +
      'that is what notifier.opsEmail is for.',
    healthy: () => 'Telegram messages are delivered',
    unknown: 'there is not enough data to tell whether Telegram messages are delivered.',
    check: () => [
      text('the bot token in the Secrets Manager secret (revoked or replaced in BotFather?); the chat ids in '),
      code('notifier.chatIds'),
      text(
        "; the bot is still in each chat (an administrator of a channel). The notifier's log names the chat and Telegram's answer.",
      ),
    ],
  },
  'blocklist-full': {
    unhealthy: (trigger) => {
      const full = percent(trigger);
      return full === undefined ? 'a blocklist is nearly full' : `a blocklist is at least ${full} full`;
    },
    effect: 'When it is full, new attackers overflow and are not all blocked.',
    healthy: (trigger) => {
      const full = percent(trigger);
      return full === undefined ? 'the blocklists have room' : `every blocklist is below ${full} full`;
    },
    unknown: 'there is not enough data to tell how full the blocklists are.',
    check: () => CAPACITY_CHECKS,
  },
  overflow: {
    unhealthy: () => 'ranges to block did not fit in the blocklists',
    effect: 'The most recent and most active ranges were kept; the others are not blocked.',
    healthy: () => 'every range to block fits in the blocklists',
    unknown: 'there is not enough data to tell whether every range to block fits in the blocklists.',
    check: () => [...CAPACITY_CHECKS, text(' The block reports list the ranges that did not fit.')],
  },
  'dead-letters': {
    unhealthy: () => 'an event failed for good and waits in the dead-letter queue',
    effect:
      'It is a ban-feed message, an alarm event or a notification that never completed; it stays in the queue (14 days) until deleted.',
    healthy: () => 'the dead-letter queue is empty: every event that failed for good was dealt with',
    unknown: 'there is not enough data to tell whether an event waits in the dead-letter queue.',
    check: (where) => [
      ...named('the queue', where.dimensions.QueueName),
      text(': '),
      code(
        `aws sqs receive-message --region ${shown(where.region ?? '<region>', FIELD.place)} --queue-url ${shown(where.deadLetterQueueUrl ?? '<url>', FIELD.name)} --max-number-of-messages 10`,
      ),
      text(
        ' shows each event (requestPayload), its function (requestContext.functionArn) and the error (responsePayload). ',
      ),
      text(
        'Once the cause is fixed, publish a ban-feed message again (its requestPayload.Records[0].Sns.Message) with ',
      ),
      code(
        `aws sns publish --region ${shown(where.region ?? '<region>', FIELD.place)} --topic-arn <BanFeedTopicArn> --message file://message.json`,
      ),
      text('; an old alarm event or report need not be replayed. Delete each one dealt with using '),
      code('aws sqs delete-message'),
      text('.'),
    ],
  },
};

/** Since when, which alarm, and where: the account and region, when the message said them. */
function sinceLine(notice: HealthNotice): Line {
  const { alarm } = notice;
  const since = alarm.changedAt === undefined ? 'an unknown time' : formatTime(alarm.changedAt);
  const line: Span[] = [text(`Since ${since} · alarm `), code(shown(alarm.alarmName, FIELD.name))];
  if (alarm.account !== undefined) line.push(text(' · account '), code(shown(alarm.account, FIELD.place)));
  if (alarm.region !== undefined) {
    line.push(text(alarm.account === undefined ? ' · region ' : ' in '), code(shown(alarm.region, FIELD.place)));
  }
  return line;
}

function reasonLine(notice: HealthNotice): Line[] {
  return notice.alarm.reason ? [[italic(shown(notice.alarm.reason, FIELD.reason))]] : [];
}

function lastErrorLine(lastError: Gathered<BlockerFailure | undefined>): Line {
  const label = bold('Last error:');
  if (!lastError.ok) return [label, text(' '), italic(`not readable (${shown(lastError.reason, FIELD.why)})`)];
  const failure = lastError.value;
  if (failure === undefined) {
    return [
      label,
      text(' '),
      italic(
        "none in the blocker's log for the hours before the alarm (a run stopped from outside, e.g. throttled, logs none)",
      ),
    ];
  }
  return [
    label,
    text(' '),
    code(shown(failure.error.trim() === '' ? '(empty)' : failure.error, LAST_ERROR_SHOWN)),
    text(` at ${formatTime(failure.at)}`),
  ];
}

function checkLine(words: HealthWords, notice: HealthNotice, details: OpsDetails): Line {
  const where: Where = {
    ...(details.blockerLogGroup === undefined ? {} : { blockerLogGroup: details.blockerLogGroup }),
    ...(details.deadLetterQueueUrl === undefined ? {} : { deadLetterQueueUrl: details.deadLetterQueueUrl }),
    ...(notice.alarm.region === undefined ? {} : { region: notice.alarm.region }),
    dimensions: notice.alarm.trigger?.dimensions ?? {},
  };
  return [bold('What to check:'), text(' '), ...words.check(where)];
}

/**
 * The ops message of a health alarm's state change:
 * - ALARM: "⚠️ waf-autoblock is unhealthy: <what happened>", since when, what it means, the last
 *   error (blocker-failed and blocker-failing: `details.lastError`), what to check, and the reason;
 * - OK after ALARM: "✅ waf-autoblock is healthy again: <what works>", since when;
 * - OK after anything else (INSUFFICIENT_DATA: the alarm's first evaluation, as right after a
 *   deploy): no message (`[]`), nothing changed for the people in the chat;
 * - INSUFFICIENT_DATA: the alarm cannot tell, why that can be, and what to check;
 * - any other state: as any other alarm ({@link renderAlarmState}).
 */
export function renderHealth(notice: HealthNotice, details: OpsDetails = {}): string[] {
  const words = WORDS[notice.health];
  const { trigger, newState } = notice.alarm;
  const lines: Line[] = [];
  if (newState === 'ALARM') {
    lines.push([text('⚠️ '), bold('waf-autoblock is unhealthy:'), text(` ${words.unhealthy(trigger)}`)]);
    lines.push(sinceLine(notice));
    lines.push([text(words.effect)]);
    if (details.lastError) lines.push(lastErrorLine(details.lastError));
    lines.push([]);
    lines.push(checkLine(words, notice, details));
    lines.push(...reasonLine(notice));
  } else if (isOkWithoutAlarm(notice.alarm)) {
    // One per health alarm that pages (seven; blocker-failed has no actions) arrives on every first
    // deploy; they tell nobody anything.
    return [];
  } else if (newState === 'OK') {
    lines.push([text('✅ '), bold('waf-autoblock is healthy again:'), text(` ${words.healthy(trigger)}`)]);
    lines.push(sinceLine(notice));
    lines.push(...reasonLine(notice));
  } else if (newState === 'INSUFFICIENT_DATA') {
    lines.push([text('❔ '), bold('waf-autoblock health unknown:'), text(` ${words.unknown}`)]);
    lines.push(sinceLine(notice));
    lines.push([
      text(
        'This is normal right after a deploy. Later, it can mean that the function or queue the alarm watches is gone.',
      ),
    ]);
    lines.push([]);
    lines.push(checkLine(words, notice, details));
  } else {
    return renderAlarmState(notice.alarm);
  }
  return toMessages(lines);
}
