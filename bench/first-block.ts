/**
 * The first block of a big attack: a first run against 10,000 new IPv4 /24s with 10 ms added to
 * every AWS call (bench/blocker-world.ts). Wall time to the first successful UpdateIPSet (target:
 * 100 ms + 4 round trips), how much of it is the run's own time (target: 100 ms) and how much the
 * calls on its path, where the own time goes (the requests of the read wave, the decision's CPU,
 * the CPU between the intent's answer and the set write), the round trips before it, the whole
 * run, the DynamoDB calls, and the process's peak RSS.
 *
 * What is measured, and how: the WAF emulator and dynalite run in a worker thread, so their service
 * time, heaps and garbage collection are not the run's; each adds the latency itself, per request,
 * before answering, so a request in flight progresses while the run computes (the intent's PutItem
 * overlaps the planning of the set writes). A call lasts from the moment its request leaves the
 * SDK to the moment the stand-in answered (its own stamp, not when the run's thread got round to
 * reading the answer). The path to the first block is the read answered last, the intent and the
 * set write; the run's own time is the wall time less those calls. It includes the SDK's
 * serialization of the read wave's requests until that read left, its parsing of the
 * 10,000 keys, the decision, the serialization of the 160 KB intent, and whatever planning outlasts
 * the intent's round trip, as in a Lambda; a call's time includes only the wire, the latency and
 * the stand-in's service time. The stand-ins serve one request at a time, so a wave of 14 reads
 * takes them 25 to 40 ms, not the 10 ms added, and dynalite stores the 160 KB intent in about 20 ms:
 * the wall time is measured against 100 ms + 4 × 10 ms all the same, and how much of the round
 * trips was the stand-ins' own time is printed beside it. The worker shares the process (and, on a
 * small machine, the cores), so the RSS still counts dynalite and the emulator: an upper bound for
 * the blocker alone. It is sampled with `process.memoryUsage.rss()`, which gathers no heap
 * statistics inside the measured window.
 *
 * The measured run is not the process's first: a run of 1,000 ranges on another deployment goes
 * first, as a warm Lambda has run before (every 5 minutes); otherwise the figure would include tsx
 * compiling the SDK's lazily loaded modules, which a bundled Lambda never does. The local
 * DynamoDB is slow on big items: the intent's write (one item of about 160 KB: it groups entries
 * alike but for their range) is also timed against dynalite alone, with no added latency and
 * nothing else running, so that its share can be told from ours.
 */
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { runBlocker } from '#blocker/run';
import { createLedgerTable } from '../test/support/dynalite';
import { chainDepths, clock, startBenchWorld, WEB_ACL, type BenchWorld, type Call } from './blocker-world';
import { report } from './measure';

const LATENCY_MS = 10;
const RANGES = 10_000;
const RULE = 'rate-per-ip';

/** One first run of `ranges` new /24s on a deployment of its own (`second` octet keeps them apart). */
async function firstRun(world: BenchWorld, table: string, ranges: number, second: number) {
  const { settings, deps } = await world.deploy({ table, rateRules: [RULE], blockDurationMs: 240 * 60_000 });
  await world.server.setManagedKeys(WEB_ACL.name, RULE, {
    ipv4: Array.from(
      { length: ranges },
      (_, i) => `${second + Math.floor(i / 65_536)}.${Math.floor(i / 256) % 256}.${i % 256}.1/32`,
    ),
  });
  world.alarmState = 'ALARM';
  const before = world.calls.length;
  const started = clock();
  await runBlocker(deps, settings, { kind: 'schedule' }, Date.now());
  return { started, finished: clock(), calls: world.calls.slice(before) };
}

/**
 * The run's path to its first successful UpdateIPSet, from its start: the read of the first wave
 * (depth 1) that was answered last, counted from when it was sent, then the intent's parts and the
 * set's write. The calls on that path are what the network and the services cost; the rest of the
 * wall time is the run's own: the SDK's work on the first wave's requests until that read left,
 * the decision, the intent's serialization, the set plans where they outlast the intent's round
 * trip, the set's request.
 */
function phases(calls: readonly Call[], started: number) {
  const depths = chainDepths(calls);
  const wave = [...depths].filter(([, d]) => d === 1).map(([call]) => call);
  const lastRead = wave.reduce<Call | undefined>(
    (last, call) => (last === undefined || (call.doneAt ?? Infinity) > (last.doneAt ?? Infinity) ? call : last),
    undefined,
  );
  const intent = calls.filter((call) => call.operation === 'PutItem');
  const firstSet = calls.find((call) => call.operation === 'UpdateIPSet' && call.ok === true);
  const since = (t: number | undefined) => (t ?? Number.NaN) - started;
  const readsSent = since(lastRead?.at);
  const readsDone = since(lastRead?.doneAt);
  const intentSent = since(Math.min(...intent.map((call) => call.at)));
  const intentDone = since(Math.max(...intent.map((call) => call.doneAt ?? Number.NaN)));
  const setSent = since(firstSet?.at);
  const setDone = since(firstSet?.doneAt);
  return {
    readsSent,
    readsDone,
    intentSent,
    intentDone,
    setSent,
    setDone,
    /** The calls on the path: the last read, the intent, the set. */
    roundTrips: readsDone - readsSent + (intentDone - intentSent) + (setDone - setSent),
    own: readsSent + (intentSent - readsDone) + (setSent - intentDone),
    trips: firstSet === undefined ? Number.NaN : (depths.get(firstSet) ?? Number.NaN),
  };
}

