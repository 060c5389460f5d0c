/**
 * The world the blocker benches run in, written once: the WAF emulator and dynalite off the run's
 * thread (bench/stand-ins.ts: in a worker thread by default, or in a child process, pinned to a
 * core or not, where a bench must have every thread of its process work for the run alone), each
 * adding the same latency to every request it answers, server-side, so that the "network" and the
 * services progress while the run computes, as AWS does while a Lambda computes; CloudWatch and SNS
 * as fakes that answer after the latency (a timer, which also runs while the run computes); and the
 * settings of a deployment on them.
 *
 * Every call is recorded on one clock from the moment its request leaves the SDK (serialized and
 * signed) to the moment the last byte of its answer arrives (before it is parsed): the SDK's work on
 * both sides is the run's own time, as in a Lambda. A stand-in in a process of its own stamps its
 * answers on that process's clock: epoch ms as well, measured at the start within ±0.2 ms of this
 * one ({@link BenchWorld.standInsClock}; a few hundredths of a ms apart in practice), so the stamps
 * are taken as they are. The figures are round trips: the longest chain of calls in which each
 * starts after the one before it ended (what wall time pays for).
 */
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { withoutSdkLogging } from '#adapters/sdk-logging';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import { LEDGER_SCHEMA } from '#contracts/ledger-schema';
import type { BlockerDeps, RunLogger } from '#blocker/run';
import type { Family } from '#core/types';
import { createLedgerTable, localClient } from '../test/support/dynalite';
import {
  ANSWERED_AT,
  startStandIns,
  type ClockSkew,
  type RemoteWafServer,
  type StandInsIsolation,
  type StandInsPlacement,
} from './stand-ins';
import { threadTimes, ThreadTimesUnavailable, type ThreadTimes } from './thread-times';

/** The web ACL every bench deployment protects. */
export const WEB_ACL = {
  name: 'site-acl',
  id: 'acl-1',
  arn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1',
} as const;

/** The AWS service a call went to. */
export type Service = 'WAF' | 'DynamoDB' | 'CloudWatch' | 'SNS';

/** One AWS call as the run made it: epoch ms with sub-ms precision. */
export interface Call {
  readonly service: Service;
  readonly operation: string;
  readonly at: number;
  /**
   * For a write-ahead intent's part (a PutItem of an intent key) and an UpdateIPSet, the calls the
   * first-block bench reads the run's CPU at: this thread's CPU time when the request left
   * ({@link threadTimes}, the stand-ins' worker left out).
   */
  readonly threadAt?: ThreadTimes;
  /**
   * When the answer was there: the stand-in's {@link ANSWERED_AT} when it sent one, else when this
   * thread read the answer's last byte.
   */
  doneAt?: number;
  /** When the stand-in answered, by its own stamp. */
  answeredAt?: number;
  /** The call was answered without an error. */
  ok?: boolean;
}

/** Epoch milliseconds with sub-millisecond precision. */
export const clock = (): number => performance.timeOrigin + performance.now();

/** Whether a DynamoDB request writes a write-ahead intent's part (its input as the SDK has it, marshalled or not). */
function isIntentPart(operation: string, input: unknown): boolean {
  if (operation !== 'PutItem') return false;
  const key = (input as { Item?: Record<string, unknown> } | undefined)?.Item?.[LEDGER_SCHEMA.partitionKey];
  const text = typeof key === 'string' ? key : (key as { S?: unknown } | undefined)?.S;
  return typeof text === 'string' && text.startsWith(LEDGER_SCHEMA.intentKeyPrefix);
}

/**
 * {@link threadTimes} where the system gives them, nothing elsewhere: first-block refuses to run
 * there before any work, and the other benches need none (waf-round-trips writes intents too).
 */
function threadTimesIfAny(leaveOut: number | undefined): { readonly threadAt?: ThreadTimes } {
  try {
    return { threadAt: threadTimes(leaveOut) };
  } catch (error) {
    if (error instanceof ThreadTimesUnavailable) return {};
    throw error;
  }
}

