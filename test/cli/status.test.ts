/**
 * `status`: the alarm and the health alarms (mocked CloudWatch), the IP sets (WAF emulator) against
 * the ledger (dynalite), the next expiries, and the last run from the blocker's log (mocked
 * CloudWatch Logs).
 */
import { App, Stack } from 'aws-cdk-lib';
import { DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { namePrefixOfWebAcl } from '../../cli/health-alarms';
import { HEALTH_ALARM_KINDS, healthAlarmName, type HealthAlarmKind } from '#contracts/health';
import { BlocklistWebAcl } from '../../lib/blocklist-web-acl';
import { parseConfig } from '#config/load';
import { FOREIGN, MINUTE, NOW, RANGE, SETTINGS, expiredEntry, ledgerEntry } from '../support/blocker-fixtures';
import { cloudwatch, deploy, FUNCTION_NAME, LOG_GROUP, logs, STACK, useServers } from './support';

const servers = useServers();

const FILTER = {
  logGroupName: LOG_GROUP,
  startTime: NOW - 30 * MINUTE,
  endTime: NOW,
  filterPattern: '{ ($.message = "blocker run") || ($.message = "blocker run failed") }',
};

function alarmIs(state: 'OK' | 'ALARM'): void {
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: state }] });
}

type HealthState = Pick<MetricAlarm, 'StateValue' | 'StateReason' | 'StateUpdatedTimestamp'>;

/**
 * DescribeAlarms for the eight health alarm names of `prefix`, exactly: each kind in `states`
 * (OK since 3 h ago by default), none for a kind given `undefined` (not deployed).
 */
function healthIs(states: Partial<Record<HealthAlarmKind, HealthState | undefined>> = {}, prefix = STACK): void {
  const names = HEALTH_ALARM_KINDS.map((kind) => healthAlarmName(prefix, kind));
  const alarms = HEALTH_ALARM_KINDS.flatMap((kind): MetricAlarm[] => {
    const state: HealthState | undefined =
      kind in states ? states[kind] : { StateValue: 'OK', StateUpdatedTimestamp: new Date(NOW - 180 * MINUTE) };
    return state === undefined ? [] : [{ AlarmName: healthAlarmName(prefix, kind), ...state }];
  });
  cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: names, AlarmTypes: ['MetricAlarm'] }, true)
    .resolves({ MetricAlarms: alarms });
}

/** A line as the blocker's handler logs it through Powertools. */
function runLine(at: number, summary: Record<string, unknown>): { timestamp: number; message: string } {
  return {
    timestamp: at,
    message: JSON.stringify({
      level: 'INFO',
      message: 'blocker run',
      timestamp: new Date(at).toISOString(),
      service: 'waf-autoblock-blocker',
      function_name: FUNCTION_NAME,
      summary,
    }),
  };
}

const SUMMARY = {
  trigger: 'schedule',
  dryRun: false,
  collected: true,
  alarmState: 'ALARM',
  keysSeen: 40,
  keysRejected: 2,
  rejectedByReason: { allowlisted: 2 },
  unreadableRules: ['RateLimitLogin'],
  rangesActive: 6,
  rangesAdded: 1,
  rangesExpired: 0,
  overflow: 0,
  lockConflicts: 1,
  ipSetWrites: 1,
  ledgerWrites: 3,
  ledgerRefreshSkipped: 0,
  reported: true,
  actions: [],
  sharedFailures: [],
  durationsMs: { read: 120, write: 292, total: 412 },
};

