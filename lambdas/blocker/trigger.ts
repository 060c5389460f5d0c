/** Tells what started a run from the Lambda event, without trusting its shape. */
import type { AlarmState } from '#adapters/alarm';
import { parseAwsTimestamp } from '#shared/aws-time';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { parseFeed, type RejectedFeedMessage } from './feed';
import type { Trigger } from './run';

const STATES: readonly string[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/**
 * How long after the alarm entered a state (its `StateChangeTime`, and SNS's `Timestamp`) a message
 * announcing that state is taken as the alarm's state now: 60 s.
 *
 * An older message may have sat in the blocker's asynchronous event queue (up to 6 hours when the
 * reserved concurrency queues it behind a burst of ban-feed runs, or when Lambda retries a failed run),
 * and the alarm may have returned to OK since: trusting it would open the gate after the attack.
 * Why 60 s: a message delivered the normal way (CloudWatch to SNS to Lambda) arrives within
 * seconds; the attack alarm's period is a multiple of 60 s (config checks it), an alarm of such a
 * period is evaluated about once a minute, so within 60 s of a state change it has been evaluated
 * again at most once. Distrusting a message costs little: the run reads the alarm
 * (DescribeAlarms) alongside its other reads, in the same round trip, as a scheduled run does.
 */
export const ALARM_MESSAGE_FRESH_MS = 60_000;

/**
 * How far a timestamp may lie in the future of the run's clock and still count as now: 10 s.
 * Lambda hosts and AWS services keep time by the Amazon Time Sync Service, within milliseconds of
 * each other; a message from further ahead was not written by CloudWatch and SNS as they are, so its
 * state is not taken either.
 */
export const CLOCK_SKEW_MS = 10_000;

/** Our alarm's message whose state was not taken: the run reads the alarm instead. */
export interface UntrustedAlarmMessage {
  /** The state the message announced. */
  readonly state: AlarmState;
  /** Why it was not taken, one line, e.g. `StateChangeTime 2025-05-17T00:00:00.123Z is 3 h old (trusted for 60 s)`. */
  readonly problem: string;
}

/** The trigger of a run, and what the handler should log about the event. */
export interface TriggerReading {
  readonly trigger: Trigger;
  /** The ban feed messages that were turned away. */
  readonly rejected: RejectedFeedMessage[];
  /** Set when our alarm's message was too old (or its time unknown) to be believed. */
  readonly untrustedAlarmMessage?: UntrustedAlarmMessage;
}

/**
 * An SNS message from our own alarm carries its new state, which saves a DescribeAlarms call and
 * a race with the alarm's own state, but only while it is fresh (see {@link ALARM_MESSAGE_FRESH_MS});
 * an older one, in either direction, leaves the state for the run to read, as do the schedule and
 * a manual invoke. Records from the ban feed topic carry bans and unbans. Never throws.
 *
 * @param now - The run's clock, in epoch milliseconds.
 */
export function triggerOf(
  event: unknown,
  settings: Pick<BlockerSettings, 'alarmName' | 'feedTopicArn' | 'neighbours'>,
  now: number = Date.now(),
): TriggerReading {
  const records = (event as { Records?: unknown } | undefined)?.Records;
  if (!Array.isArray(records)) {
    const scheduled = (event as { source?: unknown } | undefined)?.source === 'aws.events';
    return { trigger: { kind: scheduled ? 'schedule' : 'other' }, rejected: [] };
  }
  const feed = parseFeed(event, settings.feedTopicArn, { neighbourTier: settings.neighbours !== undefined });
  // Every feed record gives either an action or a rejection.
  const fromFeed = feed.actions.length + feed.rejected.length > 0;
  const alarm = alarmMessageOf(records as unknown[], settings);
  // Lambda delivers one SNS record per invocation, so both at once is only a hand-made event; then
  // the alarm's state is used and the actions are applied too, so nothing asked for is lost.
  const actions = fromFeed ? { actions: feed.actions } : {};
  if (alarm === undefined)
    return { trigger: { kind: fromFeed ? 'feed' : 'other', ...actions }, rejected: feed.rejected };
  const problem = alarmMessageProblem(alarm.stateChangeTime, alarm.timestamp, now);
  if (problem === undefined) {
    return { trigger: { kind: 'alarm', alarmState: alarm.state, ...actions }, rejected: feed.rejected };
  }
  return {
    trigger: { kind: 'alarm', ...actions },
    rejected: feed.rejected,
    untrustedAlarmMessage: { state: alarm.state, problem },
  };
}

/**
 * Why a message from our alarm does not tell the alarm's state at `now`, or undefined when it does:
 * both its `StateChangeTime` and the SNS `Timestamp` must be timestamps (see parseAwsTimestamp) no
 * older than {@link ALARM_MESSAGE_FRESH_MS} and no further ahead than {@link CLOCK_SKEW_MS}.
 * A missing or unreadable time counts as old: nothing says the message is recent.
 *
 * @param now - Epoch milliseconds.
 */
export function alarmMessageProblem(stateChangeTime: unknown, timestamp: unknown, now: number): string | undefined {
  const times = [
    ['StateChangeTime', stateChangeTime],
    ['Timestamp', timestamp],
  ] as const;
  for (const [field, value] of times) {
    if (value === undefined) return `it has no ${field}`;
    const at = parseAwsTimestamp(value);
    if (at === undefined) return `its ${field} is not an ISO 8601 timestamp`;
    const age = now - at;
    const when = new Date(at).toISOString();
    if (age > ALARM_MESSAGE_FRESH_MS) {
      return `${field} ${when} is ${duration(age)} old (trusted for ${ALARM_MESSAGE_FRESH_MS / 1000} s)`;
    }
    if (-age > CLOCK_SKEW_MS) return `${field} ${when} is ${duration(-age)} in the future`;
  }
  return undefined;
}

/** A length of time for a log line: `61 s`, `45 min`, `3 h`, `2 d`. */
function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} d`;
}

/** Our own alarm's message in the records, if one is there: its state and the times it carries. */
interface AlarmMessage {
  readonly state: AlarmState;
  readonly stateChangeTime: unknown;
  readonly timestamp: unknown;
}

/** The first message our own alarm published among the records, if any. */
function alarmMessageOf(
  records: readonly unknown[],
  settings: Pick<BlockerSettings, 'alarmName' | 'feedTopicArn'>,
): AlarmMessage | undefined {
  type SnsRecord = { Sns?: { Message?: unknown; TopicArn?: unknown; Timestamp?: unknown } } | null | undefined;
  for (const record of records as SnsRecord[]) {
    // A feed publisher must not be able to open the gate by publishing an alarm-shaped message.
    if (record?.Sns?.TopicArn === settings.feedTopicArn) continue;
    const text = record?.Sns?.Message;
    if (typeof text !== 'string') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      continue;
    }
    // `null` is valid JSON too (`aws sns publish --message null`).
    const alarm = parsed as { AlarmName?: unknown; NewStateValue?: unknown; StateChangeTime?: unknown } | null;
    if (
      alarm?.AlarmName === settings.alarmName &&
      typeof alarm.NewStateValue === 'string' &&
      STATES.includes(alarm.NewStateValue)
    ) {
      return {
        state: alarm.NewStateValue as AlarmState,
        stateChangeTime: alarm.StateChangeTime,
        timestamp: record?.Sns?.Timestamp,
      };
    }
  }
  return undefined;
}
