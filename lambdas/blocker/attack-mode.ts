/**
 * Attack mode: while the alarm is in ALARM, a run started by the schedule or by the alarm's message
 * does not stop after one round. It runs again every {@link ATTACK_POLL_INTERVAL_MS} (reading the
 * alarm, the rate rules' keys, the sets and the ledger anew, and blocking what is new) until the
 * alarm reads anything but ALARM, the invocation's time runs short, or the next scheduled tick is
 * due, which then takes over. A key WAF starts limiting thus reaches a set within about one interval
 * instead of one schedule period.
 *
 * Why inside the invocation and not a 1-minute schedule: a schedule of one minute still leaves a
 * key waiting up to a minute (p95 about 57 s), and would run 43,200 times a month when nothing is
 * going on; polling costs Lambda time only while the alarm is in ALARM.
 *
 * Why stop before the next tick: reserved concurrency 1 makes a tick that arrives while a run
 * polls a throttled event, which Lambda retries with a growing backoff (1 s doubling to 5 minutes),
 * so the tick could wait longer than the poll it interrupted. Ending at the tick hands over at once.
 * The tick's time is known to a scheduled run (its event's `time`) and remembered by the warm
 * function for the next alarm-started run. No AWS imports: the bench drives it with a simulated clock.
 */
import { ATTACK_POLL_INTERVAL_MS, ROUND_ALLOWANCE_MS } from '#contracts/attack-mode';
import type { AlarmState } from '#adapters/alarm';
import { parseAwsTimestamp } from '#shared/aws-time';
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Trigger } from './run';

/**
 * How long before the next scheduled tick the last round may start: 2 s, about one round's
 * duration, so that the round has ended when the tick arrives.
 */
export const TICK_MARGIN_MS = 2_000;

/** Why a run stopped polling (logged, and asserted by tests). */
export type AttackModeStop =
  /** This trigger or gate does not poll: a ban-feed message, a manual invoke, `gate: always`. */
  | 'not-polling'
  /** The alarm read anything but ALARM (OK, INSUFFICIENT_DATA, or unreadable). */
  | 'alarm-not-in-alarm'
  /** Less than an interval and a {@link ROUND_ALLOWANCE_MS} left in the invocation. */
  | 'time-up'
  /** The next scheduled tick is due before the next round: that run goes on. */
  | 'next-tick';

/**
 * Whether a run with this trigger keeps polling while the alarm is in ALARM: the schedule's and the
 * alarm's runs do, with `gate: alarm` only (with `gate: always` the alarm decides nothing and is not
 * read). A ban-feed run does not: it applies its message and frees the function for the next one.
 */
export function pollsWhileAttacked(kind: Trigger['kind'], gate: BlockerSettings['gate']): boolean {
  return gate === 'alarm' && (kind === 'schedule' || kind === 'alarm');
}

/** The limits of one invocation's polling, in epoch milliseconds. */
export interface PollingWindow {
  /** What the invocation has left at `now` (Lambda's `context.getRemainingTimeInMillis()`). */
  readonly remainingMs: number;
  /** When the next scheduled tick is due, if known: no round starts after it minus {@link TICK_MARGIN_MS}. */
  readonly nextTickAt?: number;
}

/**
 * When the next round starts, or why there is none: {@link ATTACK_POLL_INTERVAL_MS} after the start
 * of the last one (at once if that round took longer), while the alarm reads ALARM, the round can
 * finish within the invocation's time and starts before the next tick.
 *
 * @param roundStartedAt - Epoch ms at which the round that read `alarmState` started.
 * @param now - Epoch ms, after that round.
 */
export function nextRoundAt(
  roundStartedAt: number,
  alarmState: AlarmState | 'UNKNOWN',
  now: number,
  limits: PollingWindow,
): number | AttackModeStop {
  if (alarmState !== 'ALARM') return 'alarm-not-in-alarm';
  const at = Math.max(now, roundStartedAt + ATTACK_POLL_INTERVAL_MS);
  if (limits.remainingMs - (at - now) < ROUND_ALLOWANCE_MS) return 'time-up';
  if (limits.nextTickAt !== undefined && at > limits.nextTickAt - TICK_MARGIN_MS) return 'next-tick';
  return at;
}

/**
 * The first tick of a schedule with period `periodMs` strictly after `now`, given one tick at
 * `tickAt` (epoch ms).
 */
export function nextTickAfter(tickAt: number, periodMs: number, now: number): number {
  const elapsed = Math.max(0, now - tickAt);
  return tickAt + (Math.floor(elapsed / periodMs) + 1) * periodMs;
}

/**
 * The time of the tick that an EventBridge scheduled event stands for (its `time`, e.g.
 * `2025-05-17T03:05:00Z`), or undefined for any other event. Never throws.
 */
export function scheduledTickOf(event: unknown): number | undefined {
  const scheduled = event as { source?: unknown; time?: unknown } | null | undefined;
  return scheduled?.source === 'aws.events' ? parseAwsTimestamp(scheduled.time) : undefined;
}

/** Time as the polling loop sees it; the handler passes the real one, tests and the bench a simulated one. */
export interface PollingClock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** What {@link pollWhileAttacked} was told. */
export interface PollingOptions {
  /** False: one round only (see {@link pollsWhileAttacked}). */
  readonly polls: boolean;
  /** The invocation's remaining time in ms, asked before each wait. */
  readonly remainingMs: () => number;
  readonly nextTickAt?: number;
  readonly clock: PollingClock;
}

/** How the polling ended. */
export interface PollingResult<T> {
  /** The last round's result. */
  readonly last: T;
  /** Rounds run, at least 1. */
  readonly rounds: number;
  readonly stop: AttackModeStop;
}

/**
 * Runs `round` once, then again at each {@link nextRoundAt} while it says so.
 * @param round - One run; `index` counts from 0. Its failure ends the polling and is thrown as is.
 * @param alarmStateOf - The alarm state the round read.
 */
export async function pollWhileAttacked<T>(
  round: (index: number) => Promise<T>,
  alarmStateOf: (result: T) => AlarmState | 'UNKNOWN',
  options: PollingOptions,
): Promise<PollingResult<T>> {
  const { clock } = options;
  for (let index = 0; ; index++) {
    const startedAt = clock.now();
    const last = await round(index);
    if (!options.polls) return { last, rounds: index + 1, stop: 'not-polling' };
    const now = clock.now();
    const limits = { remainingMs: options.remainingMs(), nextTickAt: options.nextTickAt };
    const next = nextRoundAt(startedAt, alarmStateOf(last), now, limits);
    if (typeof next !== 'number') return { last, rounds: index + 1, stop: next };
    if (next > now) await clock.sleep(next - now);
  }
}
