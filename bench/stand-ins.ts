/**
 * The WAF emulator and dynalite run in a `node:worker_threads` Worker (bench/stand-ins-worker.ts),
 * not on the thread of the run being measured: there, their service time (dynalite stores a 160 KB
 * item in about 25 ms; the emulator builds a 10,000-key answer) would count in the run's wall, their
 * heaps would slow its garbage collection, and a latency timer on its event loop would stand still
 * while the run computes. In the worker each request is delayed by the latency before it is
 * answered, as a network and AWS would delay it while the Lambda goes on computing.
 *
 * The emulator's controls are messages to the worker: every one returns a Promise.
 */
import { Worker } from 'node:worker_threads';
import type { WafServer } from '../test/support/waf-server';

/**
 * The header in which a stand-in says when it answered (epoch ms, sub-ms precision: one clock for
 * every thread of the process). The run's thread may be busy when the answer arrives; the call
 * ends when the answer was there, not when that thread got round to it, so that CPU the run spends
 * while an answer waits counts as the run's own time.
 */
export const ANSWERED_AT = 'x-bench-answered-at';

/** What the worker is started with (`workerData`). */
export interface StandInsOptions {
  /** Added by the stand-ins to every request before it is answered, ms. */
  readonly latencyMs: number;
}

/** The worker's first message: where the stand-ins listen. */
export interface StandInsReady {
  readonly wafEndpoint: string;
  /** dynalite without latency: for seeding tables. */
  readonly dynamoEndpoint: string;
  /** The same dynalite behind a proxy that adds the latency to every request: for the run. */
  readonly delayedDynamoEndpoint: string;
  /** The worker's thread id in the operating system (Linux only), so that a bench can tell its CPU apart. */
  readonly osThreadId?: number;
}

/** The emulator's controls the benches use, as the worker runs them. */
export interface WafControl {
  readonly createIpSet: (input: Parameters<WafServer['createIpSet']>[0]) => { name: string; id: string; arn: string };
  readonly getAddresses: (id: string) => string[];
  readonly setManagedKeys: (...args: Parameters<WafServer['setManagedKeys']>) => void;
  readonly setSampledRequests: (...args: Parameters<WafServer['setSampledRequests']>) => void;
  /** Stops the emulator, the proxy and dynalite. */
  readonly close: () => Promise<void>;
}

/** One control call, main thread to worker. */
export interface ControlRequest {
  readonly id: number;
  readonly method: keyof WafControl;
  readonly args: readonly unknown[];
}

/** Its answer: the result, or the error's text. */
export type ControlAnswer =
  { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

/** {@link WafControl} seen from the main thread: each control a message, answered asynchronously. */
export type RemoteWafServer = {
  readonly [K in keyof WafControl]: (...args: Parameters<WafControl[K]>) => Promise<Awaited<ReturnType<WafControl[K]>>>;
} & { readonly endpoint: string };

/** The stand-ins, seen from the main thread. */
export interface StandIns {
  readonly server: RemoteWafServer;
  readonly dynamo: Omit<StandInsReady, 'wafEndpoint' | 'osThreadId'>;
  /** The worker's thread id in the operating system (Linux only). */
  readonly osThreadId?: number;
  /** Stops the stand-ins and the worker. */
  close(): Promise<void>;
}

/** A control call failed in the worker. */
export class StandInError extends Error {}

/**
 * Starts the worker and waits until the stand-ins listen. A Worker does not inherit tsx's loader on
 * Node 20 (neither from the parent nor from `execArgv: ['--import', 'tsx']`: "Unknown file extension
 * .ts"), so its entry is a line of JavaScript that registers tsx in the worker, then imports the
 * TypeScript; `register` is tsx's API for Node >= 20.6, Node 22 included.
 */
export async function startStandIns(options: StandInsOptions): Promise<StandIns> {
  const entry = new URL('./stand-ins-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: options },
  );
  const ready = await new Promise<StandInsReady>((resolve, reject) => {
    const failed = (error: Error): void => {
      worker.off('message', started);
      reject(error);
    };
    const exited = (code: number): void => {
      failed(new StandInError(`the stand-ins' worker exited with code ${code}`));
    };
    const started = (message: StandInsReady): void => {
      // Not removeAllListeners(): it takes the Worker's own listeners too, and no answer would arrive.
      worker.off('error', failed).off('exit', exited);
      resolve(message);
    };
    worker.once('message', started).once('error', failed).once('exit', exited);
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  worker.on('message', (answer: ControlAnswer) => {
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if ('error' in answer) waiting?.reject(new StandInError(answer.error));
    else waiting?.resolve(answer.result);
  });
  // A control in flight when the worker fails or ends would otherwise never settle, and the bench would hang.
  // Once the worker has failed or ended, a control sent later fails at once with the same error.
  let ended: StandInError | undefined;
  const failAll = (error: StandInError): void => {
    ended ??= error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => {
    failAll(new StandInError("the stand-ins' worker failed", { cause: error }));
  });
  worker.on('exit', (code) => {
    failAll(new StandInError(`the stand-ins' worker exited with code ${code}`));
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
        worker.postMessage({ id, method, args } satisfies ControlRequest);
      });
  const server: RemoteWafServer = {
    endpoint: ready.wafEndpoint,
    createIpSet: call('createIpSet'),
    getAddresses: call('getAddresses'),
    setManagedKeys: call('setManagedKeys'),
    setSampledRequests: call('setSampledRequests'),
    close: call('close'),
  };
  return {
    server,
    dynamo: { dynamoEndpoint: ready.dynamoEndpoint, delayedDynamoEndpoint: ready.delayedDynamoEndpoint },
    ...(ready.osThreadId === undefined ? {} : { osThreadId: ready.osThreadId }),
    close: async () => {
      try {
        await server.close();
      } finally {
        await worker.terminate();
      }
    },
  };
}
