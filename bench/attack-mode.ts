/**
 * Attack mode on a simulated clock: how long a key that a rate rule starts limiting during an attack
 * waits before its range is in a set (from its appearance in the managed keys to the end of the
 * round that writes it), over many random attacks and appearance times; and how long a ban-feed
 * message that arrives during the attack waits for its run.
 *
 * The model: one attack of ATTACK_MINUTES, its ALARM message delivered at t = 0; the 5-minute
 * schedule and the 1-minute attack tick at random phases; reserved concurrency 1, so an event that
 * arrives while an invocation runs is throttled and retried as Lambda documents for asynchronous
 * invocations (1 s after the first attempt, the interval doubling up to 5 minutes; no jitter, the
 * worst case for an event that keeps meeting a busy function); an attack tick that waits over 60 s
 * is dropped (its alias's maximum event age); each round takes ROUND_SECONDS, a tick that finds no
 * attack TICK_SECONDS. Every invocation runs the handler's own polling code
 * (lambdas/blocker/attack-mode.ts). Not counted: the time WAF takes to start limiting a key, and the
 * alarm's own delay.
 */
import { ATTACK_TICK_SOURCE, BLOCKER_TIMEOUT_SECONDS } from '#contracts/attack-mode';
import { isAttackTick, pollsWhileAttacked, pollWhileAttacked, type PollingClock } from '#blocker/attack-mode';
import { report } from './measure';

const SECOND = 1_000;
const PERIOD_MS = 300 * SECOND;
const TIMEOUT_MS = BLOCKER_TIMEOUT_SECONDS * SECOND;
const TICK_MS = 60 * SECOND;
/** An attack tick that finds the alarm OK: one DescribeAlarms call. */
const TICK_SECONDS = 0.1;
const ATTACK_MINUTES = 60;
const ATTACK_MS = ATTACK_MINUTES * 60 * SECOND;
/**
 * Keys appear until a minute before the alarm returns to OK: a key that appears in the attack's last
 * seconds meets a round that finds the alarm OK, which is the gate, not the cadence.
 */
const KEYS_UNTIL_MS = ATTACK_MS - 60 * SECOND;
/** A round's wall time: four AWS round trips and the core, rounded up generously. */
const ROUND_SECONDS = 1;
const ATTACKS = 2_000;
const KEYS_PER_ATTACK = 100;
/** Lambda's throttled-event backoff: from 1 s, doubling, at most 5 minutes. */
const FIRST_RETRY_MS = SECOND;
const LONGEST_RETRY_MS = 300 * SECOND;
/** The blocker's memory, for the GB-seconds an attack costs. */
const MEMORY_GB = 0.5;

interface QueuedEvent {
  readonly kind: 'alarm' | 'schedule' | 'feed' | 'tick';
  readonly arrivedAt: number;
  nextAttempt: number;
  backoff: number;
}

const arriving = (kind: QueuedEvent['kind'], at: number): QueuedEvent => ({
  kind,
  arrivedAt: at,
  nextAttempt: at,
  backoff: FIRST_RETRY_MS,
});

interface AttackRun {
  /** When each round read the keys, ms after the ALARM message. */
  readonly roundStarts: number[];
  /** Lambda time billed from the ALARM message until the first run after the attack, ms. */
  readonly billedMs: number;
  /** When the ban-feed message got its run, ms after the ALARM message. */
  readonly feedRanAt: number;
}

/** A small seeded generator (mulberry32), so that the figures repeat from run to run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One invocation from `startAt`, as the handler runs it; returns when it ends. */
async function invocation(
  event: QueuedEvent,
  startAt: number,
  attackMode: boolean,
  roundStarts: number[],
): Promise<number> {
  let now = startAt;
  const inAlarm = () => now < ATTACK_MS;
  // The tick reads the alarm first, and ends there when it is not in ALARM.
  if (isAttackTick({ source: event.kind === 'tick' ? ATTACK_TICK_SOURCE : 'aws.events' }) && !inAlarm()) {
    return now + TICK_SECONDS * SECOND;
  }
  const clock: PollingClock = {
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  };
  await pollWhileAttacked(
    () => {
      roundStarts.push(now);
      const state = inAlarm() ? ('ALARM' as const) : ('OK' as const);
      now += ROUND_SECONDS * SECOND;
      return Promise.resolve(state);
    },
    (state) => state,
    {
      polls: attackMode && pollsWhileAttacked(event.kind === 'tick' ? 'schedule' : event.kind, 'alarm'),
      remainingMs: () => startAt + TIMEOUT_MS - now,
      clock,
    },
  );
  return now;
}

/**
 * One attack: the ALARM message at 0, the schedule and (with attack mode) the attack tick at their
 * phases, a ban-feed message at `feedAt`; one invocation at a time.
 */
