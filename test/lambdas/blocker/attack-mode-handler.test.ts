/**
 * Attack mode through the Lambda entry, on a fake clock: while the alarm reads ALARM, a run started
 * by the alarm's message, the schedule or the 1-minute attack tick goes on in rounds every 15 s for
 * 30 s, each a whole run with its own summary line and metrics, unless the alarm reads OK or the
 * invocation's time runs short; the attack tick runs nothing while the alarm is not in ALARM.
 * Strict SDK mocks; the fake clock also drives the remaining time.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetRateBasedStatementManagedKeysCommand, UpdateIPSetCommand } from '@aws-sdk/client-wafv2';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RUN_LOCK_KEY } from '#adapters/ledger';
import { ATTACK_TICK_SOURCE, BLOCKER_TIMEOUT_SECONDS, ROUND_ALLOWANCE_MS } from '#contracts/attack-mode';
import { WriteError } from '#shared/errors';
import { ATTACKER, NOW, RANGE, SETTINGS } from '../../support/blocker-fixtures';
import { alarmSnsEvent, feedRecord, lambdaContext, useBlockerHandler } from '../../support/blocker-harness';

const { waf, cloudwatch, sns, ddb, handler, output } = useBlockerHandler();

const T0 = NOW;
const SECOND = 1_000;
const TIMEOUT_MS = BLOCKER_TIMEOUT_SECONDS * SECOND;

const jsonLines = () => output.jsonLines();

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
  return lambdaContext({ awsRequestId: 'req-attack', getRemainingTimeInMillis: () => deadline - Date.now() });
}

/** Our alarm's fresh ALARM message, as the alert topic delivers it. */
function alarmEvent(): unknown {
  return alarmSnsEvent('ALARM', Date.now() - SECOND, { publishedAfterMs: 500 });
}

/** The attack tick's event, as its EventBridge rule's input makes it. */
function attackTick(): unknown {
  return { source: ATTACK_TICK_SOURCE, time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** A scheduled event of `blocker.schedule`. */
const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

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

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
  alarmReads = [];
  alarmOkAt = Number.POSITIVE_INFINITY;
  limited = [{ address: ATTACKER.linode, from: 0 }];
  setWrites = [];
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
  waf.on(UpdateIPSetCommand).callsFake((input: { Addresses?: string[] }) => {
    setWrites.push({ at: Date.now() - T0, addresses: input.Addresses ?? [] });
    return { NextLockToken: 'next' };
  });
  ddb.on(UpdateCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'report' });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('attack mode, started by a fresh ALARM message', () => {
  it('runs a round every 15 s for 30 s, reading the alarm in each round after the first', async () => {
    const { elapsedMs, error } = await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    expect(error).toBeUndefined();
    // The first round believes the fresh message; every later one reads the alarm.
    expect(alarmReadSeconds()).toEqual([15, 30]);
    expect(elapsedMs).toBe(30 * SECOND);
    expect(runLines()).toHaveLength(3);
    expect(jsonLines().find((record) => record.message === 'attack mode rounds')).toMatchObject({
      rounds: 3,
      stoppedBecause: 'window-over',
    });
    // One EMF flush per round, each a successful run: blocker-stopped sees them all.
    const flushes = jsonLines().filter((record) => '_aws' in record);
    expect(flushes.map((flush) => flush.RunSucceeded)).toEqual([1, 1, 1]);
  });

  it('stops at the round that reads the alarm OK', async () => {
    alarmOkAt = 20 * SECOND;

    await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    expect(runLines().map((run) => (run.summary as { alarmState: string }).alarmState)).toEqual([
      'ALARM',
      'ALARM',
      'OK',
    ]);
    expect(jsonLines().find((record) => record.message === 'attack mode rounds')).toMatchObject({
      stoppedBecause: 'alarm-not-in-alarm',
    });
  });

  it('blocks a key the rate rule starts limiting just after round k in round k + 1, 15 s later', async () => {
    // Just after the round at 15 s has read the keys.
    limited.push({ address: ATTACKER.tor, from: 15 * SECOND + 1 });

    await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    const first = setWrites.find((write) => write.addresses.includes(RANGE.tor));
    expect(first?.at).toBe(30 * SECOND);
    expect(setWrites.filter((write) => write.at < 30 * SECOND).flatMap((write) => write.addresses)).not.toContain(
      RANGE.tor,
    );
  });

  it('starts no round without a round’s allowance left', async () => {
    const { elapsedMs } = await invoke(alarmEvent(), contextFor(80 * SECOND));

    // At 30 s only 50 s would be left, less than a round may take.
    expect(alarmReadSeconds()).toEqual([15]);
    expect(80 * SECOND - elapsedMs).toBeGreaterThanOrEqual(ROUND_ALLOWANCE_MS);
    expect(jsonLines().find((record) => record.message === 'attack mode rounds')).toMatchObject({
      rounds: 2,
      stoppedBecause: 'time-up',
    });
  });
});

describe('the attack tick', () => {
  it('reads the alarm once and does nothing else while it is OK: no run, no line, no metrics', async () => {
    alarmOkAt = 0;

    const { elapsedMs, error } = await invoke(attackTick(), contextFor(TIMEOUT_MS));

    expect(error).toBeUndefined();
    expect(elapsedMs).toBe(0);
    expect(alarmReadSeconds()).toEqual([0]);
    expect(waf.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
    expect(jsonLines()).toEqual([]);
  });

  it('while the alarm is in ALARM, runs the rounds of attack mode without reading the alarm twice', async () => {
    const { elapsedMs } = await invoke(attackTick(), contextFor(TIMEOUT_MS));

    expect(alarmReadSeconds()).toEqual([0, 15, 30]);
    expect(elapsedMs).toBe(30 * SECOND);
    expect(runLines()).toHaveLength(3);
  });

  it('takes over a minute after the alarm’s run: a key limited after its window is blocked by the tick', async () => {
    limited.push({ address: ATTACKER.tor, from: 30 * SECOND + 1 });
    await invoke(alarmEvent(), contextFor(TIMEOUT_MS));
    expect(setWrites.flatMap((write) => write.addresses)).not.toContain(RANGE.tor);

    vi.setSystemTime(T0 + 60 * SECOND);
    await invoke(attackTick(), contextFor(TIMEOUT_MS));

    expect(setWrites.find((write) => write.addresses.includes(RANGE.tor))?.at).toBe(60 * SECOND);
  });

  it('logs an unreadable alarm and ends without failing, leaving it to the next tick and the schedule', async () => {
    cloudwatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));

    const { error } = await invoke(attackTick(), contextFor(TIMEOUT_MS));

    expect(error).toBeUndefined();
    expect(waf.calls()).toHaveLength(0);
    expect(jsonLines()).toEqual([
      expect.objectContaining({ level: 'WARN', message: 'attack tick: alarm state unreadable; the schedule goes on' }),
    ]);
  });
});

