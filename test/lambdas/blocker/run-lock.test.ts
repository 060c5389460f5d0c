/** The run lock against dynalite: one blocker run at a time across the Lambda and the CLI. */
import { describe, expect, it } from 'vitest';
import { RUN_LOCK_KEY } from '#adapters/ledger';
import { withRunLock } from '#blocker/run-lock';
import { WriteError } from '#shared/errors';
import { NOW } from '../../support/blocker-fixtures';
import { useLedgerTable } from '../../support/blocker-harness';

const table = useLedgerTable('Ledger-lock');

/** A clock the test moves; sleeping moves it too, so waits take no real time. */
function clock(start = NOW) {
  let time = start;
  return { now: () => time, sleep: (ms: number) => Promise.resolve(void (time += ms)) };
}

describe('the run lock', () => {
  it('lets one owner in at a time, tells the other who holds it, and frees at release or lease end', async () => {
    await expect(table.ledger.acquireRunLock('lambda:req-1', NOW, 120_000)).resolves.toEqual({ acquired: true });
    await expect(table.ledger.acquireRunLock('cli:alice', NOW + 1000, 120_000)).resolves.toEqual({
      acquired: false,
      heldBy: 'lambda:req-1',
      until: NOW + 120_000,
    });
    // Someone else's release does nothing; the owner's frees it.
    await table.ledger.releaseRunLock('cli:alice');
    await expect(table.ledger.acquireRunLock('cli:alice', NOW + 2000, 120_000)).resolves.toMatchObject({
      acquired: false,
    });
    await table.ledger.releaseRunLock('lambda:req-1');
    await expect(table.ledger.acquireRunLock('cli:alice', NOW + 3000, 120_000)).resolves.toEqual({ acquired: true });
    // A holder that died is taken over once its lease has run out.
    await expect(table.ledger.acquireRunLock('lambda:req-2', NOW + 123_000, 120_000)).resolves.toEqual({
      acquired: true,
    });
  });

  it('never shows up as a managed range', async () => {
    await table.ledger.acquireRunLock('lambda:req-1', NOW, 120_000);
    expect(await table.ledger.activeEntries('IPV4')).toEqual([]);
    expect(await table.ledger.activeEntriesOf('IPV4', [RUN_LOCK_KEY])).toEqual([]);
  });

  it('makes a second run wait for the first, then run', async () => {
    const time = clock();
    await table.ledger.acquireRunLock('lambda:req-1', time.now(), 120_000);
    const waits: string[] = [];
    let released = false;
    const sleep = async (ms: number) => {
      await time.sleep(ms);
      // The first run finishes while the second waits.
      if (!released && time.now() - NOW >= 3000) {
        released = true;
        await table.ledger.releaseRunLock('lambda:req-1');
      }
    };

    const result = await withRunLock(table.ledger, 'cli:alice', () => Promise.resolve('ran'), {
      now: time.now,
      sleep,
      onWait: (heldBy) => waits.push(heldBy),
    });

    expect(result).toBe('ran');
    expect(waits).toEqual(['lambda:req-1']);
    // And it released the lock behind it.
    await expect(table.ledger.acquireRunLock('lambda:req-2', time.now(), 120_000)).resolves.toEqual({ acquired: true });
  });

  it('gives up after waitMs with an error naming the holder, and never runs the work', async () => {
    const time = clock();
    await table.ledger.acquireRunLock('lambda:req-1', time.now(), 120_000);
    let ran = false;

    const attempt = withRunLock(table.ledger, 'cli:alice', () => Promise.resolve(void (ran = true)), {
      now: time.now,
      sleep: time.sleep,
      waitMs: 10_000,
    });

    await expect(attempt).rejects.toThrow(WriteError);
    await expect(attempt).rejects.toThrow(/another blocker run \(lambda:req-1\) holds the run lock until/);
    expect(ran).toBe(false);
  });

  it("releases the lock when the run fails, and reports the run's own error", async () => {
    const failing = withRunLock(table.ledger, 'lambda:req-1', () => Promise.reject(new Error('IP set write failed')));

    await expect(failing).rejects.toThrow('IP set write failed');
    await expect(table.ledger.acquireRunLock('cli:alice', Date.now(), 120_000)).resolves.toEqual({ acquired: true });
  });
});
