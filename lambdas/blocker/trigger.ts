/** Tells what started a run from the Lambda event, without trusting its shape. */
import type { AlarmState } from '../adapters/alarm';
import type { BlockerSettings } from './environment';
import { parseFeed, type RejectedFeedMessage } from './feed';
import type { Trigger } from './run';

const STATES: readonly string[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/** The trigger of a run, and the ban feed messages that were turned away (for the handler to log). */
export interface TriggerReading {
  readonly trigger: Trigger;
  readonly rejected: RejectedFeedMessage[];
}

/**
 * An SNS message from our own alarm carries its new state, which saves a DescribeAlarms call and
 * a race with the alarm's own state; records from the ban feed topic carry bans and unbans;
 * anything else (the schedule, a manual invoke) reads the state. Never throws.
 */
export function triggerOf(
  event: unknown,
  settings: Pick<BlockerSettings, 'alarmName' | 'feedTopicArn'>,
): TriggerReading {
  const records = (event as { Records?: unknown } | undefined)?.Records;
  if (!Array.isArray(records)) {
    const scheduled = (event as { source?: unknown } | undefined)?.source === 'aws.events';
    return { trigger: { kind: scheduled ? 'schedule' : 'other' }, rejected: [] };
  }
  const feed = parseFeed(event, settings.feedTopicArn);
  // Every feed record gives either an action or a rejection.
  const fromFeed = feed.actions.length + feed.rejected.length > 0;
  const alarmState = alarmStateOf(records as unknown[], settings);
  // Lambda delivers one SNS record per invocation, so both at once is only a hand-made event; then
  // the alarm's state is used and the actions are applied too, so nothing asked for is lost.
  const actions = fromFeed ? { actions: feed.actions } : {};
  if (alarmState !== undefined) return { trigger: { kind: 'alarm', alarmState, ...actions }, rejected: feed.rejected };
  return { trigger: { kind: fromFeed ? 'feed' : 'other', ...actions }, rejected: feed.rejected };
}

/** The state our own alarm announced in one of the records, if one did. */
function alarmStateOf(
  records: readonly unknown[],
  settings: Pick<BlockerSettings, 'alarmName' | 'feedTopicArn'>,
): AlarmState | undefined {
  for (const record of records as ({ Sns?: { Message?: unknown; TopicArn?: unknown } } | null | undefined)[]) {
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
    const alarm = parsed as { AlarmName?: unknown; NewStateValue?: unknown } | null;
    if (
      alarm?.AlarmName === settings.alarmName &&
      typeof alarm.NewStateValue === 'string' &&
      STATES.includes(alarm.NewStateValue)
    ) {
      return alarm.NewStateValue as AlarmState;
    }
  }
  return undefined;
}
