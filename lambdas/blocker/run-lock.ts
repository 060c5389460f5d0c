/**
 * One blocker run at a time, across the Lambda's own invocations and the operator CLI. The Lambda
 * may run a few invocations at once (reserved concurrency 3: attack mode's pollers and a ban-feed
 * message, see docs/blocker.md#attack-mode), and `waf-autoblock ban` runs on a laptop: two runs
 * that overlap can each plan from what the other is changing (an unban put back, a range closed
 * while re-added). Lock tokens keep every single IP set write whole, and the re-check after a
 * conflict narrows the rest; this lock removes the overlap itself.
 */
import type { Ledger } from '#adapters/ledger';
import { BLOCKER_TIMEOUT_SECONDS } from '#contracts/attack-mode';
import { WriteError } from '#shared/errors';

/** What the run lock needs of the ledger (the bench drives it with a simulated one). */
export type RunLockLedger = Pick<Ledger, 'resourceName' | 'acquireRunLock' | 'releaseRunLock'>;

/**
 * The lease of a lock whose holder died without releasing it: the blocker's timeout, 120 s. A Lambda
 * run takes the lock inside its invocation, so it cannot hold it longer than that.
 */
export const RUN_LOCK_LEASE_MS = BLOCKER_TIMEOUT_SECONDS * 1000;

/** Options of {@link withRunLock}. */
export interface RunLockOptions {
  /**
   * How long the lock holds if its owner dies without releasing it, in ms; at least as long as a run
   * can last.
   * @default {@link RUN_LOCK_LEASE_MS} (120_000, the blocker's timeout)
   */
  readonly leaseMs?: number;
  /** How long to wait for another run to finish, in ms. @default 30_000 */
  readonly waitMs?: number;
  /** Between attempts, in ms. @default 1_000 */
  readonly pollMs?: number;
  /** Called once, when the lock is held by another run and this one starts to wait. */
  readonly onWait?: (heldBy: string, until: number) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `work` while holding the run lock, and releases it whatever happens.
 *
 * @param owner - Names this run in the lock, for the other side's message (`lambda:<request id>#<8 hex digits, one per invocation>`, `cli:alice@laptop`).
 * @throws WriteError naming the table and the holder when the lock stays taken for `waitMs`.
 */
export async function withRunLock<T>(
  ledger: RunLockLedger,
  owner: string,
  work: () => Promise<T>,
  options: RunLockOptions = {},
): Promise<T> {
  const { leaseMs = RUN_LOCK_LEASE_MS, waitMs = 30_000, pollMs = 1_000 } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let waited = false;
  for (;;) {
    const result = await ledger.acquireRunLock(owner, now(), leaseMs);
    if (result.acquired) break;
    if (now() - started >= waitMs) {
      throw new WriteError(
        ledger.resourceName,
        `another blocker run (${result.heldBy}) holds the run lock until ${new Date(result.until).toISOString()}; try again when it has finished`,
      );
    }
    if (!waited) options.onWait?.(result.heldBy, result.until);
    waited = true;
    await sleep(pollMs);
  }
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // The run's own failure is the one to report; a lock left behind expires with its lease.
    await ledger.releaseRunLock(owner).catch(() => undefined);
    throw error;
  }
  await ledger.releaseRunLock(owner);
  return result;
}
