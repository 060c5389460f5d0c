/**
 * Bans, unbans and shared IP sets over the wire: the real WAFv2 and DynamoDB SDK clients against
 * two WAF emulators (two regions) and dynalite. What an operator or a fail2ban host asks for goes
 * through the same normalization, allowlist, ledger and lock-safe reconcile as a rate rule's keys.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BanAction, OperatorAction } from '#blocker/actions';
import type { IpSetArnAddress } from '#contracts/blocker-environment';
import { runBlocker, type RunSummary } from '#blocker/run';
import type { Family } from '#core/types';
import { ALLOWED, ATTACKER, BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RANGE } from '../../support/blocker-fixtures';
import { useEmulatorWorld, useStrictAlarmAndReports, type EmulatorDeployment } from '../../support/blocker-harness';
import { startWafServer, type WafServer } from '../../support/waf-server';

const at = (minutes: number) => NOW + minutes * MINUTE;
const OTHER_REGION = 'eu-west-1';
const CLI = 'cli:alice';

const world = useEmulatorWorld();
// Strict: an operator run reads no alarm; any call but the report's publish fails the test.
const { cloudwatch, reports } = useStrictAlarmAndReports();

/** The other region's WAF, where the shared sets live. */
let abroad: WafServer;
let sharedSets = 0;

beforeAll(async () => {
  abroad = await startWafServer();
});

afterAll(async () => {
  await abroad.close();
});

interface Deployment extends EmulatorDeployment {
  /** The shared sets' ids on the other region's emulator. */
  readonly sharedId: Record<Family, string>;
}

/** A deployment with its own sets and table; `shared` adds a v4 and a v6 set in another region. */
async function deploy(
  options: { shared?: { IPV4: string[]; IPV6: string[] }; sharedReadsOnce?: boolean } = {},
): Promise<Deployment> {
  sharedSets += 1;
  const sharedIpSets: IpSetArnAddress[] = [];
  const sharedId = { IPV4: '', IPV6: '' };
  if (options.shared) {
    for (const family of ['IPV4', 'IPV6'] as const) {
      const created = abroad.createIpSet({
        name: `partner-${family.toLowerCase()}-${sharedSets}`,
        scope: 'REGIONAL',
        version: family,
        addresses: options.shared[family],
      });
      sharedId[family] = created.id;
      sharedIpSets.push({
        arn: created.arn,
        name: created.name,
        id: created.id,
        scope: 'REGIONAL',
        region: OTHER_REGION,
      });
    }
  }
  const homeClient = world.wafClient();
  // sharedReadsOnce: no SDK retries, so that one injected failure makes one read fail.
  const abroadClient = world.wafClient({
    server: abroad,
    region: OTHER_REGION,
    ...(options.sharedReadsOnce === true ? { maxAttempts: 1 } : {}),
  });
  const deployment = await world.deploy({
    table: 'Ledger-actions',
    waf: homeClient,
    settings: { sharedIpSets },
    deps: { wafIn: (region) => (region === OTHER_REGION ? abroadClient : homeClient) },
  });
  return { ...deployment, sharedId };
}

function operator(deployment: Deployment, actions: OperatorAction[], minutes = 0): Promise<RunSummary> {
  return runBlocker(
    deployment.deps,
    deployment.settings,
    { kind: 'operator', actions, collectKeys: false },
    at(minutes),
  );
}

function schedule(deployment: Deployment, minutes: number): Promise<RunSummary> {
  // The alarm is OK on these runs: only expiry and the shared sets' reconcile are at work.
  return runBlocker(deployment.deps, deployment.settings, { kind: 'alarm', alarmState: 'OK' }, at(minutes));
}

const ban = (address: string, extra: Omit<BanAction, 'action' | 'address' | 'source'> = {}): BanAction => ({
  action: 'ban',
  address,
  source: CLI,
  ...extra,
});
const unban = (address: string): OperatorAction => ({ action: 'unban', address, source: CLI });

async function item(deployment: Deployment, range: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await world.doc.send(new GetCommand({ TableName: deployment.settings.ledgerTable, Key: { range } }));
  return Item;
}

