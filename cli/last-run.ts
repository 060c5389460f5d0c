/**
 * The blocker's most recent run, from its own log: each run writes one Powertools JSON line,
 * `"message":"blocker run"` with the run's summary, or `"message":"blocker run failed"` with the
 * error. Read with FilterLogEvents over a short window, so no Logs Insights query is needed.
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ReadError } from '#shared/errors';

/** How far back `status` looks for a run: a few scheduled runs at the default rate. */
export const LAST_RUN_WINDOW_MS = 30 * 60_000;

/** Matches the handler's two outcome lines and nothing else it logs. */
export const RUN_FILTER_PATTERN = '{ ($.message = "blocker run") || ($.message = "blocker run failed") }';

/** FilterLogEvents pages read at most; a 30-minute window of runs fits in one. */
const MAX_PAGES = 20;

/** One run as its log line tells it. Fields come from a log line: check before use. */
export type LastRun =
  | { readonly at: number; readonly failed: false; readonly summary: Readonly<Record<string, unknown>> }
  | { readonly at: number; readonly failed: true; readonly error: string };

/**
 * The latest run in `[now - LAST_RUN_WINDOW_MS, now]`, or undefined when there was none.
 * @throws {ReadError} naming the log group when it cannot be read.
 */
export async function readLastRun(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  now: number,
): Promise<LastRun | undefined> {
  let latest: { at: number; message: string } | undefined;
  try {
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName,
          startTime: now - LAST_RUN_WINDOW_MS,
          endTime: now,
          filterPattern: RUN_FILTER_PATTERN,
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      for (const event of page.events ?? []) {
        if (event.timestamp === undefined || event.message === undefined) continue;
        if (latest === undefined || event.timestamp >= latest.at)
          latest = { at: event.timestamp, message: event.message };
      }
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken !== undefined && pages < MAX_PAGES);
  } catch (error) {
    throw new ReadError(`log group ${logGroupName}`, { cause: error });
  }
  return latest === undefined ? undefined : parseRunLine(latest.at, latest.message);
}

/** Reads one line; a line that is not the JSON we expect still counts as a run, shown as such. */
export function parseRunLine(at: number, message: string): LastRun {
  let record: Record<string, unknown> | undefined;
  try {
    // Lambda's text log format may put a timestamp and request id before the JSON.
    const parsed: unknown = JSON.parse(message.slice(Math.max(0, message.indexOf('{'))));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      record = parsed as Record<string, unknown>;
  } catch {
    record = undefined;
  }
  if (record?.message === 'blocker run' && isRecord(record.summary)) {
    return { at, failed: false, summary: record.summary };
  }
  if (record?.message === 'blocker run failed') {
    const error = isRecord(record.error) ? record.error : {};
    const name = typeof error.name === 'string' ? error.name : 'Error';
    const text = typeof error.message === 'string' ? error.message : 'no error message logged';
    return { at, failed: true, error: `${name}: ${text}` };
  }
  return { at, failed: true, error: `unrecognized log line: ${message.slice(0, 200)}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
