/**
 * The four Logs Insights queries of an attack summary, over the WAF log group, and how their rows
 * become top lists. No AWS imports.
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
