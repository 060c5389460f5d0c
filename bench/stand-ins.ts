/**
 * The WAF emulator and dynalite run off the thread of the run being measured (bench/stand-ins-worker.ts):
 * on it, their service time (dynalite stores a 160 KB item in about 25 ms; the emulator builds a
 * 10,000-key answer) would count in the run's wall, their heaps would slow its garbage collection,
 * and a latency timer on its event loop would stand still while the run computes. Off it, each
 * request is delayed by the latency before it is answered, as a network and AWS would delay it
 * while the Lambda goes on computing.
 *
 * Two isolations, one server code (bench/stand-ins-worker.ts) and one control protocol
 * ({@link ControlRequest}, {@link ControlAnswer}, {@link StandInsReady}) for both:
 * - `'thread'` (the default): a `node:worker_threads` Worker in the bench's process. Cheap to start,
 *   and the process's CPU by thread tells the stand-ins' thread apart ({@link StandIns.osThreadId}).
 *   But V8's helper threads (parallel garbage collection, concurrent compilation) serve both
 *   isolates, so no per-thread count can tell the run's helper CPU from the stand-ins', and the
 *   process's RSS counts the stand-ins.
 * - `'process'`: a child Node.js process (tsx loaded with `--import`) on an IPC channel, optionally
 *   pinned to one core with `taskset -c <cpu>`. Every thread of the bench's process then works for
 *   the run alone, and with the bench's process pinned to another core (bench/first-block.ts's
 *   one-core mode) the run has a core to itself and its own V8 helpers, as a Lambda of one vCPU.
 *   Its clock is another process's: {@link StandIns.clock} says how far apart the two are.
 *
 * The emulator's controls are messages to the stand-ins: every one returns a Promise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WafServer } from '../test/support/waf-server';

/**
 * The header in which a stand-in says when it answered: epoch ms with sub-ms precision,
 * `performance.timeOrigin + performance.now()` (bench/blocker-world.ts's `clock`). One clock for
 * every thread of a process; across processes each derives its origin from the system's wall clock
 * when it starts, a few hundredths of a ms apart here ({@link StandIns.clock} measures it). The
 * run's thread may be busy when the answer arrives; the call ends when the answer was there, not
 * when that thread got round to it, so that CPU the run spends while an answer waits counts as the
 * run's own time.
 */
export const ANSWERED_AT = 'x-bench-answered-at';

/** Where the stand-ins run: a worker thread of this process, or a child process (see the module comment). */
export type StandInsIsolation = 'thread' | 'process';

/** What the stand-ins' code is started with: `workerData` in a worker, {@link OPTIONS_ENV} in a process. */
export interface StandInsConfig {
  /** Added by the stand-ins to every request before it is answered, ms. */
  readonly latencyMs: number;
}

/** Where {@link startStandIns} starts the stand-ins: in a worker (the default) or a child process. */
export type StandInsPlacement =
  | {
      /** @default 'thread' */
      readonly isolation?: 'thread';
    }
  | {
      readonly isolation: 'process';
      /**
       * The core the child process is pinned to, with `taskset -c <cpu>` (its threads included), a
       * 0-based CPU number as Linux counts them. Unset: not pinned.
       */
      readonly cpu?: number;
    };

/** How {@link startStandIns} starts the stand-ins: their latency and their placement. */
export type StandInsOptions = StandInsConfig & StandInsPlacement;

/** The environment variable that carries a child process's {@link StandInsConfig}, as JSON. */
export const OPTIONS_ENV = 'BENCH_STAND_INS_CONFIG';

/** The stand-ins' first message: where they listen. */
export interface StandInsReady {
  readonly wafEndpoint: string;
  /** dynalite without latency: for seeding tables. */
  readonly dynamoEndpoint: string;
  /** The same dynalite behind a proxy that adds the latency to every request: for the run. */
  readonly delayedDynamoEndpoint: string;
  /**
   * The worker's thread id in the operating system (Linux only, `'thread'` isolation only), so that
   * a bench can tell its CPU apart. A child process's threads are not the bench's: it says none.
   */
  readonly osThreadId?: number;
}

