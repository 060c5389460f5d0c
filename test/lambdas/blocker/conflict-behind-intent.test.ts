/**
 * A lock conflict on the first set write of a big first run, over the wire (the local WAF emulator
 * and dynalite). Behind a write-ahead intent the run's new ranges have no rows yet when the sets are
 * written, so the re-plan after the conflict must not take them for ranges another run ended
 * (lambdas/blocker/run/write-sets.ts, `recheckFor`): every one is still blocked, and has its row.
 */
import { describe, expect, it } from 'vitest';
import { FOREIGN, NOW, RATE_RULE, recordingLogger } from '../../support/blocker-fixtures';
import { conflictingClient, useEmulatorWorld, useStrictAlarmAndReports } from '../../support/blocker-harness';

const world = useEmulatorWorld();
useStrictAlarmAndReports({ alarm: 'ALARM' });

/** 40 /24s, each in a /16 of its own (nothing aggregates): more than one wave of rows, so an intent. */
const RANGES = Array.from({ length: 40 }, (_, i) => `${41 + i}.7.1.0/24`);
/** What another tool adds to the blocklist while the run's write is on its way. */
const OTHER_TOOL = '203.0.113.64/26';

describe('a lock conflict on the first set write, behind a write-ahead intent', () => {
  it('re-plans from the fresh set and still blocks every new range, keeping the other tool’s entry', async () => {
    const waf = world.wafClient();
    const conflict = conflictingClient(waf, () => world.server);
    const logger = recordingLogger();
    const deployment = await world.deploy({ table: 'Ledger-conflict-intent', waf, deps: { logger } });
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: RANGES.map((range) => range.replace(/\.0\/24$/, '.9/32')) } });
    // More ranges than one wave of row writes: the run writes an intent, and the rows only after the sets.
    expect(RANGES.length).toBeGreaterThan(deployment.deps.ledger.concurrency);
    conflict.arm(deployment.blocklistId.IPV4, OTHER_TOOL);

    const summary = await deployment.run(NOW);

    expect(summary).toMatchObject({ rangesAdded: RANGES.length, lockConflicts: 1 });
    const set = world.server.getAddresses(deployment.blocklistId.IPV4);
    expect([...set].sort()).toEqual([FOREIGN.IPV4, OTHER_TOOL, ...RANGES].sort());
    const rows = (await deployment.ledger.activeEntries('IPV4')).map((row) => row.range);
    expect(rows.sort()).toEqual([...RANGES].sort());
    expect(logger.warn).not.toHaveBeenCalledWith(
      'ranges ended by another run meanwhile; not put back',
      expect.anything(),
    );
  });
});