/** A logger that says nothing, or (`loud`) shows warnings and errors: the bench set something up wrong. */
export function benchLogger(loud: boolean): RunLogger {
  const show =
    (level: string) =>
    (...input: unknown[]) => {
      if (loud) console.warn(`  blocker ${level}: ${JSON.stringify(input).slice(0, 400)}`);
    };
  return { info: () => undefined, warn: show('warned'), error: show('error') };
}

/** The emulator, dynalite and timed clients, with every call recorded in `calls`. */
export interface BenchWorld {
  /** The emulator's controls: messages to the stand-ins' worker or process. */
  readonly server: RemoteWafServer;
  /** dynalite without latency, and a client on it that is neither delayed nor timed (the same as `seedDb`). */
  readonly dynamo: { readonly endpoint: string; readonly client: DynamoDBClient };
  /** The ledger's client: timed, on the endpoint that adds the latency. */
  readonly ledgerDb: DynamoDBClient;
  /** A client on dynalite without latency or timing, to seed tables. */
  readonly seedDb: DynamoDBClient;
  readonly waf: WAFV2Client;
  readonly calls: Call[];
  /**
   * The stand-ins' worker's thread id in the operating system (Linux only; `'thread'` isolation
   * only): its CPU is not the run's. None when the stand-ins run in a process of their own.
   */
  readonly standInsThread?: number;
  /** Where the stand-ins run, and the core their process is pinned to, if any. */
  readonly standIns: { readonly isolation: StandInsIsolation; readonly cpu?: number };
  /** The stand-ins' clock against this thread's, measured once at the start (ms; a process's clock is its own). */
  readonly standInsClock: ClockSkew;
  /** The alarm state the CloudWatch fake answers. */
  alarmState: 'ALARM' | 'OK';
  /** A new deployment: its ledger table and IP sets, `ipSetsPerFamily` blocklist sets per family. */
  deploy(options: DeployOptions): Promise<{ settings: BlockerSettings; deps: BlockerDeps }>;
  close(): Promise<void>;
}

/** What {@link BenchWorld.deploy} creates. */
export interface DeployOptions {
  readonly table: string;
  readonly rateRules: readonly string[];
  /** @default 1 */
  readonly ipSetsPerFamily?: number;
  /** Entries each blocklist set holds before the first run, per family and set. */
  readonly blocklists?: Readonly<Record<Family, readonly (readonly string[])[]>>;
  readonly allowlist?: Readonly<Record<Family, readonly string[]>>;
  readonly blockDurationMs: number;
  /** Show the blocker's warnings. */
  readonly loud?: boolean;
}

/**
 * Records every call of `client` in `calls` from the moment its request leaves the SDK to the moment
 * the last byte of the answer arrives: the middleware sits below the deserializer (step
 * 'deserialize', priority 'low'), right above the HTTP handler, so that serializing and signing the
 * request and parsing the answer count as the run's own time, as in a Lambda. It reads the answer's
 * body itself (the deserializer takes the bytes as they are) so that the call ends with the body,
 * not with the headers. Every attempt of a retried call is a call of its own.
 */
function timeClient(
  client: { middlewareStack: DynamoDBClient['middlewareStack'] },
  service: Service,
  calls: Call[],
  standInsThread: number | undefined,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const call: Call = {
        service,
        operation,
        at: clock(),
        ...(operation === 'UpdateIPSet' || isIntentPart(operation, (args as { input?: unknown }).input)
          ? threadTimesIfAny(standInsThread)
          : {}),
      };
      calls.push(call);
      try {
        const output = await next(args);
        const response = output.response as { statusCode?: number; body?: unknown; headers?: Record<string, string> };
        if (response.body instanceof Readable) response.body = await collect(response.body);
        call.ok = response.statusCode !== undefined && response.statusCode < 300;
        // When the stand-in answered, not when this thread, perhaps busy planning, read the answer.
        const answeredAt = Number(response.headers?.[ANSWERED_AT]);
        if (Number.isFinite(answeredAt)) call.answeredAt = answeredAt;
        return output;
      } finally {
        call.doneAt = call.answeredAt ?? clock();
      }
    },
    { step: 'deserialize', priority: 'low', name: 'benchTiming' },
  );
}