describe('waf-autoblock status', () => {
  it('shows the alarm, each IP set against capacity with managed and foreign counts, the next expiries and the last run', async () => {
    const deployment = await deploy(servers(), { shared: [{ family: 'IPV4', addresses: [RANGE.linode] }] });
    const ranges = ['45.33.12.0/24', '45.33.13.0/24', '45.33.14.0/24', '45.33.15.0/24', '45.33.16.0/24'];
    await deployment.ledger.upsert([
      ...ranges.map((range, i) =>
        ledgerEntry(range, { lastSeen: NOW - (10 + i) * MINUTE, sharedSeen: deployment.sharedArns }),
      ),
      expiredEntry(RANGE.tor, 3),
      ledgerEntry(RANGE.scanner6),
    ]);
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, ...ranges, RANGE.tor]);
    servers().waf.setAddresses(deployment.blocklist.IPV6, [FOREIGN.IPV6, RANGE.scanner6]);
    alarmIs('ALARM');
    healthIs();
    logs
      .on(FilterLogEventsCommand, FILTER, true)
      .resolves({ events: [runLine(NOW - 9 * MINUTE, { ...SUMMARY, rangesAdded: 5 })], nextToken: 'page-2' });
    logs
      .on(FilterLogEventsCommand, { ...FILTER, nextToken: 'page-2' }, true)
      .resolves({ events: [runLine(NOW - 4 * MINUTE, SUMMARY)] });

    const { code, stdout, stderr } = await deployment.run('status');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `Stack WafAutoblock in us-east-1: web ACL ${SETTINGS.webAclName} (CLOUDFRONT), gate alarm, blocks last 4h after a range was last seen`,
    );
    expect(stdout).toContain(`Alarm ${SETTINGS.alarmName}: ALARM`);
    expect(stdout).toMatch(/IP SET\s+FAMILY\s+ENTRIES\s+FULL\s+MANAGED\s+FOREIGN/);
    expect(stdout).toMatch(/blocklist-v4-\d+\s+IPv4\s+7 \/ 10,000\s+0%\s+6\s+1\n/);
    expect(stdout).toMatch(/blocklist-v6-\d+\s+IPv6\s+2 \/ 10,000\s+0%\s+1\s+1\n/);
    expect(stdout).toMatch(/shared-0-\d+ \(shared, us-east-1\)\s+IPv4\s+1 \/ 10,000\s+0%\s+1\s+0\n/);
    expect(stdout).toContain('Next expiries (5 of 7 managed ranges):');
    expect(stdout).toMatch(
      /185\.220\.101\.0\/24\s+2025-05-17T02:57:00Z \(due: removed on the next run\)\s+RateLimitPerIp/,
    );
    expect(stdout).toMatch(/45\.33\.16\.0\/24\s+2025-05-17T06:46:00Z \(in 3h 46m\)/);
    expect(stdout).not.toContain('45.33.12.0/24  ');
    expect(stdout).toContain(
      'Last run: 2025-05-17T02:56:00Z (4m ago), trigger schedule, alarm ALARM, collected new attackers',
    );
    expect(stdout).toContain('ranges: 6 active, 1 added, 0 expired, 0 overflow');
    expect(stdout).toContain('keys: 40 seen, 2 refused; writes: 1 IP set, 3 ledger; lock conflicts: 1; 412 ms');
    expect(stdout).toContain('unreadable rate rules: RateLimitLogin');
  });

  it('says when there was no run in the last 30 minutes, and shows a failed run with its error', async () => {
    const deployment = await deploy(servers());
    alarmIs('OK');
    healthIs();
    logs.on(FilterLogEventsCommand, FILTER, true).resolves({ events: [] });

    const quiet = await deployment.run('status');

    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('Last run: no run in the last 30 minutes');
    expect(quiet.stdout).toContain('Next expiries: none: waf-autoblock blocks no range');
    expect(quiet.stdout).toMatch(/blocklist-v4-\d+\s+IPv4\s+1 \/ 10,000\s+0%\s+0\s+1\n/);

    const failure = {
      level: 'ERROR',
      message: 'blocker run failed',
      error: { name: 'WriteError', message: 'could not write IP set blocklist-v4: 1 write(s) failed', stack: '...' },
    };
    logs.on(FilterLogEventsCommand, FILTER, true).resolves({
      events: [
        runLine(NOW - 6 * MINUTE, SUMMARY),
        { timestamp: NOW - MINUTE, message: `2025-05-17T02:59:00.123Z\treq-1\tERROR\t${JSON.stringify(failure)}` },
      ],
    });

    const failed = await deployment.run('status');

    expect(failed.code).toBe(0);
    expect(failed.stdout).toContain(
      'Last run: 2025-05-17T02:59:00Z (1m ago) FAILED: WriteError: could not write IP set blocklist-v4: 1 write(s) failed',
    );
  });

  it('shows each part that cannot be read as unreadable with the reason, still shows the others, and exits 1', async () => {
    const deployment = await deploy(servers(), {
      environment: {
        SHARED_IP_SET_ARNS: JSON.stringify([
          'arn:aws:wafv2:us-east-1:123456789012:global/ipset/gone/0a1b2c3d-0000-0000-0000-000000000000',
        ]),
      },
    });
    await deployment.ledger.upsert([ledgerEntry(RANGE.linode)]);
    cloudwatch.on(DescribeAlarmsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform cloudwatch:DescribeAlarms'), {
        name: 'AccessDenied',
      }),
    );
    logs
      .on(FilterLogEventsCommand, FILTER, true)
      .rejects(
        Object.assign(new Error('The specified log group does not exist.'), { name: 'ResourceNotFoundException' }),
      );

    const { code, stdout, stderr } = await deployment.run('status');

    expect(code).toBe(1);
    expect(stdout).toContain(
      `Alarm ${SETTINGS.alarmName}: unreadable: could not read alarm ${SETTINGS.alarmName}: AccessDenied: User is not authorized`,
    );
    expect(stdout).toContain(
      'Health: unreadable: could not read health alarms WafAutoblock-health-*: AccessDenied: User is not authorized',
    );
    expect(stdout).toMatch(/blocklist-v4-\d+\s+IPv4\s+1 \/ 10,000\s+0%\s+0\s+1\n/);
    expect(stdout).toContain('could not read IP set gone (CLOUDFRONT, id 0a1b2c3d-0000-0000-0000-000000000000)');
    expect(stdout).toContain('Next expiries (1 of 1 managed range):');
    expect(stdout).toContain(
      `Last run: unreadable: could not read log group ${LOG_GROUP}: ResourceNotFoundException: The specified log group does not exist.`,
    );
    expect(stderr).toBe('waf-autoblock status: 4 parts could not be read (see above)\n');
  });

  it('names a missing BlockerLogGroupName output as the reason the last run is unreadable', async () => {
    const deployment = await deploy(servers(), {
      outputs: [{ OutputKey: 'BlockerFunctionName', OutputValue: FUNCTION_NAME }],
    });
    alarmIs('OK');
    healthIs();

    const { code, stdout } = await deployment.run('status');

    expect(code).toBe(1);
    expect(stdout).toContain(`Alarm ${SETTINGS.alarmName}: OK`);
    expect(stdout).toContain(
      'Last run: unreadable: stack WafAutoblock in us-east-1 (UPDATE_COMPLETE) has no output BlockerLogGroupName: deploy it again',
    );
  });

  it('shows the health alarms as healthy, one line each with its state and since when', async () => {
    const deployment = await deploy(servers(), { environment: { WEB_ACL_NAME: 'shop-web-acl' } });
    alarmIs('OK');
    healthIs({}, 'shop');
    logs.on(FilterLogEventsCommand, FILTER, true).resolves({ events: [] });

    const { code, stdout } = await deployment.run('status');

    expect(code).toBe(0);
    expect(stdout).toContain(
      [
        'Health: healthy (all 8 health alarms OK)',
        '  HEALTH ALARM                      STATE  SINCE (UTC)',
        '  shop-health-blocker-failed        OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-blocker-failing       OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-blocker-stopped       OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-notifier-failed       OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-telegram-undelivered  OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-blocklist-full        OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-overflow              OK     2025-05-17T00:00:00Z (3h ago)',
        '  shop-health-dead-letters          OK     2025-05-17T00:00:00Z (3h ago)',
        'Dead-letter queue WafAutoblock-DeadLetters-7G8H9I: empty',
        'IP sets:',
      ].join('\n'),
    );
  });

  it('names the health alarms in ALARM with their reasons, explains INSUFFICIENT_DATA, and keeps exit code 0', async () => {
    const deployment = await deploy(servers());
    alarmIs('OK');
    healthIs({
      'blocker-failing': {
        StateValue: 'ALARM',
        StateReason:
          'Threshold Crossed: 3 out of the last 3 datapoints were greater than or equal to the threshold (1.0).',
        StateUpdatedTimestamp: new Date(NOW - 50 * MINUTE),
      },
      'dead-letters': {
        StateValue: 'ALARM',
        StateReason: `Threshold Crossed: \u001b[31m${'x'.repeat(300)}`,
        StateUpdatedTimestamp: new Date(NOW - 5 * MINUTE),
      },
      overflow: { StateValue: 'INSUFFICIENT_DATA', StateUpdatedTimestamp: new Date(NOW - 2 * MINUTE) },
    });
    logs.on(FilterLogEventsCommand, FILTER, true).resolves({ events: [] });

    const { code, stdout, stderr } = await deployment.run('status');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(
      'Health: 2 health alarms in ALARM: blocker-failing, dead-letters; 1 without data: overflow\n',
    );
    expect(stdout).toMatch(/ {2}WafAutoblock-health-blocker-failing +ALARM +2025-05-17T02:10:00Z \(50m ago\)\n/);
    expect(stdout).toMatch(/ {2}WafAutoblock-health-overflow +INSUFFICIENT_DATA +2025-05-17T02:58:00Z \(2m ago\)\n/);
    expect(stdout).toMatch(/ {2}WafAutoblock-health-blocker-failed +OK +2025-05-17T00:00:00Z \(3h ago\)\n/);
    expect(stdout).toContain(
      '  blocker-failing: Threshold Crossed: 3 out of the last 3 datapoints were greater than or equal to the threshold (1.0).\n',
    );
    // No terminal escape reaches the screen, and a long reason is cut.
    expect(stdout).toContain(`  dead-letters: Threshold Crossed: ?[31m${'x'.repeat(175)}…\n`);
    expect(stdout).toContain(
      '  INSUFFICIENT_DATA: too few data points to decide; normal for a few minutes after a deploy, later the function or queue the alarm watches may be gone',
    );
  });

  it('says which health alarms a stack deployed before them lacks, without failing', async () => {
    const deployment = await deploy(servers());
    alarmIs('OK');
    logs.on(FilterLogEventsCommand, FILTER, true).resolves({ events: [] });

    healthIs(Object.fromEntries(HEALTH_ALARM_KINDS.map((kind) => [kind, undefined])));
    const none = await deployment.run('status');
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(
      'Health: no health alarms found (looked for WafAutoblock-health-<kind>); the stack was deployed before they existed: redeploy it ("npx cdk deploy")\n',
    );

    healthIs({ overflow: undefined, 'dead-letters': undefined });
    const some = await deployment.run('status');
    expect(some.code).toBe(0);
    expect(some.stdout).toContain('Health: no health alarm in ALARM; 2 not found (redeploy): overflow, dead-letters\n');
    expect(some.stdout).toMatch(/ {2}WafAutoblock-health-overflow +not found\n/);
  });

  it('finds the health alarms by the name prefix the construct gives the web ACL and the alarms alike', () => {
    const stack = new Stack(new App(), 'PrefixProbe');
    const config = parseConfig({});
    const { webAclName } = new BlocklistWebAcl(stack, 'WebAcl', {
      namePrefix: 'Prod-shop_web-1',
      scope: 'CLOUDFRONT',
      rateRules: config.rateRules,
      forwardedIp: config.forwardedIp,
      allowlist: [],
      managedRuleGroups: [],
      logRetentionDays: 30,
      loggedActions: ['BLOCK'],
      associations: [],
    });
    expect(namePrefixOfWebAcl(webAclName)).toBe('Prod-shop_web-1');
    expect(namePrefixOfWebAcl('someone-elses-acl')).toBeUndefined();
    expect(namePrefixOfWebAcl('-web-acl')).toBeUndefined();
  });
});
