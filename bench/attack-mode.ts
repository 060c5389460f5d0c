/**
 * Attack mode on a simulated clock: how long a key that a rate rule starts limiting during an attack
 * waits before its range is in a set (from its appearance in the managed keys to the end of the
 * round that writes it), over many random attacks and appearance times; and how long a ban-feed
 * message that arrives during the attack waits before its ban is in a set (to the end of its round).
 *
 * The model: one attack of ATTACK_MINUTES, its ALARM message delivered at t = 0; the 5-minute
 * schedule and the 1-minute attack tick at random phases; the ban-feed message at a random time.
 * Lambda's side (reserved concurrency, throttling, retries, event age) is bench/lambda-simulation.ts.
 * Every invocation runs the handler's own code: its polling loop (lambdas/blocker/attack-mode.ts) and
 * the run lock per round (lambdas/blocker/run-lock.ts, its wait from `runLockWaitMs`), on the
 * simulated clock; a round takes ROUND_SECONDS, a tick that finds no attack TICK_SECONDS. Every
 * scenario replays the same attacks (one seed), so that the figures compare. Not counted: the time
 * WAF takes to start limiting a key, and the alarm's own delay.
 */
import { ATTACK_TICK_SOURCE, BLOCKER_MEMORY_MB, BLOCKER_TIMEOUT_SECONDS } from '#contracts/attack-mode';
import {
  isAttackTick,
  pollsWhileAttacked,
  pollWhileAttacked,
  runLockWaitMs,
  type PollingResult,
} from '#blocker/attack-mode';
import { withRunLock } from '#blocker/run-lock';
import { SimulatedFunction, SimulatedRunLock, SimulatedTime, type AsyncEvent } from './lambda-simulation';
import { report } from './measure';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const PERIOD_MS = 5 * MINUTE;
const TIMEOUT_MS = BLOCKER_TIMEOUT_SECONDS * SECOND;
const TICK_MS = MINUTE;
/** An attack tick that finds the alarm OK: one DescribeAlarms call. */
const TICK_SECONDS = 0.1;
const ATTACK_MINUTES = 60;
const ATTACK_MS = ATTACK_MINUTES * MINUTE;
/**
 * Keys and feed messages appear until a minute before the alarm returns to OK: a key that appears
 * in the attack's last seconds meets a round that finds the alarm OK, which is the gate, not the cadence.
 */
const KEYS_UNTIL_MS = ATTACK_MS - MINUTE;
/** Events after the attack are simulated for this long: a throttled retry waits up to 5 minutes. */
const AFTER_ATTACK_MS = 3 * PERIOD_MS;
const ATTACKS = 2_000;
const KEYS_PER_ATTACK = 100;
/**
 * The burst: ban-feed messages one a second (fail2ban banning as it goes), each its own run, with
 * slower rounds (a larger ledger); fewer attacks, since each has many more events.
 */
const BURST_MESSAGES = 20;
const BURST_ROUND_SECONDS = 3;
const BURST_ATTACKS = 500;
/** The blocker's default memory, for the GB-seconds an attack costs. */
const MEMORY_GB = BLOCKER_MEMORY_MB / 1024;
/** Lambda's limits on the events (lib/blocker): the tick's alias drops a minute-old event. */
const EVENTS: Record<'alarm' | 'schedule' | 'tick' | 'feed', Omit<AsyncEvent, 'arrivedAt'>> = {
  alarm: { retryAttempts: 2, maxAgeMs: 6 * 60 * MINUTE },
  schedule: { retryAttempts: 0, maxAgeMs: 6 * 60 * MINUTE },
  tick: { retryAttempts: 0, maxAgeMs: TICK_MS },
  feed: { retryAttempts: 2, maxAgeMs: 6 * 60 * MINUTE },
};
type EventKind = keyof typeof EVENTS;

/** One configuration measured. */
interface Scenario {
  readonly label: string;
  readonly attackMode: boolean;
  /** Reserved concurrency; Infinity for `reservedConcurrency: null`. */
  readonly concurrency: number;
  /** Ban-feed messages published at the same moment (a burst from fail2ban or CrowdSec). */
  readonly feedMessages: number;
  /** A round's wall time: four AWS round trips and the core, rounded up generously. */
  readonly roundSeconds: number;
}

/** The random draws of one attack, the same in every scenario. */
interface AttackDraws {
  readonly feedAt: number;
  readonly schedulePhase: number;
  readonly tickPhase: number;
  readonly keys: readonly number[];
}