/** The emulator's controls the benches use, as the stand-ins run them. */
export interface WafControl {
  readonly createIpSet: (input: Parameters<WafServer['createIpSet']>[0]) => { name: string; id: string; arn: string };
  readonly getAddresses: (id: string) => string[];
  readonly setManagedKeys: (...args: Parameters<WafServer['setManagedKeys']>) => void;
  readonly setSampledRequests: (...args: Parameters<WafServer['setSampledRequests']>) => void;
  /** The stand-ins' clock as {@link ANSWERED_AT} stamps it (epoch ms), to measure {@link StandIns.clock}. */
  readonly now: () => number;
  /** Stops the emulator, the proxy and dynalite. */
  readonly close: () => Promise<void>;
}

/** One control call, bench to stand-ins. */
export interface ControlRequest {
  readonly id: number;
  readonly method: keyof WafControl;
  readonly args: readonly unknown[];
}

/** Its answer: the result, or the error's text. */
export type ControlAnswer =
  { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

/** {@link WafControl} seen from the bench: each control a message, answered asynchronously. */
export type RemoteWafServer = {
  readonly [K in keyof WafControl]: (...args: Parameters<WafControl[K]>) => Promise<Awaited<ReturnType<WafControl[K]>>>;
} & { readonly endpoint: string };

/**
 * How the stand-ins' clock stands to the bench's, as {@link ANSWERED_AT} reads it, in ms: the
 * stand-ins' reading less the midpoint of the bench's readings around it, on the control round trip
 * that took least of {@link CLOCK_PROBES}.
 */
export interface ClockSkew {
  /** Positive: the stand-ins' stamps are ahead of the bench's clock. */
  readonly offsetMs: number;
  /** Half that round trip: the true offset lies within `offsetMs ± withinMs`. */
  readonly withinMs: number;
}

/** The stand-ins, seen from the bench. */
export interface StandIns {
  readonly server: RemoteWafServer;
  readonly dynamo: Omit<StandInsReady, 'wafEndpoint' | 'osThreadId'>;
  readonly isolation: StandInsIsolation;
  /** The core the stand-ins' process is pinned to (`'process'` isolation with a `cpu`). */
  readonly cpu?: number;
  /** The worker's thread id in the operating system (Linux only; `'thread'` isolation only). */
  readonly osThreadId?: number;
  /** The skew between the stand-ins' clock and the bench's, measured once at the start. */
  readonly clock: ClockSkew;
  /** Stops the stand-ins' servers, then their worker or process. */
  close(): Promise<void>;
}

/** A control call failed in the stand-ins, or they failed or ended. */
export class StandInError extends Error {}

/** The stand-ins' process cannot be pinned to the core asked for: no `taskset`, or no such core. */
export class PinningUnavailable extends Error {}

/** Control round trips {@link startStandIns} times to measure {@link StandIns.clock}. */
export const CLOCK_PROBES = 20;

/** How long close() waits for a child process to end after SIGTERM before it sends SIGKILL (ms). */
const KILL_GRACE_MS = 5_000;

/**
 * Checks that `taskset -c <cpu>` can start a program on that core (it runs `node --version` there).
 * @param cpu - A 0-based core number, as Linux counts them.
 * @throws {PinningUnavailable} when `cpu` is not a whole number from 0, `taskset` (util-linux) is
 *   not installed, or it cannot pin to that core (no such core, or not in this process's cpuset).
 */
export function assertPinnable(cpu: number): void {
  if (!Number.isInteger(cpu) || cpu < 0) throw new PinningUnavailable(`a core is a whole number from 0, got ${cpu}`);
  const result = spawnSync('taskset', ['-c', String(cpu), process.execPath, '--version'], { encoding: 'utf8' });
  if (result.error !== undefined && 'code' in result.error && result.error.code === 'ENOENT') {
    throw new PinningUnavailable(
      'pinning the stand-ins (or a bench) to a core needs `taskset` (util-linux), which is not on PATH',
    );
  }
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim() || `exit ${String(result.status ?? result.signal)}`);
    throw new PinningUnavailable(`taskset cannot run a process on core ${cpu}: ${why}`);
  }
}

