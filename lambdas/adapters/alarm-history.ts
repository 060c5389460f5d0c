/** Thin adapter over CloudWatch alarm history: when the attack alarm last went into ALARM. */
import { CloudWatchClient, DescribeAlarmHistoryCommand } from '@aws-sdk/client-cloudwatch';
import { ReadError } from '#shared/errors';

/** How far back to look for the start of an attack. */
const LOOKBACK_MS = 7 * 24 * 3_600_000;

/**
 * The time (epoch ms) of the alarm's latest change into ALARM at or before `before`, or undefined
 * when its history of the last week holds none.
 * @throws {ReadError} naming the alarm when the history cannot be read.
 */
export async function readAlarmStart(
  client: CloudWatchClient,
  alarmName: string,
  before: number,
): Promise<number | undefined> {
  let items;
  try {
    const output = await client.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: alarmName,
        AlarmTypes: ['MetricAlarm'],
        HistoryItemType: 'StateUpdate',
        StartDate: new Date(before - LOOKBACK_MS),
        // History timestamps and the OK message's time can differ by a moment.
        EndDate: new Date(before + 60_000),
        ScanBy: 'TimestampDescending',
        MaxRecords: 20,
      }),
    );
    items = output.AlarmHistoryItems ?? [];
  } catch (cause) {
    throw new ReadError(`alarm history of ${alarmName}`, { cause });
  }
  for (const item of items) {
    const at = item.Timestamp?.getTime();
    if (at === undefined || at > before + 60_000) continue;
    if (newState(item.HistoryData) === 'ALARM') return at;
  }
  return undefined;
}

/** `newState.stateValue` of a StateUpdate item's HistoryData, if it has one. */
function newState(historyData: string | undefined): string | undefined {
  if (!historyData) return undefined;
  try {
    const parsed = JSON.parse(historyData) as { newState?: { stateValue?: unknown } } | null;
    const value = parsed?.newState?.stateValue;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
