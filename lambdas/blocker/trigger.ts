/** Tells what started a run from the Lambda event, without trusting its shape. */
import type { AlarmState } from '../adapters/alarm';
import type { Trigger } from './run';

const STATES: readonly string[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/**
 * An SNS message from our own alarm carries its new state, which saves a DescribeAlarms call and
 * a race with the alarm's own state; anything else (the schedule, a manual invoke) reads the state.
 */
export function triggerOf(event: unknown, alarmName: string): Trigger {
  const records = (event as { Records?: unknown } | undefined)?.Records;
  if (Array.isArray(records)) {
    for (const record of records as ({ Sns?: { Message?: unknown } } | null | undefined)[]) {
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
        alarm?.AlarmName === alarmName &&
        typeof alarm.NewStateValue === 'string' &&
        STATES.includes(alarm.NewStateValue)
      ) {
        return { kind: 'alarm', alarmState: alarm.NewStateValue as AlarmState };
      }
    }
    return { kind: 'other' };
  }
  if ((event as { source?: unknown } | undefined)?.source === 'aws.events') return { kind: 'schedule' };
  return { kind: 'other' };
}
