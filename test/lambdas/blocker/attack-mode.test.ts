/**
 * Attack mode's decisions, without mocks: when the next round starts or why none does, which events
 * are the attack tick's, which runs poll, and the loop on a simulated clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isAttackTick,
  nextRoundAt,
  pollsWhileAttacked,
  pollWhileAttacked,
  runLockWaitMs,
  type PollingClock,
} from '#blocker/attack-mode';
import {
  ATTACK_POLL_INTERVAL_MS,
  ATTACK_POLL_WINDOW_MS,
  ATTACK_TICK_SOURCE,
  BLOCKER_TIMEOUT_SECONDS,
  ROUND_ALLOWANCE_MS,
} from '#contracts/attack-mode';

const T0 = Date.UTC(2025, 4, 17, 3, 0, 0, 123);

describe('nextRoundAt', () => {
  it('stops at once when the alarm reads anything but ALARM', () => {
    for (const state of ['OK', 'INSUFFICIENT_DATA', 'UNKNOWN'] as const) {
      expect(nextRoundAt(T0, state, T0 + 500, { remainingMs: 300_000, pollUntil: T0 + ATTACK_POLL_WINDOW_MS })).toBe(
        'alarm-not-in-alarm',
      );
    }
  });

  it('schedules the next round one interval after the last began, or at once after a long round', () => {
    expect(nextRoundAt(T0, 'ALARM', T0 + 800, { remainingMs: 300_000, pollUntil: T0 + ATTACK_POLL_WINDOW_MS })).toBe(
      T0 + ATTACK_POLL_INTERVAL_MS,
    );
    expect(nextRoundAt(T0, 'ALARM', T0 + 20_000, { remainingMs: 300_000, pollUntil: T0 + ATTACK_POLL_WINDOW_MS })).toBe(
      T0 + 20_000,
    );
  });

  it('never starts a round that could outlive the invocation or its polling window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        (roundMs, remainingMs, windowMs) => {
          const now = T0 + roundMs;
          const pollUntil = T0 + windowMs;
          const next = nextRoundAt(T0, 'ALARM', now, { remainingMs, pollUntil });
          const at = Math.max(now, T0 + ATTACK_POLL_INTERVAL_MS);
          const fitsTime = remainingMs - (at - now) >= ROUND_ALLOWANCE_MS;
          const inWindow = at <= pollUntil;
          if (typeof next === 'number') {
            expect(next).toBe(at);
            expect(fitsTime && inWindow).toBe(true);
          } else {
            expect(next).toBe(fitsTime ? 'window-over' : 'time-up');
            expect(fitsTime && inWindow).toBe(false);
          }
        },
      ),
    );
  });
});

describe('isAttackTick', () => {
  it('knows the attack tick by its source, and nothing else for it', () => {
    expect(isAttackTick({ source: ATTACK_TICK_SOURCE, time: '2025-05-17T03:05:00Z' })).toBe(true);
    expect(isAttackTick({ source: 'aws.events', time: '2025-05-17T03:05:00Z' })).toBe(false);
    expect(isAttackTick({ Records: [] })).toBe(false);
    expect(isAttackTick(null)).toBe(false);
    expect(isAttackTick(undefined)).toBe(false);
  });
});

describe('pollsWhileAttacked', () => {
  it('polls on the schedule and the alarm with gate alarm only', () => {
    expect(pollsWhileAttacked('schedule', 'alarm')).toBe(true);
    expect(pollsWhileAttacked('alarm', 'alarm')).toBe(true);
    for (const kind of ['feed', 'operator', 'other'] as const) expect(pollsWhileAttacked(kind, 'alarm')).toBe(false);
    for (const kind of ['schedule', 'alarm'] as const) expect(pollsWhileAttacked(kind, 'always')).toBe(false);
  });
});

/** A clock that jumps on sleep: the loop's waits take no real time. */
function simulatedClock(start: number): PollingClock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('pollWhileAttacked', () => {
  it('runs one round when told not to poll, whatever the alarm says', async () => {
    const clock = simulatedClock(T0);
    const result = await pollWhileAttacked(
      (index) => Promise.resolve(index),
      () => 'ALARM',
      { polls: false, remainingMs: () => 300_000, clock },
    );
    expect(result).toEqual({ last: 0, rounds: 1, stop: 'not-polling' });
    expect(clock.slept).toEqual([]);
  });

  it('waits out the rest of the interval after each round, and returns the last round’s result', async () => {
    const clock = simulatedClock(T0);
    const deadline = T0 + 120_000;
    const starts: number[] = [];
    const result = await pollWhileAttacked(
      async (index) => {
        starts.push(clock.now() - T0);
        await clock.sleep(1_000); // the round itself takes 1 s
        return index;
      },
      (index) => (index < 2 ? 'ALARM' : 'OK'),
      { polls: true, remainingMs: () => deadline - clock.now(), clock },
    );
    expect(starts).toEqual([0, 15_000, 30_000]);
    expect(result).toEqual({ last: 2, rounds: 3, stop: 'alarm-not-in-alarm' });
  });

  it('polls for 30 s from its start and then leaves the function free', async () => {
    const clock = simulatedClock(T0);
    const starts: number[] = [];
    const result = await pollWhileAttacked(
      (index) => {
        starts.push(clock.now() - T0);
        return Promise.resolve(index);
      },
      () => 'ALARM',
      { polls: true, remainingMs: () => 900_000, clock },
    );
    expect(starts).toEqual([0, 15_000, 30_000]);
    expect(result.stop).toBe('window-over');
  });

  it('lets a failing round end the polling with its error', async () => {
    const clock = simulatedClock(T0);
    const failure = new Error('UpdateIPSet failed');
    await expect(
      pollWhileAttacked(
        (index) => (index === 2 ? Promise.reject(failure) : Promise.resolve(index)),
        () => 'ALARM',
        { polls: true, remainingMs: () => 300_000, clock },
      ),
    ).rejects.toBe(failure);
    expect(clock.slept).toHaveLength(2);
  });
});

describe('the timing contract', () => {
  it('gives the function time for the window’s last round, with a round’s allowance in hand', () => {
    expect(BLOCKER_TIMEOUT_SECONDS).toBe(120);
    expect(BLOCKER_TIMEOUT_SECONDS * 1000).toBeGreaterThanOrEqual(ATTACK_POLL_WINDOW_MS + ROUND_ALLOWANCE_MS);
  });
});

describe('runLockWaitMs', () => {
  it('lets a round wait for the run lock only as long as the invocation keeps a round’s allowance after it', () => {
    // A ban-feed run, or a poller's first round, with the whole 120 s timeout left.
    expect(runLockWaitMs(BLOCKER_TIMEOUT_SECONDS * 1000)).toBe(60_000);
    // Attack mode's round at 30 s.
    expect(runLockWaitMs(BLOCKER_TIMEOUT_SECONDS * 1000 - ATTACK_POLL_WINDOW_MS)).toBe(30_000);
    // Less than an allowance left: one attempt, no wait.
    expect(runLockWaitMs(ROUND_ALLOWANCE_MS - 1)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 900_000 }), (remainingMs) => {
        const wait = runLockWaitMs(remainingMs);
        expect(wait).toBeGreaterThanOrEqual(0);
        if (wait > 0) expect(remainingMs - wait).toBe(ROUND_ALLOWANCE_MS);
      }),
    );
  });
});
