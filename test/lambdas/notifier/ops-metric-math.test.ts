/**
 * Ops messages of the metric-math health alarms (blocker-stopped, notifier-failed), from the SNS
 * message CloudWatch publishes for them: their `Trigger` lists the alarm's queries in `Metrics` and
 * may leave out the top-level `Period`, `MetricName` and `Dimensions` a single-metric alarm has.
 * The message must still say which function and for how long, as it does for a single metric.
 *
 * The message shape follows AWS's own sample of a multiple-metric alarm notification
 * (aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json): queries of
 * `{ Id, Expression?, Label?, MetricStat?: { Metric: { Dimensions: [{ value, name }], MetricName,
 * Namespace }, Period, Stat }, ReturnData }`; the queries are the alarms' (test/lib/health-alarms.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noticesOf } from '#notifier/classify';
import { renderHealth } from '#notifier/render-ops';
import { MAX_PARTS, TELEGRAM_MESSAGE_LIMIT } from '#notifier/telegram-html';
import type { Notice, OpsDetails } from '#notifier/types';
import { healthAlarmName } from '#contracts/health';
import { checkTelegramHtml, visibleText } from '../../support/telegram-server';
import {
  BLOCKER_FUNCTION,
  BLOCKER_LOG_GROUP,
  DEAD_LETTER_QUEUE_URL,
  NAME_PREFIX,
  NOTIFIER_FUNCTION,
  OPS_TOPIC_ARN,
  snsEvent,
} from './fixtures';
import { TELEGRAM_FORMATS_AT_MOST, telegramEntities } from './telegram-entities';

const DETAILS: OpsDetails = { blockerLogGroup: BLOCKER_LOG_GROUP, deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL };

type MathKind = 'blocker-stopped' | 'notifier-failed';

/** One of the alarm's metric queries, as the SNS message lists it (dimensions in lower case). */
function metricQuery(id: string, namespace: string, metricName: string, dimensions: Record<string, string>) {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Dimensions: Object.entries(dimensions).map(([name, value]) => ({ value, name })),
        MetricName: metricName,
        Namespace: namespace,
      },
      Period: 300,
      Stat: 'Sum',
    },
    ReturnData: false,
  };
}

/** The alarm's queries (lib/health/health-alarms.ts), for a blocker or notifier function so named. */
function queriesOf(kind: MathKind, functionName: string): unknown[] {
  if (kind === 'blocker-stopped') {
    return [
      {
        Expression: 'FILL(invocations, 0) - FILL(attackTicks, 0)',
        Id: 'expr_1',
        Label: 'Blocker invocations other than the attack tick',
        ReturnData: true,
      },
      metricQuery('invocations', 'AWS/Lambda', 'Invocations', { FunctionName: functionName }),
      metricQuery('attackTicks', 'AWS/Lambda', 'Invocations', {
        FunctionName: functionName,
        Resource: `${functionName}:attack-tick`,
      }),
    ];
  }
  return [
    {
      Expression: 'IF(FILL(undelivered, 0) > 0, 0, errors)',
      Id: 'expr_1',
      Label: 'Notifier errors other than undelivered Telegram messages',
      ReturnData: true,
    },
    metricQuery('errors', 'AWS/Lambda', 'Errors', { FunctionName: functionName }),
    metricQuery('undelivered', 'WafAutoblock', 'TelegramUndelivered', { service: 'WafAutoblock-notifier' }),
  ];
}

const REASONS: Readonly<Record<MathKind, { readonly ALARM: string; readonly OK: string }>> = {
  'blocker-stopped': {
    ALARM:
      'Threshold Crossed: 3 out of the last 3 datapoints [0.0 (14/03/25 02:05:00), 0.0 (14/03/25 02:00:00), 0.0 (14/03/25 01:55:00)] were less than the threshold (1.0) (minimum 3 datapoints for OK -> ALARM transition).',
    OK: 'Threshold Crossed: 1 out of the last 3 datapoints [2.0 (14/03/25 02:40:00)] was not less than the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).',
  },
  'notifier-failed': {
    ALARM:
      'Threshold Crossed: 1 out of the last 1 datapoints [1.0 (14/03/25 02:05:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).',
    OK: 'Threshold Crossed: 1 out of the last 1 datapoints [0.0 (14/03/25 02:40:00)] was not greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).',
  },
};

interface MessageOptions {
  /** The function the alarm watches. */
  readonly functionName?: string;
  /** Whether the Trigger carries a top-level `Period` too, as AWS's sample does. */
  readonly topLevelPeriod?: boolean;
  /** The queries, when not the alarm's own. */
  readonly metrics?: unknown;
}

