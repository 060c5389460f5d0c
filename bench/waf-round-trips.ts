/**
 * AWS round trips of real blocker runs (`runBlocker`) with 50 ms added to every AWS call: WAF on the
 * local emulator, the ledger on dynalite behind a delaying middleware, CloudWatch and SNS as fakes
 * that answer after the same delay. Every call's start and end is recorded on one clock, so the
 * figures show how many times a run waits for AWS one call after another.
 *
 * Two figures for that: the longest chain of calls where each starts after the one before ended
 * (what wall time pays for), and busy periods where overlapping calls merge into one (the rule of
 * `countRoundTrips`). They differ when a worker pool keeps a few calls in flight all the time, as
 * the ledger's bounded fan-out does: that is one long busy period but several round trips deep.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { runBlocker, type BlockerDeps, type Trigger } from '#blocker/run';
import { createLedgerTable, localClient, startDynalite } from '../test/support/dynalite';
import { countRoundTrips, startWafServer, type WafServer } from '../test/support/waf-server';
import { report } from './measure';

const LATENCY_MS = 50;
const RUNS = 5;
const TABLE = 'autoblock-ledger-bench';
const WEB_ACL = {
  name: 'site-acl',
  id: 'acl-1',
  arn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1',
};
const RULES = ['rate-per-ip', 'rate-login'] as const;
const SCHEDULE: Trigger = { kind: 'schedule' };

type Service = 'WAF' | 'DynamoDB' | 'CloudWatch' | 'SNS';
const SERVICES: readonly Service[] = ['WAF', 'DynamoDB', 'CloudWatch', 'SNS'];

/** One AWS call as seen from outside: epoch ms with sub-ms precision, the WAF emulator's clock. */
interface Call {
  readonly service: Service;
  readonly operation: string;
  readonly at: number;
  doneAt?: number;
}

const clock = (): number => performance.timeOrigin + performance.now();

/** What one measured run did. */
interface RunFigures {
  readonly calls: Readonly<Record<Service, number>>;
  readonly chain: number;
  readonly busyPeriods: number;
  readonly wallMs: number;
  readonly updateIpSet: number;
  readonly ledgerWrites: number;
  readonly publishes: number;
  /** The calls of each step of the longest chain, e.g. `[GetIPSet×4 Query×2] → [UpdateItem×16] ×6`. */
  readonly sequence: string;
}

/** Everything a measured run needs, and the state the scenarios change between runs. */
interface Bench {
  readonly server: WafServer;
  readonly deps: BlockerDeps;
  readonly settings: BlockerSettings;
  /** Calls to DynamoDB, CloudWatch and SNS; WAF calls are recorded by the emulator. */
  readonly calls: Call[];
  alarmState: 'ALARM' | 'OK';
}

// ---- Attack data: 98 IPv4 /24s and 2 IPv6 /64s, as the single addresses a rate rule reports.
const IPV4_KEYS = Array.from({ length: 98 }, (_, i) => `45.33.${i}.${7 + ((i * 37) % 240)}/32`);
const IPV6_KEYS = ['2a01:4f8:c17:1a2b::5/128', '2a01:4f8:c17:1a2c:8::9/128'];
/** The per-IP rule sees ranges 0-59 and the IPv6 ones, the login rule 40-97: twenty overlap. */
function attack(extra: readonly string[] = []): Record<(typeof RULES)[number], { ipv4: string[]; ipv6: string[] }> {
  return {
    'rate-per-ip': { ipv4: IPV4_KEYS.slice(0, 60), ipv6: IPV6_KEYS },
    'rate-login': { ipv4: [...IPV4_KEYS.slice(40), ...extra], ipv6: [] },
  };
}

function setKeys(server: WafServer, keys: ReturnType<typeof attack> | 'none'): void {
  for (const rule of RULES) {
    server.setManagedKeys(WEB_ACL.name, rule, keys === 'none' ? {} : keys[rule]);
  }
}

/** A client stand-in whose every `send` is recorded and answered after {@link LATENCY_MS}. */
function fakeClient(
  service: Service,
  calls: Call[],
  answer: () => unknown,
): { send(command: object): Promise<unknown> } {
  return {
    async send(command) {
      const call: Call = { service, operation: command.constructor.name.replace(/Command$/, ''), at: clock() };
      calls.push(call);
      await sleep(LATENCY_MS);
      call.doneAt = clock();
      return answer();
    },
  };
}

