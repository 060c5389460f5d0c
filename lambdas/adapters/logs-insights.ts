/**
 * Thin adapter over CloudWatch Logs Insights: starts several queries over one log group at once and
 * polls them together until each is done or a deadline passes, so the wall time is that of the
 * slowest query, not of their sum. A query that fails or runs out of time is reported as such, and
 * stopped; the others' results still count.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type ResultField,
} from '@aws-sdk/client-cloudwatch-logs';

/** One query to run. */
export interface InsightsQuery {
  /** Names the query in outcomes and messages, e.g. `hosts`. */
  readonly name: string;
  readonly queryString: string;
  /**
   * Rows returned at most.
   * @default 5
   */
  readonly limit?: number;
}

/** What became of one query. Rows map field names to values; `@ptr` is dropped. */
export type QueryOutcome =
  | { readonly name: string; readonly status: 'complete'; readonly rows: readonly Record<string, string>[] }
  | { readonly name: string; readonly status: 'failed' | 'timed-out'; readonly reason: string };

/** Options of {@link runInsightsQueries}. */
export interface InsightsRun {
  readonly logGroupName: string;
  /** Epoch milliseconds; Logs Insights takes whole seconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly queries: readonly InsightsQuery[];
  /** Epoch milliseconds (on `now`'s clock) after which unfinished queries are given up and stopped. */
  readonly deadline: number;
  /**
   * Wait between polling rounds.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /** Injected by tests and benchmarks. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Creates the Logs client once per module, so warm invocations reuse its connections. */
export function createLogsClient(): CloudWatchLogsClient {
  return new CloudWatchLogsClient({});
}

const FINISHED_BADLY: Readonly<Record<string, string>> = {
  Failed: 'the query failed',
  Cancelled: 'the query was cancelled',
  Timeout: 'Logs Insights timed the query out',
  Unknown: 'Logs Insights lost the query',
};

/**
 * Runs the queries: all StartQuery calls at once, then rounds of GetQueryResults for every query
 * still Scheduled or Running, until all are finished or `deadline` passes. Never throws: a query
 * that cannot be started, fails, or is not done by the deadline gets an outcome saying so.
 *
 * @returns one outcome per query, in the order given.
 */
export async function runInsightsQueries(client: CloudWatchLogsClient, run: InsightsRun): Promise<QueryOutcome[]> {
  const now = run.now ?? Date.now;
  const sleep = run.sleep ?? ((ms: number) => delay(ms));
  const interval = run.pollIntervalMs ?? 1_000;
  const outcomes: (QueryOutcome | undefined)[] = run.queries.map(() => undefined);

  const started = await Promise.allSettled(
    run.queries.map((query) =>
      client.send(
        new StartQueryCommand({
          logGroupName: run.logGroupName,
          startTime: Math.floor(run.startTime / 1000),
          endTime: Math.ceil(run.endTime / 1000),
          queryString: query.queryString,
          limit: query.limit ?? 5,
        }),
      ),
    ),
  );
  const queryIds: (string | undefined)[] = started.map((result, index) => {
    const name = run.queries[index]?.name ?? `query ${index}`;
    if (result.status === 'rejected') {
      outcomes[index] = { name, status: 'failed', reason: `could not start: ${describe(result.reason)}` };
      return undefined;
    }
    if (!result.value.queryId) {
      outcomes[index] = { name, status: 'failed', reason: 'could not start: StartQuery returned no query id' };
      return undefined;
    }
    return result.value.queryId;
  });

  const pending = () => queryIds.flatMap((id, index) => (id !== undefined && !outcomes[index] ? [index] : []));
  while (pending().length > 0) {
    const left = run.deadline - now();
    if (left <= 0) break;
    await sleep(Math.min(interval, left));
    await Promise.all(
      pending().map(async (index) => {
        const name = run.queries[index]?.name ?? `query ${index}`;
        try {
          const output = await client.send(new GetQueryResultsCommand({ queryId: queryIds[index] }));
          const status = output.status ?? 'Unknown';
          if (status === 'Complete') {
            outcomes[index] = { name, status: 'complete', rows: (output.results ?? []).map(toRow) };
          } else if (status !== 'Scheduled' && status !== 'Running') {
            outcomes[index] = { name, status: 'failed', reason: FINISHED_BADLY[status] ?? `status ${status}` };
          }
        } catch (error) {
          outcomes[index] = { name, status: 'failed', reason: `could not read results: ${describe(error)}` };
        }
      }),
    );
  }

  // Out of time: stop what still runs (it would go on scanning, and counting against the account's
  // concurrent query limit). Best effort; the outcome is "timed out" either way.
  const late = pending();
  await Promise.allSettled(late.map((index) => client.send(new StopQueryCommand({ queryId: queryIds[index] }))));
  for (const index of late) {
    outcomes[index] = {
      name: run.queries[index]?.name ?? `query ${index}`,
      status: 'timed-out',
      reason: 'not finished in time',
    };
  }
  return outcomes.map(
    (outcome, index) =>
      outcome ?? { name: run.queries[index]?.name ?? `query ${index}`, status: 'failed', reason: 'no outcome' },
  );
}

function toRow(fields: readonly ResultField[]): Record<string, string> {
  const row: Record<string, string> = {};
  for (const { field, value } of fields) {
    if (field !== undefined && field !== '@ptr' && value !== undefined) row[field] = value;
  }
  return row;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
