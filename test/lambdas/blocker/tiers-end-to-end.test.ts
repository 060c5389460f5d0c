/**
 * Two tiers of mitigation over the wire (issue 12): with a neighbour tier, the exact address a rate
 * rule limited is blocked (its /32 or /128 in the Block sets) and its widened range challenged (the
 * /24 or /64 in the neighbour sets), each tier with its own ledger rows, expiry, ownership and
 * lock-safe writes, with the real WAFv2 and DynamoDB SDK clients against the local WAF emulator and
 * dynalite. Only CloudWatch and SNS are mocked.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { describe, expect, it } from 'vitest';
import type { OperatorAction } from '#blocker/actions';
import { runBlocker } from '#blocker/run';
import { ATTACKER, BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RANGE, RATE_RULE } from '../../support/blocker-fixtures';
import { conflictingClient, useEmulatorWorld, useStrictAlarmAndReports } from '../../support/blocker-harness';

const world = useEmulatorWorld();
const alarm = useStrictAlarmAndReports({ alarm: 'ALARM' });

const at = (minutes: number) => NOW + minutes * MINUTE;
/** How far ahead a rate rule sighting's expiry is written for 240-minute blocks (expiryMargin). */
const MARGIN_MINUTES = 15;
/** Entries another tool put into the neighbour sets: never ours to remove. */
const FOREIGN_NEIGHBOURS = { IPV4: '91.200.13.0/24', IPV6: '2a02:c207:2030:2::/64' } as const;
const OFFENDER = {
  linode: `${ATTACKER.linode}/32`,
  hetzner6: `${ATTACKER.hetzner6}/128`,
} as const;

async function tiered(waf?: WAFV2Client) {
  const deployment = await world.deploy({
    table: 'Ledger-tiers',
    neighbours: { IPV4: [FOREIGN_NEIGHBOURS.IPV4], IPV6: [FOREIGN_NEIGHBOURS.IPV6] },
    ...(waf === undefined ? {} : { waf }),
  });
  const neighbourId = deployment.neighbourId;
  if (neighbourId === undefined) throw new Error('no neighbour sets');
  const sets = () => ({
    block: {
      IPV4: world.server.getAddresses(deployment.blocklistId.IPV4),
      IPV6: world.server.getAddresses(deployment.blocklistId.IPV6),
    },
    neighbours: {
      IPV4: world.server.getAddresses(neighbourId.IPV4),
      IPV6: world.server.getAddresses(neighbourId.IPV6),
    },
  });
  const rows = async (tier: 'block' | 'neighbour') =>
    (await Promise.all([deployment.ledger.activeEntries('IPV4', tier), deployment.ledger.activeEntries('IPV6', tier)]))
      .flat()
      .map((row) => row.range);
  return { deployment, neighbourId, sets, rows };
}