/** Length of the longest chain of calls in which each starts after the previous one ended, and its steps. */
function longestChain(calls: readonly Call[]): { depth: number; sequence: string } {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  const depths: number[] = [];
  sorted.forEach((call, index) => {
    let before = 0;
    for (let j = 0; j < index; j++) {
      if ((sorted[j]!.doneAt ?? Number.POSITIVE_INFINITY) <= call.at) before = Math.max(before, depths[j]!);
    }
    depths.push(before + 1);
  });
  const depth = Math.max(0, ...depths);
  // Each step lists the calls at that depth; equal consecutive steps are folded ("×6").
  const steps = Array.from({ length: depth }, (_, level) => {
    const counts = new Map<string, number>();
    sorted.forEach((call, index) => {
      if (depths[index] === level + 1) counts.set(call.operation, (counts.get(call.operation) ?? 0) + 1);
    });
    return `[${[...counts].map(([operation, n]) => (n > 1 ? `${operation}×${n}` : operation)).join(' ')}]`;
  });
  const folded: string[] = [];
  for (let i = 0; i < steps.length;) {
    let j = i;
    while (steps[j + 1] === steps[i]) j++;
    folded.push(j > i ? `${steps[i]!} ×${j - i + 1}` : steps[i]!);
    i = j + 1;
  }
  return { depth, sequence: folded.join(' → ') };
}

async function measureRun(bench: Bench): Promise<RunFigures> {
  const wafBefore = bench.server.calls.length;
  const ownBefore = bench.calls.length;
  const started = performance.now();
  await runBlocker(bench.deps, bench.settings, SCHEDULE, Date.now());
  const wallMs = performance.now() - started;

  const wafCalls: Call[] = bench.server.calls.slice(wafBefore).map((call) => ({
    service: 'WAF',
    operation: call.operation,
    at: call.at,
    ...(call.doneAt === undefined ? {} : { doneAt: call.doneAt }),
  }));
  const calls = [...wafCalls, ...bench.calls.slice(ownBefore)];
  const count = (operation: string): number => calls.filter((call) => call.operation === operation).length;
  const { depth, sequence } = longestChain(calls);
  const byService = Object.fromEntries(
    SERVICES.map((service) => [service, calls.filter((call) => call.service === service).length]),
  ) as Record<Service, number>;
  return {
    calls: byService,
    chain: depth,
    busyPeriods: countRoundTrips(calls.map((call) => ({ ...call, body: {} }))),
    wallMs,
    updateIpSet: count('UpdateIPSet'),
    ledgerWrites: count('UpdateItem'),
    publishes: count('Publish'),
    sequence,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface Targets {
  readonly roundTrips?: string;
  readonly updateIpSet?: string;
  readonly ledgerWrites?: string;
  readonly publishes?: string;
}

/** Runs a scenario `runs` times (`before` sets up each run) and prints the medians. */
async function scenario(
  bench: Bench,
  label: string,
  title: string,
  runs: number,
  before: (run: number) => void,
  targets: Targets,
): Promise<void> {
  const results: RunFigures[] = [];
  for (let run = 0; run < runs; run++) {
    before(run);
    results.push(await measureRun(bench));
  }
  const m = (pick: (figures: RunFigures) => number): number => median(results.map(pick));
  console.log(`${title}${runs > 1 ? ` — median of ${runs} runs` : ''}`);
  report(
    `${label}: AWS calls (WAF/DynamoDB/CloudWatch/SNS)`,
    SERVICES.map((service) => m((r) => r.calls[service])).join('/'),
  );
  report(`${label}: round trips (longest chain of calls)`, String(m((r) => r.chain)), targets.roundTrips);
  report(`${label}: busy periods (overlapping calls merged)`, String(m((r) => r.busyPeriods)));
  report(`${label}: wall time`, `${m((r) => r.wallMs).toFixed(0)} ms`);
  report(`${label}: UpdateIPSet calls`, String(m((r) => r.updateIpSet)), targets.updateIpSet);
  report(`${label}: ledger writes (UpdateItem)`, String(m((r) => r.ledgerWrites)), targets.ledgerWrites);
  report(`${label}: reports published (SNS Publish)`, String(m((r) => r.publishes)), targets.publishes);
  // The steps of a run whose chain is the median one: what the run waited for, in order.
  const typical = results.find((r) => r.chain === m((x) => x.chain)) ?? results[0];
  if (typical) console.log(`  steps: ${typical.sequence}`);
}

function setUp(server: WafServer, waf: WAFV2Client, ledgerDb: ReturnType<typeof localClient>): Bench {
  const ipSet = (name: string, version: 'IPV4' | 'IPV6', addresses: string[] = []) => {
    const set = server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses, description: `${name} (bench)` });
    return { name: set.name, id: set.id, scope: 'CLOUDFRONT' as const };
  };
  const settings: BlockerSettings = {
    scope: 'CLOUDFRONT',
    webAclName: WEB_ACL.name,
    webAclId: WEB_ACL.id,
    webAclArn: WEB_ACL.arn,
    rateRules: RULES,
    blocklist: { IPV4: [ipSet('blocklist-v4', 'IPV4')], IPV6: [ipSet('blocklist-v6', 'IPV6')] },
    allowlist: { IPV4: ipSet('allowlist-v4', 'IPV4', ['93.184.216.0/24']), IPV6: ipSet('allowlist-v6', 'IPV6') },
    alarmName: 'site-acl-blocked-requests',
    ledgerTable: TABLE,
    reportsTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-reports',
    gate: 'alarm',
    blockDurationMs: 24 * 60 * 60_000,
    ipv4Prefix: 24,
    ipv6Prefix: 64,
    dryRun: false,
    feedTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-ban-feed',
    sharedIpSets: [],
  };
  // Samples for the report's "most attacked hosts", inside the blocker's 10-minute window.
  for (const rule of RULES) {
    server.setSampledRequests(
      WEB_ACL.arn,
      rule,
      IPV4_KEYS.slice(0, 20).map((key, i) => ({
        clientIp: key.replace('/32', ''),
        headers: [{ name: 'Host', value: i % 3 === 0 ? 'login.shop.example' : 'shop.example' }],
        at: Date.now() - 60_000,
      })),
    );
  }

  const calls: Call[] = [];
  // The ledger's DynamoDB calls pay the same latency as every other AWS call.
  ledgerDb.middlewareStack.add(
    (next, context) => async (args) => {
      const call: Call = {
        service: 'DynamoDB',
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        at: clock(),
      };
      calls.push(call);
      try {
        await sleep(LATENCY_MS);
        return await next(args);
      } finally {
        call.doneAt = clock();
      }
    },
    { step: 'initialize', name: 'benchLatency' },
  );

  const bench: Bench = {
    server,
    settings,
    calls,
    alarmState: 'ALARM',
    deps: {
      waf,
      cloudwatch: fakeClient('CloudWatch', calls, () => ({
        MetricAlarms: [{ AlarmName: settings.alarmName, StateValue: bench.alarmState }],
      })) as unknown as CloudWatchClient,
      sns: fakeClient('SNS', calls, () => ({ MessageId: 'bench' })) as unknown as SNSClient,
      ledger: new Ledger(createLedgerClient(ledgerDb), TABLE),
      pending: new PendingReports(createLedgerClient(ledgerDb), TABLE),
      logger: {
        info: () => undefined,
        // A warning here means the bench set something up wrong: show it.
        warn: (...input: unknown[]) => {
          console.warn(`  blocker warned: ${JSON.stringify(input)}`);
        },
        error: (...input: unknown[]) => {
          console.warn(`  blocker error: ${JSON.stringify(input)}`);
        },
      },
    },
  };
  return bench;
}

