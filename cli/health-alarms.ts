/**
 * The health alarms of a deployment, read for `status`: the names are built with `healthAlarmName`
 * from the deployment's name prefix, and read with one DescribeAlarms call. The prefix is the one
 * the construct gave the web ACL (`<namePrefix>-web-acl`, WEB_ACL_NAME_SUFFIX in lambdas/contracts/names.ts) and the health
 * alarms (`<namePrefix>-health-<kind>`, lib/health) alike; the deployed blocker names its web ACL.
 */
import { type CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { ReadError } from '#shared/errors';
import { HEALTH_ALARM_INFIX, HEALTH_ALARM_KINDS, healthAlarmName, type HealthAlarmKind } from '#contracts/health';
import { WEB_ACL_NAME_SUFFIX } from '#contracts/names';

/** DescribeAlarms pages read at most (eight names fit in one). */
const MAX_PAGES = 5;

/**
 * The name prefix of a deployment whose web ACL is `webAclName`; undefined when the name does not
 * end with {@link WEB_ACL_NAME_SUFFIX} (a web ACL not made by this construct).
 */
export function namePrefixOfWebAcl(webAclName: string): string | undefined {
  return webAclName.endsWith(WEB_ACL_NAME_SUFFIX) && webAclName.length > WEB_ACL_NAME_SUFFIX.length
    ? webAclName.slice(0, -WEB_ACL_NAME_SUFFIX.length)
    : undefined;
}

/** One health alarm as CloudWatch has it now. */
export interface HealthAlarmState {
  readonly kind: HealthAlarmKind;
  readonly alarmName: string;
  /** `OK`, `ALARM` or `INSUFFICIENT_DATA`; undefined when no alarm has the name (a stack deployed before it). */
  readonly state?: string;
  /** Epoch milliseconds of the last state change. */
  readonly since?: number;
  /** CloudWatch's reason for the state. */
  readonly reason?: string;
}

/**
 * Every health alarm of the deployment with that name prefix, in {@link HEALTH_ALARM_KINDS} order.
 * @throws {ReadError} naming the alarms when DescribeAlarms fails.
 */
export async function readHealthAlarms(client: CloudWatchClient, namePrefix: string): Promise<HealthAlarmState[]> {
  const names = HEALTH_ALARM_KINDS.map((kind) => healthAlarmName(namePrefix, kind));
  const found = new Map<string, MetricAlarm>();
  try {
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new DescribeAlarmsCommand({
          AlarmNames: names,
          AlarmTypes: ['MetricAlarm'],
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      );
      for (const alarm of page.MetricAlarms ?? []) {
        if (alarm.AlarmName !== undefined) found.set(alarm.AlarmName, alarm);
      }
      nextToken = page.NextToken;
      pages += 1;
    } while (nextToken !== undefined && pages < MAX_PAGES);
  } catch (cause) {
    throw new ReadError(`health alarms ${namePrefix}${HEALTH_ALARM_INFIX}*`, { cause });
  }
  return HEALTH_ALARM_KINDS.map((kind, index) => {
    const alarmName = names[index] ?? healthAlarmName(namePrefix, kind);
    const alarm = found.get(alarmName);
    const since = alarm?.StateUpdatedTimestamp?.getTime();
    return {
      kind,
      alarmName,
      ...(alarm?.StateValue === undefined ? {} : { state: alarm.StateValue }),
      ...(since === undefined || Number.isNaN(since) ? {} : { since }),
      ...(alarm?.StateReason === undefined ? {} : { reason: alarm.StateReason }),
    };
  });
}