describe('attack mode, on a scheduled run', () => {
  it('polls for 30 s like the alarm’s run, reading the alarm in every round', async () => {
    const { elapsedMs } = await invoke(SCHEDULED, contextFor(TIMEOUT_MS));

    expect(alarmReadSeconds()).toEqual([0, 15, 30]);
    expect(elapsedMs).toBe(30 * SECOND);
  });
});

describe('runs that do not poll', () => {
  it('applies a ban-feed message in one round, though the alarm is in ALARM', async () => {
    const ban = feedRecord({ action: 'ban', address: ATTACKER.tor, source: 'fail2ban@web1' }, 'm-ban');

    const { elapsedMs } = await invoke({ Records: [ban] }, contextFor(TIMEOUT_MS));

    expect(runLines()).toHaveLength(1);
    expect(elapsedMs).toBe(0);
    expect(jsonLines().some((record) => record.message === 'attack mode rounds')).toBe(false);
  });

  it('fails the invocation at the round that fails, after that round’s error line', async () => {
    let calls = 0;
    waf.on(UpdateIPSetCommand).callsFake(() => {
      calls += 1;
      if (calls === 2) throw Object.assign(new Error('boom'), { name: 'WAFInternalErrorException' });
      return { NextLockToken: 'next' };
    });

    const { error, elapsedMs } = await invoke(alarmEvent(), contextFor(TIMEOUT_MS));

    expect(String(error)).toContain(SETTINGS.blocklist.IPV4[0].name);
    expect(elapsedMs).toBe(15 * SECOND);
    expect(jsonLines().filter((record) => record.message === 'blocker run failed')).toHaveLength(1);
    expect(
      jsonLines()
        .filter((record) => '_aws' in record)
        .map((flush) => flush.RunSucceeded),
    ).toEqual([1, 0]);
  });
});

describe('a ban-feed message while another invocation holds the run lock', () => {
  const POLLER = 'lambda:req-poller';
  const ban = () => feedRecord({ action: 'ban', address: ATTACKER.tor, source: 'crowdsec@edge1' }, 'm-ban');

  /** The run lock, held by attack mode's poller (another invocation) until `releasedAt` ms after T0. */
  function lockHeldUntil(releasedAt: number): void {
    const acquire = {
      Key: { range: RUN_LOCK_KEY },
      UpdateExpression: 'SET #owner = :owner, #leaseUntil = :until, #ttl = :ttl',
    };
    ddb.on(UpdateCommand, acquire).callsFake(() => {
      if (Date.now() - T0 < releasedAt) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
      }
      return {};
    });
    ddb
      .on(GetCommand, { Key: { range: RUN_LOCK_KEY } })
      .resolves({ Item: { owner: POLLER, leaseUntil: T0 + 120_000 } });
  }

  it('waits for the round to end, says so once, then applies its ban', async () => {
    lockHeldUntil(4 * SECOND);

    const { error } = await invoke({ Records: [ban()] }, contextFor(TIMEOUT_MS));

    expect(error).toBeUndefined();
    // Tried at 0, 1, 2 and 3 s; taken at 4 s, when the poller's round has released it.
    expect(setWrites.find((write) => write.addresses.includes(RANGE.tor))?.at).toBe(4 * SECOND);
    expect(jsonLines().filter((record) => record.message === 'waiting for the run lock')).toEqual([
      expect.objectContaining({ level: 'INFO', heldBy: POLLER, leaseUntil: new Date(T0 + 120_000).toISOString() }),
    ]);
    expect(jsonLines().find((record) => record.message === 'operator action')).toMatchObject({
      status: 'banned',
      range: RANGE.tor,
      source: 'crowdsec@edge1',
    });
  });

  it('waits as long as its invocation can spare a round’s allowance, then fails naming the holder (Lambda retries it)', async () => {
    lockHeldUntil(Number.POSITIVE_INFINITY);

    const { error, elapsedMs } = await invoke({ Records: [ban()] }, contextFor(TIMEOUT_MS));

    expect(error).toBeInstanceOf(WriteError);
    expect(String(error)).toContain(`another blocker run (${POLLER}) holds the run lock`);
    expect(elapsedMs).toBe(TIMEOUT_MS - ROUND_ALLOWANCE_MS);
    expect(setWrites).toEqual([]);
    expect(jsonLines().filter((record) => record.message === 'blocker run failed')).toHaveLength(1);
  });
});