async function simulateAttack(attackMode: boolean, random: () => number, feedAt: number): Promise<AttackRun> {
  const queue: QueuedEvent[] = [arriving('alarm', 0), arriving('feed', feedAt)];
  const end = ATTACK_MS + PERIOD_MS;
  for (let at = random() * PERIOD_MS; at < end; at += PERIOD_MS) queue.push(arriving('schedule', at));
  if (attackMode) for (let at = random() * TICK_MS; at < end; at += TICK_MS) queue.push(arriving('tick', at));
  const roundStarts: number[] = [];
  let freeAt = 0;
  let billedMs = 0;
  let feedRanAt = Number.POSITIVE_INFINITY;
  while (queue.length > 0) {
    // Every attempt while the function is busy is throttled and retried later; a tick older than
    // a minute is dropped.
    for (const event of queue) {
      while (event.nextAttempt < freeAt) {
        event.nextAttempt += event.backoff;
        event.backoff = Math.min(2 * event.backoff, LONGEST_RETRY_MS);
      }
    }
    const waiting = queue.filter((event) => event.kind !== 'tick' || event.nextAttempt - event.arrivedAt <= TICK_MS);
    queue.splice(0, queue.length, ...waiting.sort((a, b) => a.nextAttempt - b.nextAttempt));
    const event = queue.shift();
    if (event === undefined || event.nextAttempt > end) break;
    if (event.kind === 'feed') feedRanAt = event.nextAttempt;
    const endAt = await invocation(event, event.nextAttempt, attackMode, roundStarts);
    billedMs += endAt - event.nextAttempt;
    freeAt = endAt;
  }
  return { roundStarts, billedMs, feedRanAt };
}

/** The wait of a key appearing at `at`: until the next round reads it, plus that round. */
function waitOf(roundStarts: readonly number[], at: number): number {
  let low = 0;
  let high = roundStarts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((roundStarts[middle] ?? Infinity) < at) low = middle + 1;
    else high = middle;
  }
  const start = roundStarts[low] ?? Infinity;
  return start - at + ROUND_SECONDS * SECOND;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function measure(label: string, attackMode: boolean): Promise<void> {
  const random = seeded(attackMode ? 9 : 6);
  const waits: number[] = [];
  const feedWaits: number[] = [];
  let billedMs = 0;
  for (let attack = 0; attack < ATTACKS; attack++) {
    const feedAt = random() * KEYS_UNTIL_MS;
    const run = await simulateAttack(attackMode, random, feedAt);
    billedMs += run.billedMs;
    feedWaits.push(run.feedRanAt - feedAt);
    for (let key = 0; key < KEYS_PER_ATTACK; key++) waits.push(waitOf(run.roundStarts, random() * KEYS_UNTIL_MS));
  }
  waits.sort((a, b) => a - b);
  const seconds = (ms: number) => `${(ms / SECOND).toFixed(1)} s`;
  const over60 = waits.filter((wait) => wait > 60 * SECOND).length / waits.length;
  report(
    `attack-mode ${label}: key to set, p50`,
    seconds(percentile(waits, 0.5)),
    attackMode ? '≤ 30 s at p95' : undefined,
  );
  report(`attack-mode ${label}: key to set, p95`, seconds(percentile(waits, 0.95)), attackMode ? '≤ 30 s' : undefined);
  report(
    `attack-mode ${label}: key to set, p99 / max`,
    `${seconds(percentile(waits, 0.99))} / ${seconds(waits.at(-1) ?? 0)}`,
  );
  report(
    `attack-mode ${label}: keys waiting over 60 s`,
    `${(100 * over60).toFixed(2)} %`,
    attackMode ? '0 %' : undefined,
  );
  feedWaits.sort((a, b) => a - b);
  const feedOver10 = feedWaits.filter((wait) => wait > 600 * SECOND).length / feedWaits.length;
  report(
    `attack-mode ${label}: ban-feed message to its run, p50 / p95 / max`,
    `${seconds(percentile(feedWaits, 0.5))} / ${seconds(percentile(feedWaits, 0.95))} / ${seconds(feedWaits.at(-1) ?? 0)}`,
  );
  report(`attack-mode ${label}: ban-feed messages waiting over 10 min`, `${(100 * feedOver10).toFixed(2)} %`);
  const gbSecondsPerHour = (MEMORY_GB * billedMs) / SECOND / ATTACKS / (ATTACK_MINUTES / 60);
  report(`attack-mode ${label}: Lambda GB-s per attack hour`, gbSecondsPerHour.toFixed(0));
}

/** `npm run bench` suite: attack mode beside the 5-minute schedule and the alarm's run alone. */
export default async function attackModeBench(): Promise<void> {
  console.log(
    `${ATTACKS} simulated ${ATTACK_MINUTES}-minute attacks, ${KEYS_PER_ATTACK} keys and one ban-feed message each at random times; schedule every ${PERIOD_MS / 60_000} min, attack tick every minute, timeout ${TIMEOUT_MS / SECOND} s, ${ROUND_SECONDS} s a round`,
  );
  await measure('on', true);
  await measure('off', false);
}

if (import.meta.url === `file://${process.argv[1]}`) await attackModeBench();
