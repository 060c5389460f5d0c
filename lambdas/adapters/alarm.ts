/** Thin adapter over CloudWatch: the state of the attack alarm, which gates the collection of new attackers. */
import { CloudWatchClient, DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { ReadError } from '#shared/errors';
import { withoutSdkLogging } from './sdk-logging';

export type AlarmState = StateValue;

/**
 * Reads the alarm's current state.
 * @throws {ReadError} naming the alarm when the call fails or the alarm does not exist.
 */
export async function readAlarmState(client: CloudWatchClient, alarmName: string): Promise<AlarmState> {
  const resource = `alarm ${alarmName}`;
  let state: StateValue | undefined;
  try {
    const output = await client.send(
      new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm'] }),
    );
    state = output.MetricAlarms?.[0]?.StateValue;
  } catch (cause) {
    throw new ReadError(resource, { cause });
  }
  if (state === undefined) throw new ReadError(resource, { cause: new Error('no such alarm') });
  return state;
}

/**
 * Creates the CloudWatch client once per module, so warm invocations reuse its connections;
 * without the SDK's logger middleware (./sdk-logging).
 */
export function createCloudWatchClient(): CloudWatchClient {
  return withoutSdkLogging(new CloudWatchClient({}));
}
