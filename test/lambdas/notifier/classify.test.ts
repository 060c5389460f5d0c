import { describe, expect, it } from 'vitest';
import { classifyMessage, noticesOf, normalizeReport } from '#notifier/classify';
import { HEALTH_ALARM_KINDS } from '#contracts/health';
import { upgradeReport, type BlockReportV2 } from '#contracts/report';
import {
  ALARM,
  ALARM_NAME,
  alarmMessage,
  BLOCKER_FUNCTION,
  DEAD_LETTER_QUEUE,
  healthAlarmMessage,
  healthNotice,
  NOW,
  OK,
  REPORT,
  snsEvent,
} from './fixtures';

describe('noticesOf', () => {
  it('reads a CloudWatch alarm message, its states, reason and time', () => {
    expect(noticesOf(snsEvent(alarmMessage(ALARM)))).toEqual([
      {
        messageId: 'msg-1',
        notice: {
          ...ALARM,
          description: 'waf-autoblock: WafAutoblock-web-acl blocked at least 3000 requests in 300 s',
          trigger: { metricName: 'BlockedRequests', threshold: 3000, dimensions: {} },
          // The region's code from AlarmArn: the message's own Region is "US East (N. Virginia)".
          account: '123456789012',
          region: 'us-east-1',
        },
      },
    ]);
    const [ok] = noticesOf(snsEvent(alarmMessage(OK), 'OkTopic'));
    expect(ok?.notice).toMatchObject({ kind: 'alarm', newState: 'OK', oldState: 'ALARM', changedAt: OK.changedAt });
  });

  it('reads a block report from the reports topic, of version 1 (an older blocker) as version 2', () => {
    expect(noticesOf(snsEvent(JSON.stringify(REPORT), 'ReportsTopic'))).toEqual([
      {
        messageId: 'msg-1',
        notice: { kind: 'report', report: { ...REPORT, version: 2, addedCount: 2, expiredCount: 1, runs: 1 } },
      },
    ]);
  });

  it('takes `aws sns publish --message test` as plain text, with its subject and topic', () => {
    expect(noticesOf(snsEvent('test', 'AlertTopic', 'hello'))).toEqual([
      {
        messageId: 'msg-1',
        notice: { kind: 'plain', body: 'test', shape: 'text', subject: 'hello', topicName: 'WafAutoblock-AlertTopic' },
      },
    ]);
  });

  it('never throws on garbage, whatever the event looks like', () => {
    const shapes = [
      undefined,
      null,
      42,
      'text',
      [],
      {},
      { Records: 'nope' },
      { Records: [null, 1, { Sns: null }] },
      { Records: [{ Sns: { Message: { not: 'a string' } } }] },
      { Records: [{ Sns: {} }] },
      { source: 'aws.events', detail: {} },
    ];
    for (const event of shapes) {
      const notices = noticesOf(event);
      expect(notices.length).toBeGreaterThan(0);
      for (const { notice } of notices) expect(['plain', 'alarm', 'report']).toContain(notice.kind);
    }
    expect(noticesOf({ Records: [{ Sns: { Message: { not: 'a string' } } }] })[0]?.notice).toEqual({
      kind: 'plain',
      body: '{"not":"a string"}',
      shape: 'json',
    });
    expect(noticesOf({ hello: 'world' })).toEqual([
      { messageId: 'direct-invoke', notice: { kind: 'plain', body: '{"hello":"world"}', shape: 'json' } },
    ]);
  });
});

describe('health alarms', () => {
  it.each(HEALTH_ALARM_KINDS)('reads %s as a health notice with its states, time and trigger', (health) => {
    for (const state of ['ALARM', 'OK']) {
      const notice = healthNotice(health, state);
      expect(classifyMessage(healthAlarmMessage(notice))).toEqual({
        ...notice,
        alarm: {
          ...notice.alarm,
          description: `waf-autoblock health: ${health}`,
          account: '123456789012',
          region: 'us-east-1',
        },
      });
    }
  });

  it('reads the trigger figures an ops message puts in words, and the dimensions by name', () => {
    const failing = classifyMessage(healthAlarmMessage(healthNotice('blocker-failing', 'ALARM')));
    expect(failing).toMatchObject({
      kind: 'health',
      health: 'blocker-failing',
      alarm: {
        trigger: {
          metricName: 'Errors',
          periodSeconds: 300,
          evaluationPeriods: 3,
          threshold: 1,
          dimensions: { FunctionName: BLOCKER_FUNCTION },
        },
      },
    });
    const letters = classifyMessage(healthAlarmMessage(healthNotice('dead-letters', 'ALARM')));
    expect(letters).toMatchObject({ alarm: { trigger: { dimensions: { QueueName: DEAD_LETTER_QUEUE } } } });
  });

  it('drops trigger fields of the wrong type instead of failing', () => {
    const notice = classifyMessage(
      JSON.stringify({
        AlarmName: 'WafAutoblock-health-overflow',
        NewStateValue: 'ALARM',
        Trigger: {
          Period: -5,
          EvaluationPeriods: 'three',
          Threshold: null,
          Dimensions: [{ name: 'x' }, 7, { value: 'y' }],
        },
      }),
    );
    expect(notice).toEqual({
      kind: 'health',
      health: 'overflow',
      alarm: {
        kind: 'alarm',
        alarmName: 'WafAutoblock-health-overflow',
        newState: 'ALARM',
        trigger: { dimensions: {} },
      },
    });
  });

  it('keeps the attack alarm, other alarms and names that only look like a health alarm as plain alarms', () => {
    expect(classifyMessage(alarmMessage(ALARM))).toMatchObject({ kind: 'alarm', alarmName: ALARM_NAME });
    for (const alarmName of [
      'billing',
      'WafAutoblock-health-',
      'WafAutoblock-health-blocker',
      'WafAutoblock-health-blocker-failed-copy',
      'WafAutoblock-HEALTH-blocker-failed',
      'WafAutoblock-health-something-new',
    ]) {
      expect(classifyMessage(alarmMessage({ ...ALARM, alarmName }))).toMatchObject({ kind: 'alarm', alarmName });
    }
  });
});