/** What one simulated attack gave. */
interface AttackRun {
  /** When each round read the keys (after taking the run lock), ms after the ALARM message. */
  readonly roundStarts: number[];
  /** When each feed message's ban was in a set; Infinity when not within the simulated time. */
  readonly feedApplied: number[];
  readonly billedMs: number;
  readonly errors: number;
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

/** One attack's Lambda world: the function, the ledger's run lock and what the rounds did. */
class AttackWorld {
  readonly time = new SimulatedTime();
  readonly fn: SimulatedFunction;
  readonly lock = new SimulatedRunLock();
  readonly roundStarts: number[] = [];
  private invocations = 0;

  constructor(private readonly scenario: Scenario) {
    this.fn = new SimulatedFunction(this.time, scenario.concurrency);
  }

  private inAlarm(): boolean {
    return this.time.now() < ATTACK_MS;
  }

  /** One invocation for `kind`, as lambdas/blocker/handler.ts runs it. */
  async invocation(kind: EventKind): Promise<PollingResult<'ALARM' | 'OK'> | undefined> {
    const { time, scenario } = this;
    const owner = `lambda:${String(this.invocations++)}`;
    const startAt = time.now();
    const remainingMs = () => startAt + TIMEOUT_MS - time.now();
    // The tick reads the alarm first, and ends there when it is not in ALARM.
    if (isAttackTick({ source: kind === 'tick' ? ATTACK_TICK_SOURCE : 'aws.events' })) {
      await time.sleep(TICK_SECONDS * SECOND);
      if (!this.inAlarm()) return undefined;
    }
    const round = () =>
      withRunLock(
        this.lock,
        owner,
        async () => {
          this.roundStarts.push(time.now());
          const state = this.inAlarm() ? ('ALARM' as const) : ('OK' as const);
          await time.sleep(scenario.roundSeconds * SECOND);
          return state;
        },
        { now: time.now, sleep: time.sleep, waitMs: runLockWaitMs(remainingMs()) },
      );
    return pollWhileAttacked(round, (state) => state, {
      polls: scenario.attackMode && pollsWhileAttacked(kind === 'tick' ? 'schedule' : kind, 'alarm'),
      remainingMs,
      clock: time,
    });
  }

  /** Starts the delivery of a `kind` event at `at`; resolves with when it succeeded (Infinity if never). */
  async arrive(kind: EventKind, at: number): Promise<number> {
    await this.time.sleep(at);
    const delivery = await this.fn.deliver({ ...EVENTS[kind], arrivedAt: at }, () =>
      this.invocation(kind).then(() => undefined),
    );
    return delivery === 'succeeded' ? this.time.now() : Number.POSITIVE_INFINITY;
  }
}

/** One attack: the ALARM message at 0, the schedule and (in attack mode) the tick at their phases, the feed. */
async function simulateAttack(scenario: Scenario, draws: AttackDraws): Promise<AttackRun> {
  const world = new AttackWorld(scenario);
  const end = ATTACK_MS + AFTER_ATTACK_MS;
  // Infinity until applied: a message still waiting at the end of the simulated time was not applied within it.
  const feedApplied = Array.from({ length: scenario.feedMessages }, () => Number.POSITIVE_INFINITY);
  const feedRuns = Array.from({ length: scenario.feedMessages }, (_, index) =>
    world.arrive('feed', draws.feedAt + index * SECOND),
  );
  void world.arrive('alarm', 0);
  for (let at = draws.schedulePhase; at < end; at += PERIOD_MS) void world.arrive('schedule', at);
  if (scenario.attackMode) for (let at = draws.tickPhase; at < end; at += TICK_MS) void world.arrive('tick', at);
  feedRuns.forEach((run, index) => void run.then((appliedAt) => (feedApplied[index] = appliedAt)));
  await world.time.run(end);
  return { roundStarts: world.roundStarts, feedApplied, billedMs: world.fn.billedMs, errors: world.fn.errors };
}

/** The wait of a key appearing at `at`: until the next round reads it, plus that round. */
function waitOf(roundStarts: readonly number[], at: number, roundMs: number): number {
  const start = roundStarts.find((started) => started >= at) ?? Number.POSITIVE_INFINITY;
  return start - at + roundMs;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / SECOND).toFixed(1)} s` : 'never');
const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)} %`;

