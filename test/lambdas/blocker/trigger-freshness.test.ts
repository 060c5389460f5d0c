/**
 * A late alarm event, over the wire: the alarm's SNS message as Lambda delivers it, read by
 * triggerOf and run by runBlocker as the handler does, against the WAF emulator and dynalite. Only
 * CloudWatch (the alarm's state now) and SNS (the report) are mocked, strictly: a DescribeAlarms
 * call a test did not declare fails the run.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { triggerOf } from '#blocker/trigger';
import { BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RATE_RULE } from '../../support/blocker-fixtures';
import {
  alarmSnsEvent,
  useEmulatorWorld,
  useStrictAlarmAndReports,
  type EmulatorDeployment,
} from '../../support/blocker-harness';

const HOUR = 60 * MINUTE;
/** The address of the report, and the /24 it was blocked as. */
const LATE_ATTACKER = '45.142.120.33';
const LATE_RANGE = '45.142.120.0/24';

const world = useEmulatorWorld();
const { cloudwatch, sns, alarmIs: alarmIsNow } = useStrictAlarmAndReports();

/** A deployment of its own on the emulator (IP sets and ledger table), with an operator's entry in each blocklist. */
async function deploy(): Promise<EmulatorDeployment> {
  const deployment = await world.deploy({ table: 'Ledger-freshness' });
  // The rate rule is limiting the address now, whatever the alarm says.
  world.server.setManagedKeys(deployment.settings.webAclName, RATE_RULE, { ipv4: [`${LATE_ATTACKER}/32`] });
  return deployment;
}

/** The SNS event Lambda delivers for our alarm's state change `ageMs` before NOW. */
function alarmEvent(state: 'ALARM' | 'OK', ageMs: number): SNSEvent {
  return alarmSnsEvent(state, NOW - ageMs);
}

/** What the handler does with an event, on the run's clock NOW. */
async function handle(deployment: EmulatorDeployment, event: SNSEvent) {
  const { trigger } = triggerOf(event, deployment.settings, NOW);
  return deployment.run(NOW, trigger);
}

describe('an alarm event that arrives late', () => {
  it('a 3-hour-old ALARM message, with the alarm now OK, blocks nothing new: the run reads the alarm', async () => {
    const deployment = await deploy();
    alarmIsNow('OK');

    const summary = await handle(deployment, alarmEvent('ALARM', 3 * HOUR));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(world.server.calls.filter((call) => call.operation === 'UpdateIPSet')).toEqual([]);
    expect(sns).toReceiveCommandTimes(PublishCommand, 0);
    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'OK', collected: false, rangesAdded: 0 });
  });

  it('the same late message, with the alarm still in ALARM, blocks the range for the block duration', async () => {
    const deployment = await deploy();
    alarmIsNow('ALARM');

    const summary = await handle(deployment, alarmEvent('ALARM', 3 * HOUR));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    const [entry, ...others] = await deployment.ledger.activeEntries('IPV4');
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ range: LATE_RANGE, lastSeen: NOW });
    // At least the block duration (a margin later is allowed: issue 9 §3).
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(NOW + BLOCK_MINUTES * MINUTE);
    expect(summary).toMatchObject({ alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });

  it('a late OK message does not close the gate of an attack that is on again', async () => {
    const deployment = await deploy();
    alarmIsNow('ALARM');

    const summary = await handle(deployment, alarmEvent('OK', 20 * MINUTE));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    expect(summary).toMatchObject({ alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });
});

describe('an alarm event that arrives on time', () => {
  it('a fresh ALARM message opens the gate without a DescribeAlarms call', async () => {
    const deployment = await deploy();
    // No DescribeAlarms declared: the strict mock would fail the run's read of the alarm.

    const summary = await handle(deployment, alarmEvent('ALARM', 5_000));

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(world.server.getAddresses(deployment.blocklistId.IPV4)).toEqual([FOREIGN.IPV4, LATE_RANGE]);
    expect(summary).toMatchObject({ trigger: 'alarm', alarmState: 'ALARM', collected: true, rangesAdded: 1 });
  });
});
