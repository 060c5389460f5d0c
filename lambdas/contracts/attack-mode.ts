/**
 * Attack mode's timing: the contract between the construct (lib/blocker: the function's timeout, the
 * schedule period it passes in the environment) and the handler that polls while the alarm is in
 * ALARM (lambdas/blocker/attack-mode.ts). No AWS imports, so the construct can use it at synth time.
 */
import { environmentReader } from './environment';

/**
 * How often a run in attack mode reads the rate rules' keys again while the alarm is in ALARM: 15 s,
 * from the start of one round to the start of the next. A key WAF starts limiting then reaches the
 * blocklist within one interval and one round (about 16 s), well inside the 60 s the issue asks
 * for; four rounds a minute are four reads of each source, inside WAF's and CloudWatch's read rates.
 */
export const ATTACK_POLL_INTERVAL_MS = 15_000;

/**
 * The most time one round may take, and so the time a polling invocation keeps in hand: 60 s, the
 * blocker's whole timeout before attack mode (a round waits up to 30 s for the run lock, backs off
 * lock conflicts and lets the SDK wait out WAF throttling). No round starts with less left.
 */
export const ROUND_ALLOWANCE_MS = 60_000;

/** Variable names, set by lib/blocker. */
export const ATTACK_MODE_ENV = {
  /**
   * The period of a `rate(...)` schedule, in seconds: a scheduled run polls only until its next tick,
   * so that the tick finds the function free. Unset for a `cron(...)` schedule (its gaps may differ).
   */
  schedulePeriodSeconds: 'SCHEDULE_PERIOD_SECONDS',
} as const;

/** Longest schedule period the blocker polls through: a Lambda runs at most 15 minutes. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * The blocker's Lambda timeout for a schedule whose longest gap between runs is `gapSeconds`: the gap
 * plus one {@link ROUND_ALLOWANCE_MS}, so that a run in attack mode can poll from one tick to the
 * next and still finish its last round; at least 2 minutes, at most Lambda's 15.
 * `rate(5 minutes)`: 360 s.
 */
export function blockerTimeoutSeconds(gapSeconds: number): number {
  const wanted = gapSeconds + ROUND_ALLOWANCE_MS / 1000;
  return Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.max(120, wanted));
}

/**
 * The schedule period from the environment, in milliseconds; undefined when it is not set (a cron
 * schedule).
 * @throws {ConfigurationError} naming `SCHEDULE_PERIOD_SECONDS` when it is set but not a whole number
 *   of seconds from 60 to 86,400.
 */
export function readSchedulePeriodMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  if (env[ATTACK_MODE_ENV.schedulePeriodSeconds] === undefined) return undefined;
  return environmentReader(ATTACK_MODE_ENV, env).integer('schedulePeriodSeconds', 60, 86_400) * 1000;
}