describe('operator actions', () => {
  it('bans an address as its /24 for the asked duration, with the reason, and reads neither the alarm nor the rules', async () => {
    const deployment = await deploy();
    const callsBefore = world.server.calls.length;

    const summary = await operator(deployment, [
      ban(ATTACKER.linode, { durationMinutes: 7 * 24 * 60, reason: 'credential stuffing' }),
    ]);

    expect(summary.actions).toEqual([
      {
        status: 'banned',
        action: ban(ATTACKER.linode, { durationMinutes: 7 * 24 * 60, reason: 'credential stuffing' }),
        range: RANGE.linode,
        expiresAt: at(7 * 24 * 60),
      },
    ]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(await item(deployment, RANGE.linode)).toMatchObject({
      source: CLI,
      reason: 'credential stuffing',
      expiresAt: at(7 * 24 * 60),
    });
    const operations = world.server.calls.slice(callsBefore).map((call) => call.operation);
    expect(operations).not.toContain('GetRateBasedStatementManagedKeys');
    expect(cloudwatch.calls()).toHaveLength(0);
    expect(reports()[0]?.added).toEqual([{ range: RANGE.linode, source: CLI, hits: 1 }]);
  });

  it('refuses allowlisted, non-global, too wide and malformed addresses with the reason, and writes nothing', async () => {
    const deployment = await deploy();

    const summary = await operator(deployment, [
      ban(ALLOWED.officeKey),
      ban('10.1.2.3'),
      ban('44.0.0.0/7'),
      ban('not-an-ip'),
    ]);

    expect(summary.actions.map((outcome) => outcome.status === 'refused' && outcome.reason)).toEqual([
      'allowlisted',
      'non-global',
      'too-wide',
      'unparsable',
    ]);
    const [allowlisted] = summary.actions;
    expect(allowlisted?.status === 'refused' && allowlisted.detail).toBe(
      '80.80.80.17 (range 80.80.80.0/24) overlaps the allowlist: never blocked',
    );
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(reports()).toEqual([]);
  });

  it('unbans a range now: it leaves the blocklist and the ledger closes it, and the next run does not put it back', async () => {
    const deployment = await deploy();
    await operator(deployment, [ban(ATTACKER.tor), ban(ATTACKER.hetzner6)]);

    const summary = await operator(deployment, [unban(ATTACKER.tor)], 10);

    expect(summary.actions).toEqual([{ status: 'unbanned', action: unban(ATTACKER.tor), range: RANGE.tor }]);
    expect(summary.removals).toEqual([
      { range: RANGE.tor, removedFrom: [deployment.settings.blocklist.IPV4[0].name], alreadyAbsentFrom: [] },
    ]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV6)).toEqual([FOREIGN.IPV6, RANGE.hetzner6]);
    expect(await item(deployment, RANGE.tor)).toMatchObject({ expiresAt: at(10), removedAt: at(10) });
    expect(await item(deployment, RANGE.tor)).not.toHaveProperty('activeFamily');

    await schedule(deployment, 15);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('tells, per range, which IP sets the unban removed it from and which no longer held it', async () => {
    const deployment = await deploy({ shared: { IPV4: [], IPV6: [] } });
    await operator(deployment, [ban(ATTACKER.tor), ban(ATTACKER.hetzner6)]);
    // Removed by hand meanwhile: Tor's range from the partner's set, Hetzner's from our IPv6 blocklist.
    abroad.setAddresses(deployment.sharedId.IPV4, []);
    world.server.setAddresses(deployment.blocklistId.IPV6, [FOREIGN.IPV6]);
    const callsBefore = world.server.calls.length;

    const summary = await operator(deployment, [unban(ATTACKER.tor), unban(ATTACKER.hetzner6)], 10);

    expect(summary.actions.map((outcome) => outcome.status)).toEqual(['unbanned', 'unbanned']);
    const [partnerV4, partnerV6] = deployment.settings.sharedIpSets.map((set) => `${set.name} (${OTHER_REGION})`);
    expect(summary.removals).toEqual([
      {
        range: RANGE.tor,
        removedFrom: [deployment.settings.blocklist.IPV4[0].name],
        alreadyAbsentFrom: [partnerV4],
      },
      {
        range: RANGE.hetzner6,
        removedFrom: [partnerV6],
        alreadyAbsentFrom: [deployment.settings.blocklist.IPV6[0].name],
      },
    ]);
    // Nothing to remove from the IPv6 blocklist: it is not written.
    const writes = world.server.calls.slice(callsBefore).filter((call) => call.operation === 'UpdateIPSet');
    expect(writes.map((call) => call.body.Id)).toEqual([deployment.blocklistId.IPV4]);
    expect(abroad.getAddresses(deployment.sharedId.IPV6)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([]);
  });

  it('unbans a block by its own name after the prefix was widened', async () => {
    const deployment = await deploy();
    await operator(deployment, [ban(ATTACKER.tor)]);
    const widened = { ...deployment, settings: { ...deployment.settings, ipv4Prefix: 16 } };

    const summary = await operator(widened, [unban(RANGE.tor)], 1);

    expect(summary.actions).toEqual([{ status: 'unbanned', action: unban(RANGE.tor), range: RANGE.tor }]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('ends a block, in every set, once its range is allowlisted', async () => {
    const deployment = await deploy({ shared: { IPV4: [], IPV6: [] } });
    await operator(deployment, [ban(ATTACKER.tor, { durationMinutes: 365 * 24 * 60 }), ban(ATTACKER.linode)]);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.linode, RANGE.tor]);

    // Someone allowlists one address of Tor's range: the shared sets' web ACLs have no allow rule of ours.
    world.server.setAddresses(deployment.settings.allowlist.IPV4.id, [...ALLOWED.IPV4, '185.220.101.77/32']);
    await schedule(deployment, 5);

    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.linode]);
    expect(await item(deployment, RANGE.tor)).not.toHaveProperty('activeFamily');
  });

  it('leaves an entry someone else added alone, and says so', async () => {
    const deployment = await deploy();

    const summary = await operator(deployment, [unban(FOREIGN.IPV4), unban(ATTACKER.linode)]);

    expect(summary.actions.map((outcome) => outcome.status)).toEqual(['foreign', 'not-blocked']);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('removes at expiry an entry it put back after its owner removed it', async () => {
    const deployment = await deploy();
    await operator(deployment, [ban(FOREIGN.IPV4, { durationMinutes: 60 })]);
    // The person who had blocked it by hand unblocks it while our ban still runs.
    world.server.setAddresses(deployment.blocklistId.IPV4, []);

    await schedule(deployment, 5);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await item(deployment, FOREIGN.IPV4)).toMatchObject({ preexisting: false });

    await schedule(deployment, 61);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([]);
  });

  it('ends its claim on a range that was in the blocklist before it, without removing the entry', async () => {
    const deployment = await deploy();
    await operator(deployment, [ban(FOREIGN.IPV4)]);
    expect(await item(deployment, FOREIGN.IPV4)).toMatchObject({ preexisting: true });

    const summary = await operator(deployment, [unban(FOREIGN.IPV4)], 1);

    expect(summary.actions.map((outcome) => outcome.status)).toEqual(['released']);
    // Neither removed nor missing: the entry is not ours to remove.
    expect(summary.removals).toEqual([{ range: FOREIGN.IPV4, removedFrom: [], alreadyAbsentFrom: [] }]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('lets the last action on a range win, and never shortens a block', async () => {
    const deployment = await deploy();
    await operator(deployment, [ban(ATTACKER.linode, { durationMinutes: 600 })]);

    const summary = await operator(
      deployment,
      [ban(ATTACKER.linodeNeighbour, { durationMinutes: 60 }), ban(ATTACKER.tor), unban(ATTACKER.tor)],
      5,
    );

    expect(summary.actions.map((outcome) => outcome.status)).toEqual(['banned', 'not-blocked', 'not-blocked']);
    expect(summary.actions[0]).toMatchObject({ range: RANGE.linode, expiresAt: at(600) });
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
  });

  it('computes outcomes on a dry run but writes nothing', async () => {
    const deployment = await deploy();
    const settings = { ...deployment.settings, dryRun: true };

    const summary = await runBlocker(
      deployment.deps,
      settings,
      { kind: 'operator', actions: [ban(ATTACKER.tor)], collectKeys: false },
      at(0),
    );

    expect(summary.actions.map((outcome) => outcome.status)).toEqual(['banned']);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await item(deployment, RANGE.tor)).toBeUndefined();
  });
});

describe('shared IP sets', () => {
  it('gets the same managed ranges in another region, keeps what others put there, and drops ours when they expire', async () => {
    const partnerOwn = '151.101.1.0/24';
    const deployment = await deploy({ shared: { IPV4: [partnerOwn, RANGE.tor], IPV6: [] } });

    await operator(deployment, [ban(ATTACKER.linode), ban(ATTACKER.tor), ban(ATTACKER.hetzner6)]);

    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([partnerOwn, RANGE.tor, RANGE.linode]);
    expect(abroad.getAddresses(deployment.sharedId.IPV6)).toEqual([RANGE.hetzner6]);
    const sharedV4 = deployment.settings.sharedIpSets[0]?.arn;
    expect(await item(deployment, RANGE.tor)).toMatchObject({ sharedPreexisting: [sharedV4] });

    // Someone empties the partner set by mistake: the next run puts our ranges back.
    abroad.setAddresses(deployment.sharedId.IPV4, [partnerOwn, RANGE.tor]);
    await schedule(deployment, 5);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([partnerOwn, RANGE.tor, RANGE.linode]);

    // A block duration later, ours leave both regions; the partner's own entries stay.
    await schedule(deployment, BLOCK_MINUTES + 1);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([partnerOwn, RANGE.tor]);
    expect(abroad.getAddresses(deployment.sharedId.IPV6)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('never takes a range for its own in a set it could not read, and finds out once it can', async () => {
    const partnerOwn = '151.101.1.0/24';
    const deployment = await deploy({ shared: { IPV4: [RANGE.tor], IPV6: [] }, sharedReadsOnce: true });
    const [sharedV4] = deployment.settings.sharedIpSets;
    abroad.faults.failNext(2);

    // The partner set is unreadable when the ban comes: the run fails loudly, the blocklist is written.
    await expect(operator(deployment, [ban(ATTACKER.tor), ban(ATTACKER.linode)])).rejects.toThrow(/partner-ipv4/);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode, RANGE.tor]);
    // Not compared with a set it could not read.
    expect(await item(deployment, RANGE.tor)).not.toHaveProperty('sharedSeen');

    // Readable again: the partner had Tor's range (it stays theirs); ours gets there and becomes ours.
    abroad.setAddresses(deployment.sharedId.IPV4, [RANGE.tor, partnerOwn]);
    await schedule(deployment, 5);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.tor, partnerOwn, RANGE.linode]);
    expect(await item(deployment, RANGE.tor)).toMatchObject({ sharedPreexisting: [sharedV4?.arn] });
    expect(await item(deployment, RANGE.linode)).not.toHaveProperty('sharedPreexisting');

    await schedule(deployment, BLOCK_MINUTES + 1);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.tor, partnerOwn]);
  });

  it('leaves a set added to the config later its own copy of a range it already blocks', async () => {
    const deployment = await deploy({ shared: { IPV4: [RANGE.tor], IPV6: [] } });
    const before = { ...deployment, settings: { ...deployment.settings, sharedIpSets: [] } };
    await operator(before, [ban(ATTACKER.tor, { durationMinutes: 60 }), ban(ATTACKER.linode, { durationMinutes: 60 })]);

    // The partner set (which had Tor's range already) is added to the config.
    await schedule(deployment, 5);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.tor, RANGE.linode]);

    await schedule(deployment, 61);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.tor]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('still updates the blocklists when a shared set cannot be read, fails loudly, and keeps expiries open', async () => {
    const deployment = await deploy({ shared: { IPV4: [], IPV6: [] } });
    await operator(deployment, [ban(ATTACKER.tor, { durationMinutes: 10 })]);
    const missing: IpSetArnAddress = {
      arn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/gone/0000-gone',
      name: 'gone',
      id: '0000-gone',
      scope: 'REGIONAL',
      region: OTHER_REGION,
    };
    const settings = { ...deployment.settings, sharedIpSets: [...deployment.settings.sharedIpSets, missing] };

    const run = runBlocker(
      deployment.deps,
      settings,
      { kind: 'operator', actions: [ban(ATTACKER.linode)], collectKeys: false },
      at(20),
    );

    await expect(run).rejects.toThrow(/IP set gone \(REGIONAL, id 0000-gone\)/);
    // The blocklist and the readable shared set got the new ban and lost the expired one...
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(abroad.getAddresses(deployment.sharedId.IPV4)).toEqual([RANGE.linode]);
    // ...but the expired entry stays open: the unreadable set may still hold it.
    expect(await item(deployment, RANGE.tor)).toHaveProperty('activeFamily', 'IPV4');
  });
});
