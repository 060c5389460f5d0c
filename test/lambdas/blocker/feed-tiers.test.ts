/**
 * The ban feed and the neighbour tier (issue 12), over the wire: a feed message read by the
 * handler's own trigger reading (`triggerOf`, with the deployment's settings) and applied by a
 * blocker run against the WAF emulator and dynalite. A message may name the tier with the word of
 * `ban --tier`; a stack without a neighbour tier turns such a message away; a failed run leaves
 * the ban to Lambda's retry, which applies it to the tier it named.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { describe, expect, it } from 'vitest';
import { triggerOf } from '#blocker/trigger';
import { ATTACKER, FOREIGN, MINUTE, NOW, RANGE } from '../../support/blocker-fixtures';
import {
  feedRecord,
  useEmulatorWorld,
  useStrictAlarmAndReports,
  type EmulatorDeployment,
} from '../../support/blocker-harness';

const world = useEmulatorWorld();
useStrictAlarmAndReports({ alarm: 'OK' });

const SOURCE = 'fail2ban@web1';
/** Entries another tool put into the neighbour sets: never ours to remove. */
const FOREIGN_NEIGHBOURS = { IPV4: '91.200.13.0/24', IPV6: '2a02:c207:2030:2::/64' } as const;

/** One SNS event of the feed topic carrying `message`, read as the handler reads it. */
function feedEvent(deployment: EmulatorDeployment, message: object) {
  return triggerOf({ Records: [feedRecord(message, 'm-1')] }, deployment.settings, NOW);
}

async function tiered(waf?: WAFV2Client) {
  const deployment = await world.deploy({
    table: 'Ledger-feed-tiers',
    neighbours: { IPV4: [FOREIGN_NEIGHBOURS.IPV4], IPV6: [FOREIGN_NEIGHBOURS.IPV6] },
    ...(waf === undefined ? {} : { waf }),
  });
  const neighbourId = deployment.neighbourId;
  if (neighbourId === undefined) throw new Error('no neighbour sets');
  return { deployment, neighbourId };
}

describe('a feed ban naming the neighbour tier', () => {
  it('challenges the widened range in the neighbour set, records it in that tier, and blocks nothing', async () => {
    const { deployment, neighbourId } = await tiered();
    world.rateRulesLimit({});
    const { trigger, rejected } = feedEvent(deployment, {
      action: 'ban',
      address: ATTACKER.tor,
      durationMinutes: 60,
      source: SOURCE,
      tier: 'neighbour',
    });
    expect(rejected).toEqual([]);
    const summary = await deployment.run(NOW, trigger);
    expect(summary.actions).toMatchObject([{ status: 'banned', range: RANGE.tor, tier: 'neighbour' }]);
    expect(world.server.getAddresses(neighbourId.IPV4)).toEqual([FOREIGN_NEIGHBOURS.IPV4, RANGE.tor]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4', 'neighbour')).toMatchObject([
      { range: RANGE.tor, source: SOURCE, expiresAt: NOW + 60 * MINUTE, tier: 'neighbour' },
    ]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('without a tier, or with "block", blocks the range in the Block set as before', async () => {
    const { deployment, neighbourId } = await tiered();
    world.rateRulesLimit({});
    for (const tier of [{}, { tier: 'block' }]) {
      const { trigger } = feedEvent(deployment, { action: 'ban', address: ATTACKER.tor, source: SOURCE, ...tier });
      await deployment.run(NOW, trigger);
      expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.tor]);
      expect(world.server.getAddresses(neighbourId.IPV4)).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    }
  });

  it('is not lost when its run fails: the run throws (Lambda retries the event) and the retry challenges the range', async () => {
    const waf = world.wafClient();
    let failWrites = 1;
    waf.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateIPSetCommand' && failWrites > 0) {
          failWrites -= 1;
          throw new Error('WAF is unavailable');
        }
        return next(args);
      },
      { step: 'initialize', name: 'failFirstWrite' },
    );
    const { deployment, neighbourId } = await tiered(waf);
    world.rateRulesLimit({});
    const { trigger } = feedEvent(deployment, {
      action: 'ban',
      address: ATTACKER.tor,
      source: SOURCE,
      tier: 'neighbour',
    });
    // The neighbour set's write fails: the run fails loud, so that Lambda tries the event again.
    await expect(deployment.run(NOW, trigger)).rejects.toThrow();
    expect(world.server.getAddresses(neighbourId.IPV4)).toEqual([FOREIGN_NEIGHBOURS.IPV4]);
    // Lambda delivers the same event again; it is read and applied as the first time.
    const retry = feedEvent(deployment, { action: 'ban', address: ATTACKER.tor, source: SOURCE, tier: 'neighbour' });
    await deployment.run(NOW + MINUTE, retry.trigger);
    expect(world.server.getAddresses(neighbourId.IPV4)).toEqual([FOREIGN_NEIGHBOURS.IPV4, RANGE.tor]);
  });
});

describe('a feed ban naming the neighbour tier, on a stack without one', () => {
  it('is turned away with a reason naming the address and the setting, and nothing is written', async () => {
    const deployment = await world.deploy({ table: 'Ledger-feed-one-tier' });
    world.rateRulesLimit({});
    const { trigger, rejected } = feedEvent(deployment, {
      action: 'ban',
      address: ATTACKER.tor,
      source: SOURCE,
      tier: 'neighbour',
    });
    expect(rejected).toEqual([
      {
        problem:
          `tier "neighbour" for address "${ATTACKER.tor}": this stack has no neighbour tier ` +
          '(blocker.neighbourAction is BLOCK); leave tier out to block the range',
        messageId: 'm-1',
        topicArn: deployment.settings.feedTopicArn,
      },
    ]);
    const summary = await deployment.run(NOW, trigger);
    expect(summary.actions).toEqual([]);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });
});
