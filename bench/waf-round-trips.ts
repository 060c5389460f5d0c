/**
 * AWS round trips of real blocker runs (`runBlocker`) with 50 ms added to every AWS call: WAF on the
 * local emulator and the ledger on dynalite, both in a worker thread that adds the delay before it
 * answers (bench/blocker-world.ts), CloudWatch and SNS as fakes that answer after the same delay.
 * Every call's start and end is recorded on one clock, so the figures show how many times a run
 * waits for AWS one call after another.
 *
 * Two figures for that: the longest chain of calls where each starts after the one before ended
 * (what wall time pays for), and busy periods where overlapping calls merge into one (the rule of
 * `countRoundTrips`). They differ when a worker pool keeps a few calls in flight all the time, as
 * the ledger's bounded fan-out does: that is one long busy period but several round trips deep.
 */
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createLedgerClient } from '#adapters/ledger';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { ACTIVE_SHARDS, activeShardOf, LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { runBlocker, type BlockerDeps, type Trigger } from '#blocker/run';
import type { Family } from '#core/types';
import { countRoundTrips } from '../test/support/waf-server';
import {
  longestChain,
  median,
  startBenchWorld,
  WEB_ACL,
  type BenchWorld,
  type Call,
  type Service,
} from './blocker-world';
import { report } from './measure';
import type { RemoteWafServer } from './stand-ins';

const LATENCY_MS = 50;
const RUNS = 5;
const TABLE = 'autoblock-ledger-bench';
const RULES = ['rate-per-ip', 'rate-login'] as const;
const SCHEDULE: Trigger = { kind: 'schedule' };

const SERVICES: readonly Service[] = ['WAF', 'DynamoDB', 'CloudWatch', 'SNS'];

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

/** Everything a measured run needs. */
interface Bench {
  readonly world: BenchWorld;
  readonly server: RemoteWafServer;
  readonly deps: BlockerDeps;
  readonly settings: BlockerSettings;
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

async function setKeys(server: RemoteWafServer, keys: ReturnType<typeof attack> | 'none'): Promise<void> {
  await Promise.all(RULES.map((rule) => server.setManagedKeys(WEB_ACL.name, rule, keys === 'none' ? {} : keys[rule])));
}

async function measureRun(bench: Bench): Promise<RunFigures> {
  const before = bench.world.calls.length;
  const started = performance.now();
  await runBlocker(bench.deps, bench.settings, SCHEDULE, Date.now());
  const wallMs = performance.now() - started;
  const calls: Call[] = bench.world.calls.slice(before);
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
  before: (run: number) => void | Promise<void>,
  targets: Targets,
): Promise<void> {
  const results: RunFigures[] = [];
  for (let run = 0; run < runs; run++) {
    await before(run);
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

async function setUp(world: BenchWorld): Promise<Bench> {
  const { settings, deps } = await world.deploy({
    table: TABLE,
    rateRules: RULES,
    allowlist: { IPV4: ['93.184.216.0/24'], IPV6: [] },
    blockDurationMs: 24 * 60 * 60_000,
    loud: true,
  });
  // Samples for the report's "most attacked hosts", inside the blocker's 10-minute window.
  for (const rule of RULES) {
    await world.server.setSampledRequests(
      WEB_ACL.arn,
      rule,
      IPV4_KEYS.slice(0, 20).map((key, i) => ({
        clientIp: key.replace('/32', ''),
        headers: [{ name: 'Host', value: i % 3 === 0 ? 'login.shop.example' : 'shop.example' }],
        at: Date.now() - 60_000,
      })),
    );
  }
  return { world, server: world.server, settings, deps };
}

export default async function (): Promise<void> {
  const world = await startBenchWorld(LATENCY_MS);
  const server = world.server;
  try {
    const bench = await setUp(world);
    // Ranges, not entries: a set may hold an aggregate for sibling ranges (a /23 counts as two /24s).
    const ranges = async (id: string, width: number): Promise<number> =>
      (await server.getAddresses(id)).reduce((sum, entry) => sum + 2 ** (width - Number(entry.split('/')[1])), 0);
    const blocked = async (): Promise<number> =>
      (await ranges(bench.settings.blocklist.IPV4[0].id, 24)) + (await ranges(bench.settings.blocklist.IPV6[0].id, 64));

    console.log(
      `Every AWS call takes ${LATENCY_MS} ms more (WAF emulator and dynalite in a worker, CloudWatch/SNS fakes).`,
    );

    // Seed: the attack starts; one run blocks and records 100 ranges. Measured once, for information.
    await scenario(
      bench,
      'first run',
      'First run of an attack (100 new ranges: blocks and records them all)',
      1,
      async () => {
        world.alarmState = 'ALARM';
        await setKeys(server, attack());
      },
      {},
    );
    const seeded = await blocked();
    if (seeded !== 100) throw new Error(`the seed run left ${seeded} ranges blocked, expected 100`);

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
      async (run) => {
        if (run === 0) {
          world.alarmState = 'OK';
          await setKeys(server, 'none');
        }
      },
      { roundTrips: '1', updateIpSet: '0', ledgerWrites: '0', publishes: '0' },
    );

    await scenario(
      bench,
      'change',
      'Change run: attack ongoing, one new range (alarm ALARM)',
      RUNS,
      async (run) => {
        world.alarmState = 'ALARM';
        // A different /24 each run, so that each run has exactly one range to add.
        await setKeys(server, attack([`185.220.${101 + run}.23/32`]));
      },
      { roundTrips: '4: read, ledger, IP set, report', updateIpSet: '1', publishes: '1' },
    );
    const changed = await blocked();
    if (changed !== 100 + RUNS) throw new Error(`change runs left ${changed} ranges blocked, expected ${100 + RUNS}`);
    await steady50k(world);
  } finally {
    await world.close();
  }
}

/** Active ranges of the 50,000-range steady state, per family (every other /24 or /64: no siblings to aggregate). */
const STEADY_RANGES: Readonly<Record<Family, number>> = { IPV4: 40_000, IPV6: 10_000 };
const SETS_PER_FAMILY = 5;

function steadyRange(family: Family, i: number): string {
  const j = 2 * i;
  return family === 'IPV4'
    ? `${45 + Math.floor(j / 65_536)}.${Math.floor(j / 256) % 256}.${j % 256}.0/24`
    : `2a01:4f8:${Math.floor(j / 65_536).toString(16)}:${(j % 65_536).toString(16)}::/64`;
}

/** Ledger rows for every range, written without latency: expiries spread over the block duration. */
async function seedLedger(world: BenchWorld, table: string, durationMs: number): Promise<void> {
  const doc = createLedgerClient(world.seedDb);
  const now = Date.now();
  const rows = (['IPV4', 'IPV6'] as const).flatMap((family) =>
    Array.from({ length: STEADY_RANGES[family] }, (_, i) => {
      const lastSeen = now - Math.floor((i / STEADY_RANGES[family]) * durationMs * 0.9);
      const expiresAt = lastSeen + durationMs;
      return {
        range: steadyRange(family, i),
        family,
        firstSeen: lastSeen - 60_000,
        lastSeen,
        expiresAt,
        hits: 1 + (i % 50),
        source: 'rate-per-ip',
        activeFamily: family,
        activeShard: activeShardOf(family, steadyRange(family, i)),
        ttl: Math.ceil(expiresAt / 1000) + 7 * 24 * 3600,
        preexisting: false,
      };
    }),
  );
  const batches = Array.from({ length: Math.ceil(rows.length / 25) }, (_, b) => rows.slice(b * 25, b * 25 + 25));
  const queue = batches.entries();
  const worker = async (): Promise<void> => {
    for (const [, batch] of queue) {
      await doc.send(
        new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  // Rows as this version writes them, in a migrated table: a 0.1.0 table is migrated by its first
  // quiet runs (docs/blocker.md), which is not the steady state measured here.
  await doc.send(
    new PutCommand({ TableName: table, Item: { range: LEDGER_RESERVED_KEYS.schema, activeShards: ACTIVE_SHARDS } }),
  );
}

/** 50,000 active ranges across 5 sets per family, nothing going on: what a quiet run costs at capacity. */
async function steady50k(world: BenchWorld): Promise<void> {
  const durationMs = 240 * 60_000;
  const table = 'autoblock-ledger-50k';
  const sets = (family: Family) => {
    const perSet = STEADY_RANGES[family] / SETS_PER_FAMILY;
    return Array.from({ length: SETS_PER_FAMILY }, (_, s) =>
      Array.from({ length: perSet }, (_, i) => steadyRange(family, s * perSet + i)),
    );
  };
  const { settings, deps } = await world.deploy({
    table,
    rateRules: RULES,
    ipSetsPerFamily: SETS_PER_FAMILY,
    blocklists: { IPV4: sets('IPV4'), IPV6: sets('IPV6') },
    blockDurationMs: durationMs,
    loud: true,
  });
  await seedLedger(world, table, durationMs);
  world.alarmState = 'OK';
  await setKeys(world.server, 'none');
  await scenario(
    { world, server: world.server, settings, deps },
    'steady 50k',
    `Steady state at capacity: ${STEADY_RANGES.IPV4.toLocaleString('en')} IPv4 /24s and ` +
      `${STEADY_RANGES.IPV6.toLocaleString('en')} IPv6 /64s active, ${SETS_PER_FAMILY} sets per family, ` +
      'no attack, nothing due (alarm OK)',
    3,
    () => undefined,
    { roundTrips: '<= 3', updateIpSet: '0', ledgerWrites: '0', publishes: '0' },
  );
}
