/**
 * The stand-ins' side of bench/stand-ins.ts: the WAF emulator and dynalite, on a thread or in a
 * process of their own so that their service time, heaps and garbage collection stay off the
 * measured run's thread, as AWS's do off a Lambda's. The latency is added here, per request and
 * before the answer, so that the "network" and the services progress while the run computes.
 *
 * One code for both isolations: as a `node:worker_threads` Worker (`parentPort`) it reads its
 * {@link StandInsConfig} from `workerData` and says its OS thread id; as a child process with an IPC
 * channel (`process.send`) it reads it from the {@link OPTIONS_ENV} environment variable, says no
 * thread id (its threads are not the bench's), and exits when the channel closes, so that it never
 * outlives the bench that started it.
 *
 * Messages in: {@link ControlRequest}; out: one {@link StandInsReady}, then one
 * {@link ControlAnswer} per request.
 */
import { createServer, request as forward, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { startDynalite } from '../test/support/dynalite';
import { startWafServer } from '../test/support/waf-server';
import {
  ANSWERED_AT,
  OPTIONS_ENV,
  type ControlAnswer,
  type ControlRequest,
  type StandInsConfig,
  type StandInsReady,
  type WafControl,
} from './stand-ins';
import { currentOsThreadId } from './thread-times';

/**
 * A loopback server that forwards every request to `target` after `latencyMs` (ms), the answer
 * streamed back as it comes with {@link ANSWERED_AT}: each stand-in with latency, on a second
 * endpoint beside dynalite's plain one.
 */
async function startDelayingProxy(target: string, latencyMs: number) {
  const { hostname, port } = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const relay = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    await delay(latencyMs);
    const upstream = forward(
      { host: hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, {
          ...answer.headers,
          [ANSWERED_AT]: String(performance.timeOrigin + performance.now()),
        });
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => outgoing.destroy(error));
    incoming.pipe(upstream);
  };
  const server = createServer((incoming, outgoing) => {
    relay(incoming, outgoing).catch((error: unknown) => {
      outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: async (): Promise<void> => {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/** How the stand-ins talk to the bench: a worker's port, or a child process's IPC channel. */
interface Link {
  readonly config: StandInsConfig;
  /** Whether the stand-ins are a thread of the bench's process (then they say their OS thread id). */
  readonly inBenchProcess: boolean;
  send(message: StandInsReady | ControlAnswer): void;
  onRequest(handle: (request: ControlRequest) => void): void;
}

/**
 * The link this code was started with.
 * @throws Error when it is neither a worker nor a child process with an IPC channel, or a child
 *   process's {@link OPTIONS_ENV} is missing or not JSON.
 */
function link(): Link {
  const port = parentPort;
  if (port !== null) {
    return {
      config: workerData as StandInsConfig,
      inBenchProcess: true,
      send: (message) => {
        port.postMessage(message);
      },
      onRequest: (handle) => {
        port.on('message', handle);
      },
    };
  }
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new Error('bench/stand-ins-worker.ts runs only as a worker or a child process of bench/stand-ins.ts');
  }
  const text = process.env[OPTIONS_ENV];
  if (text === undefined) throw new Error(`bench/stand-ins-worker.ts: ${OPTIONS_ENV} is not set`);
  // The bench gone (ended, failed or killed), nothing is left to serve: the servers would keep this process alive.
  process.once('disconnect', () => process.exit(0));
  return {
    config: JSON.parse(text) as StandInsConfig,
    inBenchProcess: false,
    // A message the bench can no longer read is dropped: 'disconnect' ends this process.
    send: (message) => void send(message, undefined, undefined, () => undefined),
    onRequest: (handle) => {
      process.on('message', handle);
    },
  };
}

async function main(): Promise<void> {
  const bench = link();
  const { latencyMs } = bench.config;
  // The emulator adds no latency itself: its proxy does, as dynalite's does.
  const [waf, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
  const [delayed, delayedWaf] = await Promise.all([
    startDelayingProxy(dynamo.endpoint, latencyMs),
    startDelayingProxy(waf.endpoint, latencyMs),
  ]);
  // Only what the benches need, and answers small enough to copy: a set's name, id and ARN, not its entries.
  const control: WafControl = {
    createIpSet: (input) => {
      const { name, id, arn } = waf.createIpSet(input);
      return { name, id, arn };
    },
    getAddresses: (id) => waf.getAddresses(id),
    setManagedKeys: (...args) => {
      waf.setManagedKeys(...args);
    },
    setSampledRequests: (...args) => {
      waf.setSampledRequests(...args);
    },
    now: () => performance.timeOrigin + performance.now(),
    close: async () => {
      await Promise.all([delayed.close(), delayedWaf.close()]);
      await Promise.all([waf.close(), dynamo.close()]);
    },
  };
  bench.onRequest((message) => {
    const handler = control[message.method] as (...args: readonly unknown[]) => unknown;
    void Promise.resolve()
      .then(() => handler(...message.args))
      .then(
        (result) => {
          bench.send({ id: message.id, result } satisfies ControlAnswer);
        },
        (error: unknown) => {
          bench.send({ id: message.id, error: String(error) } satisfies ControlAnswer);
        },
      );
  });
  const osThreadId = bench.inBenchProcess ? currentOsThreadId() : undefined;
  const ready: StandInsReady = {
    wafEndpoint: delayedWaf.endpoint,
    dynamoEndpoint: dynamo.endpoint,
    delayedDynamoEndpoint: delayed.endpoint,
    ...(osThreadId === undefined ? {} : { osThreadId }),
  };
  bench.send(ready);
}

await main();