/** Both ends of the stand-ins' control channel, whatever carries it. */
interface Channel {
  /** "the stand-ins' worker" or "… process", for errors. */
  readonly name: string;
  /** Emits 'message' (a {@link StandInsReady}, then {@link ControlAnswer}s), 'error' and 'exit' (code, signal?). */
  readonly events: Worker | ChildProcess;
  /** Sends a request; a request that cannot leave is reported to `failed`. */
  post(request: ControlRequest, failed: (error: Error) => void): void;
  /** Ends the worker or process, and resolves once it has ended. */
  stop(): Promise<void>;
}

/**
 * A Worker does not inherit tsx's loader on Node 20 (neither from the parent nor from
 * `execArgv: ['--import', 'tsx']`: "Unknown file extension .ts"), so its entry is a line of
 * JavaScript that registers tsx in the worker, then imports the TypeScript; `register` is tsx's API
 * for Node >= 20.6, Node 22 included.
 */
function workerChannel(config: StandInsConfig): Channel {
  const entry = new URL('./stand-ins-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: config },
  );
  return {
    name: "the stand-ins' worker",
    events: worker,
    post: (request, failed) => {
      try {
        worker.postMessage(request);
      } catch (error) {
        failed(error instanceof Error ? error : new Error(String(error)));
      }
    },
    stop: async () => {
      await worker.terminate();
    },
  };
}

/**
 * A child Node.js process with tsx loaded by `--import` (resolved here, so that it does not depend
 * on the working directory) and an IPC channel as fd 3, under `taskset -c <cpu>` when pinned (taskset
 * execs Node.js, which inherits the channel). Messages are serialized as between threads ('advanced':
 * V8's serializer). The child is killed when this process exits, and it ends itself when the
 * channel closes (bench/stand-ins-worker.ts), so that none outlives a bench that fails or is killed.
 */
