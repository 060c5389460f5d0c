/**
 * Attack mode through the Lambda entry, on a fake clock: while the alarm reads ALARM, the run
 * started by the alarm's message or the schedule goes on in rounds every 15 s, each a whole run with
 * its own summary line and metrics, until the alarm reads OK, the invocation's time runs short or
 * the next scheduled tick is due. Strict SDK mocks; the fake clock also drives the remaining time.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROUND_ALLOWANCE_MS } from '#contracts/attack-mode';
import { ATTACKER, BLOCKER_ENVIRONMENT, NOW, RANGE, SETTINGS } from '../../support/blocker-fixtures';
import { answerWriteAheadIntent } from '../../support/write-ahead-mock';

const waf = mockClient(WAFV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const T0 = NOW;
const SECOND = 1_000;
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-AlertTopic';
/** The timeout lib/blocker sets for `rate(5 minutes)`. */
const TIMEOUT_MS = 360 * SECOND;

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;
let lines: string[] = [];

function jsonLines(): Record<string, unknown>[] {
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** When (ms after T0) each DescribeAlarms call was made, i.e. when each round that read the alarm began. */
let alarmReads: number[] = [];
const alarmReadSeconds = (): number[] => alarmReads.map((ms) => ms / SECOND);
/** When the alarm returns to OK, in ms after T0. */
let alarmOkAt = Number.POSITIVE_INFINITY;
/** Addresses the rate rule limits, each from a time (ms after T0). */
let limited: { address: string; from: number }[] = [];
/** Each UpdateIPSet: when (ms after T0) and what it wrote. */
let setWrites: { at: number; addresses: string[] }[] = [];

/** A Lambda context whose remaining time runs down with the fake clock from `timeoutMs` at the call. */
function contextFor(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName: 'WafAutoblock-Blocker',
    awsRequestId: 'req-attack',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
}

/** Our alarm's fresh ALARM message, as the alert topic delivers it. */
function alarmEvent(): unknown {
  const changed = Date.now() - SECOND;
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: 'alarm-1',
          TopicArn: ALERT_TOPIC,
          Message: JSON.stringify({
            AlarmName: SETTINGS.alarmName,
            NewStateValue: 'ALARM',
            OldStateValue: 'OK',
            StateChangeTime: new Date(changed).toISOString().replace('Z', '+0000'),
          }),
          Timestamp: new Date(changed + 500).toISOString(),
        },
      },
    ],
  };
}

/** An EventBridge tick, due at `tickAt`. */
function scheduledEvent(tickAt: number): unknown {
  return {
    source: 'aws.events',
    'detail-type': 'Scheduled Event',
    time: new Date(tickAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** Calls the handler and lets the fake clock run until it has returned; the elapsed ms and its outcome. */
async function invoke(event: unknown, context: Context): Promise<{ elapsedMs: number; error?: unknown }> {
  const started = Date.now();
  const outcome: { settled: boolean; error?: unknown } = { settled: false };
  void handler(event, context).then(
    () => (outcome.settled = true),
    (failure: unknown) => {
      outcome.error = failure;
      outcome.settled = true;
    },
  );
  while (!outcome.settled) await vi.advanceTimersToNextTimerAsync();
  const { error } = outcome;
  return { elapsedMs: Date.now() - started, ...(error === undefined ? {} : { error }) };
}

function runLines(): Record<string, unknown>[] {
  return jsonLines().filter((record) => record.message === 'blocker run');
}

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'WafAutoblock');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'waf-autoblock-blocker');
  for (const [name, value] of Object.entries(BLOCKER_ENVIRONMENT)) vi.stubEnv(name, value);
  vi.stubEnv('SCHEDULE_PERIOD_SECONDS', '300');
  handler = (await import('#blocker/handler')).handler as Handler;
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
  lines = [];
  alarmReads = [];
  alarmOkAt = Number.POSITIVE_INFINITY;
  limited = [{ address: ATTACKER.linode, from: 0 }];
  setWrites = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation(capture);
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  }
  waf.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.reset().onAnyCommand().rejects(new Error('unexpected command'));
  sns.reset().onAnyCommand().rejects(new Error('unexpected command'));
  ddb.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.on(DescribeAlarmsCommand).callsFake(() => {
    const at = Date.now() - T0;
    alarmReads.push(at);
    return { MetricAlarms: [{ StateValue: at >= alarmOkAt ? 'OK' : 'ALARM' }] };
  });
  waf.on(GetRateBasedStatementManagedKeysCommand).callsFake(() => {
    const at = Date.now() - T0;
    const addresses = limited.filter((key) => key.from <= at).map((key) => `${key.address}/32`);
    return { ManagedKeysIPV4: { Addresses: addresses } };
  });
  waf
    .on(GetIPSetCommand)
    .resolves({ IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] }, LockToken: 't' });
  waf.on(UpdateIPSetCommand).callsFake((input: { Addresses?: string[] }) => {
    setWrites.push({ at: Date.now() - T0, addresses: input.Addresses ?? [] });
    return { NextLockToken: 'next' };
  });
  ddb.on(QueryCommand).resolves({ Items: [] });
  answerWriteAheadIntent(ddb);
  ddb.on(UpdateCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'report' });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

afterAll(() => {
  vi.unstubAllEnvs();
  for (const mock of [waf, cloudwatch, sns, ddb]) mock.restore();
});

