/**
 * An ops message is one Telegram message, whatever the alarm message holds: the property in
 * render-ops.test.ts found (rarely, with random text) alarm names, reasons, dimensions and errors
 * long enough and full of characters that escape to 5 (`&amp;`) to split it in two. This is that
 * worst case, made on purpose, for every health alarm kind and state.
 */
import { describe, expect, it } from 'vitest';
import { HEALTH_ALARM_KINDS } from '#contracts/health';
import { renderHealth } from '#notifier/render-ops';
import { TELEGRAM_MESSAGE_LIMIT } from '#notifier/telegram-html';
import type { HealthNotice, OpsDetails } from '#notifier/types';
import { HEALTH_CHANGED_AT, healthNotice } from './fixtures';
import { expectSendable } from './harness';

/** `unit` repeated to 5,000 characters: longer than any field is shown. */
const longest = (unit: string): string => unit.repeat(Math.ceil(5_000 / unit.length));

describe('an ops message with every field at its longest', () => {
  const cases = HEALTH_ALARM_KINDS.flatMap((health) =>
    (['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const).flatMap((state) =>
      ['&', '<', '</code>', '👨‍👩‍👧'].map((unit) => ({ health, state, unit })),
    ),
  );

  it.each(cases)('$health $state filled with $unit is one sendable message', ({ health, state, unit }) => {
    const hostile = longest(unit);
    const notice = healthNotice(health, state, state === 'OK' ? 'ALARM' : 'OK');
    const trigger = { ...notice.alarm.trigger, dimensions: { FunctionName: hostile, QueueName: hostile } };
    const worst: HealthNotice = { ...notice, alarm: { ...notice.alarm, alarmName: hostile, reason: hostile, trigger } };
    const details: OpsDetails = {
      blockerLogGroup: `/aws/lambda/${hostile}`,
      deadLetterQueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/${hostile}`,
      lastError: { ok: true, value: { at: HEALTH_CHANGED_AT, error: hostile } },
    };
    const messages = renderHealth(worst, details);
    expectSendable(messages);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT);
  });
});
