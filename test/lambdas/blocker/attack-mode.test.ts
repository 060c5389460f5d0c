/**
 * Attack mode's decisions, without mocks: when the next round starts or why none does, where the
 * next scheduled tick falls, which runs poll, and the loop on a simulated clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  nextRoundAt,
  nextTickAfter,
  pollsWhileAttacked,
  pollWhileAttacked,
  scheduledTickOf,
  TICK_MARGIN_MS,
  type PollingClock,
} from '#blocker/attack-mode';
import {
  ATTACK_POLL_INTERVAL_MS,
  blockerTimeoutSeconds,
  readSchedulePeriodMs,
  ROUND_ALLOWANCE_MS,
} from '#contracts/attack-mode';
import { ConfigurationError } from '#contracts/environment';

const T0 = Date.UTC(2025, 4, 17, 3, 0, 0, 123);

describe('nextRoundAt', () => {
  it('stops at once when the alarm reads anything but ALARM', () => {
    for (const state of ['OK', 'INSUFFICIENT_DATA', 'UNKNOWN'] as const) {
      expect(nextRoundAt(T0, state, T0 + 500, { remainingMs: 300_000 })).toBe('alarm-not-in-alarm');
    }
  });

  it('schedules the next round one interval after the last began, or at once after a long round', () => {
    expect(nextRoundAt(T0, 'ALARM', T0 + 800, { remainingMs: 300_000 })).toBe(T0 + ATTACK_POLL_INTERVAL_MS);
    expect(nextRoundAt(T0, 'ALARM', T0 + 20_000, { remainingMs: 300_000 })).toBe(T0 + 20_000);
  });

  it('never starts a round that could outlive the invocation or run into the next tick', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 900_000 }),
        fc.option(fc.integer({ min: -10_000, max: 900_000 }), { nil: undefined }),
        (roundMs, remainingMs, tickIn) => {
          const now = T0 + roundMs;
          const nextTickAt = tickIn === undefined ? undefined : now + tickIn;
          const next = nextRoundAt(T0, 'ALARM', now, { remainingMs, nextTickAt });
          const at = Math.max(now, T0 + ATTACK_POLL_INTERVAL_MS);
          const fitsTime = remainingMs - (at - now) >= ROUND_ALLOWANCE_MS;
          const beforeTick = nextTickAt === undefined || at <= nextTickAt - TICK_MARGIN_MS;
          if (typeof next === 'number') {
            expect(next).toBe(at);
            expect(fitsTime && beforeTick).toBe(true);
          } else {
            expect(next).toBe(fitsTime ? 'next-tick' : 'time-up');
            expect(fitsTime && beforeTick).toBe(false);
          }
        },
      ),
    );
  });
});

describe('nextTickAfter', () => {
  it('is the first tick of the schedule strictly after now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 86_400 }),
        fc.integer({ min: 0, max: 10 * 86_400_000 }),
        (periodSeconds, sinceMs) => {
          const period = periodSeconds * 1000;
          const tick = nextTickAfter(T0, period, T0 + sinceMs);
          expect(tick).toBeGreaterThan(T0 + sinceMs);
          expect(tick - period).toBeLessThanOrEqual(T0 + sinceMs);
          expect((tick - T0) % period).toBe(0);
        },
      ),
    );
  });
});

describe('scheduledTickOf', () => {
  it('reads the time of an EventBridge scheduled event, and of nothing else', () => {
    expect(scheduledTickOf({ source: 'aws.events', time: '2025-05-17T03:05:00Z' })).toBe(Date.UTC(2025, 4, 17, 3, 5));
    expect(scheduledTickOf({ source: 'aws.events', time: 'May 17 2025' })).toBeUndefined();
    expect(scheduledTickOf({ source: 'aws.events' })).toBeUndefined();
    expect(scheduledTickOf({ Records: [], time: '2025-05-17T03:05:00Z' })).toBeUndefined();
    expect(scheduledTickOf(null)).toBeUndefined();
    expect(scheduledTickOf(undefined)).toBeUndefined();
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
    const deadline = T0 + 360_000;
    const starts: number[] = [];
    const result = await pollWhileAttacked(
      async (index) => {
        starts.push(clock.now() - T0);
        await clock.sleep(1_000); // the round itself takes 1 s
        return index;
      },
      (index) => (index < 3 ? 'ALARM' : 'OK'),
      { polls: true, remainingMs: () => deadline - clock.now(), clock },
    );
    expect(starts).toEqual([0, 15_000, 30_000, 45_000]);
    expect(result).toEqual({ last: 3, rounds: 4, stop: 'alarm-not-in-alarm' });
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
  it('gives the function time to poll from one tick to the next, within Lambda’s 2 to 15 minutes', () => {
    expect(blockerTimeoutSeconds(300)).toBe(360);
    expect(blockerTimeoutSeconds(60)).toBe(120);
    expect(blockerTimeoutSeconds(3_600)).toBe(900);
  });

  it('reads the schedule period, unset for a cron schedule, and refuses a bad one naming the variable', () => {
    expect(readSchedulePeriodMs({ SCHEDULE_PERIOD_SECONDS: '300' })).toBe(300_000);
    expect(readSchedulePeriodMs({})).toBeUndefined();
    for (const bad of ['', '5m', '30', '0x12c', '86401']) {
      expect(() => readSchedulePeriodMs({ SCHEDULE_PERIOD_SECONDS: bad })).toThrow(ConfigurationError);
      expect(() => readSchedulePeriodMs({ SCHEDULE_PERIOD_SECONDS: bad })).toThrow(/SCHEDULE_PERIOD_SECONDS/);
    }
  });
});