/** The whole of a stream, as the SDK's deserializers accept a body: bytes. */
async function collect(body: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A CloudWatch or SNS stand-in whose every `send` is recorded and answered after the latency. */
function fakeClient(service: Service, calls: Call[], latencyMs: number, answer: () => unknown) {
  return {
    async send(command: object): Promise<unknown> {
      const call: Call = { service, operation: command.constructor.name.replace(/Command$/, ''), at: clock() };
      calls.push(call);
      await sleep(latencyMs);
      call.doneAt = clock();
      call.ok = true;
      return answer();
    },
  };
}

/**
 * Starts the world: the stand-ins (bench/stand-ins.ts), each adding `latencyMs` (ms) to every request
 * it answers, and the clients of the run, timed where a request leaves and its answer arrives.
 * @param placement - Where the stand-ins run: `{ isolation: 'thread' }` (the default: a worker of
 *   this process) or `{ isolation: 'process', cpu? }` (a child process, pinned to core `cpu` with
 *   taskset when given).
 * @throws {PinningUnavailable} (./stand-ins) for a `cpu` that taskset cannot pin to.
 * @throws {StandInError} (./stand-ins) when the stand-ins fail before they listen.
 */
export async function startBenchWorld(latencyMs: number, placement: StandInsPlacement = {}): Promise<BenchWorld> {
  const standIns = await startStandIns({ latencyMs, ...placement });
  const server = standIns.server;
  // As the Lambda's own client (createLedgerClient of a configuration): without the SDK's logger middleware.
  const ledgerDb = withoutSdkLogging(localClient(standIns.dynamo.delayedDynamoEndpoint));
  const seedDb = withoutSdkLogging(localClient(standIns.dynamo.dynamoEndpoint));
  const waf = createWafClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const calls: Call[] = [];
  timeClient(ledgerDb, 'DynamoDB', calls, standIns.osThreadId);
  timeClient(
    waf as unknown as { middlewareStack: DynamoDBClient['middlewareStack'] },
    'WAF',
    calls,
    standIns.osThreadId,
  );
  const world: BenchWorld = {
    server,
    dynamo: { endpoint: standIns.dynamo.dynamoEndpoint, client: seedDb },
    ledgerDb,
    seedDb,
    waf,
    calls,
    ...(standIns.osThreadId === undefined ? {} : { standInsThread: standIns.osThreadId }),
    standIns: { isolation: standIns.isolation, ...(standIns.cpu === undefined ? {} : { cpu: standIns.cpu }) },
    standInsClock: standIns.clock,
    alarmState: 'ALARM',
    deploy: async (options) => {
      await createLedgerTable(seedDb, options.table);
      const { blocklist, allowlist } = await deployIpSets(server, options);
      const settings: BlockerSettings = {
        scope: 'CLOUDFRONT',
        webAclName: WEB_ACL.name,
        webAclId: WEB_ACL.id,
        webAclArn: WEB_ACL.arn,
        rateRules: options.rateRules,
        blocklist,
        allowlist,
        alarmName: 'site-acl-blocked-requests',
        ledgerTable: options.table,
        reportsTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-reports',
        gate: 'alarm',
        blockDurationMs: options.blockDurationMs,
        ipv4Prefix: 24,
        ipv6Prefix: 64,
        dryRun: false,
        feedTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-ban-feed',
        sharedIpSets: [],
      };
      const doc = createLedgerClient(ledgerDb);
      const deps: BlockerDeps = {
        waf,
        cloudwatch: fakeClient('CloudWatch', calls, latencyMs, () => ({
          MetricAlarms: [{ AlarmName: settings.alarmName, StateValue: world.alarmState }],
        })) as unknown as CloudWatchClient,
        sns: fakeClient('SNS', calls, latencyMs, () => ({ MessageId: 'bench' })) as unknown as SNSClient,
        ledger: new Ledger(doc, options.table),
        pending: new PendingReports(doc, options.table),
        logger: benchLogger(options.loud ?? false),
      };
      return { settings, deps };
    },
    close: async () => {
      waf.destroy();
      ledgerDb.destroy();
      seedDb.destroy();
      await standIns.close();
    },
  };
  return world;
}

/**
 * A deployment's IP sets on the emulator: `ipSetsPerFamily` blocklist sets per family, holding
 * `blocklists` before the first run, and an allowlist per family.
 * @throws Error when `ipSetsPerFamily` is less than 1.
 */
async function deployIpSets(
  server: RemoteWafServer,
  options: DeployOptions,
): Promise<Pick<BlockerSettings, 'blocklist' | 'allowlist'>> {
  const ipSet = async (name: string, version: Family, addresses: readonly string[] = []): Promise<IpSetAddress> => {
    const set = await server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses: [...addresses] });
    return { name: set.name, id: set.id, scope: 'CLOUDFRONT' };
  };
  const shards = (family: Family, tag: string): Promise<IpSetAddress[]> =>
    Promise.all(
      Array.from({ length: options.ipSetsPerFamily ?? 1 }, (_, i) =>
        ipSet(`${options.table}-blocklist-${tag}-${i}`, family, options.blocklists?.[family][i]),
      ),
    );
  const [[first4, ...rest4], [first6, ...rest6], allow4, allow6] = await Promise.all([
    shards('IPV4', 'v4'),
    shards('IPV6', 'v6'),
    ipSet(`${options.table}-allowlist-v4`, 'IPV4', options.allowlist?.IPV4),
    ipSet(`${options.table}-allowlist-v6`, 'IPV6', options.allowlist?.IPV6),
  ]);
  if (first4 === undefined || first6 === undefined) throw new Error('ipSetsPerFamily must be at least 1');
  return {
    blocklist: { IPV4: [first4, ...rest4], IPV6: [first6, ...rest6] },
    allowlist: { IPV4: allow4, IPV6: allow6 },
  };
}

