/**
 * A failing blocker, followed from its output to the health alarms: the stack is synthesized, the
 * blocker's handler runs with the service name and namespace the template gives it, its blocklist
 * cannot be read (WAFNonexistentItemException, strict SDK mocks), and each blocker alarm of the
 * template is evaluated over what that leaves CloudWatch: the EMF lines the handler printed
 * (RunSucceeded 0) and Lambda's Errors and Invocations metrics (one per invocation that threw, one per
 * invocation, by function and by the alias it came through). Then a blocker that is not failing but
 * not scheduled either: blocker-stopped (metric math over the function's and the attack tick's
 * Invocations) over a disabled schedule with the tick running, the first deploy's run, and a
 * normal schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFNonexistentItemException,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATTACK_TICK_SOURCE } from '#contracts/attack-mode';
import { healthAlarmKindOf } from '#contracts/health';
import { parseConfig } from '#config/load';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import {
  alarmState,
  emfDatapoint,
  mathDatapoints,
  type AlarmMetric,
  type Datapoint,
  type EmptyFill,
  type MathAlarmProperties,
  type MetricAlarmProperties,
} from '../support/alarm-evaluation';
import { BLOCKER_ENVIRONMENT, SETTINGS } from '../support/blocker-fixtures';
import { functionOfService } from '../support/template';
import { answerWriteAheadIntent } from '../support/write-ahead-mock';

const BLOCKER_KINDS = ['blocker-failed', 'blocker-failing', 'blocker-stopped', 'blocklist-full', 'overflow'] as const;
type BlockerKind = (typeof BLOCKER_KINDS)[number];
/** The blocker alarms on one metric; blocker-stopped is metric math. */
type MetricKind = Exclude<BlockerKind, 'blocker-stopped'>;
type BlockerAlarms = Record<MetricKind, MetricAlarmProperties> & { 'blocker-stopped': MathAlarmProperties };

const waf = mockClient(WAFV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const context = {
  functionName: 'WafAutoblock-Blocker',
  awsRequestId: 'req-failing',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** The default stack's blocker alarms and the blocker's Powertools settings, synthesized without cdk-nag (health-alarms.test.ts runs it). */
function synthesizeBlocker(): {
  alarms: BlockerAlarms;
  functionId: string;
  powertools: Record<string, string>;
} {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'waf-autoblock-health-')) });
  try {
    const config = parseConfig({});
    const stack = new WafAutoblockStack(app, config.stackName, {
      config,
      env: { account: '123456789012', region: 'us-east-1' },
    });
    const template = Template.fromStack(stack);
    const found: Partial<Record<BlockerKind, unknown>> = {};
    for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      const properties = (resource as { Properties: { AlarmName?: unknown } }).Properties;
      const kind = healthAlarmKindOf(String(properties.AlarmName));
      if ((BLOCKER_KINDS as readonly string[]).includes(kind ?? '')) found[kind as BlockerKind] = properties;
    }
    const alarms = found as BlockerAlarms;
    const [functionId, fn] = functionOfService(template, 'WafAutoblock-blocker');
    const variables = fn.Properties.Environment.Variables as Record<string, string>;
    const powertools = Object.fromEntries(Object.entries(variables).filter(([name]) => name.startsWith('POWERTOOLS_')));
    return { alarms, functionId, powertools };
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

/** How an invocation reached the blocker: Lambda counts it under the function, and under the alias it named. */
type Caller = 'scheduled' | 'attack-tick' | 'first-deploy' | 'alarm' | 'ban-feed';

/** One invocation as CloudWatch sees it: the EMF records it printed, whether it failed (Lambda's Errors), and its caller. */
interface Invocation {
  readonly records: Record<string, unknown>[];
  readonly failed: boolean;
  readonly caller: Caller;
}

/** The aliases that callers invoke; the others name the function unqualified or a version. */
const ALIAS_OF: Partial<Record<Caller, string>> = { scheduled: 'scheduled', 'attack-tick': 'attack-tick' };

const { alarms, functionId, powertools } = synthesizeBlocker();
let handler: (event: unknown, context: Context) => Promise<unknown>;

/** Runs the handler once for a scheduled tick (or the given event and caller), capturing what it prints. */
async function invoke(
  event: unknown = { source: 'aws.events', 'detail-type': 'Scheduled Event' },
  caller: Caller = 'scheduled',
): Promise<Invocation> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  const spies = [
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(capture),
    ),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }),
  ];
  let failed = false;
  try {
    await handler(event, context);
  } catch {
    // Lambda counts a thrown invocation in Errors; the test reads it from `failed`.
    failed = true;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const records = lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => '_aws' in record);
  return { records, failed, caller };
}

/**
 * Lambda's datapoint for one period of `metric` (AWS/Lambda, this function): Invocations and Errors
 * by FunctionName count every invocation of the function, whatever version or alias it named; with
 * Resource `<function>:<alias>` only those through that alias. No invocation, no data point.
 */
