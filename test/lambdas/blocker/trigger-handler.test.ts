/**
 * The Lambda entry given our alarm's SNS event: a late one makes the handler read the alarm and log
 * why; a fresh one does not. Strict SDK mocks, settings from the environment as the stack sets them.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetRateBasedStatementManagedKeysCommand, UpdateIPSetCommand } from '@aws-sdk/client-wafv2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { RUN_LOCK_KEY } from '#adapters/ledger';
import { ATTACKER } from '../../support/blocker-fixtures';
import { alarmSnsEvent, lambdaContext, useBlockerHandler } from '../../support/blocker-harness';

const { waf, cloudwatch, sns, ddb, handler, output } = useBlockerHandler();

// 60 s left: too little for a second round, so a run in ALARM stops after its first (attack mode's
// rounds are in attack-mode-handler.test.ts).
const context = lambdaContext({ awsRequestId: 'req-late' });

const jsonLines = () => output.jsonLines();

/** Our alarm's ALARM event as Lambda delivers it, the state change `ageMs` before the real clock's now. */
function alarmEvent(ageMs: number): unknown {
  return alarmSnsEvent('ALARM', Date.now() - ageMs);
}

beforeEach(() => {
  // The attack is over: the alarm is OK, though the rate rule still limits one address.
  waf
    .on(GetRateBasedStatementManagedKeysCommand)
    .resolves({ ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`] } });
  // The run lock only: any ledger write for a range would be a block.
  ddb.on(UpdateCommand, { Key: { range: RUN_LOCK_KEY } }).resolves({});
});

describe('the blocker handler given our alarm event', () => {
  it('reads the alarm for an ALARM event 3 hours old, blocks nothing with the alarm OK, and says why', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'OK' }] });

    const summary = await handler(alarmEvent(3 * 3_600_000), { ...context, getRemainingTimeInMillis: () => 300_000 });

    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'OK', collected: false, rangesAdded: 0 });
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    // Nor does it start attack mode: one run, though the invocation has minutes left.
    expect(jsonLines().filter((record) => record.message === 'blocker run')).toHaveLength(1);
    const notices = jsonLines().filter((record) => record.message === 'alarm message not trusted; reading the alarm');
    expect(notices).toEqual([
      expect.objectContaining({
        level: 'INFO',
        announcedState: 'ALARM',
        problem: expect.stringMatching(/^StateChangeTime \S+ is 3 h old \(trusted for 60 s\)$/) as unknown,
      }),
    ]);
  });

  it('takes the state of a fresh ALARM event without reading the alarm, and logs no such line', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.on(PublishCommand).resolves({ MessageId: 'report-1' });

    const summary = await handler(alarmEvent(2_000), context);

    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'ALARM', collected: true, rangesAdded: 1 });
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(jsonLines().some((record) => record.message === 'alarm message not trusted; reading the alarm')).toBe(false);
  });
});
