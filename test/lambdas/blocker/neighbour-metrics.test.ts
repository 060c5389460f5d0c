/**
 * The blocker's health metrics with a neighbour tier (issue 12): NeighbourUtilization (unit Percent,
 * in the run's one EMF record) is the fill of the fuller family's neighbour sets, so that the
 * blocklist-full alarm hears of neighbour sets filling up, which BlocklistUtilization (the Block
 * sets only) never shows. AWS clients are strict mocks.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetIPSetCommand, GetRateBasedStatementManagedKeysCommand, UpdateIPSetCommand } from '@aws-sdk/client-wafv2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { ATTACKER, RANGE, SETTINGS } from '../../support/blocker-fixtures';
import { lambdaContext, useBlockerHandler } from '../../support/blocker-harness';

const SERVICE = 'shop-web-blocker';
const NEIGHBOURS = {
  IPV4: { name: 'neighbours-v4', id: 'nb4-9f8e' },
  IPV6: { name: 'neighbours-v6', id: 'nb6-7d6c' },
} as const;

const { waf, cloudwatch, sns, ddb, handler, output } = useBlockerHandler({
  service: SERVICE,
  environment: {
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    NEIGHBOUR_ACTION: 'CHALLENGE',
    NEIGHBOURS_IPV4: `${NEIGHBOURS.IPV4.name}|${NEIGHBOURS.IPV4.id}`,
    NEIGHBOURS_IPV6: `${NEIGHBOURS.IPV6.name}|${NEIGHBOURS.IPV6.id}`,
    OFFENDER_PREFIX_IPV4: '32',
    OFFENDER_PREFIX_IPV6: '128',
  },
  captureStderr: false,
});

const context = lambdaContext({ functionName: 'shop-web-Blocker', awsRequestId: 'req-neighbours' });

/** An IP set as GetIPSet returns it. */
function ipSet(family: 'IPV4' | 'IPV6', { name, id }: { name: string; id: string }, addresses: string[]) {
  return {
    IPSet: { Name: name, Id: id, ARN: `arn:${id}`, IPAddressVersion: family, Addresses: addresses },
    LockToken: 't',
  };
}

/** Each of the four lists holds `addresses[list]` (none unless said). */
function setsHold(addresses: Partial<Record<'IPV4' | 'IPV6' | 'neighbour#IPV4' | 'neighbour#IPV6', string[]>>) {
  for (const family of ['IPV4', 'IPV6'] as const) {
    const [block] = SETTINGS.blocklist[family];
    waf.on(GetIPSetCommand, { Name: block.name }).resolves(ipSet(family, block, addresses[family] ?? []));
    const neighbours = NEIGHBOURS[family];
    waf
      .on(GetIPSetCommand, { Name: neighbours.name })
      .resolves(ipSet(family, neighbours, addresses[`neighbour#${family}`] ?? []));
  }
}

beforeEach(() => {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'ALARM' }] });
  waf.on(GetRateBasedStatementManagedKeysCommand).resolves({});
  waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
  ddb.on(UpdateCommand).resolves({});
  sns.onAnyCommand().resolves({ MessageId: 'm' });
});

describe('the blocker health metrics with a neighbour tier', () => {
  it('say how full the fuller family of neighbour sets is, apart from the blocklists', async () => {
    // Someone else's 9,500 IPv6 entries in the IPv6 neighbour set; every other set empty.
    const foreign6 = Array.from({ length: 9_500 }, (_, i) => `2a01:4f8:${i.toString(16)}::/64`);
    setsHold({ 'neighbour#IPV6': foreign6 });

    await handler({ source: 'aws.events' }, context);

    const [emf, ...more] = output.emfRecords();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({
      service: SERVICE,
      [HEALTH_METRICS.runSucceeded]: 1,
      [HEALTH_METRICS.blocklistUtilization]: 0,
      [HEALTH_METRICS.neighbourUtilization]: 95,
    });
    const directive = (emf?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0];
    expect(directive).toMatchObject({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] });
    expect(directive).toHaveProperty(
      'Metrics',
      expect.arrayContaining([{ Name: HEALTH_METRICS.neighbourUtilization, Unit: 'Percent' }]),
    );
  });

  it("count this run's neighbour ranges, which go to the neighbour sets while the offenders go to the Block sets", async () => {
    const foreign4 = Array.from({ length: 8_998 }, (_, i) => `46.${i >> 8}.${i & 255}.0/24`);
    setsHold({ 'neighbour#IPV4': foreign4 });
    waf.on(GetRateBasedStatementManagedKeysCommand).resolves({
      ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`, `${ATTACKER.tor}/32`] },
    });

    await handler({ source: 'aws.events' }, context);

    const neighbourWrite = waf
      .commandCalls(UpdateIPSetCommand)
      .find((call) => call.args[0].input.Name === NEIGHBOURS.IPV4.name);
    expect(neighbourWrite?.args[0].input.Addresses).toEqual(expect.arrayContaining([RANGE.linode, RANGE.tor]));
    // 8,998 + the two attackers' /24s = 9,000 of 10,000; the Block set holds their two /32s.
    expect(output.emfRecords()).toEqual([
      expect.objectContaining({
        [HEALTH_METRICS.neighbourUtilization]: 90,
        [HEALTH_METRICS.blocklistUtilization]: 0.02,
      }),
    ]);
  });
});
