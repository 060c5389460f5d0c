/**
 * A shared IP set that is the deployment's own allowlist (issue 10, round 3, finding 2): synth
 * refuses it by name, but a blocker whose settings list it anyway (an edited environment variable)
 * must never write attacker ranges into the set the ALLOW rule reads: it logs and skips it.
 */
import { describe, expect, it } from 'vitest';
import type { IpSetArnAddress } from '#contracts/blocker-environment';
import { runBlocker } from '#blocker/run';
import { ALLOWED, ATTACKER, FOREIGN, NOW, RANGE } from '../../support/blocker-fixtures';
import { useEmulatorWorld, useStrictAlarmAndReports } from '../../support/blocker-harness';

const world = useEmulatorWorld();
useStrictAlarmAndReports();

describe('a shared IP set that is one of our own sets', () => {
  it('the allowlist listed as a shared set is never written; the blocklist still gets the range', async () => {
    const deployment = await world.deploy({ table: 'Ledger-own-shared' });
    const allowlist = deployment.settings.allowlist.IPV4;
    const asShared: IpSetArnAddress = {
      ...allowlist,
      arn: `arn:aws:wafv2:us-east-1:123456789012:global/ipset/${allowlist.name}/${allowlist.id}`,
      region: 'us-east-1',
    };
    const settings = { ...deployment.settings, sharedIpSets: [asShared] };

    await runBlocker(
      deployment.deps,
      settings,
      {
        kind: 'operator',
        actions: [{ action: 'ban', address: ATTACKER.linode, source: 'cli:alice' }],
        collectKeys: false,
      },
      NOW,
    );

    expect(world.server.getAddresses(allowlist.id)).toEqual(ALLOWED.IPV4);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(deployment.deps.logger.error).toHaveBeenCalledWith(
      "shared IP set is one of this stack's own allowlist or blocklist sets; never written",
      { ipSet: asShared.arn },
    );
  });
});
