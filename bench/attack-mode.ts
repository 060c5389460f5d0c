/**
 * Attack mode on a simulated clock: how long a key that a rate rule starts limiting during an attack
 * waits before its range is in a set (from its appearance in the managed keys to the end of the
 * round that writes it), over many random attacks and appearance times.
 *
 * The model: one attack of ATTACK_MINUTES, its ALARM message delivered at t = 0; the 5-minute
 * schedule's ticks at a random phase; reserved concurrency 1, so an event that arrives while an
 * invocation runs is throttled and retried as Lambda documents for asynchronous invocations (1 s
 * after the first attempt, the interval doubling up to 5 minutes); each round takes ROUND_SECONDS.
 * Every invocation is driven by the handler's own polling code (lambdas/blocker/attack-mode.ts):
 * the same stop rules, remaining time from the 360 s timeout, and the next tick known to scheduled
 * runs, and to an alarm-started run only when the function is warm (it saw the last tick).
 * Not counted: the time WAF takes to start limiting a key, and the alarm's own delay.
 */
import { blockerTimeoutSeconds } from '#contracts/attack-mode';
import { nextTickAfter, pollsWhileAttacked, pollWhileAttacked, type PollingClock } from '#blocker/attack-mode';
import { report } from './measure';

const SECOND = 1_000;
const PERIOD_MS = 300 * SECOND;
const TIMEOUT_MS = blockerTimeoutSeconds(PERIOD_MS / SECOND) * SECOND;
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
  readonly kind: 'alarm' | 'schedule';
  /** A scheduled event's tick. */
  readonly tickAt?: number;
  nextAttempt: number;
  backoff: number;
}

interface AttackRun {
  /** When each round read the keys, ms after the ALARM message. */
  readonly roundStarts: number[];
  /** Lambda time billed from the ALARM message until the first run after the attack, ms. */
  readonly billedMs: number;
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
  lastTickAt: number | undefined,
  polls: boolean,
  roundStarts: number[],
): Promise<number> {
  let now = startAt;
  const clock: PollingClock = {
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  };
  const nextTickAt = lastTickAt === undefined ? undefined : nextTickAfter(lastTickAt, PERIOD_MS, now);
  await pollWhileAttacked(
    () => {
      roundStarts.push(now);
      const state = now < ATTACK_MS ? ('ALARM' as const) : ('OK' as const);
      now += ROUND_SECONDS * SECOND;
      return Promise.resolve(state);
    },
    (state) => state,
    {
      polls: polls && pollsWhileAttacked(event.kind, 'alarm'),
      remainingMs: () => startAt + TIMEOUT_MS - now,
      nextTickAt,
      clock,
    },
  );
  return now;
}

/** One attack: the ALARM message at 0, ticks at `phase` + k periods, one invocation at a time. */
async function simulateAttack(phase: number, warm: boolean, polls: boolean): Promise<AttackRun> {
  const queue: QueuedEvent[] = [{ kind: 'alarm', nextAttempt: 0, backoff: FIRST_RETRY_MS }];
  for (let tick = phase; tick < ATTACK_MS + 2 * PERIOD_MS; tick += PERIOD_MS) {
    queue.push({ kind: 'schedule', tickAt: tick, nextAttempt: tick, backoff: FIRST_RETRY_MS });
  }
  // A warm function saw the tick before the attack.
  let lastTickAt = warm ? phase - PERIOD_MS : undefined;
  const roundStarts: number[] = [];
  let freeAt = 0;
  let billedMs = 0;
  while (queue.length > 0) {
    // Every attempt while the function is busy is throttled and retried later.
    for (const event of queue) {
      while (event.nextAttempt < freeAt) {
        event.nextAttempt += event.backoff;
        event.backoff = Math.min(2 * event.backoff, LONGEST_RETRY_MS);
      }
    }
    queue.sort((a, b) => a.nextAttempt - b.nextAttempt);
    const event = queue.shift() as QueuedEvent;
    if (event.nextAttempt > ATTACK_MS + PERIOD_MS) break;
    if (event.tickAt !== undefined) lastTickAt = event.tickAt;
    const endAt = await invocation(event, event.nextAttempt, lastTickAt, polls, roundStarts);
    billedMs += endAt - event.nextAttempt;
    freeAt = endAt;
  }
  return { roundStarts, billedMs };
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

async function measure(label: string, warm: boolean, polls: boolean): Promise<void> {
  const random = seeded(warm ? 9 : 6);
  const waits: number[] = [];
  let billedMs = 0;
  for (let attack = 0; attack < ATTACKS; attack++) {
    const run = await simulateAttack(random() * PERIOD_MS, warm, polls);
    billedMs += run.billedMs;
    for (let key = 0; key < KEYS_PER_ATTACK; key++) waits.push(waitOf(run.roundStarts, random() * KEYS_UNTIL_MS));
  }
  waits.sort((a, b) => a - b);
  const seconds = (ms: number) => `${(ms / SECOND).toFixed(1)} s`;
  const over60 = waits.filter((wait) => wait > 60 * SECOND).length / waits.length;
  report(`attack-mode ${label}: key to set, p50`, seconds(percentile(waits, 0.5)), polls ? '≤ 30 s at p95' : undefined);
  report(`attack-mode ${label}: key to set, p95`, seconds(percentile(waits, 0.95)), polls ? '≤ 30 s' : undefined);
  report(
    `attack-mode ${label}: key to set, p99 / max`,
    `${seconds(percentile(waits, 0.99))} / ${seconds(waits.at(-1) ?? 0)}`,
  );
  report(`attack-mode ${label}: keys waiting over 60 s`, `${(100 * over60).toFixed(2)} %`, polls ? '0 %' : undefined);
  const gbSecondsPerHour = (MEMORY_GB * billedMs) / SECOND / ATTACKS / (ATTACK_MINUTES / 60);
  report(`attack-mode ${label}: Lambda GB-s per attack hour`, gbSecondsPerHour.toFixed(0));
}

/** `npm run bench` suite: attack mode, warm and cold, beside the 5-minute schedule alone. */
export default async function attackModeBench(): Promise<void> {
  console.log(
    `${ATTACKS} simulated ${ATTACK_MINUTES}-minute attacks, ${KEYS_PER_ATTACK} keys each at random times; schedule every ${PERIOD_MS / 60_000} min at a random phase, timeout ${TIMEOUT_MS / SECOND} s, ${ROUND_SECONDS} s a round`,
  );
  await measure('warm', true, true);
  await measure('cold', false, true);
  await measure('without polling', true, false);
}

if (import.meta.url === `file://${process.argv[1]}`) await attackModeBench();
