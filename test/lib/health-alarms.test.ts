/**
 * The health alarms as synthesized: every alarm of lambdas/contracts/health.ts, with its metric,
 * namespace, dimensions, statistic, period, threshold, comparison, evaluation periods, missing-data
 * treatment and actions; the ops topic they publish to; the dead-letter queue; the e-mail
 * subscription; and what the notifier is given to render them. synthesize() fails on any cdk-nag
 * finding that no construct acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { HEALTH_ALARM_KINDS, healthAlarmKindOf, type HealthAlarmKind } from '#contracts/health';
import { parseConfig } from '#config/load';
import { HealthAlarms, OpsChannel, scheduleIntervalSeconds, type WatchedFunction } from '../../lib/health';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import { configErrorFrom, configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, functionOfService, resourcesOf, statementsOf } from '../support/template';

type AlarmProperties = Record<string, unknown>;

/** The logical id of the one resource of `type` whose id contains `part`. */
function idOf(template: Template, type: string, part: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(part));
  expect(ids, `${type} *${part}*`).toHaveLength(1);
  return ids[0]!;
}

/** The health alarms by kind, found by their names (`<namePrefix>-health-<kind>`). */
function healthAlarms(template: Template): Map<HealthAlarmKind, AlarmProperties> {
  const alarms = new Map<HealthAlarmKind, AlarmProperties>();
  for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const properties = (resource as { Properties: AlarmProperties }).Properties;
    const kind = typeof properties.AlarmName === 'string' ? healthAlarmKindOf(properties.AlarmName) : undefined;
    if (kind === undefined) continue;
    expect(alarms.has(kind), `two ${kind} alarms`).toBe(false);
    alarms.set(kind, properties);
  }
  return alarms;
}

/** An alarm's description with its tokens (log group and queue names) written as `<token>`. */
function descriptionOf(alarm: AlarmProperties): string {
  const description = alarm.AlarmDescription as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof description === 'string') return description;
  return description['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

/**
 * The health alarms alone in a bare stack, watching inline functions: what the schedule changes,
 * without bundling the Lambdas for every case. The assembly is removed from the temp dir.
 */
function bareHealthAlarms(
  schedule: string,
  withAttackTick = true,
  neighbourAction?: 'CHALLENGE' | 'CAPTCHA',
): Map<HealthAlarmKind, AlarmProperties> {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'waf-autoblock-health-')) });
  try {
    const stack = new Stack(app, 'Bare', { env: { account: '123456789012', region: 'eu-west-1' } });
    const watched = (name: string): WatchedFunction & { function: lambda.Function } => ({
      function: new lambda.Function(stack, name, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {};'),
      }),
      logGroup: new logs.LogGroup(stack, `${name}Logs`),
      serviceName: `bare-${name}`,
    });
    const channel = new OpsChannel(stack, 'Ops', { key: new kms.Key(stack, 'Key') });
    const [blocker, notifier] = [watched('blocker'), watched('notifier')];
    const attackTick = withAttackTick
      ? new lambda.Alias(stack, 'AttackTick', { aliasName: 'attack-tick', version: blocker.function.currentVersion })
      : undefined;
    new HealthAlarms(stack, 'Health', {
      namePrefix: 'bare',
      channel,
      blocker,
      attackTick,
      notifier,
      schedule,
      ...(neighbourAction === undefined ? {} : { neighbourAction }),
    });
    return healthAlarms(Template.fromStack(stack));
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

