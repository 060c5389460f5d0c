/**
 * Attack mode's timing and its tick: the contract between the construct (lib/blocker: the
 * function's timeout, the 1-minute attack tick and the input it sends) and the handler that polls
 * while the alarm is in ALARM (lambdas/blocker/attack-mode.ts). No AWS imports, so the construct
 * can use it at synth time.
 */

/**
 * How often a run in attack mode reads the rate rules' keys again while the alarm is in ALARM: 15 s,
 * from the start of one round to the start of the next. Four rounds a minute are four reads of each
 * source, well inside WAF's and CloudWatch's read rates.
 */
export const ATTACK_POLL_INTERVAL_MS = 15_000;

/**
 * How long one invocation polls, from its start: 30 s, so rounds at 0, 15 and 30 s. The attack tick
 * starts the next invocation a minute after the last, so the tick's pollers do not overlap.
 */
export const ATTACK_POLL_WINDOW_MS = 30_000;

/**
 * The most time one round may take, and so the time a polling invocation keeps in hand: 60 s, the
 * blocker's whole timeout before attack mode (a round waits up to 30 s for the run lock, backs off
 * lock conflicts and lets the SDK wait out WAF throttling). No round starts with less left.
 */
export const ROUND_ALLOWANCE_MS = 60_000;

/**
 * The blocker's Lambda timeout, in seconds: the polling window, then a round's allowance, and 30 s
 * in hand for a round that starts late (after waiting for the run lock): 120 s.
 */
export const BLOCKER_TIMEOUT_SECONDS = (ATTACK_POLL_WINDOW_MS + ROUND_ALLOWANCE_MS) / 1000 + 30;

/**
 * The blocker's default reserved concurrency (`blocker.reservedConcurrency`): 3, the invocations
 * that poll at once in the worst case (the attack tick's, the schedule's and the alarm message's,
 * at the start of an attack), so that a ban-feed message is not throttled by attack mode: it runs
 * beside them and waits on the run lock for a round instead (a few seconds; bench/attack-mode.ts).
 * Runs stay one at a time under the lock (lambdas/blocker/run-lock.ts).
 */
export const BLOCKER_RESERVED_CONCURRENCY = 3;

/**
 * The blocker's default memory (`blocker.memorySize`), in MB: 1,769, where Lambda gives a function
 * the equivalent of one vCPU (one vCPU-second of credits per second), and so the one core the
 * first-block bench measures on (bench/first-block.ts). Lambda grants CPU in proportion to memory:
 * at 512 MB a run gets about 0.29 vCPU, and a first run of 10,000 new ranges spends about 3.5 times
 * as long deciding before it blocks. The resident memory peaks near 200 MB either way.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 */
export const BLOCKER_MEMORY_MB = 1_769;

/**
 * The event the 1-minute attack tick sends (EventBridge target input): `{ "source": ATTACK_TICK_SOURCE,
 * "time": <the tick's time> }`. A tick finds out whether the alarm is in ALARM with one read
 * (DescribeAlarms) and ends there when it is not.
 */
export const ATTACK_TICK_SOURCE = 'waf-autoblock.attack-tick';

/** The EventBridge schedule of the attack tick. */
export const ATTACK_TICK_SCHEDULE = 'rate(1 minute)';
