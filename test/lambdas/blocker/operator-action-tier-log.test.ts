/**
 * The blocker's log line for an operator action names the neighbour tier when the action was for
 * it (a ban fed with `"tier": "neighbour"` is challenged, not blocked), so that `aws logs tail`
 * tells the two apart; a ban of the Block tier reads as it always did. AWS clients are strict mocks.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetRateBasedStatementManagedKeysCommand, UpdateIPSetCommand } from '@aws-sdk/client-wafv2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ATTACKER } from '../../support/blocker-fixtures';
import { feedRecord, lambdaContext, useBlockerHandler } from '../../support/blocker-harness';

const { waf, cloudwatch, sns, ddb, handler, output } = useBlockerHandler({
  environment: {
    NEIGHBOUR_ACTION: 'CHALLENGE',
    NEIGHBOURS_IPV4: 'neighbours-v4|nb4-9f8e',
    NEIGHBOURS_IPV6: 'neighbours-v6|nb6-7d6c',
    OFFENDER_PREFIX_IPV4: '32',
    OFFENDER_PREFIX_IPV6: '128',
  },
});

const context = lambdaContext({ functionName: 'WafAutoblock-Blocker', awsRequestId: 'req-tier-log' });

beforeEach(() => {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'OK' }] });
  waf.on(GetRateBasedStatementManagedKeysCommand).resolves({});
  waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
  ddb.on(UpdateCommand).resolves({});
  sns.onAnyCommand().resolves({ MessageId: 'm' });
});

describe('the operator action log line with a neighbour tier', () => {
  it('names the tier of a ban fed for the neighbour tier, and none for a ban that blocks', async () => {
    await handler(
      {
        Records: [
          feedRecord(
            JSON.stringify({ action: 'ban', address: ATTACKER.linode, source: 'fail2ban@web1', tier: 'neighbour' }),
            'm-neighbour',
          ),
          feedRecord(JSON.stringify({ action: 'ban', address: ATTACKER.tor, source: 'fail2ban@web1' }), 'm-block'),
        ],
      },
      context,
    );

    const actions = output.jsonLines().filter((record) => record.message === 'operator action');
    expect(actions).toEqual([
      expect.objectContaining({ status: 'banned', address: ATTACKER.linode, tier: 'neighbour' }),
      expect.objectContaining({ status: 'banned', address: ATTACKER.tor }),
    ]);
    expect(actions[1]).not.toHaveProperty('tier');
  });
});