function processChannel(config: StandInsConfig, cpu: number | undefined): Channel {
  const entry = fileURLToPath(new URL('./stand-ins-worker.ts', import.meta.url));
  const node = [process.execPath, '--import', import.meta.resolve('tsx'), entry];
  const [command, ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node];
  const child = spawn(command as string, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, [OPTIONS_ENV]: JSON.stringify(config) },
  });
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const killOnExit = (): void => {
    if (!ended()) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  // A child that failed to start emits 'error', not 'exit'.
  child.once('error', () => process.off('exit', killOnExit));
  return {
    name: `the stand-ins' process${cpu === undefined ? '' : ` (on core ${cpu})`}`,
    events: child,
    post: (request, failed) => {
      if (!child.connected) {
        failed(new Error('its IPC channel is closed'));
        return;
      }
      child.send(request, (error) => {
        if (error) failed(error);
      });
    },
    stop: async () => {
      if (ended() || child.pid === undefined) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const grace = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}

/**
 * Starts the stand-ins and waits until they listen, then measures their clock against this one.
 * @param options - The latency (ms) and where they run: `isolation` `'thread'` (the default) or
 *   `'process'`, with `cpu` to pin the process to one core.
 * @throws {PinningUnavailable} for a `cpu` that `taskset` cannot pin to (see {@link assertPinnable}),
 *   before anything starts.
 * @throws {StandInError} when the worker or process fails or ends before the stand-ins listen.
 */
export async function startStandIns(options: StandInsOptions): Promise<StandIns> {
  const config: StandInsConfig = { latencyMs: options.latencyMs };
  const isolation = options.isolation ?? 'thread';
  const cpu = options.isolation === 'process' ? options.cpu : undefined;
  if (cpu !== undefined) assertPinnable(cpu);
  const channel = isolation === 'process' ? processChannel(config, cpu) : workerChannel(config);
  const ready = await readyOf(channel).catch(async (error: unknown) => {
    await channel.stop().catch(() => undefined);
    throw error;
  });
  const server: RemoteWafServer = { endpoint: ready.wafEndpoint, ...controlsOn(channel) };
  const close = async (): Promise<void> => {
    try {
      await server.close();
    } finally {
      await channel.stop();
    }
  };
  let clock: ClockSkew;
  try {
    clock = await measureSkew(server.now);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return {
    server,
    dynamo: { dynamoEndpoint: ready.dynamoEndpoint, delayedDynamoEndpoint: ready.delayedDynamoEndpoint },
    isolation,
    ...(cpu === undefined ? {} : { cpu }),
    // A child process's thread is not one of ours, whatever it says.
    ...(isolation === 'thread' && ready.osThreadId !== undefined ? { osThreadId: ready.osThreadId } : {}),
    clock,
    close,
  };
}

/**
 * The stand-ins' first message, once they listen.
 * @throws {StandInError} when the worker or process fails or ends before.
 */
function readyOf(channel: Channel): Promise<StandInsReady> {
  const events = channel.events;
  return new Promise<StandInsReady>((resolve, reject) => {
    const failed = (error: Error): void => {
      events.off('message', started);
      reject(new StandInError(`${channel.name} failed to start`, { cause: error }));
    };
    const exited = (code: number | null, signal?: string | null): void => {
      events.off('error', failed).off('message', started);
      reject(new StandInError(`${channel.name} exited with ${exitText(code, signal)} before it was ready`));
    };
    const started = (message: StandInsReady): void => {
      // Not removeAllListeners(): it takes the Worker's own listeners too, and no answer would arrive.
      events.off('error', failed).off('exit', exited);
      resolve(message);
    };
    events.once('message', started).once('error', failed).once('exit', exited);
  });
}

/**
 * The emulator's controls as messages on `channel`, each answered by its {@link ControlAnswer}. A
 * control in flight when the stand-ins fail or end would otherwise never settle, and the bench
 * would hang: it is rejected then, and a control sent later fails at once with the same error.
 */
function controlsOn(channel: Channel): Omit<RemoteWafServer, 'endpoint'> {
  const events = channel.events;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  events.on('message', (answer: ControlAnswer) => {
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if ('error' in answer) waiting?.reject(new StandInError(answer.error));
    else waiting?.resolve(answer.result);
  });
  let ended: StandInError | undefined;
  const failAll = (error: StandInError): void => {
    ended ??= error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  events.on('error', (error: Error) => {
    failAll(new StandInError(`${channel.name} failed`, { cause: error }));
  });
  events.on('exit', (code: number | null, signal?: string | null) => {
    failAll(new StandInError(`${channel.name} exited with ${exitText(code, signal)}`));
  });
  const call =
    <K extends keyof WafControl>(method: K) =>
    (...args: Parameters<WafControl[K]>): Promise<Awaited<ReturnType<WafControl[K]>>> =>
      new Promise((resolve, reject) => {
        if (ended !== undefined) {
          reject(ended);
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        channel.post({ id, method, args } satisfies ControlRequest, (error) => {
          pending.delete(id);
          reject(new StandInError(`a control could not be sent to ${channel.name}`, { cause: error }));
        });
      });
  return {
    createIpSet: call('createIpSet'),
    getAddresses: call('getAddresses'),
    setManagedKeys: call('setManagedKeys'),
    setSampledRequests: call('setSampledRequests'),
    now: call('now'),
    close: call('close'),
  };
}

/** "code 1" or "signal SIGTERM". */
function exitText(code: number | null, signal?: string | null): string {
  return code === null ? `signal ${String(signal)}` : `code ${code}`;
}

/** {@link ClockSkew}: {@link CLOCK_PROBES} round trips of the `now` control, the shortest kept. */
async function measureSkew(now: () => Promise<number>): Promise<ClockSkew> {
  // bench/blocker-world.ts's clock (not imported: it imports this module).
  const here = (): number => performance.timeOrigin + performance.now();
  let best: ClockSkew = { offsetMs: Number.NaN, withinMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < CLOCK_PROBES; i++) {
    const sent = here();
    const there = await now();
    const back = here();
    if ((back - sent) / 2 < best.withinMs) best = { offsetMs: there - (sent + back) / 2, withinMs: (back - sent) / 2 };
  }
  return best;
}