describe('an attack with a neighbour tier', () => {
  it('blocks the exact offenders, challenges their /24 and /64, and keeps both tiers until each expires, never early', async () => {
    const { deployment, sets, rows } = await tiered();
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode], ipv6: [ATTACKER.hetzner6] } });

    const first = await deployment.run(at(0));
    expect(sets()).toEqual({
      block: { IPV4: [FOREIGN.IPV4, OFFENDER.linode], IPV6: [FOREIGN.IPV6, OFFENDER.hetzner6] },
      neighbours: {
        IPV4: [FOREIGN_NEIGHBOURS.IPV4, RANGE.linode],
        IPV6: [FOREIGN_NEIGHBOURS.IPV6, RANGE.hetzner6],
      },
    });
    expect(await rows('block')).toEqual([OFFENDER.linode, OFFENDER.hetzner6]);
    expect(await rows('neighbour')).toEqual([RANGE.linode, RANGE.hetzner6]);
    expect(first).toMatchObject({
      rangesAdded: 4,
      blocklistSizes: { IPV4: 2, IPV6: 2 },
      neighbourSizes: { IPV4: 2, IPV6: 2 },
    });
    // The report says which tier each range went to, and lists the neighbour sets as such.
    const report = alarm.reports()[0];
    expect(report?.added).toEqual([
      { range: OFFENDER.linode, source: RATE_RULE, hits: 1 },
      { range: OFFENDER.hetzner6, source: RATE_RULE, hits: 1 },
      { range: RANGE.linode, source: RATE_RULE, hits: 1, tier: 'neighbour' },
      { range: RANGE.hetzner6, source: RATE_RULE, hits: 1, tier: 'neighbour' },
    ]);
    expect(report?.ipSets.filter((set) => set.tier === 'neighbour').map((set) => set.family)).toEqual(['IPV4', 'IPV6']);

    // The attack goes on: nothing is written to any set.
    expect(await deployment.run(at(60))).toMatchObject({ ipSetWrites: 0, rangesAdded: 0 });

    // It stops at t60. One minute before the promised end (last seen + 240 minutes) everything stands.
    world.rateRulesLimit({});
    alarm.alarmIs('OK');
    await deployment.run(at(60 + BLOCK_MINUTES - 1));
    expect(await rows('block')).toHaveLength(2);
    expect(await rows('neighbour')).toHaveLength(2);

    // After it (and the margin), both tiers end; the other tool's entries stay in every set.
    const end = await deployment.run(at(60 + BLOCK_MINUTES + MARGIN_MINUTES + 1));
    expect(end).toMatchObject({ rangesExpired: 4 });
    expect(sets()).toEqual({
      block: { IPV4: [FOREIGN.IPV4], IPV6: [FOREIGN.IPV6] },
      neighbours: { IPV4: [FOREIGN_NEIGHBOURS.IPV4], IPV6: [FOREIGN_NEIGHBOURS.IPV6] },
    });
    expect(await rows('block')).toEqual([]);
    expect(await rows('neighbour')).toEqual([]);
    expect(
      alarm
        .reports()
        .at(-1)
        ?.expired.map((entry) => [entry.range, entry.tier]),
    ).toEqual([
      [OFFENDER.linode, undefined],
      [OFFENDER.hetzner6, undefined],
      [RANGE.linode, 'neighbour'],
      [RANGE.hetzner6, 'neighbour'],
    ]);
  });

  it('collapses two offenders of one /24 into one neighbour range and two blocked addresses', async () => {
    const { deployment, sets } = await tiered();
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode, ATTACKER.linodeNeighbour] } });
    await deployment.run(at(0));
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4, OFFENDER.linode, `${ATTACKER.linodeNeighbour}/32`]);
    expect(sets().neighbours.IPV4).toEqual([FOREIGN_NEIGHBOURS.IPV4, RANGE.linode]);
  });

  it('re-reads a neighbour set another tool wrote meanwhile, keeps its entry and adds the range', async () => {
    const waf = world.wafClient();
    const conflict = conflictingClient(waf, () => world.server);
    const { deployment, neighbourId, sets } = await tiered(waf);
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.tor] } });
    conflict.arm(neighbourId.IPV4, '203.0.114.0/24');
    const summary = await deployment.run(at(0));
    expect(summary.lockConflicts).toBe(1);
    expect(sets().neighbours.IPV4).toEqual([FOREIGN_NEIGHBOURS.IPV4, '203.0.114.0/24', RANGE.tor]);
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4, `${ATTACKER.tor}/32`]);
  });

  it('counts and reports a neighbour range that finds a full set as overflow; its offender is still blocked', async () => {
    const { deployment, neighbourId, sets } = await tiered();
    // Another tool fills the IPv4 neighbour set but for one entry.
    const filler = Array.from({ length: 9_998 }, (_, i) => `100.${Math.floor(i / 256) + 64}.${i % 256}.0/24`);
    world.server.setAddresses(neighbourId.IPV4, [FOREIGN_NEIGHBOURS.IPV4, ...filler]);
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode, ATTACKER.tor] } });
    const summary = await deployment.run(at(0));
    expect(summary.overflow).toBe(1);
    expect(sets().neighbours.IPV4).toHaveLength(10_000);
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4, OFFENDER.linode, `${ATTACKER.tor}/32`]);
    expect(alarm.reports()[0]?.overflow.count).toBe(1);
  });

  it('puts a ban from the CLI into the Block sets, widened as before, and leaves the neighbour sets alone', async () => {
    const { deployment, sets, rows } = await tiered();
    const ban: OperatorAction = { action: 'ban', address: ATTACKER.tor, source: 'cli:ops' };
    const summary = await deployment.run(at(0), { kind: 'operator', actions: [ban], collectKeys: false });
    expect(summary.actions).toMatchObject([{ status: 'banned', range: RANGE.tor }]);
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4, RANGE.tor]);
    expect(sets().neighbours.IPV4).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    expect(await rows('neighbour')).toEqual([]);
  });

  it('ends an unbanned range in both tiers, the neighbour set and the offender inside it included', async () => {
    const { deployment, sets, rows } = await tiered();
    const cli = 'cli:ops';
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode] } });
    await deployment.run(at(0));
    await deployment.run(at(1), {
      kind: 'operator',
      actions: [{ action: 'ban', address: RANGE.linode, source: cli }],
      collectKeys: false,
    });
    expect(sets().block.IPV4).toContain(RANGE.linode);
    world.rateRulesLimit({});
    alarm.alarmIs('OK');
    await deployment.run(at(2), {
      kind: 'operator',
      actions: [{ action: 'unban', address: RANGE.linode, source: cli }],
      collectKeys: false,
    });
    // The range written with its prefix ends what is inside it too: the offender blocked in the /24.
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4]);
    expect(sets().neighbours.IPV4).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    expect(await rows('neighbour')).toEqual([]);
  });

  it('on a dry run writes no set and no row of either tier, and reports what each tier would have got', async () => {
    const deployment = await world.deploy({
      table: 'Ledger-tiers-dry',
      neighbours: { IPV4: [FOREIGN_NEIGHBOURS.IPV4], IPV6: [FOREIGN_NEIGHBOURS.IPV6] },
      settings: { dryRun: true },
    });
    const neighbourId = deployment.neighbourId;
    if (neighbourId === undefined) throw new Error('no neighbour sets');
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode] } });
    const summary = await deployment.run(at(0));
    expect(summary).toMatchObject({ dryRun: true, ipSetWrites: 0, ledgerWrites: 0, rangesAdded: 2 });
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(world.server.getAddresses(neighbourId.IPV4)).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4', 'neighbour')).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    const report = alarm.reports()[0];
    expect(report?.dryRun).toBe(true);
    expect(report?.added.map((entry) => [entry.range, entry.tier])).toEqual([
      [OFFENDER.linode, undefined],
      [RANGE.linode, 'neighbour'],
    ]);
  });

  it('ends the offender and its /24 whether the unban names the /32 or the bare address, and says both ranges', async () => {
    // A tester's finding: `unban <address>` ended only the challenged /24 and left the address itself blocked.
    const { deployment, sets } = await tiered();
    const cli = 'cli:ops';
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode, ATTACKER.tor] } });
    await deployment.run(at(0));
    world.rateRulesLimit({});
    alarm.alarmIs('OK');
    const unban = (address: string): OperatorAction => ({ action: 'unban', address, source: cli });
    const summary = await deployment.run(at(1), {
      kind: 'operator',
      actions: [unban(OFFENDER.linode), unban(ATTACKER.tor)],
      collectKeys: false,
    });
    expect(sets().block.IPV4).toEqual([FOREIGN.IPV4]);
    expect(sets().neighbours.IPV4).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    expect(summary.actions.map((outcome) => [outcome.status, 'range' in outcome ? outcome.range : undefined])).toEqual([
      ['unbanned', OFFENDER.linode],
      ['unbanned', `${ATTACKER.tor}/32`],
    ]);
    expect(summary.actions.map((outcome) => ('alsoEnded' in outcome ? outcome.alsoEnded : undefined))).toEqual([
      [RANGE.linode],
      [RANGE.tor],
    ]);
  });

  it('switched CHALLENGE -> BLOCK -> CHALLENGE: neighbour rows outlive their sets, and come back into the new ones', async () => {
    const { deployment, rows } = await tiered();
    const cli = 'cli:ops';
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.linode] } });
    await deployment.run(at(0));
    expect(await rows('neighbour')).toEqual([RANGE.linode]);

    // BLOCK: the stack update deletes the neighbour sets and their rule; the blocker runs with one tier.
    const { neighbours, ...oneTier } = deployment.settings;
    if (neighbours === undefined) throw new Error('no neighbour tier');
    world.rateRulesLimit({ [RATE_RULE]: { ipv4: [ATTACKER.tor] } });
    await runBlocker(deployment.deps, oneTier, { kind: 'schedule' }, at(10));
    // A new attacker's whole /24 is blocked; the earlier offender's /32 stays blocked until it expires.
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, OFFENDER.linode, RANGE.tor]);
    // An unban of the /24 meanwhile ends nothing of the neighbour tier: no run of one tier reads it. Nor
    // does an unban of the bare address end its /32: one tier widens it to the /24 only.
    const unban = await runBlocker(
      deployment.deps,
      oneTier,
      {
        kind: 'operator',
        actions: [
          { action: 'unban', address: RANGE.linode, source: cli },
          { action: 'unban', address: ATTACKER.linode, source: cli },
        ],
        collectKeys: false,
      },
      at(11),
    );
    expect(unban.actions).toMatchObject([
      { status: 'not-blocked', range: RANGE.linode },
      { status: 'not-blocked', range: RANGE.linode },
    ]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toContain(OFFENDER.linode);
    expect(await rows('neighbour')).toEqual([RANGE.linode]);

    // CHALLENGE again: the update creates new, empty neighbour sets.
    const fresh = (family: 'IPV4' | 'IPV6') => {
      const created = world.server.createIpSet({
        name: `neighbours-again-${family}`,
        scope: 'CLOUDFRONT',
        version: family,
      });
      return { name: created.name, id: created.id, scope: 'CLOUDFRONT' as const };
    };
    const again = { IPV4: fresh('IPV4'), IPV6: fresh('IPV6') };
    const challenge = {
      ...oneTier,
      neighbours: { ...neighbours, sets: { IPV4: [again.IPV4] as const, IPV6: [again.IPV6] as const } },
    };
    world.rateRulesLimit({});
    alarm.alarmIs('OK');
    await runBlocker(deployment.deps, challenge, { kind: 'schedule' }, at(20));
    // The row still active is challenged again, the unban of its /24 notwithstanding; the /24 blocked
    // whole under BLOCK stays blocked whole until its block ends.
    expect(world.server.getAddresses(again.IPV4.id)).toEqual([RANGE.linode]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, OFFENDER.linode, RANGE.tor]);
  });
});