/** The intent of 10,000 new /24s (one item) written to dynalite alone: what the intent costs in the stand-in. */
async function standInIntentWrite(world: BenchWorld): Promise<number> {
  const table = 'stand-in-alone';
  await createLedgerTable(world.dynamo.client, table);
  const ledger = new Ledger(createLedgerClient(world.seedDb), table);
  const now = Date.now();
  const entries = Array.from({ length: RANGES }, (_, i) => ({
    range: `62.${i >> 8}.${i & 0xff}.0/24`,
    family: 'IPV4' as const,
    firstSeen: now,
    lastSeen: now,
    expiresAt: now + 255 * 60_000,
    hits: 1,
    source: RULE,
    preexisting: false,
  }));
  await ledger.writeIntent('a', 'warm', entries, now);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = clock();
    await ledger.writeIntent('a', `run-${i}`, entries, now);
    times.push(clock() - start);
  }
  return times.sort((a, b) => a - b)[2] ?? Number.NaN;
}

export default async function (): Promise<void> {
  const world = await startBenchWorld(LATENCY_MS);
  try {
    await firstRun(world, 'autoblock-ledger-warm-up', 1_000, 70);
    // rss() alone: memoryUsage() also gathers heap statistics, about 15 ms of the measured window.
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 5);
    const run = await firstRun(world, 'autoblock-ledger-first-block', RANGES, 62);
    clearInterval(sampler);
    const p = phases(run.calls, run.started);
    if (Number.isNaN(p.setDone)) throw new Error('the run wrote no IP set');
    console.log(
      `First run of ${RANGES.toLocaleString('en')} new ranges, ${LATENCY_MS} ms added to every AWS call ` +
        `(Node.js ${process.version}; the Lambda runs Node.js 22)`,
    );
    report(
      'first block: wall to first successful UpdateIPSet',
      `${p.setDone.toFixed(0)} ms`,
      `<= ${100 + 4 * LATENCY_MS} ms`,
    );
    report('first block: round trips up to it', String(p.trips), '<= 4');
    // The wall time less the calls on the path: what the run itself spends, which no faster network
    // or DynamoDB would shorten.
    report('first block: own time on the path (CPU, no calls)', `${p.own.toFixed(0)} ms`, '<= 100 ms');
    console.log(
      `  the ${p.trips} round trips on the path took ${p.roundTrips.toFixed(0)} ms, ` +
        `${(p.roundTrips - p.trips * LATENCY_MS).toFixed(0)} ms of it the stand-ins' own service and queueing ` +
        `beyond the ${LATENCY_MS} ms added to each`,
    );
    console.log(
      `  where it went: the last read sent ${p.readsSent.toFixed(0)} ms, answered ${p.readsDone.toFixed(0)} ms; ` +
        `intent sent ${p.intentSent.toFixed(0)} ms (decision CPU ${(p.intentSent - p.readsDone).toFixed(0)} ms), ` +
        `written ${p.intentDone.toFixed(0)} ms (${(p.intentDone - p.intentSent).toFixed(0)} ms); ` +
        `UpdateIPSet sent ${p.setSent.toFixed(0)} ms (${(p.setSent - p.intentDone).toFixed(0)} ms after the intent), ` +
        `answered ${p.setDone.toFixed(0)} ms`,
    );
    report('first block: whole run', `${(run.finished - run.started).toFixed(0)} ms`);
    const dynamoCalls = run.calls.filter((call) => call.service === 'DynamoDB');
    const byOperation = new Map<string, number>();
    for (const call of dynamoCalls) byOperation.set(call.operation, (byOperation.get(call.operation) ?? 0) + 1);
    report('first block: DynamoDB calls (most are the rows, after the block)', `${dynamoCalls.length}`);
    console.log(`  by operation: ${[...byOperation].map(([op, n]) => `${op} ${n}`).join(', ')}`);
    report('first block: peak RSS (with dynalite and the emulator)', `${(peakRss / 1024 / 1024).toFixed(0)} MB`);
    report(
      'stand-in alone: the intent of 10,000 new /24s written to dynalite (median of 5)',
      `${(await standInIntentWrite(world)).toFixed(0)} ms`,
    );
  } finally {
    await world.close();
  }
}