describe('the health alarms (default configuration: rate(5 minutes))', () => {
  const { template } = synthesize({ notifier: { opsEmail: 'ops@example.com' } });
  const [blockerId, blocker] = functionOfService(template, 'WafAutoblock-blocker');
  const [notifierId, notifier] = functionOfService(template, 'WafAutoblock-notifier');
  const opsTopicId = idOf(template, 'AWS::SNS::Topic', 'OpsTopic');
  const queueId = idOf(template, 'AWS::SQS::Queue', 'DeadLetters');
  const alarms = healthAlarms(template);
  const actions = { AlarmActions: [{ Ref: opsTopicId }], OKActions: [{ Ref: opsTopicId }] };
  const blockerErrors = {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: blockerId } }],
    Statistic: 'Sum',
    Period: 300,
  };
  const blockerMetric = (metricName: string, statistic: string) => ({
    Namespace: 'WafAutoblock',
    MetricName: metricName,
    Dimensions: [{ Name: 'service', Value: 'WafAutoblock-blocker' }],
    Statistic: statistic,
    Period: 300,
  });
  const atLeast = (threshold: number) => ({
    Threshold: threshold,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  const once = { EvaluationPeriods: 1, DatapointsToAlarm: 1 };
  const quietIsFine = { TreatMissingData: 'notBreaching' };

  const expected: Record<HealthAlarmKind, AlarmProperties> = {
    // Pages nobody (see the routing test below): one failed run is often repaired by the next.
    'blocker-failed': { ...blockerErrors, ...atLeast(1), ...once, ...quietIsFine },
    'blocker-failing': { ...blockerErrors, ...atLeast(1), EvaluationPeriods: 3, DatapointsToAlarm: 3, ...quietIsFine },
    // Every invocation but the attack tick's: the schedule, the first deploy's run (a version),
    // alarm and ban-feed messages count; the 1-minute tick, which runs whatever the schedule does,
    // does not. Metric math, so that the first deploy pages nobody and a disabled schedule still pages.
    'blocker-stopped': {
      Metrics: [
        {
          Id: 'expr_1',
          Label: 'Blocker invocations other than the attack tick',
          Expression: 'FILL(invocations, 0) - FILL(attackTicks, 0)',
          ReturnData: true,
        },
        {
          Id: 'invocations',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Invocations',
              Dimensions: [{ Name: 'FunctionName', Value: { Ref: blockerId } }],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
        {
          Id: 'attackTicks',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Invocations',
              Dimensions: [
                { Name: 'FunctionName', Value: { Ref: blockerId } },
                { Name: 'Resource', Value: { 'Fn::Join': ['', [{ Ref: blockerId }, ':attack-tick']] } },
              ],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
      ],
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    },
    'notifier-failed': {
      Metrics: [
        {
          Id: 'expr_1',
          Label: 'Notifier errors other than undelivered Telegram messages',
          Expression: 'IF(FILL(undelivered, 0) > 0, 0, errors)',
          ReturnData: true,
        },
        {
          Id: 'errors',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Errors',
              Dimensions: [{ Name: 'FunctionName', Value: { Ref: notifierId } }],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
        {
          Id: 'undelivered',
          MetricStat: {
            Metric: {
              Namespace: 'WafAutoblock',
              MetricName: 'TelegramUndelivered',
              Dimensions: [{ Name: 'service', Value: 'WafAutoblock-notifier' }],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
      ],
      ...atLeast(1),
      ...once,
      ...quietIsFine,
    },
    'telegram-undelivered': {
      Namespace: 'WafAutoblock',
      MetricName: 'TelegramUndelivered',
      Dimensions: [{ Name: 'service', Value: 'WafAutoblock-notifier' }],
      Statistic: 'Sum',
      Period: 300,
      ...atLeast(1),
      ...once,
      ...quietIsFine,
    },
    'blocklist-full': { ...blockerMetric('BlocklistUtilization', 'Maximum'), ...atLeast(90), ...once, ...quietIsFine },
    overflow: { ...blockerMetric('Overflow', 'Maximum'), ...atLeast(1), ...once, ...quietIsFine },
    'dead-letters': {
      // The depth: in ALARM while anything waits. Missing data (SQS publishes nothing for an idle
      // queue) keeps the state: an empty queue stays OK, a waiting message stays ALARM.
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      ...atLeast(1),
      ...once,
      TreatMissingData: 'ignore',
    },
  };

  it('has one alarm per health alarm kind, and no other health alarm', () => {
    expect([...alarms.keys()].sort()).toEqual([...HEALTH_ALARM_KINDS].sort());
  });

  /** The alarms that page: one fault, one notification (see docs/operations.md, "Health alarms"). */
  const paging: readonly HealthAlarmKind[] = HEALTH_ALARM_KINDS.filter((kind) => kind !== 'blocker-failed');

  it.each(HEALTH_ALARM_KINDS)('%s: watches its metric as documented', (kind) => {
    expect(alarms.get(kind)).toEqual({
      AlarmName: `WafAutoblock-health-${kind}`,
      AlarmDescription: expect.anything() as unknown,
      ...expected[kind],
      ...(paging.includes(kind) ? actions : {}),
    });
  });

  it('tells the ops topic of every ALARM and OK but a single failed blocker run, which the dashboard and status show', () => {
    for (const kind of paging) expect(alarms.get(kind), kind).toMatchObject(actions);
    expect(alarms.get('blocker-failed')).not.toHaveProperty('AlarmActions');
    expect(alarms.get('blocker-failed')).not.toHaveProperty('OKActions');
  });

  it('describes each alarm: what crossed which threshold, and what to check', () => {
    const mentions: Record<HealthAlarmKind, RegExp[]> = {
      'blocker-failed': [/Errors >= 1 in 5 minutes/, /no notification/, /log group <token>/],
      'blocker-failing': [/failed 3 runs in a row/, /log group <token>/],
      'blocker-stopped': [/not invoked for 3 schedule intervals \(15 minutes/, /schedule rule is enabled/],
      'notifier-failed': [/Errors >= 1 in 5 minutes/, /log group <token>/],
      'telegram-undelivered': [/TelegramUndelivered >= 1/, /bot token/, /notifier\.opsEmail/],
      'blocklist-full': [/at least 90% full/, /blocker\.blockDurationMinutes/],
      overflow: [/Overflow >= 1/, /blocker\.blockDurationMinutes/],
      'dead-letters': [
        /dead-letter queue <token> \(ApproximateNumberOfMessagesVisible >= 1; kept 14 days\)/,
        /aws sqs receive-message/,
        /stays in ALARM until the queue is empty/,
      ],
    };
    for (const kind of HEALTH_ALARM_KINDS) {
      const description = descriptionOf(alarms.get(kind)!);
      expect(description, kind).toMatch(/^waf-autoblock: /);
      expect(description, kind).toMatch(/[Cc]heck|Read it/);
      for (const mention of mentions[kind]) expect(description, kind).toMatch(mention);
      expect(description.length, kind).toBeLessThanOrEqual(1024);
    }
  });

  it('watches the service dimension the functions publish under: one per deployment, not one per account', () => {
    expect(blocker.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('WafAutoblock-blocker');
    expect(notifier.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('WafAutoblock-notifier');
    expect(blocker.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('WafAutoblock');
    expect(notifier.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('WafAutoblock');
  });

  it('publishes to an ops topic encrypted with the topics key, TLS only, that the paging alarms alone may publish to', () => {
    const alertTopic = template.findResources('AWS::SNS::Topic')[idOf(template, 'AWS::SNS::Topic', 'AlertTopic')];
    const opsTopic = template.findResources('AWS::SNS::Topic')[opsTopicId];
    expect(opsTopic).toMatchObject({
      Properties: { KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/TopicKey/), 'Arn'] } },
    });
    expect((opsTopic as { Properties: unknown }).Properties).toEqual(
      (alertTopic as { Properties: unknown }).Properties,
    );
    const alarmIds = Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
      .filter(([, resource]) => {
        const kind = healthAlarmKindOf(String((resource as { Properties: AlarmProperties }).Properties.AlarmName));
        return kind !== undefined && paging.includes(kind);
      })
      .map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    expect(alarmIds).toHaveLength(HEALTH_ALARM_KINDS.length - 1);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: opsTopicId }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          {
            Sid: 'AllowTheHealthAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: opsTopicId },
            Condition: {
              ArnLike: { 'aws:SourceArn': Match.arrayEquals(alarmIds) },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
          },
        ],
      },
    });
    template.hasOutput('OpsTopicArn', { Value: { Ref: opsTopicId } });
  });

  it('subscribes the configured e-mail address and the notifier to the ops topic', () => {
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')).map(
      (resource) => (resource as { Properties: Record<string, unknown> }).Properties,
    );
    expect(subscriptions.filter((subscription) => JSON.stringify(subscription.TopicArn).includes(opsTopicId))).toEqual(
      expect.arrayContaining([
        {
          Protocol: 'email',
          Endpoint: 'ops@example.com',
          TopicArn: { Ref: opsTopicId },
        },
        { Protocol: 'lambda', Endpoint: { 'Fn::GetAtt': [notifierId, 'Arn'] }, TopicArn: { Ref: opsTopicId } },
      ]),
    );
    expect(subscriptions.filter((subscription) => subscription.Protocol === 'email')).toHaveLength(1);
  });

  it('mails every state change with no filter policy, so that no ops e-mail can be dropped unseen', () => {
    // CloudWatch sends an e-mail endpoint a text, not JSON: a filter on the message body could
    // match nothing and drop every mail. The e-mail is the channel for when the notifier is broken.
    const email = Object.values(template.findResources('AWS::SNS::Subscription')).find(
      (resource) => (resource as { Properties: { Protocol: string } }).Properties.Protocol === 'email',
    ) as { Properties: Record<string, unknown> };
    expect(email.Properties).not.toHaveProperty('FilterPolicy');
    expect(email.Properties).not.toHaveProperty('FilterPolicyScope');
  });

  it('keeps failed asynchronous events 14 days in an encrypted, TLS-only queue', () => {
    expect(template.findResources('AWS::SQS::Queue')[queueId]).toMatchObject({
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: queueId } });
  });

  it("sends the blocker's events there after Lambda's two retries within 6 hours, and the notifier's within 1 hour", () => {
    for (const [functionId, maxAge] of [
      [blockerId, 6 * 3_600],
      [notifierId, 3_600],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: maxAge,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
    }
    for (const fn of [blocker, notifier]) {
      const sends = statementsOf(template, fn).filter((statement) => actionsOf(statement).includes('sqs:SendMessage'));
      expect(sends.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
    }
  });

  it('keeps failed scheduled runs out of the queue: the next tick repeats the run, and blocker-failing reports it', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as {
      Properties: { ScheduleExpression?: string; Targets: { Arn: unknown }[] };
    }[];
    const schedule = rules.find((rule) => rule.Properties.ScheduleExpression === 'rate(5 minutes)');
    const aliasId = (schedule?.Properties.Targets[0]?.Arn as { Ref: string }).Ref;
    expect(template.findResources('AWS::Lambda::Alias')[aliasId]).toMatchObject({
      Properties: { FunctionName: { Ref: blockerId }, Name: 'scheduled' },
    });
    // The alias's own invocation settings: no retry, no on-failure destination.
    const scheduledConfig = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).filter((resource) =>
      JSON.stringify(resource).includes(`"Ref":"${aliasId}"`),
    );
    expect(scheduledConfig).toEqual([
      {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: {
          FunctionName: { Ref: blockerId },
          Qualifier: { 'Fn::Select': [7, { 'Fn::Split': [':', { Ref: aliasId }] }] },
          MaximumRetryAttempts: 0,
        },
      },
    ]);
  });

  it("tells the notifier the ops topic, the queue and the blocker's log group", () => {
    const blockerLogGroup = (blocker.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup;
    expect(notifier.Properties.Environment.Variables).toMatchObject({
      [NOTIFIER_ENV.opsTopicArn]: { Ref: opsTopicId },
      [NOTIFIER_ENV.deadLetterQueueUrl]: { Ref: queueId },
      [NOTIFIER_ENV.blockerLogGroup]: blockerLogGroup,
    });
  });
});

describe('the health alarms, configured', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(2 hours)', 7_200],
    ['rate(1 day)', 86_400],
    ['cron(0/10 * * * ? *)', 600],
    // Runs at 00:00, 06:00 and 07:00: the longest gap, 07:00 to midnight, is 17 hours.
    ['cron(0 0,6,7 * * ? *)', 61_200],
  ])('count the blocker in periods of its longest gap between runs: %s gives %i s', (schedule, period) => {
    const alarms = bareHealthAlarms(schedule);
    for (const kind of ['blocker-failed', 'blocklist-full', 'overflow'] as const) {
      expect(alarms.get(kind), kind).toMatchObject({ Period: period, EvaluationPeriods: 1, DatapointsToAlarm: 1 });
    }
    expect(alarms.get('blocker-failing')).toMatchObject({ Period: period, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    const blockerStopped = alarms.get('blocker-stopped') as { Metrics: { MetricStat?: { Period: number } }[] };
    expect(blockerStopped).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    expect(blockerStopped.Metrics.flatMap((metric) => (metric.MetricStat ? [metric.MetricStat.Period] : []))).toEqual([
      period,
      period,
    ]);
    // The notifier and the queue do not run on the schedule.
    for (const kind of ['telegram-undelivered', 'dead-letters'] as const) {
      expect(alarms.get(kind), kind).toMatchObject({ Period: 300, EvaluationPeriods: 1 });
    }
    const notifierFailed = alarms.get('notifier-failed') as { Metrics: { MetricStat?: { Period: number } }[] };
    expect(notifierFailed).toMatchObject({ EvaluationPeriods: 1 });
    expect(notifierFailed.Metrics.flatMap((metric) => (metric.MetricStat ? [metric.MetricStat.Period] : []))).toEqual([
      300, 300,
    ]);
  });

  it('count every blocker invocation in blocker-stopped when there is no attack tick (gate always)', () => {
    const blockerStopped = bareHealthAlarms('rate(5 minutes)', false).get('blocker-stopped') as {
      Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: { Dimensions: { Name: string }[] } } }[];
    };
    expect(blockerStopped.Metrics.map(({ Id, Expression }) => [Id, Expression])).toEqual([
      ['expr_1', 'FILL(invocations, 0)'],
      ['invocations', undefined],
    ]);
    expect(blockerStopped.Metrics[1]?.MetricStat?.Metric.Dimensions.map(({ Name }) => Name)).toEqual(['FunctionName']);
  });

  it('with a neighbour tier, fire blocklist-full on the fuller of the blocklists and the neighbour sets, and say so', () => {
    const fill = (metricName: string) => ({
      Id: metricName === 'BlocklistUtilization' ? 'blocklists' : 'neighbours',
      MetricStat: {
        Metric: {
          Namespace: 'WafAutoblock',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'bare-blocker' }],
        },
        Period: 600,
        Stat: 'Maximum',
      },
      ReturnData: false,
    });
    const full = bareHealthAlarms('rate(10 minutes)', true, 'CAPTCHA').get('blocklist-full')!;
    expect(full).toMatchObject({
      Metrics: [
        {
          Id: 'expr_1',
          Expression: 'MAX([blocklists, neighbours])',
          Label: 'Fill of the fullest list: blocklist or neighbour sets',
          ReturnData: true,
        },
        fill('BlocklistUtilization'),
        fill('NeighbourUtilization'),
      ],
      Threshold: 90,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    const description = descriptionOf(full);
    expect(description).toMatch(/the blocklist IP sets or the neighbour IP sets \(CAPTCHA\) of one family/);
    expect(description).toMatch(/BlocklistUtilization and NeighbourUtilization >= 90/);
    expect(description).toMatch(/waf-autoblock status shows which list/);
    expect(description.length).toBeLessThanOrEqual(1024);
    // Without a tier it watches the blocklists alone, as it always did.
    expect(bareHealthAlarms('rate(10 minutes)').get('blocklist-full')).toMatchObject({
      MetricName: 'BlocklistUtilization',
    });
  });

  it('refuses, naming blocker.schedule, a schedule the construct is given without the configuration checks', () => {
    expect(configErrorFrom(() => scheduleIntervalSeconds('rate(5 minute)'), 'blocker.schedule')).toMatch(/plural/);
    expect(scheduleIntervalSeconds('rate(5 minutes)')).toBe(300);
  });

  it('refuses an opsEmail that is not an e-mail address, in one line naming the key', () => {
    for (const opsEmail of ['ops', 'ops@example', 'two@example.com three@example.com', 42]) {
      expect(configErrorOf({ notifier: { opsEmail } }, 'notifier.opsEmail')).toMatch(/must be an e-mail address/);
    }
    expect(parseConfig({ notifier: { opsEmail: 'oncall+waf@example.co.uk' } }).notifier.opsEmail).toBe(
      'oncall+waf@example.co.uk',
    );
  });

  it('gives two stacks in one account and region their own alarms and metrics', () => {
    // cdk-nag runs on the default stack above; here only the names matter.
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'waf-autoblock-health-')) });
    const env = { account: '123456789012', region: 'us-east-1' };
    const stacks = ['shop-web', 'blog-web'].map(
      (stackName) => new WafAutoblockStack(app, stackName, { config: parseConfig({ stackName }), env }),
    );
    let templates: Template[];
    try {
      templates = stacks.map((stack) => Template.fromStack(stack));
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
    const names = templates.map((template) =>
      [...healthAlarms(template).values()].map((alarm) => [alarm.AlarmName, JSON.stringify(alarm.Dimensions)]),
    );
    expect(names[0]).toContainEqual([
      'shop-web-health-overflow',
      JSON.stringify([{ Name: 'service', Value: 'shop-web-blocker' }]),
    ]);
    expect(names[1]).toContainEqual([
      'blog-web-health-overflow',
      JSON.stringify([{ Name: 'service', Value: 'blog-web-blocker' }]),
    ]);
    // Neither configures notifier.opsEmail.
    for (const template of templates)
      template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 0);
    const flat = names.flat().map(([name, dimensions]) => `${String(name)} ${String(dimensions)}`);
    expect(new Set(flat).size).toBe(flat.length);
  });
});