/**
 * The chain depth of every call: 1 + the deepest call that ended before it started. The longest
 * chain is the run's round trips; a call's depth is the round trips up to and including it.
 */
export function chainDepths(calls: readonly Call[]): Map<Call, number> {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  const depths = new Map<Call, number>();
  for (const call of sorted) {
    let before = 0;
    for (const [earlier, depth] of depths) {
      if ((earlier.doneAt ?? Number.POSITIVE_INFINITY) <= call.at) before = Math.max(before, depth);
    }
    depths.set(call, before + 1);
  }
  return depths;
}

/** The longest chain's length, and its steps: the calls at each depth (`[GetIPSet×4 Query×2] → [PutItem]`). */
export function longestChain(calls: readonly Call[]): { depth: number; sequence: string } {
  const depths = chainDepths(calls);
  const depth = Math.max(0, ...depths.values());
  const steps = Array.from({ length: depth }, (_, level) => {
    const counts = new Map<string, number>();
    for (const [call, d] of depths)
      if (d === level + 1) counts.set(call.operation, (counts.get(call.operation) ?? 0) + 1);
    return `[${[...counts].map(([operation, n]) => (n > 1 ? `${operation}×${n}` : operation)).join(' ')}]`;
  });
  // Equal consecutive steps are folded ("×6").
  const folded: string[] = [];
  for (let i = 0; i < steps.length;) {
    let j = i;
    while (steps[j + 1] === steps[i]) j++;
    folded.push(j > i ? `${steps[i] ?? ''} ×${j - i + 1}` : (steps[i] ?? ''));
    i = j + 1;
  }
  return { depth, sequence: folded.join(' → ') };
}

/** The median of `values`: the middle one, or the mean of the two middle ones for an even count (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}