describe('attack mode, started by a fresh ALARM message', () => {
  it('runs a round every 15 s, reading the alarm each time, until the alarm reads OK', async () => {
    alarmOkAt = 50 * SECOND;

    const { elapsedMs, error } = await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    expect(error).toBeUndefined();
    // The first round believes the fresh message; every later one reads the alarm.
    expect(alarmReadSeconds()).toEqual([15, 30, 45, 60]);
    expect(elapsedMs).toBe(60 * SECOND);
    const runs = runLines();
    expect(runs.map((run) => (run.summary as { alarmState: string }).alarmState)).toEqual([
      'ALARM',
      'ALARM',
      'ALARM',
      'ALARM',
      'OK',
    ]);
    expect(jsonLines().find((record) => record.message === 'attack mode ended')).toMatchObject({
      rounds: 5,
      stoppedBecause: 'alarm-not-in-alarm',
    });
    // One EMF flush per round, each a successful run: blocker-stopped sees them all.
    const flushes = jsonLines().filter((record) => '_aws' in record);
    expect(flushes).toHaveLength(5);
    expect(flushes.map((flush) => flush.RunSucceeded)).toEqual([1, 1, 1, 1, 1]);
  });

  it('blocks a key the rate rule starts limiting just after round k in round k + 1, 15 s later', async () => {
    alarmOkAt = 100 * SECOND;
    // Just after the round at 30 s has read the keys.
    limited.push({ address: ATTACKER.tor, from: 30 * SECOND + 1 });

    await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    const first = setWrites.find((write) => write.addresses.includes(RANGE.tor));
    expect(first?.at).toBe(45 * SECOND);
    expect(setWrites.filter((write) => write.at < 45 * SECOND).flatMap((write) => write.addresses)).not.toContain(
      RANGE.tor,
    );
  });

  it('starts no round without a round’s allowance left, and returns before the timeout', async () => {
    // An attack that outlasts the invocation.
    const { elapsedMs } = await invoke(alarmEvent(), contextFor(150 * SECOND));

    // Rounds at 0, 15, ..., 90 s: at 105 s only 45 s would be left, less than a round may take.
    expect(alarmReadSeconds()).toEqual([15, 30, 45, 60, 75, 90]);
    expect(150 * SECOND - elapsedMs).toBeGreaterThanOrEqual(ROUND_ALLOWANCE_MS);
    expect(jsonLines().find((record) => record.message === 'attack mode ended')).toMatchObject({
      rounds: 7,
      stoppedBecause: 'time-up',
    });
  });

  it('in a warm function, hands over at the next scheduled tick it knows of', async () => {
    alarmOkAt = 0;
    // A tick at T0 with the alarm OK: one round, and the function learns the schedule's phase.
    await invoke(scheduledEvent(T0), contextFor(TIMEOUT_MS));
    expect(runLines()).toHaveLength(1);
    alarmOkAt = Number.POSITIVE_INFINITY;
    vi.setSystemTime(T0 + 200 * SECOND);
    alarmReads = [];

    await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    // Rounds at 200, 215, ..., 290 s; the one at 305 s would pass the tick at 300 s.
    expect(alarmReadSeconds()).toEqual([215, 230, 245, 260, 275, 290]);
    expect(jsonLines().find((record) => record.message === 'attack mode ended')).toMatchObject({
      stoppedBecause: 'next-tick',
    });
  });
});

describe('attack mode, on a scheduled run', () => {
  it('polls from its tick until just before the next one', async () => {
    const { elapsedMs } = await invoke(scheduledEvent(T0), contextFor(TIMEOUT_MS));

    const reads = alarmReadSeconds();
    expect(reads).toHaveLength(20);
    expect(reads[0]).toBe(0);
    expect(reads.at(-1)).toBe(285);
    expect(elapsedMs).toBeLessThan(300 * SECOND);
    expect(jsonLines().find((record) => record.message === 'attack mode ended')).toMatchObject({
      rounds: 20,
      stoppedBecause: 'next-tick',
    });
  });
});

describe('runs that do not poll', () => {
  it('applies a ban-feed message in one round, though the alarm is in ALARM', async () => {
    const ban = {
      EventSource: 'aws:sns',
      Sns: {
        Type: 'Notification',
        MessageId: 'm-ban',
        TopicArn: SETTINGS.feedTopicArn,
        Message: JSON.stringify({ action: 'ban', address: ATTACKER.tor, source: 'fail2ban@web1' }),
      },
    };

    const { elapsedMs } = await invoke({ Records: [ban] }, contextFor(TIMEOUT_MS));

    expect(runLines()).toHaveLength(1);
    expect(elapsedMs).toBe(0);
    expect(jsonLines().some((record) => record.message === 'attack mode ended')).toBe(false);
  });

  it('fails the invocation at the round that fails, after that round’s error line', async () => {
    alarmOkAt = 100 * SECOND;
    let calls = 0;
    waf.on(UpdateIPSetCommand).callsFake(() => {
      calls += 1;
      if (calls === 3) throw Object.assign(new Error('boom'), { name: 'WAFInternalErrorException' });
      return { NextLockToken: 'next' };
    });

    const { error, elapsedMs } = await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    expect(String(error)).toContain(SETTINGS.blocklist.IPV4[0].name);
    expect(elapsedMs).toBe(30 * SECOND);
    expect(jsonLines().filter((record) => record.message === 'blocker run failed')).toHaveLength(1);
    expect(
      jsonLines()
        .filter((record) => '_aws' in record)
        .map((flush) => flush.RunSucceeded),
    ).toEqual([1, 1, 0]);
  });
});
