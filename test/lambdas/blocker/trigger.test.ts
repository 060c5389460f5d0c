import type { ScheduledEvent, SNSEvent, SNSEventRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { triggerOf } from '../../../lambdas/blocker/trigger';
import { SETTINGS } from '../../support/blocker-fixtures';

const ALARM = SETTINGS.alarmName;

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

function snsRecord(message: string): SNSEventRecord {
  return {
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:alerts:3f1c',
    Sns: {
      Type: 'Notification',
      MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
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
  return { Records: messages.map(snsRecord) };
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
    expect(triggerOf(snsEvent(alarmMessage(ALARM, state)), ALARM)).toStrictEqual({ kind: 'alarm', alarmState: state });
  });

  it('finds our alarm in any record of the batch', () => {
    const event = snsEvent('hello', alarmMessage('billing-alarm', 'ALARM'), alarmMessage(ALARM, 'ALARM'));

    expect(triggerOf(event, ALARM)).toStrictEqual({ kind: 'alarm', alarmState: 'ALARM' });
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
    expect(triggerOf(snsEvent(message), ALARM)).toStrictEqual({ kind: 'other' });
  });

  it('takes an SNS record without a message for some other trigger', () => {
    expect(triggerOf({ Records: [{ EventSource: 'aws:sns' }, null, 7] }, ALARM)).toStrictEqual({ kind: 'other' });
  });

  it('recognises the EventBridge schedule', () => {
    expect(triggerOf(scheduled, ALARM)).toStrictEqual({ kind: 'schedule' });
  });

  it.each([
    ['no event', undefined],
    ['null', null],
    ['an empty object (a console test invoke)', {}],
    ['an event from another source', { ...scheduled, source: 'aws.health' }],
    ['a string', 'run'],
  ])('takes %s for some other trigger', (_, event) => {
    expect(triggerOf(event, ALARM)).toStrictEqual({ kind: 'other' });
  });
});
