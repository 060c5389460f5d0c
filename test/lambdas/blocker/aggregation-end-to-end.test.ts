/**
 * Lossless aggregation over the wire (issue 9 §5): the blocker with two blocklist IP sets per
 * family, the real WAFv2 and DynamoDB SDK clients against the local WAF emulator and dynalite.
 * An attack that fills whole prefixes is held as their parents while the ledger keeps one row per
 * /24; when one child expires, its parent splits in the same write and only that child is
 * unblocked, even when that write meets a lock conflict because another tool wrote the set.
 */
import { describe, expect, it } from 'vitest';
import { ownedSetEntries } from '#core/aggregate';
import type { IpSetAddress } from '#contracts/blocker-environment';
import type { Family } from '#core/types';
import { BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RATE_RULE } from '../../support/blocker-fixtures';
import { conflictingClient, useEmulatorWorld, useStrictAlarmAndReports } from '../../support/blocker-harness';

const world = useEmulatorWorld();
const alarm = useStrictAlarmAndReports({ alarm: 'ALARM' });

const at = (minutes: number) => NOW + minutes * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks (expiryMargin). */
const MARGIN_MINUTES = 15;

/** Every /24 of 46.5.0.0/16, and both /24s of three /23s in three other /16s: 262 /24s. */
const SIXTEEN = Array.from({ length: 256 }, (_, i) => `46.5.${i}.0/24`);
const PAIRS = ['31.1.0.0/24', '31.1.1.0/24', '31.2.0.0/24', '31.2.1.0/24', '31.3.0.0/24', '31.3.1.0/24'];
const RANGES = [...SIXTEEN, ...PAIRS];
/** The child that stops attacking, and so expires first. */
const QUIET = '46.5.7.0/24';
/** What another tool puts into the second set while the split write is on its way: inside QUIET. */
const OTHER_TOOL = '46.5.7.128/25';

/** A second foreign entry in the first IPv4 set: it makes that set the fuller one. */
const FOREIGN_TOO = '198.51.100.0/24';

/** One limited address in each /24. */
const keysOf = (ranges: readonly string[]) => ranges.map((range) => range.replace(/\.0\/24$/, '.9/32'));

describe('lossless aggregation over two blocklist sets per family', () => {
  it('holds whole prefixes as parents, splits one when a child expires (through a lock conflict on the second set), and unblocks that child only', async () => {
    const ipSet = (name: string, version: Family, addresses: readonly string[]): IpSetAddress => {
      const created = world.server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses });
      return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
    };
    const v4 = [ipSet('agg-v4', 'IPV4', [FOREIGN.IPV4, FOREIGN_TOO]), ipSet('agg-v4-2', 'IPV4', [])] as const;
    const v6 = [ipSet('agg-v6', 'IPV6', [FOREIGN.IPV6]), ipSet('agg-v6-2', 'IPV6', [])] as const;
    const waf = world.wafClient();
    const conflict = conflictingClient(waf, () => world.server);
    const deployment = await world.deploy({
      table: 'Ledger-aggregation',
      waf,
      settings: { blocklist: { IPV4: v4, IPV6: v6 } },
    });
    const { ledger } = deployment;
    /** Both IPv4 sets as read, and what the ledger's active rows make of them. */
    const blocked = async () => {
      const sets = v4.map((set) => world.server.getAddresses(set.id));
      const rows = (await ledger.activeEntries('IPV4')).map((row) => row.range);
      const ownership = sets.map((set) => ownedSetEntries(set, rows));
      return {
        sets,
        rows,
        ours: ownership.flatMap((o) => o.ours.map((entry) => entry.entry)),
        covered: new Set(ownership.flatMap((o) => o.ours.flatMap((entry) => entry.covers))),
        foreign: ownership.map((o) => o.foreign),
      };
    };

    // t0: 262 /24s attack. The sets hold 4 entries of ours: the /16 and the three /23s; the ledger a row per /24.
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: keysOf(RANGES) } });
    const first = await deployment.run(at(0));
    const start = await blocked();
    expect(start.ours.sort()).toEqual(['31.1.0.0/23', '31.2.0.0/23', '31.3.0.0/23', '46.5.0.0/16']);
    expect(start.rows).toHaveLength(262);
    expect(start.covered.size).toBe(262);
    expect(start.foreign).toEqual([[FOREIGN.IPV4, FOREIGN_TOO], []]);
    // Placement by floor block (a /16), each to the set with the most free entries then (the first on a tie).
    expect(start.sets).toEqual([
      [FOREIGN.IPV4, FOREIGN_TOO, '31.3.0.0/23'],
      ['31.1.0.0/23', '31.2.0.0/23', '46.5.0.0/16'],
    ]);
    // Reports and the summary speak in ranges, the sizes in entries.
    expect(first).toMatchObject({ rangesAdded: 262, blocklistSizes: { IPV4: 6, IPV6: 1 } });
    expect(alarm.reports()[0]?.added).toHaveLength(262);

    // t0+100: every /24 but one is still attacking; those rows are refreshed, the sets are not written.
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: keysOf(RANGES.filter((range) => range !== QUIET)) } });
    const steady = await deployment.run(at(100));
    expect(steady).toMatchObject({ ipSetWrites: 0, rangesAdded: 0 });

    // The quiet /24's block runs out (last seen t0, 240 minutes and the margin). The run that
    // removes it splits the /16 in the second set, whose write meets another tool's write first.
    conflict.arm(v4[1].id, OTHER_TOOL);
    const splitAt = BLOCK_MINUTES + MARGIN_MINUTES + 1;
    const split = await deployment.run(at(splitAt));
    expect(split).toMatchObject({ rangesExpired: 1, lockConflicts: 1 });
    const after = await blocked();
    // The /16 is now the 8 aggregates of its other 255 /24s; the other tool's entry is kept as it wrote it.
    expect(after.sets[1]).toEqual([
      '31.1.0.0/23',
      '31.2.0.0/23',
      OTHER_TOOL,
      '46.5.0.0/22',
      '46.5.4.0/23',
      '46.5.6.0/24',
      '46.5.8.0/21',
      '46.5.16.0/20',
      '46.5.32.0/19',
      '46.5.64.0/18',
      '46.5.128.0/17',
    ]);
    expect(after.sets[0]).toEqual(start.sets[0]);
    expect(after.foreign).toEqual([[FOREIGN.IPV4, FOREIGN_TOO], [OTHER_TOOL]]);
    // Only the quiet /24 is unblocked (the other tool's half of it aside); all 261 others still are.
    expect(after.rows).toHaveLength(261);
    expect(after.covered.has(QUIET)).toBe(false);
    for (const range of RANGES) if (range !== QUIET) expect(after.covered.has(range), range).toBe(true);
    const report = alarm.reports().at(-1);
    expect(report?.expired.map((entry) => entry.range)).toEqual([QUIET]);

    // The attack ends (last seen in the split run): a block duration and the margin later every
    // range of ours is gone, foreign entries stay.
    world.rateRulesLimit({});
    await deployment.run(at(splitAt + BLOCK_MINUTES + MARGIN_MINUTES + 1));
    expect(v4.map((set) => world.server.getAddresses(set.id))).toEqual([[FOREIGN.IPV4, FOREIGN_TOO], [OTHER_TOOL]]);
    expect(await ledger.activeEntries('IPV4')).toEqual([]);
  }, 60_000);
});

