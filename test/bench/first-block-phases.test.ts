import { describe, expect, it } from 'vitest';
import type { Call } from '../../bench/blocker-world';
import { phases } from '../../bench/first-block';

/** Thread times: CPU and wait of the run's thread, other threads' CPU (ms). */
const times = (cpuMs: number, waitMs = 0, othersCpuMs = 0) => ({ cpuMs, waitMs, othersCpuMs });

/** A first run's calls, from a start at 1,000 ms: a wave of reads, an intent in `parts`, then the set write. */
function run(options: { parts: { at: number; cpu: number; wait?: number }[]; setAt: number; setCpu: number }): Call[] {
  const reads: Call[] = [
    { service: 'WAF', operation: 'GetRateBasedStatementManagedKeys', at: 1_002, doneAt: 1_015, ok: true },
    { service: 'DynamoDB', operation: 'Query', at: 1_005, doneAt: 1_040, ok: true },
  ];
  const intent: Call[] = options.parts.map((part) => ({
    service: 'DynamoDB',
    operation: 'PutItem',
    at: part.at,
    doneAt: part.at + 25,
    ok: true,
    threadAt: times(part.cpu, part.wait ?? 0, 50),
  }));
  // A row's PutItem after the set carries no thread times: it is not an intent part.
  const row: Call = { service: 'DynamoDB', operation: 'PutItem', at: options.setAt + 30, doneAt: options.setAt + 40 };
  const set: Call = {
    service: 'WAF',
    operation: 'UpdateIPSet',
    at: options.setAt,
    doneAt: options.setAt + 12,
    ok: true,
    threadAt: times(options.setCpu, 90, 70),
  };
  return [...reads, ...intent, set, row];
}

describe("first-block's phases", () => {
  it('counts the CPU until the set write left, less the 10 ms the intent hides', () => {
    const calls = run({ parts: [{ at: 1_100, cpu: 60, wait: 30 }], setAt: 1_160, setCpu: 95 });
    const p = phases(calls, 1_000, times(0));
    expect(p.cpuToIntent).toBe(60);
    expect(p.cpuIntentToSet).toBe(35);
    expect(p.own).toBe(60 + 35 - 10);
    expect(p.waitToIntent).toBe(30);
    expect(p.waitToSet).toBe(90);
    expect(p.ownWithWait).toBe(85 + 90);
    expect(p.othersToIntent).toBe(50);
    expect(p.othersToSet).toBe(70);
    expect(p).toMatchObject({ readsSent: 5, readsDone: 40, intentSent: 100, intentDone: 125, setSent: 160 });
    expect(p.trips).toBe(3);
  });

  it('hides no more than the plans took when they are shorter than the intent', () => {
    const calls = run({ parts: [{ at: 1_100, cpu: 60 }], setAt: 1_130, setCpu: 64 });
    expect(phases(calls, 1_000, times(0)).own).toBe(60);
  });

  it("stops the CPU count at the intent's last part to leave, and takes times from the run's start", () => {
    const calls = run({
      parts: [
        { at: 1_100, cpu: 60 },
        { at: 1_104, cpu: 63 },
      ],
      setAt: 1_170,
      setCpu: 100,
    });
    const p = phases(calls, 1_000, times(5, 2, 10));
    expect(p.cpuToIntent).toBe(58);
    expect(p.intentSent).toBe(104);
    expect(p.own).toBe(58 + (100 - 63) - 10);
    expect(p.waitToSet).toBe(88);
  });

  it('has no own time without an intent, which the sample refuses rather than print 0 ms', () => {
    const calls = run({ parts: [], setAt: 1_100, setCpu: 50 });
    expect(phases(calls, 1_000, times(0)).own).toBeNaN();
  });
});