/** The SNS message CloudWatch publishes when a metric-math health alarm changes state. */
function mathAlarmMessage(kind: MathKind, newState: 'ALARM' | 'OK', options: MessageOptions = {}): string {
  const stopped = kind === 'blocker-stopped';
  const alarmName = healthAlarmName(NAME_PREFIX, kind);
  const functionName = options.functionName ?? (stopped ? BLOCKER_FUNCTION : NOTIFIER_FUNCTION);
  return JSON.stringify({
    AlarmName: alarmName,
    AlarmDescription: `waf-autoblock: ${kind}`,
    AWSAccountId: '123456789012',
    AlarmConfigurationUpdatedTimestamp: '2025-03-01T10:00:00.000+0000',
    NewStateValue: newState,
    NewStateReason: REASONS[kind][newState],
    StateChangeTime: newState === 'ALARM' ? '2025-03-14T02:10:00.000+0000' : '2025-03-14T02:40:00.000+0000',
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`,
    OldStateValue: newState === 'ALARM' ? 'OK' : 'ALARM',
    OKActions: [OPS_TOPIC_ARN],
    AlarmActions: [OPS_TOPIC_ARN],
    InsufficientDataActions: [],
    Trigger: {
      ...(options.topLevelPeriod ? { Period: 300 } : {}),
      EvaluationPeriods: stopped ? 3 : 1,
      DatapointsToAlarm: stopped ? 3 : 1,
      ComparisonOperator: stopped ? 'LessThanThreshold' : 'GreaterThanOrEqualToThreshold',
      Threshold: 1.0,
      TreatMissingData: stopped ? 'breaching' : 'notBreaching',
      EvaluateLowSampleCountPercentile: '',
      Metrics: options.metrics ?? queriesOf(kind, functionName),
    },
  });
}

/** The notice the notifier reads from the ops topic's SNS delivery. */
function received(message: string): Notice {
  const [incoming, ...more] = noticesOf(snsEvent(message, 'OpsTopic'));
  expect(more).toEqual([]);
  if (incoming === undefined) throw new Error('no notice');
  return incoming.notice;
}

/** The ops messages the chat gets for an SNS message. */
function opsMessages(message: string): string[] {
  const notice = received(message);
  if (notice.kind !== 'health') throw new Error(`read as ${notice.kind}, not as a health alarm`);
  return renderHealth(notice, DETAILS);
}

/** Every message Telegram would accept and format in full, with nothing unset shown. */
function expectSendable(messages: readonly string[]): void {
  expect(messages.length).toBeGreaterThan(0);
  expect(messages.length).toBeLessThanOrEqual(MAX_PARTS);
  for (const message of messages) {
    expect(message.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT);
    expect(checkTelegramHtml(message)).toBeUndefined();
    expect(telegramEntities(message)).toBeLessThanOrEqual(TELEGRAM_FORMATS_AT_MOST);
    expect(visibleText(message)).not.toMatch(/undefined|NaN|\[object/);
  }
}

const GOLDEN = {
  'blocker-stopped': {
    ALARM: `⚠️ <b>waf-autoblock is unhealthy:</b> the blocker has not been invoked for 15 min
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-stopped</code> · account <code>123456789012</code> in <code>us-east-1</code>
Until it runs, no new attacker is blocked and no block expires.

<b>What to check:</b> the EventBridge schedule rule is enabled; the blocker function <code>WafAutoblock-BlockerFunction-1A2B3C</code> exists and its reserved concurrency (<code>blocker.reservedConcurrency</code>) is not 0 (throttled invocations do not count).
<i>${REASONS['blocker-stopped'].ALARM.replace('->', '-&gt;')}</i>`,
    OK: `✅ <b>waf-autoblock is healthy again:</b> the blocker is invoked again
Since 2025-03-14 02:40 UTC · alarm <code>WafAutoblock-health-blocker-stopped</code> · account <code>123456789012</code> in <code>us-east-1</code>
<i>${REASONS['blocker-stopped'].OK.replace('->', '-&gt;')}</i>`,
  },
  'notifier-failed': {
    ALARM: `⚠️ <b>waf-autoblock is unhealthy:</b> a notifier invocation failed
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-notifier-failed</code> · account <code>123456789012</code> in <code>us-east-1</code>
An alert or a block report may be missing from the chat; Lambda retries it, then keeps it in the dead-letter queue.

<b>What to check:</b> the log of the notifier function <code>WafAutoblock-NotifierFunction-4D5E6F</code> (its error line names the cause); the bot token secret; the chats in <code>notifier.chatIds</code>.
<i>${REASONS['notifier-failed'].ALARM.replace('->', '-&gt;')}</i>`,
    OK: `✅ <b>waf-autoblock is healthy again:</b> the notifier runs without errors
Since 2025-03-14 02:40 UTC · alarm <code>WafAutoblock-health-notifier-failed</code> · account <code>123456789012</code> in <code>us-east-1</code>
<i>${REASONS['notifier-failed'].OK.replace('->', '-&gt;')}</i>`,
  },
} as const;

describe('ops messages of metric-math health alarms', () => {
  it('blocker-stopped in ALARM names the blocker function and how long it was not invoked (3 × 5 min)', () => {
    const messages = opsMessages(mathAlarmMessage('blocker-stopped', 'ALARM'));
    expect(messages).toEqual([GOLDEN['blocker-stopped'].ALARM]);
    expectSendable(messages);
  });

  it('blocker-stopped back to OK says the blocker is invoked again', () => {
    const messages = opsMessages(mathAlarmMessage('blocker-stopped', 'OK'));
    expect(messages).toEqual([GOLDEN['blocker-stopped'].OK]);
    expectSendable(messages);
  });

  it('notifier-failed in ALARM names the notifier function whose log to read', () => {
    const messages = opsMessages(mathAlarmMessage('notifier-failed', 'ALARM'));
    expect(messages).toEqual([GOLDEN['notifier-failed'].ALARM]);
    expectSendable(messages);
  });

  it('notifier-failed back to OK says the notifier runs without errors', () => {
    const messages = opsMessages(mathAlarmMessage('notifier-failed', 'OK'));
    expect(messages).toEqual([GOLDEN['notifier-failed'].OK]);
    expectSendable(messages);
  });

  it.each(['blocker-stopped', 'notifier-failed'] as const)(
    '%s: the same message whether or not the Trigger also has a top-level Period (AWS sample)',
    (kind) => {
      for (const state of ['ALARM', 'OK'] as const) {
        expect(opsMessages(mathAlarmMessage(kind, state, { topLevelPeriod: true }))).toEqual([GOLDEN[kind][state]]);
      }
    },
  );

  it('reads the watched metric, its period and the dimensions of its queries', () => {
    const stopped = received(mathAlarmMessage('blocker-stopped', 'ALARM'));
    expect(stopped.kind === 'health' && stopped.alarm.trigger).toEqual({
      metricName: 'Invocations',
      periodSeconds: 300,
      evaluationPeriods: 3,
      threshold: 1,
      dimensions: { FunctionName: BLOCKER_FUNCTION, Resource: `${BLOCKER_FUNCTION}:attack-tick` },
    });
    // An expression over two metrics of different names watches no one metric.
    const failed = received(mathAlarmMessage('notifier-failed', 'ALARM'));
    expect(failed.kind === 'health' && failed.alarm.trigger).toEqual({
      periodSeconds: 300,
      evaluationPeriods: 1,
      threshold: 1,
      dimensions: { FunctionName: NOTIFIER_FUNCTION, service: 'WafAutoblock-notifier' },
    });
  });

  it('escapes a function name with markup in it', () => {
    const [message = ''] = opsMessages(
      mathAlarmMessage('blocker-stopped', 'ALARM', { functionName: '<b>evil</b> & "co"' }),
    );
    expect(message).toContain('the blocker function <code>&lt;b&gt;evil&lt;/b&gt; &amp; &quot;co&quot;</code> exists');
    expectSendable([message]);
  });

  it('leaves out a dimension its queries disagree on, and a period it cannot read', () => {
    const metrics = [
      { Id: 'e1', Expression: 'a + b', ReturnData: true, Period: 'soon' },
      metricQuery('a', 'AWS/Lambda', 'Invocations', { FunctionName: 'one' }),
      metricQuery('b', 'AWS/Lambda', 'Invocations', { FunctionName: 'two' }),
    ].map((query) => ('MetricStat' in query ? { ...query, MetricStat: { ...query.MetricStat, Period: 0 } } : query));
    const [message = ''] = opsMessages(mathAlarmMessage('blocker-stopped', 'ALARM', { metrics }));
    expect(message).toContain('⚠️ <b>waf-autoblock is unhealthy:</b> the blocker is not being invoked\n');
    expect(message).toContain(
      '<b>What to check:</b> the EventBridge schedule rule is enabled; the blocker function exists',
    );
    expectSendable([message]);
  });

  it('renders a sendable message without "undefined" or "NaN" whatever the queries hold', () => {
    // Names and values that do not spell the words looked for themselves.
    const dimensionText = fc.oneof(
      fc.string().filter((value) => !/undefined|NaN|\[object/.test(value)),
      fc.integer(),
      fc.constant(null),
    );
    const query = fc.record(
      {
        Id: fc.anything(),
        Expression: fc.anything(),
        ReturnData: fc.oneof(fc.boolean(), fc.anything()),
        Period: fc.oneof(fc.integer(), fc.double(), fc.anything()),
        MetricStat: fc.oneof(
          fc.anything(),
          fc.record(
            {
              Metric: fc.oneof(
                fc.anything(),
                fc.record(
                  {
                    MetricName: fc.anything(),
                    Dimensions: fc.oneof(
                      fc.anything(),
                      fc.array(fc.record({ name: dimensionText, value: dimensionText }, { requiredKeys: [] })),
                    ),
                  },
                  { requiredKeys: [] },
                ),
              ),
              Period: fc.oneof(fc.integer(), fc.double(), fc.anything()),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.constantFrom<MathKind>('blocker-stopped', 'notifier-failed'),
        fc.constantFrom('ALARM' as const, 'OK' as const),
        fc.oneof(fc.array(query, { maxLength: 6 }), fc.anything()),
        (kind, state, metrics) => {
          expectSendable(opsMessages(mathAlarmMessage(kind, state, { metrics })));
        },
      ),
    );
  });
});
