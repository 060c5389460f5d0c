/**
 * Crash safety of a run in two tiers (issue 12), over the WAF emulator and dynalite: a run that
 * dies after any one of its writes (the intent or the rows ahead of the sets, each of the four set
 * writes, the rows after them, the intent's drop, the closed expiries) leaves nothing that the
 * next clean run cannot finish, in either tier: every offender blocked and every neighbour range
 * challenged, each with its row in its own tier, nothing unowned, foreign entries kept, and every
 * expiry on time. write-ahead.test.ts holds the same property for one tier, with aggregates.
 */
import { describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { runBlocker } from '#blocker/run';
import { ownedSetEntries } from '#core/aggregate';
import type { Family, Tier } from '#core/types';
import { BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RATE_RULE } from '../../support/blocker-fixtures';
import { useEmulatorWorld, useStrictAlarmAndReports } from '../../support/blocker-harness';
import { Crash, crashWrites } from '../../support/crash';
import { localClient } from '../../support/dynalite';

const world = useEmulatorWorld();
useStrictAlarmAndReports({ alarm: 'ALARM' });

/** For 240-minute blocks a rate rule sighting is written 15 minutes ahead (expiryMargin). */
const MARGIN_MINUTES = 15;
const FOREIGN_NEIGHBOURS = { IPV4: '91.200.13.0/24', IPV6: '2a02:c207:2030:2::/64' } as const;
/** One offender per /24 (IPv4) or /64 (IPv6): the keys, the offenders' ranges and their neighbours'. */
function attack(v4: number, v6: number, base: number) {
  const ipv4 = Array.from({ length: v4 }, (_, i) => `${base}.0.${i}.1`);
  const ipv6 = Array.from({ length: v6 }, (_, i) => `2a05:d0${base}:${i.toString(16)}:1::9`);
  return {
    keys: { ipv4, ipv6 },
    block: { IPV4: ipv4.map((a) => `${a}/32`), IPV6: ipv6.map((a) => `${a}/128`) },
    neighbour: {
      IPV4: ipv4.map((a) => a.replace(/\.1$/, '.0/24')),
      IPV6: ipv6.map((_, i) => `2a05:d0${base}:${i.toString(16)}:1::/64`),
    },
  };
}

async function deployed(concurrency: number) {
  let crash = new Crash();
  const db = localClient(world.dynamo.endpoint);
  const waf = world.wafClient();
  crashWrites(db, waf, () => crash);
  const deployment = await world.deploy({
    table: 'Ledger-tiers-wal',
    waf,
    neighbours: { IPV4: [FOREIGN_NEIGHBOURS.IPV4], IPV6: [FOREIGN_NEIGHBOURS.IPV6] },
  });
  const doc = createLedgerClient(db);
  const table = deployment.settings.ledgerTable;
  const deps = {
    ...deployment.deps,
    ledger: new Ledger(doc, table, { concurrency }),
    pending: new PendingReports(doc, table),
  };
  const neighbourId = deployment.neighbourId;
  if (neighbourId === undefined) throw new Error('no neighbour sets');
  return {
    setIds: { block: deployment.blocklistId, neighbour: neighbourId },
    ledger: deployment.ledger,
    run: (minutes: number, keys: { ipv4?: string[]; ipv6?: string[] }, runCrash = new Crash()) => {
      crash = runCrash;
      world.server.setManagedKeys(deployment.settings.webAclName, RATE_RULE, keys);
      return runBlocker(deps, deployment.settings, { kind: 'schedule' }, NOW + minutes * MINUTE).catch(
        (error: unknown) => error,
      );
    },
  };
}

type Deployed = Awaited<ReturnType<typeof deployed>>;

/** What one list's set holds, judged by that tier's active rows as the run judges it. */
async function held(deployment: Deployed, tier: Tier, family: Family) {
  const inSet = world.server.getAddresses(deployment.setIds[tier][family]);
  const rows = await deployment.ledger.activeEntries(family, tier);
  const ownership = ownedSetEntries(
    inSet,
    rows.filter((row) => row.preexisting !== true).map((row) => row.range),
  );
  return {
    inSet,
    rows: new Set(rows.map((row) => row.range)),
    covered: new Set(ownership.ours.flatMap((entry) => entry.covers)),
    foreign: ownership.foreign,
  };
}

const FOREIGN_OF = { block: FOREIGN, neighbour: FOREIGN_NEIGHBOURS } as const;

describe('a run in two tiers that dies after any one of its writes', () => {
  // An earlier attack (2 offenders) expires in the crashing run; the new one has 5 + 2 offenders:
  // 14 ranges in two tiers. 4 rows at a time take 4 waves: an intent goes first. 16: the rows go first.
  const earlier = attack(2, 0, 77);
  const now = attack(5, 2, 62);

  it.each([
    { path: 'behind an intent', concurrency: 4, ahead: 'PutItem' },
    { path: 'rows before the sets', concurrency: 16, ahead: 'UpdateItem' },
  ])('is finished by the next clean run, $path', async ({ concurrency, ahead }) => {
    const prepared = async () => {
      const deployment = await deployed(concurrency);
      expect(await deployment.run(-300, earlier.keys)).not.toBeInstanceOf(Error);
      return deployment;
    };
    const clean = new Crash();
    await (await prepared()).run(0, now.keys, clean);
    const writes = clean.log;
    expect(writes[0]).toBe(ahead);
    expect(writes.filter((write) => write === 'UpdateIPSet')).toHaveLength(4);

    for (let at = 1; at <= writes.length; at++) {
      const deployment = await prepared();
      const crashed = await deployment.run(0, now.keys, new Crash(at));
      expect(crashed, `write ${at} (${writes[at - 1]}) fails the run`).toBeInstanceOf(Error);
      expect(await deployment.run(5, now.keys), `the run after a crash at write ${at}`).not.toBeInstanceOf(Error);
      for (const tier of ['block', 'neighbour'] as const) {
        for (const family of ['IPV4', 'IPV6'] as const) {
          const { inSet, rows, covered, foreign } = await held(deployment, tier, family);
          const context = `${tier} ${family} after a crash at write ${at} (${writes[at - 1]})`;
          for (const range of now[tier][family]) {
            expect(covered.has(range), `${context}: ${range} is in its set`).toBe(true);
            expect(rows.has(range), `${context}: ${range} has a row`).toBe(true);
          }
          expect(foreign, context).toEqual([FOREIGN_OF[tier][family]]);
          for (const range of earlier[tier][family]) {
            expect(inSet.includes(range) || covered.has(range), `${context}: ${range} expired`).toBe(false);
          }
        }
      }
      expect(await deployment.ledger.readIntents(), `no intent left after a crash at write ${at}`).toEqual([]);

      // Past the block duration (and its margin) after the last sighting: ours are gone, foreign kept.
      await deployment.run(5 + BLOCK_MINUTES + MARGIN_MINUTES + 1, {});
      for (const tier of ['block', 'neighbour'] as const) {
        for (const family of ['IPV4', 'IPV6'] as const) {
          expect(world.server.getAddresses(deployment.setIds[tier][family]), `${tier} ${family} at the end`).toEqual([
            FOREIGN_OF[tier][family],
          ]);
        }
      }
    }
  });
});