function lambdaDatapoint(metric: AlarmMetric, period: readonly Invocation[]): Datapoint {
  const [byFunction, byResource, ...more] = metric.Dimensions ?? [];
  expect(metric.Namespace).toBe('AWS/Lambda');
  expect(byFunction).toEqual({ Name: 'FunctionName', Value: { Ref: functionId } });
  expect(more).toEqual([]);
  let counted = period;
  if (byResource !== undefined) {
    // `<function>:<alias>`, as CDK's Alias.metric writes it.
    const [separator, [fn, alias]] = (byResource.Value as { 'Fn::Join': [string, [unknown, string]] })['Fn::Join'];
    expect([byResource.Name, separator, fn]).toEqual(['Resource', '', { Ref: functionId }]);
    counted = period.filter((invocation) => `:${ALIAS_OF[invocation.caller] ?? ''}` === alias);
  }
  if (counted.length === 0) return undefined;
  if (metric.MetricName === 'Invocations') return counted.length;
  expect(metric.MetricName).toBe('Errors');
  return counted.filter((invocation) => invocation.failed).length;
}

/** The datapoints `periods` give one of the blocker alarms (each period: the invocations in it, oldest first). */
function datapoints(
  kind: BlockerKind,
  periods: readonly (readonly Invocation[])[],
  emptyFill?: EmptyFill,
): Datapoint[] {
  if (kind === 'blocker-stopped') {
    const alarm = alarms[kind];
    const series = Object.fromEntries(
      alarm.Metrics.flatMap((query) =>
        query.MetricStat === undefined
          ? []
          : [[query.Id, periods.map((period) => lambdaDatapoint(query.MetricStat!.Metric, period))]],
      ),
    );
    return mathDatapoints(alarm, series, emptyFill);
  }
  const alarm = alarms[kind];
  return periods.map((period) =>
    alarm.Namespace === 'AWS/Lambda'
      ? lambdaDatapoint(alarm, period)
      : emfDatapoint(
          alarm,
          period.flatMap((invocation) => invocation.records),
        ),
  );
}

/** Every blocker alarm's state over `periods`. */
const statesOver = (periods: readonly (readonly Invocation[])[]) =>
  Object.fromEntries(BLOCKER_KINDS.map((kind) => [kind, alarmState(alarms[kind], datapoints(kind, periods))]));

/** Every blocker alarm's state when each invocation is alone in its period (one scheduled run each). */
const states = (runs: readonly Invocation[]) => statesOver(runs.map((run) => [run]));

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  for (const [name, value] of Object.entries({ ...BLOCKER_ENVIRONMENT, ...powertools })) vi.stubEnv(name, value);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  handler = (await import('#blocker/handler')).handler as typeof handler;
});

beforeEach(() => {
  waf.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.reset().onAnyCommand().rejects(new Error('unexpected command'));
  sns.reset().onAnyCommand().rejects(new Error('unexpected command'));
  ddb.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'OK' }] });
  waf.on(GetRateBasedStatementManagedKeysCommand).resolves({});
  waf.on(GetIPSetCommand).resolves({
    IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] },
    LockToken: 't',
  });
  ddb.on(QueryCommand).resolves({ Items: [] });
  answerWriteAheadIntent(ddb);
  // The run lock (taken and released around every run).
  ddb.on(UpdateCommand).resolves({});
});

afterAll(() => {
  vi.unstubAllEnvs();
  waf.restore();
  cloudwatch.restore();
  sns.restore();
  ddb.restore();
});

/** From now on the IPv4 blocklist cannot be read: deleted by hand, or the role lost wafv2:GetIPSet. */
function blocklistUnreadable(): void {
  waf
    .on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV4[0].name })
    .rejects(new WAFNonexistentItemException({ message: 'The IP set does not exist.', $metadata: {} }));
}

describe('a blocker that cannot read its blocklist', () => {
  it('publishes RunSucceeded 0 under the service the alarms watch, and fails the invocation', async () => {
    blocklistUnreadable();

    const run = await invoke();

    expect(run.failed).toBe(true);
    expect(waf).not.toHaveReceivedCommand(UpdateIPSetCommand);
    expect(run.records).toEqual([
      expect.objectContaining({ service: powertools.POWERTOOLS_SERVICE_NAME, RunSucceeded: 0 }),
    ]);
    // Invoked, so not stopped: a failing blocker is blocker-failing's to report, once.
    expect(datapoints('blocker-stopped', [[run]])).toEqual([1]);
  });

  it('raises blocker-failed at the first failed run, blocker-failing at the third in a row, and never blocker-stopped', async () => {
    const healthy = await invoke();
    blocklistUnreadable();
    const first = await invoke();

    expect(healthy.failed).toBe(false);
    expect(states([healthy, first])).toEqual({
      'blocker-failed': 'ALARM',
      'blocker-failing': 'OK',
      'blocker-stopped': 'OK',
      'blocklist-full': 'OK',
      overflow: 'OK',
    });

    const [second, third] = [await invoke(), await invoke()];

    expect(states([healthy, first, second, third])).toEqual({
      'blocker-failed': 'ALARM',
      'blocker-failing': 'ALARM',
      'blocker-stopped': 'OK',
      'blocklist-full': 'OK',
      overflow: 'OK',
    });
  });

  it('clears every blocker alarm with the next successful run', async () => {
    blocklistUnreadable();
    const failures = [await invoke(), await invoke()];
    waf.reset();
    waf.onAnyCommand().rejects(new Error('unexpected command'));
    waf.on(GetRateBasedStatementManagedKeysCommand).resolves({});
    waf.on(GetIPSetCommand).resolves({
      IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] },
      LockToken: 't',
    });
    const success = await invoke();

    expect(success.failed).toBe(false);
    expect(states([...failures, success])).toEqual({
      'blocker-failed': 'OK',
      'blocker-failing': 'OK',
      'blocker-stopped': 'OK',
      'blocklist-full': 'OK',
      overflow: 'OK',
    });
  });
});

