/**
 * The blocker's health metrics as the health alarms read them (one EMF line per invocation,
 * namespace WafAutoblock, dimension `service`): RunSucceeded 1 for a run that finished and 0 for one
 * that threw, KeysSeen, and BlocklistUtilization, the fullest blocklist's fill in percent of the
 * 10,000 entries WAF allows. AWS clients are strict mocks.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFNonexistentItemException,
} from '@aws-sdk/client-wafv2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { ATTACKER, LOGIN_RULE, SETTINGS } from '../../support/blocker-fixtures';
import { lambdaContext, useBlockerHandler } from '../../support/blocker-harness';

const SERVICE = 'shop-web-blocker';
const { waf, cloudwatch, sns, ddb, handler, output } = useBlockerHandler({
  service: SERVICE,
  environment: { POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL: 'SILENT' },
  captureStderr: false,
});

const context = lambdaContext({ functionName: 'shop-web-Blocker', awsRequestId: 'req-health' });

/** The EMF records the invocation printed. */
const emfRecords = () => output.emfRecords();

/** A blocklist IP set as GetIPSet returns it. */
function ipSet(family: 'IPV4' | 'IPV6', addresses: string[]) {
  const { name, id } = SETTINGS.blocklist[family][0];
  return {
    IPSet: { Name: name, Id: id, ARN: `arn:${id}`, IPAddressVersion: family, Addresses: addresses },
    LockToken: 't',
  };
}

/** `count` distinct global /24 ranges that no fixture attacker falls into (46.0.0.0/24, 46.0.1.0/24, ...). */
function foreignRanges(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `46.${i >> 8}.${i & 255}.0/24`);
}

beforeEach(() => {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'ALARM' }] });
  waf.on(GetRateBasedStatementManagedKeysCommand).resolves({
    ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`, `${ATTACKER.linodeNeighbour}/32`, `${ATTACKER.tor}/32`] },
  });
  waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
  ddb.on(UpdateCommand).resolves({});
  sns.onAnyCommand().resolves({ MessageId: 'm' });
});

describe('the blocker health metrics', () => {
  it('say a run succeeded, how many keys it saw and how full the fullest blocklist is, under the service dimension', async () => {
    // 9,000 entries in the IPv4 blocklist (someone else's); the run adds the two attackers' /24s.
    waf.on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV4[0].name }).resolves(ipSet('IPV4', foreignRanges(9_000)));
    waf.on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV6[0].name }).resolves(ipSet('IPV6', []));
    // Three keys from the per-IP rule, none from the login rule.
    waf.on(GetRateBasedStatementManagedKeysCommand, { RuleName: LOGIN_RULE }).resolves({});

    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);

    const [emf, ...more] = emfRecords();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({
      service: SERVICE,
      [HEALTH_METRICS.runSucceeded]: 1,
      [HEALTH_METRICS.keysSeen]: 3,
      [HEALTH_METRICS.rangesAdded]: 2,
      [HEALTH_METRICS.blocklistUtilization]: 90.02,
      [HEALTH_METRICS.overflow]: 0,
    });
    // No neighbour tier here: no metric for sets that do not exist.
    expect(emf).not.toHaveProperty(HEALTH_METRICS.neighbourUtilization);
    const directive = (emf?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0];
    expect(directive).toMatchObject({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] });
    expect(directive).toHaveProperty(
      'Metrics',
      expect.arrayContaining([
        { Name: HEALTH_METRICS.runSucceeded, Unit: 'Count' },
        { Name: HEALTH_METRICS.keysSeen, Unit: 'Count' },
        { Name: HEALTH_METRICS.blocklistUtilization, Unit: 'Percent' },
      ]),
    );
  });

  it('take the fullest family, so that a full IPv6 set is not hidden by an empty IPv4 one', async () => {
    waf.on(GetRateBasedStatementManagedKeysCommand).resolves({});
    waf.on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV4[0].name }).resolves(ipSet('IPV4', []));
    const full = Array.from({ length: IP_SET_CAPACITY }, (_, i) => `2a01:4f8:${i.toString(16)}::/64`);
    waf.on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV6[0].name }).resolves(ipSet('IPV6', full));

    await handler({ source: 'aws.events' }, context);

    expect(emfRecords()).toEqual([
      expect.objectContaining({ [HEALTH_METRICS.blocklistUtilization]: 100, [HEALTH_METRICS.keysSeen]: 0 }),
    ]);
  });

  it('say RunSucceeded 0, and nothing about the blocklists, when the run fails on an unreadable IP set', async () => {
    waf
      .on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV4[0].name })
      .rejects(new WAFNonexistentItemException({ message: 'The IP set does not exist.', $metadata: {} }));

    await expect(handler({ source: 'aws.events' }, context)).rejects.toThrow(SETTINGS.blocklist.IPV4[0].name);

    expect(waf).not.toHaveReceivedCommand(UpdateIPSetCommand);
    const [emf, ...more] = emfRecords();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({ service: SERVICE, [HEALTH_METRICS.runSucceeded]: 0 });
    expect(emf).not.toHaveProperty(HEALTH_METRICS.blocklistUtilization);
    expect(emf).not.toHaveProperty(HEALTH_METRICS.overflow);
  });
});
