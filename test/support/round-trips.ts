/**
 * Round trips a run waits for, counted from its AWS calls as the run itself sends and receives
 * them (an SDK middleware), never from a server's log: the WAF emulator and dynalite share the
 * test's event loop, so under load a request may reach them long after it was sent.
 *
 * A call follows another when it starts after the other's answer arrived; the round trips up to a
 * call are the longest such chain ending in it. Timing can only over-count: a call that really
 * waits for another always starts after it ended, whatever the load, so an added round trip is
 * always seen. Calls the run sends side by side look sequential only when CPU between them (the
 * SDK's middleware, building large items) outlasts a whole call; every timed call therefore waits
 * {@link ROUND_TRIP_LATENCY_MS} first, far above any such gap even on a loaded machine.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedCall } from './waf-server';

/** Added to every timed call: calls sent side by side overlap even when sent this far apart. */
export const ROUND_TRIP_LATENCY_MS = 300;

const clock = (): number => performance.timeOrigin + performance.now();

/**
 * Records each call of `client` in `calls`, from where the run sends it to where its answer (or
 * error) arrives, after waiting `latencyMs()` first.
 */
export function timeCalls(
  client: { middlewareStack: DynamoDBClient['middlewareStack'] | WAFV2Client['middlewareStack'] },
  calls: RecordedCall[],
  latencyMs: () => number = () => ROUND_TRIP_LATENCY_MS,
): void {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const call: RecordedCall = {
        operation: (context.commandName ?? '').replace(/Command$/, ''),
        body: args.input as RecordedCall['body'],
        at: clock(),
      };
      calls.push(call);
      try {
        await sleep(latencyMs());
        const result = await next(args);
        call.status = 200;
        return result;
      } catch (error) {
        call.errorType = error instanceof Error ? error.name : 'Error';
        throw error;
      } finally {
        call.doneAt = clock();
      }
    },
    { step: 'initialize', name: 'timedCalls' },
  );
}

/** Each call's round trips up to and including it: 1 + the most of any call that ended before it started. */
function chainDepths(calls: readonly RecordedCall[]): Map<RecordedCall, number> {
  const depths = new Map<RecordedCall, number>();
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    let before = 0;
    for (const [earlier, depth] of depths) {
      if ((earlier.doneAt ?? Number.POSITIVE_INFINITY) <= call.at) before = Math.max(before, depth);
    }
    depths.set(call, before + 1);
  }
  return depths;
}

/** The round trips a run waited for in all: the longest chain of calls. */
export function roundTrips(calls: readonly RecordedCall[]): number {
  return Math.max(0, ...chainDepths(calls).values());
}

/** The round trips a run waited for up to and including `target`, one of `calls`. */
export function roundTripsTo(target: RecordedCall, calls: readonly RecordedCall[]): number {
  return chainDepths(calls).get(target) ?? Number.NaN;
}

/** The calls of the longest chain up to `target`, one per round trip, for a failure message. */
export function chainTo(target: RecordedCall, calls: readonly RecordedCall[]): string {
  const depths = chainDepths(calls);
  const steps: string[] = [];
  let current: RecordedCall | undefined = target;
  while (current !== undefined) {
    steps.unshift(current.operation);
    const depth: number = depths.get(current) ?? 0;
    const at: number = current.at;
    const previous: [RecordedCall, number] | undefined = [...depths].find(
      ([call, d]) => d === depth - 1 && (call.doneAt ?? Number.POSITIVE_INFINITY) <= at,
    );
    current = previous?.[0];
  }
  return steps.join(' → ');
}
