/**
 * The four Logs Insights queries of an attack summary, over the WAF log group, and how their rows
 * become top lists; and the query of an ops message for the blocker's last error, over the
 * blocker's log group, and how its row becomes one line of error. No AWS imports.
 *
 * WAF writes one JSON record per request; Logs Insights flattens it, so `httpRequest.clientIp`,
 * `httpRequest.country`, `terminatingRuleId` and `action` are fields. Headers are a list of
 * `{"name": ..., "value": ...}` objects, flattened by position (`httpRequest.headers.0.name`), so the
 * Host header's position varies: it is taken from the raw record with a regular expression instead.
 */
import type { TopEntry, TopLists } from './types';

/** Rows per list. */
export const TOP_N = 5;

/** A query and the field its rows are grouped by. */
export interface SummaryQuery {
  readonly name: keyof TopLists;
  readonly queryString: string;
  /** The grouping field as Logs Insights names it in the result rows. */
  readonly keyField: string;
}

const BLOCKED = 'filter action = "BLOCK"';
const TOP = `stats count(*) as requests by %s | sort requests desc | limit ${TOP_N}`;

/**
 * Host: header names are case-insensitive, and JSON may or may not have spaces after `:` and `,`.
 * `[^"]*` stops at the first quote, so an escaped quote in an attacker's Host cuts the value short,
 * which is fine for a summary.
 */
const HOST_PARSE = String.raw`parse @message /\{\s*"name"\s*:\s*"[Hh][Oo][Ss][Tt]"\s*,\s*"value"\s*:\s*"(?<host>[^"]*)"/`;

export const SUMMARY_QUERIES: readonly SummaryQuery[] = [
  {
    name: 'hosts',
    keyField: 'host',
    queryString: [BLOCKED, HOST_PARSE, 'filter ispresent(host)', TOP.replace('%s', 'host')].join(' | '),
  },
  {
    name: 'clientIps',
    keyField: 'httpRequest.clientIp',
    queryString: [BLOCKED, TOP.replace('%s', 'httpRequest.clientIp')].join(' | '),
  },
  {
    name: 'countries',
    keyField: 'httpRequest.country',
    queryString: [BLOCKED, TOP.replace('%s', 'httpRequest.country')].join(' | '),
  },
  {
    name: 'rules',
    keyField: 'terminatingRuleId',
    queryString: [BLOCKED, TOP.replace('%s', 'terminatingRuleId')].join(' | '),
  },
];

/** Result rows to a top list: the key field and `requests`, largest first, at most {@link TOP_N}. */
export function toTopEntries(rows: readonly Readonly<Record<string, string>>[], keyField: string): TopEntry[] {
  return rows
    .map((row) => ({ key: row[keyField] ?? '(none)', count: Number(row.requests ?? Number.NaN) }))
    .filter((entry) => Number.isFinite(entry.count))
    .sort((a, b) => b.count - a.count)
    .slice(0, TOP_N);
}

// --------------------------------------------------------------------------- the blocker's last error

/**
 * The blocker's last failure in its own log group: the handler's `blocker run failed` line
 * (Powertools JSON with `error.name` and `error.message`), Lambda's `Task timed out after …` (a
 * run that timed out logs nothing itself), or the runtime's `errorType` line (an error at module
 * load, e.g. a missing environment variable). The whole line is returned and read here, because
 * Lambda's text log format may put a timestamp and request id before the JSON, which keeps Logs
 * Insights from discovering its fields.
 */
export const LAST_ERROR_QUERY = {
  name: 'lastError',
  limit: 1,
  queryString: [
    'fields @timestamp, @message',
    String.raw`filter @message like /blocker run failed|Task timed out after|"errorType"/`,
    'sort @timestamp desc',
    'limit 1',
  ].join(' | '),
} as const;

/** How far before the alarm's state change the last error is looked for. */
export const LAST_ERROR_LOOKBACK_MS = 6 * 3_600_000;

/** Longest error text an ops message quotes (before escaping); the rest is cut with `…`. */
export const LAST_ERROR_LIMIT = 400;

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Logs Insights writes `@timestamp` as `2025-03-14 02:09:58.123`, in UTC without a zone. */
function insightsTime(value: string | undefined): number {
  return value === undefined ? Number.NaN : Date.parse(`${value.replace(' ', 'T')}Z`);
}

/** The JSON object a log line carries, after any text-format prefix; undefined when it has none. */
function jsonOf(line: string): Loose | undefined {
  const start = line.indexOf('{');
  if (start < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(line.slice(start));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function named(name: unknown, message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined;
  return `${typeof name === 'string' && name !== '' ? name : 'Error'}: ${message}`;
}

/**
 * What the failure line says, in one line: `Name: message` from the handler's or the runtime's
 * JSON, Lambda's own timeout line, or else the line as it is. Not cut: the renderer cuts.
 */
export function failureText(line: string): string {
  const record = jsonOf(line);
  const error = isObject(record?.error) ? record.error : undefined;
  const said =
    (record?.message === 'blocker run failed' ? named(error?.name, error?.message) : undefined) ??
    named(record?.errorType, record?.errorMessage);
  if (said !== undefined) return said;
  const timeout = /Task timed out after [\d.]+ seconds/.exec(line);
  return timeout ? timeout[0] : line.trim();
}

/**
 * The last failure in the result rows of {@link LAST_ERROR_QUERY} (newest first); undefined when
 * there is none. `at` is NaN when the row has no readable `@timestamp`.
 */
export function lastFailureOf(
  rows: readonly Readonly<Record<string, string>>[],
): { readonly at: number; readonly error: string } | undefined {
  const [row] = rows;
  const line = row?.['@message'];
  if (row === undefined || line === undefined) return undefined;
  return { at: insightsTime(row['@timestamp']), error: failureText(line) };
}