/** One attack tick through its alias, the alarm OK: the handler reads the alarm and runs nothing. */
const tick = () => invoke({ source: ATTACK_TICK_SOURCE, time: '2026-12-01T03:00:00Z' }, 'attack-tick');
/** A period of the 5-minute schedule with the schedule rule disabled: five attack ticks, nothing else. */
const ticksOnly = async () => [await tick(), await tick(), await tick(), await tick(), await tick()];
const stoppedState = (periods: readonly (readonly Invocation[])[], emptyFill?: EmptyFill) =>
  alarmState(alarms['blocker-stopped'], datapoints('blocker-stopped', periods, emptyFill));

describe('blocker-stopped: invocations of the blocker other than the attack tick', () => {
  it('raises it when nothing invokes the blocker for 3 schedule periods, whichever way FILL reads a series with no data', () => {
    const silent = [[], [], []];
    expect(stoppedState(silent, 'zeros')).toBe('ALARM');
    expect(stoppedState(silent, 'nothing')).toBe('ALARM');
    expect(alarmState(alarms['blocker-failed'], datapoints('blocker-failed', silent))).toBe('OK');
  });

  it('raises it when the schedule rule is disabled and only the 1-minute attack tick invokes the blocker', async () => {
    const periods = [await ticksOnly(), await ticksOnly(), await ticksOnly()];

    expect(periods.flat().every((invocation) => !invocation.failed && invocation.records.length === 0)).toBe(true);
    expect(datapoints('blocker-stopped', periods)).toEqual([0, 0, 0]);
    expect(statesOver(periods)).toMatchObject({ 'blocker-stopped': 'ALARM', 'blocker-failed': 'OK' });
  });

  it("counts the first deploy's run (a version, not an alias): no ALARM in the 3 periods it covers, ALARM after them with no other run", async () => {
    const firstRun = await invoke({}, 'first-deploy');

    expect(firstRun.failed).toBe(false);
    // Evaluated at the end of each period after the deploy; the periods before it have no data.
    expect(stoppedState([[firstRun]])).toBe('OK');
    expect(stoppedState([[firstRun], []])).toBe('OK');
    expect(stoppedState([[firstRun], [], []])).toBe('OK');
    expect(stoppedState([[firstRun], [], [], []])).toBe('ALARM');
    // Counting the scheduled alias alone, as before, would have paged right after the deploy.
    const scheduledAliasOnly = periodsOfAlias('scheduled', [[firstRun]]);
    expect(alarmState(alarms['blocker-stopped'], scheduledAliasOnly)).toBe('ALARM');
  });

  it('stays OK on the schedule, with attack ticks, alarm messages and ban-feed messages in between', async () => {
    const scheduled = [await invoke(), await invoke(), await invoke()];
    const alarmMessage: Invocation = { records: [], failed: false, caller: 'alarm' };
    const banFeed: Invocation = { records: [], failed: false, caller: 'ban-feed' };
    const periods = [
      [scheduled[0]!, await tick()],
      [scheduled[1]!, alarmMessage, await tick()],
      [scheduled[2]!, banFeed],
    ];

    expect(datapoints('blocker-stopped', periods)).toEqual([1, 2, 2]);
    expect(statesOver(periods)).toEqual({
      'blocker-failed': 'OK',
      'blocker-failing': 'OK',
      'blocker-stopped': 'OK',
      'blocklist-full': 'OK',
      overflow: 'OK',
    });
    // An alarm message or a ban-feed message alone also says the blocker is invoked.
    expect(datapoints('blocker-stopped', [[alarmMessage], [banFeed]])).toEqual([1, 1]);
  });
});

/** Invocations through one alias per period (Lambda's Resource dimension), as a single-metric alarm on it would see them. */
function periodsOfAlias(alias: string, periods: readonly (readonly Invocation[])[]): Datapoint[] {
  const byFunction = { Name: 'FunctionName', Value: { Ref: functionId } };
  const byAlias = { Name: 'Resource', Value: { 'Fn::Join': ['', [{ Ref: functionId }, `:${alias}`]] } };
  const metric: AlarmMetric = { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [byFunction, byAlias] };
  return periods.map((period) => lambdaDatapoint(metric, period));
}
