/**
 * How many times a run waits for AWS, one call after another, over the WAF emulator and dynalite:
 * the round trips that `npm run bench -- waf-round-trips` measures with latency, checked here as
 * counts. Every WAF and DynamoDB call is timed where the run sends it and gets its answer, each
 * made slow enough that calls sent side by side overlap on a loaded machine (test/support/round-trips);
 * calls that overlap are one round trip. CloudWatch and SNS are strict mocks that answer at once (not counted).
 */
import { describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { runBlocker } from '#blocker/run';
import { LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { ATTACKER, NOW, RATE_RULE } from '../../support/blocker-fixtures';
import { useEmulatorWorld, useStrictAlarmAndReports, type EmulatorDeployment } from '../../support/blocker-harness';
import { localClient } from '../../support/dynalite';
import { chainTo, roundTrips, roundTripsTo, timeCalls } from '../../support/round-trips';
import type { RecordedCall } from '../../support/waf-server';

const world = useEmulatorWorld();
const { alarmIs, publishedMessages } = useStrictAlarmAndReports();

/** A deployment whose WAF and DynamoDB calls are timed where the run makes them. */
function timedRuns(deployment: EmulatorDeployment): { calls: RecordedCall[]; run: () => Promise<unknown> } {
  const calls: RecordedCall[] = [];
  const db = localClient(world.dynamo.endpoint);
  const waf = world.wafClient();
  timeCalls(db, calls);
  timeCalls(waf, calls);
  const doc = createLedgerClient(db);
  const table = deployment.settings.ledgerTable;
  const deps = { ...deployment.deps, waf, ledger: new Ledger(doc, table), pending: new PendingReports(doc, table) };
  return { calls, run: () => runBlocker(deps, deployment.settings, { kind: 'schedule' }, NOW) };
}

describe('round trips of a run', () => {
  it('waits for AWS once when nothing is going on: the pending report is read with the other reads', async () => {
    const deployment = await world.deploy({ table: 'Ledger-trips' });
    world.rateRulesLimit({});
    alarmIs('OK');
    const timed = timedRuns(deployment);
    await timed.run(); // the SDK's first calls load code: not what is measured
    timed.calls.length = 0;

    await timed.run();

    const { calls } = timed;
    expect(roundTrips(calls)).toBe(1);
    const pendingReads = calls.filter(
      (call) => call.operation === 'GetItem' && JSON.stringify(call.body).includes(LEDGER_RESERVED_KEYS.pendingReport),
    );
    expect(pendingReads).toHaveLength(1);
    expect(calls.filter((call) => /^(Update|Put|Delete)/.test(call.operation))).toEqual([]);
    expect(publishedMessages()).toEqual([]);
  });

  it('with a neighbour tier, still waits once in peace: both tiers are read in the same wave', async () => {
    const deployment = await world.deploy({ table: 'Ledger-trips-tiers', neighbours: { IPV4: [], IPV6: [] } });
    world.rateRulesLimit({});
    alarmIs('OK');
    const timed = timedRuns(deployment);
    await timed.run();
    timed.calls.length = 0;

    await timed.run();

    const { calls } = timed;
    expect(roundTrips(calls)).toBe(1);
    // Four blocklist and neighbour sets, and both tiers' 32 partitions of the sharded index.
    expect(calls.filter((call) => call.operation === 'GetIPSet')).toHaveLength(6);
    expect(calls.filter((call) => JSON.stringify(call.body).includes('neighbour#'))).toHaveLength(32);
    expect(calls.filter((call) => /^(Update|Put|Delete)/.test(call.operation))).toEqual([]);
  });

  it('with a neighbour tier, puts an offender and its /24 into their sets after the reads and one wave of rows', async () => {
    const deployment = await world.deploy({ table: 'Ledger-trips-attack', neighbours: { IPV4: [], IPV6: [] } });
    world.rateRulesLimit({});
    alarmIs('ALARM');
    const timed = timedRuns(deployment);
    await timed.run();
    timed.calls.length = 0;
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode] } });

    await timed.run();

    const { calls } = timed;
    const updates = calls.filter((call) => call.operation === 'UpdateIPSet');
    expect(updates).toHaveLength(2);
    // Reads, the two rows, then both set writes side by side: the sets come third.
    for (const update of updates) expect(roundTripsTo(update, calls), chainTo(update, calls)).toBe(3);
  });
});
