/**
 * A Lambda function's asynchronous invocations on a simulated clock, for bench/attack-mode.ts: the
 * handler's own code (its polling loop and the run lock) runs as it would, sleeping on
 * {@link SimulatedTime} instead of a timer, so that a 60-minute attack takes milliseconds.
 *
 * What is modelled, as AWS documents asynchronous invocation
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
 * - reserved concurrency N: an attempt that finds N invocations running is throttled and returned to
 *   the queue, and tried again 1 s later, the wait doubling up to 5 minutes (no jitter: the worst
 *   case for an event that keeps meeting a busy function); a throttle uses up no retry;
 * - an invocation that fails is tried again `retryAttempts` times, 1 minute and then 2 minutes later;
 * - an event older than its maximum age is dropped (the attack tick's alias: 60 s; 6 hours, then the
 *   dead-letter queue, for the others).
 * Not modelled: the queue's own delivery latency, and a run lock round trip's time (a DynamoDB write).
 */
import type { RunLockLedger } from '#blocker/run-lock';
import type { PollingClock } from '#blocker/attack-mode';

/** Time for simulated processes: `sleep` parks one until {@link SimulatedTime.run} reaches its time. */
export class SimulatedTime implements PollingClock {
  private current = 0;
  private sequence = 0;
  /** Parked sleeps, ordered by time, then by when they were parked. */
  private readonly timers: { readonly at: number; readonly order: number; readonly wake: () => void }[] = [];

  readonly now = (): number => this.current;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      const timer = { at: this.current + Math.max(0, ms), order: this.sequence++, wake };
      let index = this.timers.length;
      while (index > 0 && (this.timers[index - 1]?.at ?? 0) > timer.at) index--;
      this.timers.splice(index, 0, timer);
    });

  /**
   * Wakes the parked processes in order until none is left or the next would wake after `until`
   * (epoch-free ms); each runs until it sleeps again before the next wakes.
   */
  async run(until: number): Promise<void> {
    for (;;) {
      const timer = this.timers[0];
      if (timer === undefined || timer.at > until) return;
      this.timers.shift();
      this.current = timer.at;
      timer.wake();
      // Every promise job the wake-up starts runs before a macrotask: the process is parked again.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

/** The run lock's ledger item, in memory, with the same rules as the DynamoDB one (adapters/ledger.ts). */
export class SimulatedRunLock implements RunLockLedger {
  readonly resourceName = 'simulated ledger';
  private owner: string | undefined;
  private leaseUntil = 0;

  acquireRunLock(owner: string, now: number, leaseMs: number): ReturnType<RunLockLedger['acquireRunLock']> {
    if (this.owner !== undefined && this.owner !== owner && this.leaseUntil > now) {
      return Promise.resolve({ acquired: false, heldBy: this.owner, until: this.leaseUntil });
    }
    this.owner = owner;
    this.leaseUntil = now + leaseMs;
    return Promise.resolve({ acquired: true });
  }

  releaseRunLock(owner: string): Promise<void> {
    if (this.owner === owner) this.leaseUntil = 0;
    return Promise.resolve();
  }
}

/** One event in Lambda's asynchronous queue. */
export interface AsyncEvent {
  /** Ms on the simulated clock. */
  readonly arrivedAt: number;
  /** Retries after a failed invocation: 2 (Lambda's default and most), 0 for the schedule's and tick's aliases. */
  readonly retryAttempts: number;
  /** Older than this, the event is dropped (or sent to the dead-letter queue). */
  readonly maxAgeMs: number;
}

/** What became of an event. */
export type Delivery = 'succeeded' | 'failed' | 'expired';

const FIRST_THROTTLE_RETRY_MS = 1_000;
const LONGEST_THROTTLE_RETRY_MS = 300_000;
/** Waits before the second and third attempts after a function error. */
const ERROR_RETRY_MS = [60_000, 120_000];

/** A function with reserved concurrency, invoked asynchronously on simulated time. */
export class SimulatedFunction {
  private running = 0;
  /** Invocation time billed so far, ms. */
  billedMs = 0;
  /** Invocations that ended with an error. */
  errors = 0;
  /** Throttled attempts. */
  throttles = 0;

  /** @param concurrency - Reserved concurrency; Infinity for an unreserved function. */
  constructor(
    private readonly time: SimulatedTime,
    readonly concurrency: number,
  ) {}

  /**
   * Delivers `event` as Lambda does: waits for a free slot (throttled attempts back off), runs
   * `invoke`, and retries it after an error while attempts are left.
   * @param invoke - One invocation; a rejection is a function error. `attempt` counts from 0.
   */
  async deliver(event: AsyncEvent, invoke: (attempt: number) => Promise<void>): Promise<Delivery> {
    const { time } = this;
    let backoff = FIRST_THROTTLE_RETRY_MS;
    for (let attempt = 0; ;) {
      if (time.now() - event.arrivedAt > event.maxAgeMs) return 'expired';
      if (this.running >= this.concurrency) {
        this.throttles++;
        await time.sleep(backoff);
        backoff = Math.min(2 * backoff, LONGEST_THROTTLE_RETRY_MS);
        continue;
      }
      this.running++;
      const startedAt = time.now();
      const failed = await invoke(attempt).then(
        () => false,
        () => true,
      );
      this.running--;
      this.billedMs += time.now() - startedAt;
      if (!failed) return 'succeeded';
      this.errors++;
      if (attempt >= event.retryAttempts) return 'failed';
      await time.sleep(ERROR_RETRY_MS[attempt] ?? LONGEST_THROTTLE_RETRY_MS);
      attempt++;
      backoff = FIRST_THROTTLE_RETRY_MS;
    }
  }
}
