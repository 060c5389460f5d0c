/**
 * The worker side of bench/stand-ins.ts: the WAF emulator and dynalite, on a thread of their own so
 * that their service time, heaps and garbage collection stay off the measured run's thread, as AWS's
 * do off a Lambda's. The latency is added here, per request and before the answer, so that the
 * "network" and the services progress while the run computes.
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
  type ControlAnswer,
  type ControlRequest,
  type StandInsReady,
  type StandInsOptions,
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

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('bench/stand-ins-worker.ts runs only as a worker (bench/stand-ins.ts)');
  const { latencyMs } = workerData as StandInsOptions;
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
    close: async () => {
      await Promise.all([delayed.close(), delayedWaf.close()]);
      await Promise.all([waf.close(), dynamo.close()]);
    },
  };
  port.on('message', (message: ControlRequest) => {
    const handler = control[message.method] as (...args: readonly unknown[]) => unknown;
    void Promise.resolve()
      .then(() => handler(...message.args))
      .then(
        (result) => {
          port.postMessage({ id: message.id, result } satisfies ControlAnswer);
        },
        (error: unknown) => {
          port.postMessage({ id: message.id, error: String(error) } satisfies ControlAnswer);
        },
      );
  });
  const osThreadId = currentOsThreadId();
  const ready: StandInsReady = {
    wafEndpoint: delayedWaf.endpoint,
    dynamoEndpoint: dynamo.endpoint,
    delayedDynamoEndpoint: delayed.endpoint,
    ...(osThreadId === undefined ? {} : { osThreadId }),
  };
  port.postMessage(ready);
}

await main();
