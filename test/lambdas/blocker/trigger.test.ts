import type { ScheduledEvent, SNSEvent, SNSEventRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { triggerOf } from '../../../lambdas/blocker/trigger';
import { SETTINGS } from '../../support/blocker-fixtures';

const ALARM = SETTINGS.alarmName;
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';

/** What CloudWatch publishes to SNS when an alarm changes state. */
function alarmMessage(alarmName: string, newState: string): string {
  return JSON.stringify({
    AlarmName: alarmName,
    AlarmDescription: 'Blocked requests above threshold',
    AWSAccountId: '123456789012',
    NewStateValue: newState,
    NewStateReason: 'Threshold Crossed: 1 datapoint [5120.0] was greater than the threshold (1000.0).',
    StateChangeTime: '2025-05-17T03:00:00.123+0000',
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`,
    OldStateValue: newState === 'OK' ? 'ALARM' : 'OK',
    Trigger: { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2', Threshold: 1000 },
  });
}

function snsRecord(message: string, topicArn = ALERT_TOPIC): SNSEventRecord {
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
      Timestamp: '2025-05-17T03:00:01.000Z',
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
  const { trigger, rejected } = triggerOf(event, SETTINGS);
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
    expect(triggerOf(feedEvent(JSON.stringify(BAN), JSON.stringify(UNBAN)), SETTINGS)).toStrictEqual({
      trigger: { kind: 'feed', actions: [BAN, UNBAN] },
      rejected: [],
    });
  });

  it('returns the feed messages it turned away, and the valid ones still make the trigger', () => {
    const { trigger, rejected } = triggerOf(
      feedEvent('ban 45.33.12.7', JSON.stringify(UNBAN), JSON.stringify({ ...BAN, duration: 60 })),
      SETTINGS,
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
    const { trigger, rejected } = triggerOf(feedEvent('null'), SETTINGS);

    expect(trigger).toStrictEqual({ kind: 'feed', actions: [] });
    expect(rejected.map((r) => r.problem)).toEqual(['not a JSON object']);
  });

  it('never takes an alarm-shaped message on the feed topic for our alarm: a publisher cannot open the gate', () => {
    const { trigger, rejected } = triggerOf(feedEvent(alarmMessage(ALARM, 'ALARM')), SETTINGS);

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