export default async function (): Promise<void> {
  const server = await startWafServer({ latencyMs: LATENCY_MS });
  const dynamo = await startDynalite();
  // The ledger gets its own client, so the table is created without the injected latency.
  const ledgerDb = localClient(dynamo.endpoint);
  const waf = createWafClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await createLedgerTable(dynamo.client, TABLE);
    const bench = setUp(server, waf, ledgerDb);
    const blocked = (): number =>
      server.getAddresses(bench.settings.blocklist.IPV4[0].id).length +
      server.getAddresses(bench.settings.blocklist.IPV6[0].id).length;

    console.log(
      `Every AWS call takes ${LATENCY_MS} ms more (WAF emulator, DynamoDB middleware, CloudWatch/SNS fakes).`,
    );

    // Seed: the attack starts; one run blocks and records 100 ranges. Measured once, for information.
    await scenario(
      bench,
      'first run',
      'First run of an attack (100 new ranges: blocks and records them all)',
      1,
      () => {
        bench.alarmState = 'ALARM';
        setKeys(server, attack());
      },
      {},
    );
    if (blocked() !== 100) throw new Error(`the seed run left ${blocked()} ranges blocked, expected 100`);

    await scenario(
      bench,
      'steady A',
      'Steady state A: attack ongoing, every range already blocked (alarm ALARM)',
      RUNS,
      () => undefined,
      { roundTrips: '<= 3', updateIpSet: '0' },
    );

    await scenario(
      bench,
      'steady B',
      'Steady state B: no attack, nothing due (alarm OK, no keys)',
      RUNS,
      (run) => {
        if (run === 0) {
          bench.alarmState = 'OK';
          setKeys(server, 'none');
        }
      },
      { roundTrips: '1', updateIpSet: '0', ledgerWrites: '0', publishes: '0' },
    );

    await scenario(
      bench,
      'change',
      'Change run: attack ongoing, one new range (alarm ALARM)',
      RUNS,
      (run) => {
        bench.alarmState = 'ALARM';
        // A different /24 each run, so that each run has exactly one range to add.
        setKeys(server, attack([`185.220.${101 + run}.23/32`]));
      },
      { roundTrips: '4: read, ledger, IP set, report', updateIpSet: '1', publishes: '1' },
    );
    if (blocked() !== 100 + RUNS)
      throw new Error(`change runs left ${blocked()} ranges blocked, expected ${100 + RUNS}`);
  } finally {
    waf.destroy();
    ledgerDb.destroy();
    await Promise.all([server.close(), dynamo.close()]);
  }
}