describe('classifyMessage', () => {
  it.each([
    ['', 'empty'],
    ['   \n', 'empty'],
    ['{"truncated": ', 'text'],
    ['null', 'text'],
    ['42', 'text'],
    ['"a JSON string"', 'text'],
    ['[1,2,3]', 'json'],
    ['{"AlarmName": 42, "NewStateValue": "ALARM"}', 'json'],
    ['{"kind": "waf-autoblock.block-report", "version": 3}', 'json'],
  ])('shows %j as a plain %s notice', (message, shape) => {
    expect(classifyMessage(message)).toMatchObject({ kind: 'plain', shape });
  });

  it('keeps a CloudWatch time it can read and drops one it cannot', () => {
    const withTime = (StateChangeTime: unknown) =>
      classifyMessage(JSON.stringify({ AlarmName: 'a', NewStateValue: 'ALARM', StateChangeTime }));
    expect(withTime('2025-03-14T03:00:00.000+0000')).toMatchObject({ changedAt: NOW });
    expect(withTime('2025-03-14T04:00:00.000+0100')).toMatchObject({ changedAt: NOW });
    expect(withTime('yesterday')).not.toHaveProperty('changedAt');
    expect(withTime(12)).not.toHaveProperty('changedAt');
  });
});

describe('normalizeReport', () => {
  /** Two runs merged, cut to fit: more counted than listed. */
  const merged: BlockReportV2 = {
    ...upgradeReport(REPORT),
    since: new Date(NOW - 10 * 60_000).toISOString(),
    runs: 3,
    addedCount: 2_982,
    expiredCount: 40,
  };

  it('keeps a well-formed version 2 report as it is, and reads version 1 with its list lengths as totals', () => {
    expect(normalizeReport(JSON.parse(JSON.stringify(merged)))).toEqual(merged);
    expect(normalizeReport(JSON.parse(JSON.stringify(REPORT)))).toEqual(upgradeReport(REPORT));
  });

  it('drops entries of the wrong type and zeroes bad numbers instead of failing', () => {
    const report = normalizeReport({
      kind: REPORT.kind,
      version: 1,
      added: [{ range: '198.51.100.0/24', source: 7, hits: -1 }, 'junk', { source: 'no range' }],
      expired: 'not a list',
      overflow: { count: 'many', sample: ['192.0.2.0/24', 3] },
      ipSets: [{ name: 'v4', family: 'IPV6', size: 10, capacity: Infinity }, { size: 1 }],
      topHosts: [{ host: '<x>', count: 2 }, { count: 3 }],
      rejectedKeys: { allowlisted: 2, bogus: 'x' },
      unreadableRules: ['rate-all', null],
    });
    expect(report).toEqual({
      kind: REPORT.kind,
      version: 2,
      at: '',
      runs: 1,
      webAclName: '(unknown web ACL)',
      dryRun: false,
      collected: true,
      added: [{ range: '198.51.100.0/24', source: 'unknown', hits: 0 }],
      addedCount: 1,
      expired: [],
      expiredCount: 0,
      overflow: { count: 0, sample: ['192.0.2.0/24'] },
      ipSets: [{ name: 'v4', family: 'IPV6', size: 10, capacity: 0 }],
      topHosts: [{ host: '<x>', count: 2 }],
      rejectedKeys: { allowlisted: 2 },
      unreadableRules: ['rate-all'],
    });
  });

  it('never believes a version 2 total below what its list holds, nor fewer than one run', () => {
    const report = normalizeReport({ ...merged, addedCount: 1, expiredCount: 'many', runs: 0, since: 5 });
    expect(report).toMatchObject({ addedCount: 2, expiredCount: 1, runs: 1 });
    expect(report).not.toHaveProperty('since');
  });

  it('is undefined for anything that is not a block report of version 1 or 2', () => {
    expect(normalizeReport({ kind: 'other', version: 1 })).toBeUndefined();
    expect(normalizeReport({ kind: REPORT.kind, version: 3 })).toBeUndefined();
    expect(normalizeReport({ kind: REPORT.kind, version: '2' })).toBeUndefined();
    expect(normalizeReport(null)).toBeUndefined();
  });
});
