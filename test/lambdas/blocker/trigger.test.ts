import type { ScheduledEvent, SNSEvent, SNSEventRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALARM_MESSAGE_FRESH_MS, CLOCK_SKEW_MS, triggerOf } from '#blocker/trigger';
import { MINUTE, NOW, SETTINGS } from '../../support/blocker-fixtures';

const ALARM = SETTINGS.alarmName;
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';

/** CloudWatch's form of a time: `2025-05-17T03:00:00.123+0000` (an offset without a colon). */
function cloudWatchTime(at: number): string {
  return new Date(at).toISOString().replace('Z', '+0000');
}

/**
 * What CloudWatch publishes to SNS when an alarm changes state; by default it changed at NOW.
 * `stateChangeTime: undefined` leaves the key out.
 */
function alarmMessage(alarmName: string, newState: string, options: { stateChangeTime?: unknown } = {}): string {
  const stateChangeTime = 'stateChangeTime' in options ? options.stateChangeTime : cloudWatchTime(NOW);
  return JSON.stringify({
    AlarmName: alarmName,
    AlarmDescription: 'Blocked requests above threshold',
    AWSAccountId: '123456789012',
    NewStateValue: newState,
    NewStateReason: 'Threshold Crossed: 1 datapoint [5120.0] was greater than the threshold (1000.0).',
    StateChangeTime: stateChangeTime,
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`,
    OldStateValue: newState === 'OK' ? 'ALARM' : 'OK',
    Trigger: { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2', Threshold: 1000 },
  });
}

/** An SNS delivery; by default SNS took the message in 0.877 s after NOW (its clock, not the run's). */
function snsRecord(
  message: string,
  topicArn = ALERT_TOPIC,
  timestamp: unknown = '2025-05-17T03:00:01.000Z',
): SNSEventRecord {
  return {
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:alerts:3f1c',
    Sns: {
      Type: 'Notification',
      MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      TopicArn: topicArn,
      Subject: 'ALARM',
      Message: message,
      Timestamp: timestamp as string,
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
      UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
      MessageAttributes: {},
    },
  };
}

function snsEvent(...messages: string[]): SNSEvent {
  return { Records: messages.map((message) => snsRecord(message)) };
}

function feedEvent(...messages: string[]): SNSEvent {
  return { Records: messages.map((message) => snsRecord(message, SETTINGS.feedTopicArn)) };
}

const BAN = { action: 'ban', address: '45.33.12.7', durationMinutes: 60, reason: 'ssh', source: 'fail2ban@web1' };
const UNBAN = { action: 'unban', address: '45.33.12.7', source: 'fail2ban@web1' };

/** The trigger alone, for the cases that reject nothing. */
function triggerAlone(event: unknown) {
  const { trigger, rejected } = triggerOf(event, SETTINGS, NOW);
  expect(rejected).toEqual([]);
  return trigger;
}

const scheduled: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2025-05-17T03:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/waf-autoblock-Schedule'],
  detail: {},
};

describe('triggerOf', () => {
  it.each(['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const)('reads the state %s from our own alarm', (state) => {
    expect(triggerAlone(snsEvent(alarmMessage(ALARM, state)))).toStrictEqual({ kind: 'alarm', alarmState: state });
  });

  it('finds our alarm in any record of the batch', () => {
    const event = snsEvent('hello', alarmMessage('billing-alarm', 'ALARM'), alarmMessage(ALARM, 'ALARM'));

    expect(triggerAlone(event)).toStrictEqual({ kind: 'alarm', alarmState: 'ALARM' });
  });

  it.each([
    ['another alarm', alarmMessage('billing-alarm', 'ALARM')],
    ['an alarm whose name only starts like ours', alarmMessage(`${ALARM}-2`, 'ALARM')],
    ['our alarm with a state CloudWatch does not have', alarmMessage(ALARM, 'PANIC')],
    ['garbage JSON', '{"AlarmName": "shop-acl-attack", "NewStateValue": '],
    ['plain text (aws sns publish --message test)', 'test'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON array', '["ALARM"]'],
    ['a JSON string', '"ALARM"'],
  ])('takes %s for some other trigger, whose run reads the alarm itself', (_, message) => {
    expect(triggerAlone(snsEvent(message))).toStrictEqual({ kind: 'other' });
  });

  it('takes an SNS record without a message for some other trigger', () => {
    expect(triggerAlone({ Records: [{ EventSource: 'aws:sns' }, null, 7] })).toStrictEqual({ kind: 'other' });
  });

  it('recognises the EventBridge schedule', () => {
    expect(triggerAlone(scheduled)).toStrictEqual({ kind: 'schedule' });
  });

  it.each([
    ['no event', undefined],
    ['null', null],
    ['an empty object (a console test invoke)', {}],
    ['an event from another source', { ...scheduled, source: 'aws.health' }],
    ['a string', 'run'],
  ])('takes %s for some other trigger', (_, event) => {
    expect(triggerAlone(event)).toStrictEqual({ kind: 'other' });
  });

  it('makes a feed trigger of the ban feed records, actions in publishing order', () => {
    expect(triggerOf(feedEvent(JSON.stringify(BAN), JSON.stringify(UNBAN)), SETTINGS, NOW)).toStrictEqual({
      trigger: { kind: 'feed', actions: [BAN, UNBAN] },
      rejected: [],
    });
  });

  it('returns the feed messages it turned away, and the valid ones still make the trigger', () => {
    const { trigger, rejected } = triggerOf(
      feedEvent('ban 45.33.12.7', JSON.stringify(UNBAN), JSON.stringify({ ...BAN, duration: 60 })),
      SETTINGS,
      NOW,
    );

    expect(trigger).toStrictEqual({ kind: 'feed', actions: [UNBAN] });
    expect(rejected).toStrictEqual([
      { problem: 'not JSON', messageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e', topicArn: SETTINGS.feedTopicArn },
      {
        problem: 'unknown key "duration"',
        messageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
        topicArn: SETTINGS.feedTopicArn,
      },
    ]);
  });

  it('still makes a feed trigger, with no actions, when every feed message is turned away', () => {
    const { trigger, rejected } = triggerOf(feedEvent('null'), SETTINGS, NOW);

    expect(trigger).toStrictEqual({ kind: 'feed', actions: [] });
    expect(rejected.map((r) => r.problem)).toEqual(['not a JSON object']);
  });

  it('never takes an alarm-shaped message on the feed topic for our alarm: a publisher cannot open the gate', () => {
    const { trigger, rejected } = triggerOf(feedEvent(alarmMessage(ALARM, 'ALARM')), SETTINGS, NOW);

    expect(trigger).toStrictEqual({ kind: 'feed', actions: [] });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.problem).toContain('unknown keys "AlarmName"');
  });

  it('ignores ban messages published to any other topic', () => {
    expect(triggerAlone(snsEvent(JSON.stringify(BAN)))).toStrictEqual({ kind: 'other' });
  });

  it('keeps both the alarm state and the feed actions of a hand-made event holding both', () => {
    const event = {
      Records: [snsRecord(alarmMessage(ALARM, 'ALARM')), snsRecord(JSON.stringify(BAN), SETTINGS.feedTopicArn)],
    };

    expect(triggerAlone(event)).toStrictEqual({ kind: 'alarm', alarmState: 'ALARM', actions: [BAN] });
  });
});

describe('an alarm message is believed only while fresh', () => {
  const HOUR = 60 * MINUTE;

  /** Our alarm's message whose state changed at `stateChangeTime`, delivered with the SNS `timestamp`. */
  function agedAlarmEvent(state: string, stateChangeTime: unknown, timestamp: unknown): SNSEvent {
    const record = snsRecord(alarmMessage(ALARM, state, { stateChangeTime }));
    return { Records: [{ ...record, Sns: { ...record.Sns, Timestamp: timestamp as string } }] };
  }

  /** Both times `ageMs` before NOW (negative: after), in the forms CloudWatch and SNS write them. */
  function alarmEventOfAge(state: string, ageMs: number): SNSEvent {
    return agedAlarmEvent(state, cloudWatchTime(NOW - ageMs), new Date(NOW - ageMs).toISOString());
  }

  it('does not take ALARM from a message 3 hours old: the run reads the alarm, and says why', () => {
    const reading = triggerOf(alarmEventOfAge('ALARM', 3 * HOUR), SETTINGS, NOW);

    expect(reading).toStrictEqual({
      trigger: { kind: 'alarm' },
      rejected: [],
      untrustedAlarmMessage: {
        state: 'ALARM',
        problem: 'StateChangeTime 2025-05-17T00:00:00.123Z is 3 h old (trusted for 60 s)',
      },
    });
  });

  it.each(['OK', 'INSUFFICIENT_DATA'])(
    'does not take %s from an old message either: the gate may be open now',
    (state) => {
      const reading = triggerOf(alarmEventOfAge(state, 10 * MINUTE), SETTINGS, NOW);

      expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
      expect(reading.untrustedAlarmMessage?.state).toBe(state);
    },
  );

  it.each([
    ['just published', 0, 'ALARM'],
    ['exactly 60 s old', ALARM_MESSAGE_FRESH_MS, 'ALARM'],
    ['1 ms older than 60 s', ALARM_MESSAGE_FRESH_MS + 1, undefined],
    ['10 s ahead of the run (clock skew)', -CLOCK_SKEW_MS, 'ALARM'],
    ['1 ms further ahead than the skew allowed', -CLOCK_SKEW_MS - 1, undefined],
  ])('at the edges: a message %s gives the alarm state %s', (_, ageMs, expected) => {
    expect(triggerOf(alarmEventOfAge('ALARM', ageMs), SETTINGS, NOW).trigger.alarmState).toBe(expected);
  });

  it('does not take an old state change that SNS delivered a moment ago', () => {
    const event = agedAlarmEvent('ALARM', cloudWatchTime(NOW - 2 * HOUR), new Date(NOW).toISOString());

    const reading = triggerOf(event, SETTINGS, NOW);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage?.problem).toBe(
      'StateChangeTime 2025-05-17T01:00:00.123Z is 2 h old (trusted for 60 s)',
    );
  });

  it('does not take a fresh state change that waited in the event queue for 2 hours', () => {
    const reading = triggerOf(alarmEventOfAge('ALARM', 0), SETTINGS, NOW + 2 * HOUR);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage?.problem).toMatch(/^StateChangeTime .* is 2 h old/);
  });

  it('does not take a message whose SNS Timestamp alone is old', () => {
    const event = agedAlarmEvent('ALARM', cloudWatchTime(NOW), new Date(NOW - 90_000).toISOString());

    expect(triggerOf(event, SETTINGS, NOW).untrustedAlarmMessage?.problem).toBe(
      'Timestamp 2025-05-17T02:58:30.123Z is 90 s old (trusted for 60 s)',
    );
  });

  it.each([
    ['a minute ahead', cloudWatchTime(NOW + MINUTE), 'StateChangeTime 2025-05-17T03:01:00.123Z is 60 s in the future'],
    ['in 2099', '2099-01-01T00:00:00.000+0000', 'StateChangeTime 2099-01-01T00:00:00.000Z is 26892 d in the future'],
  ])('does not take a state change dated %s, beyond any clock skew', (_, stateChangeTime, problem) => {
    const reading = triggerOf(agedAlarmEvent('ALARM', stateChangeTime, new Date(NOW).toISOString()), SETTINGS, NOW);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage?.problem).toBe(problem);
  });

  const NOT_TIMESTAMPS: [string, unknown][] = [
    ['null', null],
    ['epoch milliseconds', NOW],
    ['an empty string', ''],
    ['a word', 'yesterday'],
    ['a date without a time', '2025-05-17'],
    ['a time without a zone', '2025-05-17T03:00:00.123'],
    ['a time without seconds', '2025-05-17T03:00+0000'],
    ['an HTTP date (Date.parse reads it)', 'Sat, 17 May 2025 03:00:00 GMT'],
    ['February 30 (Date.parse rolls it over)', '2025-02-30T03:00:00.000+0000'],
    ['hour 24', '2025-05-17T24:00:00.000+0000'],
    ['an offset of 24 hours', '2025-05-18T03:00:00.123+2400'],
    ['surrounding blanks', ' 2025-05-17T03:00:00.123+0000 '],
    ['a timestamp and more', '2025-05-17T03:00:00.123+0000<script>'],
  ];

  it.each(NOT_TIMESTAMPS)('reads the alarm when the StateChangeTime is %s', (_, stateChangeTime) => {
    const reading = triggerOf(agedAlarmEvent('ALARM', stateChangeTime, new Date(NOW).toISOString()), SETTINGS, NOW);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage).toStrictEqual({
      state: 'ALARM',
      problem: 'its StateChangeTime is not an ISO 8601 timestamp',
    });
  });

  it.each(NOT_TIMESTAMPS)('reads the alarm when the SNS Timestamp is %s', (_, timestamp) => {
    const reading = triggerOf(agedAlarmEvent('ALARM', cloudWatchTime(NOW), timestamp), SETTINGS, NOW);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage?.problem).toBe('its Timestamp is not an ISO 8601 timestamp');
  });

  it.each([
    ['StateChangeTime', agedAlarmEvent('ALARM', undefined, new Date(NOW).toISOString())],
    ['Timestamp', agedAlarmEvent('ALARM', cloudWatchTime(NOW), undefined)],
  ])('reads the alarm when the message has no %s: nothing says it is recent', (field, event) => {
    const reading = triggerOf(event, SETTINGS, NOW);

    expect(reading.trigger).toStrictEqual({ kind: 'alarm' });
    expect(reading.untrustedAlarmMessage?.problem).toBe(`it has no ${field}`);
  });

  it.each(['2025-05-17T05:00:00.123+0200', '2025-05-17T05:00:00.123+02:00', '2025-05-16T21:30:00.123-05:30'])(
    'takes a fresh state change written with another offset (%s)',
    (stateChangeTime) => {
      const event = agedAlarmEvent('ALARM', stateChangeTime, new Date(NOW).toISOString());

      expect(triggerAlone(event)).toStrictEqual({ kind: 'alarm', alarmState: 'ALARM' });
    },
  );

  it('keeps the feed actions of a hand-made event whose alarm message is old', () => {
    const event = {
      Records: [
        snsRecord(alarmMessage(ALARM, 'ALARM', { stateChangeTime: cloudWatchTime(NOW - HOUR) })),
        snsRecord(JSON.stringify(BAN), SETTINGS.feedTopicArn),
      ],
    };

    expect(triggerOf(event, SETTINGS, NOW).trigger).toStrictEqual({ kind: 'alarm', actions: [BAN] });
  });

  it('takes the state exactly when both times lie within the skew ahead and the freshness bound behind', () => {
    const believable = (age: number) => age >= -CLOCK_SKEW_MS && age <= ALARM_MESSAGE_FRESH_MS;
    fc.assert(
      fc.property(
        fc.integer({ min: -2 * HOUR, max: 2 * HOUR }),
        fc.integer({ min: -2 * HOUR, max: 2 * HOUR }),
        fc.constantFrom('+0000', '+00:00', 'Z'),
        (changeAge, deliveryAge, zone) => {
          const stateChangeTime = new Date(NOW - changeAge).toISOString().replace('Z', zone);
          const event = agedAlarmEvent('ALARM', stateChangeTime, new Date(NOW - deliveryAge).toISOString());

          const { trigger, untrustedAlarmMessage } = triggerOf(event, SETTINGS, NOW);

          const trusted = believable(changeAge) && believable(deliveryAge);
          expect(trigger.alarmState).toBe(trusted ? 'ALARM' : undefined);
          expect(untrustedAlarmMessage === undefined).toBe(trusted);
        },
      ),
    );
  });
});
