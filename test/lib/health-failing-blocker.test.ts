/**
 * A failing blocker, followed from its output to the health alarms: the stack is synthesized, the
 * blocker's handler runs with the service name and namespace the template gives it, its blocklist
 * cannot be read (WAFNonexistentItemException, strict SDK mocks), and each blocker alarm of the
 * template is evaluated over what that leaves CloudWatch: the EMF lines the handler printed
 * (RunSucceeded 0) and Lambda's Errors and Invocations metrics (one per invocation that threw, one per
 * invocation).
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
import { healthAlarmKindOf } from '#contracts/health';
import { parseConfig } from '#config/load';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import { alarmState, emfDatapoint, type Datapoint, type MetricAlarmProperties } from '../support/alarm-evaluation';
import { BLOCKER_ENVIRONMENT, SETTINGS } from '../support/blocker-fixtures';
import { functionOfService } from '../support/template';
import { answerWriteAheadIntent } from '../support/write-ahead-mock';

const BLOCKER_KINDS = ['blocker-failed', 'blocker-failing', 'blocker-stopped', 'blocklist-full', 'overflow'] as const;
type BlockerKind = (typeof BLOCKER_KINDS)[number];

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
  alarms: Record<BlockerKind, MetricAlarmProperties>;
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
    const alarms = {} as Record<BlockerKind, MetricAlarmProperties>;
    for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      const properties = (resource as { Properties: MetricAlarmProperties }).Properties;
      const kind = healthAlarmKindOf(String(properties.AlarmName));
      if ((BLOCKER_KINDS as readonly string[]).includes(kind ?? '')) alarms[kind as BlockerKind] = properties;
    }
    const [functionId, fn] = functionOfService(template, 'WafAutoblock-blocker');
    const variables = fn.Properties.Environment.Variables as Record<string, string>;
    const powertools = Object.fromEntries(Object.entries(variables).filter(([name]) => name.startsWith('POWERTOOLS_')));
    return { alarms, functionId, powertools };
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

/** One invocation as CloudWatch sees it: the EMF records it printed, and whether it failed (Lambda's Errors). */
interface Invocation {
  readonly records: Record<string, unknown>[];
  readonly failed: boolean;
}

const { alarms, functionId, powertools } = synthesizeBlocker();
let handler: (event: unknown, context: Context) => Promise<unknown>;

/** Runs the handler once, capturing what it prints. */
async function invoke(): Promise<Invocation> {
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
    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
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
  return { records, failed };
}

/** The datapoint each period (one scheduled run each) gives an alarm. */
function datapoints(alarm: MetricAlarmProperties, periods: readonly Invocation[]): Datapoint[] {
  if (alarm.Namespace === 'AWS/Lambda') {
    // Lambda's own metrics, of this function only: Errors counts the invocations that threw,
    // Invocations every one of them through the scheduled alias (each period is one scheduled run).
    const byFunction = { Name: 'FunctionName', Value: { Ref: functionId } };
    const byScheduledAlias = { Name: 'Resource', Value: { 'Fn::Join': ['', [{ Ref: functionId }, ':scheduled']] } };
    expect(alarm.Dimensions).toEqual(
      alarm.MetricName === 'Invocations' ? [byFunction, byScheduledAlias] : [byFunction],
    );
    expect(['Errors', 'Invocations']).toContain(alarm.MetricName);
    return periods.map((run) => (alarm.MetricName === 'Invocations' || run.failed ? 1 : 0));
  }
  return periods.map((run) => emfDatapoint(alarm, run.records));
}

const states = (periods: readonly Invocation[]) =>
  Object.fromEntries(BLOCKER_KINDS.map((kind) => [kind, alarmState(alarms[kind], datapoints(alarms[kind], periods))]));

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
    expect(datapoints(alarms['blocker-stopped'], [run])).toEqual([1]);
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

  it('raises blocker-stopped from silence alone: a blocker that is never invoked has no data', () => {
    const silent: Invocation[] = [];
    expect(alarmState(alarms['blocker-stopped'], datapoints(alarms['blocker-stopped'], silent))).toBe('ALARM');
    expect(alarmState(alarms['blocker-failed'], [undefined])).toBe('OK');
  });
});
