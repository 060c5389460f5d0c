/**
 * CPU time by thread, for benches that must tell the measured run's CPU from the stand-ins' and
 * from time spent waiting for a core: on a 2-core machine the run's thread waits while the
 * stand-ins' worker and V8's helper threads run, which a Lambda, with no stand-ins beside it, does
 * not. Linux only (`/proc/<pid>/task/<tid>/schedstat`: nanoseconds on a core, then nanoseconds
 * ready but waiting on a run queue; about 20 µs a read); elsewhere the thread's own CPU from
 * `process.threadCpuUsage()` where Node.js has it (22 and later), and `NaN` for the rest.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Times since each thread started, in ms. */
export interface ThreadTimes {
  /** This thread on a core: running code or collecting garbage. */
  readonly cpuMs: number;
  /** This thread ready to run, waiting for a core. */
  readonly waitMs: number;
  /**
   * The process's other threads on a core, but the one left out: V8's helpers (parallel garbage
   * collection, compilation; they also work for the stand-ins' heap) and libuv's.
   */
  readonly othersCpuMs: number;
}

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
 */
export function threadTimes(leaveOut?: number): ThreadTimes {
  const self = currentOsThreadId();
  const own = self === undefined ? undefined : schedstat(`/proc/self/task/${self}/schedstat`);
  if (own === undefined) {
    const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage?.();
    const cpuMs = usage === undefined ? Number.NaN : (usage.user + usage.system) / 1000;
    return { cpuMs, waitMs: Number.NaN, othersCpuMs: Number.NaN };
  }
  let othersCpuMs = 0;
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    if (tid === self || tid === leaveOut) continue;
    othersCpuMs += schedstat(`/proc/self/task/${tid}/schedstat`)?.[0] ?? 0;
  }
  return { cpuMs: own[0], waitMs: own[1], othersCpuMs };
}
