/**
 * Attack mode: while the alarm is in ALARM, the blocker runs in rounds every
 * {@link ATTACK_POLL_INTERVAL_MS} (each reading the alarm, the rate rules' keys, the sets and the
 * ledger anew, and blocking what is new) for {@link ATTACK_POLL_WINDOW_MS} from the start of an
 * invocation, and a 1-minute attack tick starts the next invocation. A key WAF starts limiting thus
 * reaches a set within about 30 s (p95; the bench says), instead of up to one schedule period.
 *
 * Why a tick and a short window, not one invocation polling until the alarm is OK: with reserved
 * concurrency 1 (the default before 3), while an invocation polled every other event (a ban-feed
 * message, a late alarm message) was throttled and retried by Lambda, 1 s after the first attempt,
 * the wait doubling up to 5 minutes; retries every 5 minutes could fall in the busy part of every
 * period for the whole attack. The default of 3 (BLOCKER_RESERVED_CONCURRENCY) lets such an event
 * run beside the pollers and wait on the run lock for a round instead; polling half of each minute
 * still keeps a deployment at concurrency 1 (a setting) half free, and the tick's pollers apart.
 *
 * Why not the attack tick alone, one round a minute: a key would wait up to a minute (p95 about 57 s).
 * The tick costs one invocation and one DescribeAlarms call a minute when nothing is going on
 * (docs/cost.md). No AWS imports: the bench drives the loop with a simulated clock.
 */
import {
  ATTACK_POLL_INTERVAL_MS,
  ATTACK_POLL_WINDOW_MS,
  ATTACK_TICK_SOURCE,
  ROUND_ALLOWANCE_MS,
} from '#contracts/attack-mode';
import type { AlarmState } from '#adapters/alarm';
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Trigger } from './run';

/** Why a run stopped polling (logged, and asserted by tests). */
export type AttackModeStop =
  /** This trigger or gate does not poll: a ban-feed message, a manual invoke, `gate: always`. */
  | 'not-polling'
  /** The alarm read anything but ALARM (OK, INSUFFICIENT_DATA, or unreadable). */
  | 'alarm-not-in-alarm'
  /** Less than an interval and a {@link ROUND_ALLOWANCE_MS} left in the invocation. */
  | 'time-up'
  /** The next round would start after the invocation's polling window: the attack tick goes on. */
  | 'window-over';

/**
 * Whether a run with this trigger keeps polling while the alarm is in ALARM: the schedule's (the
 * attack tick's too) and the alarm's runs do, with `gate: alarm` only (with `gate: always` the alarm
 * decides nothing and is not read). A ban-feed run does not: it applies its message and frees the
 * function for the next one.
 */
export function pollsWhileAttacked(kind: Trigger['kind'], gate: BlockerSettings['gate']): boolean {
  return gate === 'alarm' && (kind === 'schedule' || kind === 'alarm');
}

/** The limits of one invocation's polling. */
export interface PollingWindow {
  /** What the invocation has left at `now` (Lambda's `context.getRemainingTimeInMillis()`), in ms. */
  readonly remainingMs: number;
  /** Epoch ms after which no round starts: the invocation's start plus {@link ATTACK_POLL_WINDOW_MS}. */
  readonly pollUntil: number;
}

/**
 * When the next round starts, or why there is none: {@link ATTACK_POLL_INTERVAL_MS} after the start
 * of the last one (at once if that round took longer), while the alarm reads ALARM, the round can
 * finish within the invocation's time and starts within its polling window.
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
  if (at > limits.pollUntil) return 'window-over';
  return at;
}

/**
 * How long a round may wait for the run lock (another invocation's round, or the operator CLI), in
 * ms: what the invocation has left beyond a {@link ROUND_ALLOWANCE_MS}, so that the round, once it
 * has the lock, can still finish. 60 s for a first round (a ban-feed run: two or three rounds of
 * other invocations, see docs/blocker.md#attack-mode), 30 s for attack mode's last round at 30 s;
 * 0 (one attempt) when less is left. A run that cannot get the lock fails, and Lambda retries it.
 *
 * @param remainingMs - The invocation's remaining time when the round starts, in ms.
 */
export function runLockWaitMs(remainingMs: number): number {
  return Math.max(0, remainingMs - ROUND_ALLOWANCE_MS);
}

/** Whether `event` is the 1-minute attack tick's (see ATTACK_TICK_SOURCE). Never throws. */
export function isAttackTick(event: unknown): boolean {
  return (event as { source?: unknown } | null | undefined)?.source === ATTACK_TICK_SOURCE;
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
  const pollUntil = clock.now() + ATTACK_POLL_WINDOW_MS;
  for (let index = 0; ; index++) {
    const startedAt = clock.now();
    const last = await round(index);
    if (!options.polls) return { last, rounds: index + 1, stop: 'not-polling' };
    const now = clock.now();
    const limits = { remainingMs: options.remainingMs(), pollUntil };
    const next = nextRoundAt(startedAt, alarmStateOf(last), now, limits);
    if (typeof next !== 'number') return { last, rounds: index + 1, stop: next };
    if (next > now) await clock.sleep(next - now);
  }
}
