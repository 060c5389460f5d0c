/**
 * The world the blocker benches run in, written once: the WAF emulator and dynalite in this
 * process, every AWS call delayed by the same latency and timed on one clock where the run sends it
 * (WAF and DynamoDB through client middleware, CloudWatch and SNS as fakes), and the settings of a
 * deployment on them. The figures are round trips: the longest chain of calls in which each starts
 * after the one before it ended (what wall time pays for).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import type { BlockerDeps, RunLogger } from '#blocker/run';
import type { Family } from '#core/types';
import { createLedgerTable, localClient, startDynalite, type LocalDynamo } from '../test/support/dynalite';
import { startWafServer, type WafServer } from '../test/support/waf-server';

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
  doneAt?: number;
  /** The call was answered without an error. */
  ok?: boolean;
}

/** Epoch milliseconds with sub-millisecond precision. */
export const clock = (): number => performance.timeOrigin + performance.now();

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
  readonly server: WafServer;
  readonly dynamo: LocalDynamo;
  /** The ledger's client: timed and delayed. */
  readonly ledgerDb: DynamoDBClient;
  /** A client on dynalite without latency or timing, to seed tables. */
  readonly seedDb: DynamoDBClient;
  readonly waf: WAFV2Client;
  readonly calls: Call[];
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

/** Adds `latencyMs` to every call of `client` and records it in `calls`. */
function timeClient(
  client: { middlewareStack: DynamoDBClient['middlewareStack'] },
  service: Service,
  calls: Call[],
  latencyMs: number,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call: Call = { service, operation: (context.commandName ?? '').replace(/Command$/, ''), at: clock() };
      calls.push(call);
      try {
        if (latencyMs > 0) await sleep(latencyMs);
        const output = await next(args);
        call.ok = true;
        return output;
      } finally {
        call.doneAt = clock();
      }
    },
    { step: 'initialize', name: 'benchLatency' },
  );
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
 * Starts the world. WAF calls are timed where the blocker sends them, as the ledger's are: the
 * emulator runs in this process, so it sees a request only once the event loop lets it.
 */
export async function startBenchWorld(latencyMs: number): Promise<BenchWorld> {
  const [server, dynamo] = await Promise.all([startWafServer({ latencyMs }), startDynalite()]);
  const ledgerDb = localClient(dynamo.endpoint);
  const seedDb = localClient(dynamo.endpoint);
  const waf = createWafClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const calls: Call[] = [];
  timeClient(ledgerDb, 'DynamoDB', calls, latencyMs);
  // The emulator adds the latency itself.
  timeClient(waf as unknown as { middlewareStack: DynamoDBClient['middlewareStack'] }, 'WAF', calls, 0);
  const world: BenchWorld = {
    server,
    dynamo,
    ledgerDb,
    seedDb,
    waf,
    calls,
    alarmState: 'ALARM',
    deploy: async (options) => {
      await createLedgerTable(dynamo.client, options.table);
      const ipSet = (name: string, version: Family, addresses: readonly string[] = []): IpSetAddress => {
        const set = server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses: [...addresses] });
        return { name: set.name, id: set.id, scope: 'CLOUDFRONT' };
      };
      const shards = (family: Family, tag: string): IpSetAddress[] =>
        Array.from({ length: options.ipSetsPerFamily ?? 1 }, (_, i) =>
          ipSet(`${options.table}-blocklist-${tag}-${i}`, family, options.blocklists?.[family][i]),
        );
      const [first4, ...rest4] = shards('IPV4', 'v4');
      const [first6, ...rest6] = shards('IPV6', 'v6');
      if (first4 === undefined || first6 === undefined) throw new Error('ipSetsPerFamily must be at least 1');
      const settings: BlockerSettings = {
        scope: 'CLOUDFRONT',
        webAclName: WEB_ACL.name,
        webAclId: WEB_ACL.id,
        webAclArn: WEB_ACL.arn,
        rateRules: options.rateRules,
        blocklist: { IPV4: [first4, ...rest4], IPV6: [first6, ...rest6] },
        allowlist: {
          IPV4: ipSet(`${options.table}-allowlist-v4`, 'IPV4', options.allowlist?.IPV4),
          IPV6: ipSet(`${options.table}-allowlist-v6`, 'IPV6', options.allowlist?.IPV6),
        },
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
      await Promise.all([server.close(), dynamo.close()]);
    },
  };
  return world;
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

/** The median of `values` (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
