/**
 * `status` shows what waits in the dead-letter queue (SQS GetQueueAttributes on the stack's
 * DeadLetterQueueUrl output, strict mock): an event that failed for good must never wait unseen.
 * A queue that cannot be read (permission, deleted queue, stack deployed before the output) is one
 * line; the other parts are still shown.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { HEALTH_ALARM_KINDS, healthAlarmName } from '#contracts/health';
import { SETTINGS } from '../support/blocker-fixtures';
import { cloudwatch, DEAD_LETTER_DEPTH_READ, deploy, FUNCTION_NAME, LOG_GROUP, logs, sqs, useServers } from './support';

const servers = useServers();
const QUEUE = 'WafAutoblock-DeadLetters-7G8H9I';
const ATTRIBUTES = DEAD_LETTER_DEPTH_READ;

/** Everything status reads but the queue answers: OK alarms, no run in the log. */
function quietDeployment(): void {
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: 'OK' }] });
  const names = HEALTH_ALARM_KINDS.map((kind) => healthAlarmName('WafAutoblock', kind));
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: names, AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: names.map((AlarmName) => ({ AlarmName, StateValue: 'OK' })) });
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
}

describe('waf-autoblock status: the dead-letter queue', () => {
  it('says how many events wait, and how to read them, with exit code 0', async () => {
    const deployment = await deploy(servers());
    quietDeployment();
    sqs
      .on(GetQueueAttributesCommand, ATTRIBUTES, true)
      .resolves({ Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '1' } });

    const { code, stdout, stderr } = await deployment.run('status');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `Dead-letter queue ${QUEUE}: 3 events that failed for good wait, 1 being read (received, not deleted); ` +
        'read them with aws sqs receive-message (docs/operations.md, "The dead-letter queue")\n',
    );
  });

  it('says the queue is empty when nothing waits', async () => {
    const deployment = await deploy(servers());
    quietDeployment();

    const { code, stdout } = await deployment.run('status');

    expect(code).toBe(0);
    expect(stdout).toContain(`Dead-letter queue ${QUEUE}: empty\n`);
  });

  it('shows a denied GetQueueAttributes as one unreadable line, and still shows the rest', async () => {
    const deployment = await deploy(servers());
    quietDeployment();
    sqs
      .on(GetQueueAttributesCommand, ATTRIBUTES, true)
      .rejects(
        Object.assign(new Error('User is not authorized to perform: sqs:GetQueueAttributes'), { name: 'AccessDenied' }),
      );

    const { code, stdout, stderr } = await deployment.run('status');

    expect(code).toBe(1);
    expect(stdout).toContain(
      `Dead-letter queue: unreadable: could not read dead-letter queue ${QUEUE}: AccessDenied: User is not authorized to perform: sqs:GetQueueAttributes\n`,
    );
    expect(stdout).toContain(`Alarm ${SETTINGS.alarmName}: OK`);
    expect(stdout).toContain('IP sets:');
    expect(stderr).toBe('waf-autoblock status: 1 part could not be read (see above)\n');
  });

  it('shows a deleted queue as one unreadable line', async () => {
    const deployment = await deploy(servers());
    quietDeployment();
    sqs
      .on(GetQueueAttributesCommand, ATTRIBUTES, true)
      .rejects(Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }));

    const { code, stdout } = await deployment.run('status');

    expect(code).toBe(1);
    expect(stdout).toContain(
      `Dead-letter queue: unreadable: could not read dead-letter queue ${QUEUE}: QueueDoesNotExist: The specified queue does not exist.\n`,
    );
  });

  it('names a missing DeadLetterQueueUrl output, without asking SQS', async () => {
    const deployment = await deploy(servers(), {
      outputs: [
        { OutputKey: 'BlockerFunctionName', OutputValue: FUNCTION_NAME },
        { OutputKey: 'BlockerLogGroupName', OutputValue: LOG_GROUP },
      ],
    });
    quietDeployment();

    const { code, stdout } = await deployment.run('status');

    expect(code).toBe(1);
    expect(stdout).toContain(
      'Dead-letter queue: unreadable: stack WafAutoblock in us-east-1 (UPDATE_COMPLETE) has no output DeadLetterQueueUrl: deploy it again',
    );
    expect(sqs.commandCalls(GetQueueAttributesCommand)).toEqual([]);
  });
});
