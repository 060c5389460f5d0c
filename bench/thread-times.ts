/**
 * CPU time by thread, for benches that must tell the measured run's CPU from the stand-ins' and
 * from time spent waiting for a core: on a 2-core machine the run's thread waits while the
 * stand-ins' worker and V8's helper threads run; pinned to one core with the stand-ins in another
 * process (bench/first-block.ts's one-core mode), it waits while its own V8 helpers run. Linux
 * only: `/proc/<pid>/task/<tid>/schedstat` gives nanoseconds on a core, then nanoseconds ready but
 * waiting on a run queue (about 20 µs a read). The kernel brings a running thread's figure up to
 * date only at a scheduler tick (4 ms here) or when asked for the process's usage, so
 * `process.cpuUsage()` is called first.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Times since each thread started, in ms. */
export interface ThreadTimes {
  /** This thread on a core: running code or collecting garbage. */
  readonly cpuMs: number;
  /** This thread ready to run, waiting for a core. */
  readonly waitMs: number;
  /**
   * All the process's other threads on a core, but the one left out: V8's helpers (parallel
   * garbage collection, compilation; they also work for the stand-ins' heap when the stand-ins are a
   * worker of this process), libuv's, tsx's.
   * Each thread's total since it started: one that starts or ends between two readings skews
   * their difference.
   */
  readonly othersCpuMs: number;
}

/** Where the bench cannot read threads' CPU time: not Linux, or the kernel keeps no scheduler statistics. */
export class ThreadTimesUnavailable extends Error {}

/** The calling thread's id in the operating system (Linux), or `undefined`. */
export function currentOsThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** A thread's [cpu, wait] in ms from its schedstat, or `undefined` when it cannot be read (it ended). */
function schedstat(path: string): readonly [number, number] | undefined {
  try {
    const [cpuNs, waitNs] = readFileSync(path, 'utf8').split(' ').map(Number);
    return Number.isFinite(cpuNs) && Number.isFinite(waitNs)
      ? [(cpuNs as number) / 1e6, (waitNs as number) / 1e6]
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The calling thread's times, and the CPU of the process's other threads but `leaveOut` (an OS
 * thread id: the stand-ins' worker).
 * @throws {ThreadTimesUnavailable} off Linux, or where schedstat reads zero (no scheduler statistics).
 */
export function threadTimes(leaveOut?: number): ThreadTimes {
  process.cpuUsage(); // brings the running thread's schedstat up to date (see the module comment)
  const self = currentOsThreadId();
  const own = self === undefined ? undefined : schedstat(`/proc/self/task/${self}/schedstat`);
  if (own === undefined || own[0] === 0) {
    throw new ThreadTimesUnavailable(
      "this bench reads each thread's CPU time from Linux's /proc/<pid>/task/<tid>/schedstat, " +
        'which this system does not give (not Linux, or no scheduler statistics)',
    );
  }
  let othersCpuMs = 0;
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    if (tid === self || tid === leaveOut) continue;
    othersCpuMs += schedstat(`/proc/self/task/${tid}/schedstat`)?.[0] ?? 0;
  }
  return { cpuMs: own[0], waitMs: own[1], othersCpuMs };
}