/** The same attacks for every scenario. */
function drawAttacks(): AttackDraws[] {
  const random = seeded(9);
  return Array.from({ length: ATTACKS }, () => ({
    feedAt: random() * KEYS_UNTIL_MS,
    schedulePhase: random() * PERIOD_MS,
    tickPhase: random() * TICK_MS,
    keys: Array.from({ length: KEYS_PER_ATTACK }, () => random() * KEYS_UNTIL_MS),
  }));
}

async function measure(scenario: Scenario, attacks: readonly AttackDraws[], withKeys: boolean): Promise<void> {
  const waits: number[] = [];
  const feedWaits: number[] = [];
  let billedMs = 0;
  let rounds = 0;
  let errors = 0;
  let afterAttack = 0;
  for (const draws of attacks) {
    const run = await simulateAttack(scenario, draws);
    billedMs += run.billedMs;
    errors += run.errors;
    rounds += run.roundStarts.filter((at) => at < ATTACK_MS).length;
    for (const [index, appliedAt] of run.feedApplied.entries()) {
      feedWaits.push(appliedAt - (draws.feedAt + index * SECOND));
      if (appliedAt >= ATTACK_MS) afterAttack++;
    }
    if (withKeys) for (const at of draws.keys) waits.push(waitOf(run.roundStarts, at, scenario.roundSeconds * SECOND));
  }
  const { label } = scenario;
  if (withKeys)
    reportKeys(
      label,
      waits.sort((a, b) => a - b),
    );
  feedWaits.sort((a, b) => a - b);
  report(
    `${label}: ban-feed message to its ban, p50 / p95 / max`,
    `${seconds(percentile(feedWaits, 0.5))} / ${seconds(percentile(feedWaits, 0.95))} / ${seconds(feedWaits.at(-1) ?? 0)}`,
  );
  const over10 = feedWaits.filter((wait) => wait > 10 * MINUTE).length;
  report(`${label}: ban-feed messages waiting over 10 min`, percent(over10, feedWaits.length));
  report(`${label}: ban-feed bans applied after the attack ended`, percent(afterAttack, feedWaits.length));
  report(`${label}: failed invocations (run lock) per attack`, (errors / attacks.length).toFixed(3));
  const hours = attacks.length * (ATTACK_MINUTES / 60);
  report(
    `${label}: rounds / Lambda GB-s per attack hour`,
    `${(rounds / hours).toFixed(0)} / ${((MEMORY_GB * billedMs) / SECOND / hours).toFixed(0)}`,
  );
}

function reportKeys(label: string, waits: readonly number[]): void {
  report(`${label}: key to set, p50 / p95`, `${seconds(percentile(waits, 0.5))} / ${seconds(percentile(waits, 0.95))}`);
  report(`${label}: key to set, p99 / max`, `${seconds(percentile(waits, 0.99))} / ${seconds(waits.at(-1) ?? 0)}`);
  report(`${label}: keys waiting over 60 s`, percent(waits.filter((wait) => wait > MINUTE).length, waits.length));
}

/**
 * `npm run bench` suite: attack mode at reserved concurrency 1 (the old default), 3 (the default) and
 * unreserved, beside attack mode off; then a burst of feed messages at the same three.
 */
export default async function attackModeBench(): Promise<void> {
  const attacks = drawAttacks();
  console.log(
    `${ATTACKS} simulated ${ATTACK_MINUTES}-minute attacks, ${KEYS_PER_ATTACK} keys and one ban-feed message each at random times; schedule every ${PERIOD_MS / MINUTE} min, attack tick every minute, timeout ${TIMEOUT_MS / SECOND} s, 1 s a round`,
  );
  const base = { attackMode: true, feedMessages: 1, roundSeconds: 1 };
  for (const concurrency of [1, 3, Number.POSITIVE_INFINITY]) {
    await measure({ ...base, label: `attack mode, concurrency ${String(concurrency)}`, concurrency }, attacks, true);
  }
  await measure({ ...base, label: 'attack mode off, concurrency 1', attackMode: false, concurrency: 1 }, attacks, true);
  const bursts = attacks.slice(0, BURST_ATTACKS);
  console.log(
    `\n${String(BURST_ATTACKS)} of the same attacks, a burst of ${String(BURST_MESSAGES)} ban-feed messages, one a second, ${String(BURST_ROUND_SECONDS)} s a round:`,
  );
  for (const concurrency of [1, 3, Number.POSITIVE_INFINITY]) {
    const scenario = { ...base, feedMessages: BURST_MESSAGES, roundSeconds: BURST_ROUND_SECONDS, concurrency };
    await measure({ ...scenario, label: `burst, concurrency ${String(concurrency)}` }, bursts, false);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await attackModeBench();