describe('a wider entry someone else put in a blocklist during an attack', () => {
  it('is never taken for an aggregate of ours: the ranges it covers are not recorded, and it outlives the attack', async () => {
    // A tester's scenario: an operator adds 88.9.0.0/23 and 2a01:4f8:20::/60 by hand while the rate rule
    // still lists addresses inside them (for up to its window). Recorded, the /24s (/64s) inside would tile
    // the entry, which would then look like our aggregate and leave with them when they expire.
    const HAND_V4 = '88.9.0.0/23';
    const HAND_V6 = '2a01:4f8:20::/60';
    const created = (name: string, version: Family, addresses: readonly string[]) =>
      world.server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses });
    const v4 = [created('hand-v4', 'IPV4', [HAND_V4]), created('hand-v4-2', 'IPV4', [])];
    const v6 = [created('hand-v6', 'IPV6', [HAND_V6]), created('hand-v6-2', 'IPV6', [])];
    const refs = ([one, two]: typeof v4) =>
      [one, two].map((set) => ({ name: set!.name, id: set!.id, scope: 'CLOUDFRONT' as const })) as [
        IpSetAddress,
        IpSetAddress,
      ];
    const deployment = await world.deploy({
      table: 'Ledger-hand-added',
      settings: { blocklist: { IPV4: refs(v4), IPV6: refs(v6) } },
    });
    const inside6 = Array.from({ length: 16 }, (_, i) => `2a01:4f8:20:${i.toString(16)}::5/128`);
    world.rateRulesLimit({
      [RATE_RULE]: { ipv4: ['88.9.0.5/32', '88.9.0.6/32', '88.9.1.5/32', '95.1.2.3/32'], ipv6: inside6 },
    });

    const first = await deployment.run(at(0));

    // Only the range outside the hand-added entries is recorded and blocked; the 19 keys inside are counted.
    expect(first).toMatchObject({ rangesAdded: 1, rejectedByReason: { 'inside-foreign-entry': 19 } });
    expect((await deployment.ledger.activeEntries('IPV4')).map((row) => row.range)).toEqual(['95.1.2.0/24']);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([]);

    // Long after the attack: our range expired and left; the hand-added entries are where they were.
    world.rateRulesLimit({});
    await deployment.run(at(BLOCK_MINUTES + MARGIN_MINUTES + 1));
    expect(v4.map((set) => world.server.getAddresses(set.id))).toEqual([[HAND_V4], []]);
    expect(v6.map((set) => world.server.getAddresses(set.id))).toEqual([[HAND_V6], []]);
  }, 60_000);
});

describe('a wider entry someone else put in one of several blocklist sets, the others empty', () => {
  it('still covers the ranges inside it, with a neighbour tier whose sets are empty too', async () => {
    // Every list has an empty set here: a run must not take "a list has an empty set" for "the sets are empty".
    const HAND_V4 = '88.9.0.0/23';
    const created = (name: string, version: Family, addresses: readonly string[]): IpSetAddress => {
      const set = world.server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses });
      return { name: set.name, id: set.id, scope: 'CLOUDFRONT' };
    };
    const v4 = [created('one-v4', 'IPV4', []), created('one-v4-2', 'IPV4', [HAND_V4])] as const;
    const v6 = [created('one-v6', 'IPV6', []), created('one-v6-2', 'IPV6', [])] as const;
    const deployment = await world.deploy({
      table: 'Ledger-one-of-several',
      neighbours: { IPV4: [], IPV6: [] },
      settings: { blocklist: { IPV4: v4, IPV6: v6 } },
    });
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: ['88.9.0.5/32', '88.9.1.5/32', '95.1.2.3/32'] } });

    const first = await deployment.run(at(0));

    expect(first).toMatchObject({ rejectedByReason: { 'inside-foreign-entry': 2 } });
    expect((await deployment.ledger.activeEntries('IPV4')).map((row) => row.range)).toEqual(['95.1.2.3/32']);
    expect(world.server.getAddresses(v4[1].id)).toContain(HAND_V4);
  }, 60_000);
});
