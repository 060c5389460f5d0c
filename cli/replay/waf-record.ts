/**
 * What a WAF log record is, and where operators' files keep it: a record on its own, after a text
 * prefix (a timestamp, a log stream name), inside a CloudWatch Logs event (`message`) or Logs
 * Insights row (`@message`), or in the `events` of a filter-log-events page.
 *
 * A record is an object with a `timestamp` and a string `httpRequest.clientIp`. Its timestamp is
 * a number, or digits in a string (a tool that rewrote the record may quote it), and must be a time
 * WAF can have written: epoch milliseconds from {@link EARLIEST_RECORD_MS}
 * (2015-01-01, before AWS WAF had logging) up to {@link RECORDS_BEFORE_MS} (2100-01-01). The range
 * is fixed, not relative to the clock, so that a replay of a file always gives the same answer; it
 * refuses the mistakes that matter: seconds (1741917600 is January 1970 in milliseconds),
 * microseconds (year 57000), 0, negative values, fractions of a millisecond and numbers no date
 * can hold. Other text (an ISO
 * 8601 time) is refused too: WAF never writes it, and reading it would guess a time zone.
 */

/** One HTTP request header as WAF logs it. */
export interface LoggedHeader {
  readonly name: string;
  readonly value: string;
}

/** The fields of a WAF log record that rate-based rules look at. */
export interface LoggedRequest {
  /** Epoch milliseconds, from {@link EARLIEST_RECORD_MS} to before {@link RECORDS_BEFORE_MS}. */
  readonly timestamp: number;
  /** The connecting address (`httpRequest.clientIp`), as logged: not checked to be an address. */
  readonly clientIp: string;
  /** The URI path (`httpRequest.uri`), without the query string. */
  readonly uri: string;
  readonly headers: readonly LoggedHeader[];
  /** `httpRequest.requestId`: WAF's id of the request, the same in every copy of its record. */
  readonly requestId?: string;
  /** The record's `action`: what WAF did with the request (`ALLOW`, `BLOCK`, `COUNT`, `CAPTCHA`, ...). */
  readonly action?: string;
  /**
   * The names in the record's `labels` (`[{ "name": "awswaf:managed:aws:anti-ddos:…" }]`): the labels
   * that rules evaluated before the terminating rule added; absent when the record has no `labels`.
   */
  readonly labels?: readonly string[];
  /**
   * Set when the record has a `labels` that is neither `null` nor a list of `{ "name": string }`
   * (an object, a string, an entry without a string name): a record a tool rewrote or damaged,
   * whose labels cannot be read. {@link LoggedRequest.labels} is then absent.
   */
  readonly labelsMalformed?: true;
  /** The record's `terminatingRuleId`: the web ACL rule that ended the request (`Default_Action` if none). */
  readonly terminatingRuleId?: string;
}

/** The earliest `timestamp` a WAF record can hold: 2015-01-01T00:00:00Z, epoch milliseconds. */
export const EARLIEST_RECORD_MS = Date.UTC(2015, 0, 1);
/** The first `timestamp` too late for a WAF record: 2100-01-01T00:00:00Z, epoch milliseconds. */
export const RECORDS_BEFORE_MS = Date.UTC(2100, 0, 1);

/** Where a CloudWatch Logs wrapper keeps the log event: `message` (events), `@message` (Logs Insights rows). */
export type MessageField = 'message' | '@message';

/** Receives the WAF records found in one entry. */
export interface RecordSink {
  /** A record to count; `via` names the CloudWatch Logs wrapper field it was found in, if any. */
  request(request: LoggedRequest, via: MessageField | undefined): void;
  /** A record whose `timestamp` is outside the range WAF can have written (see the module header). */
  impossibleTimestamp(timestamp: number): void;
  /** A record whose `timestamp` is text that is not epoch milliseconds (an ISO 8601 time, say). */
  textTimestamp(timestamp: string): void;
}

/** What the first entry that was not a WAF record held. */
export interface EntrySample {
  /** Whether it was JSON (after any text prefix). */
  readonly json: boolean;
  /** Its first keys, when it was a JSON object. */
  readonly keys: readonly string[];
  /** The wrapper field that held a string, when it had one. */
  readonly messageField?: MessageField;
  /** When it was a JSON value but not an object: the value as JSON, cut to 40 characters (`null`, `42`). */
  readonly value?: string;
}

/** Whether `timestamp` is a time WAF can have written; see the module header. */
export function isPlausibleTimestamp(timestamp: number): boolean {
  // WAF writes whole milliseconds: a fraction (1741917600101.5) is a tool's rewrite, not WAF's time.
  return Number.isInteger(timestamp) && timestamp >= EARLIEST_RECORD_MS && timestamp < RECORDS_BEFORE_MS;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Epoch milliseconds written as digits, as a record rewritten by a tool may hold them: `"1733000000000"`. */
const DIGITS = /^\d{1,16}$/;

/**
 * The record's request; or its timestamp when WAF cannot have written it (a number out of range,
 * or text other than digits); or `undefined` when it is no WAF record.
 */
function wafRequest(record: Record<string, unknown>): LoggedRequest | number | string | undefined {
  const { httpRequest, timestamp: logged } = record;
  if ((typeof logged !== 'number' && typeof logged !== 'string') || !isObject(httpRequest)) return undefined;
  const { clientIp, uri, headers, requestId } = httpRequest;
  if (typeof clientIp !== 'string') return undefined;
  if (typeof logged === 'string' && !DIGITS.test(logged.trim())) return logged;
  const timestamp = typeof logged === 'string' ? Number(logged.trim()) : logged;
  if (!isPlausibleTimestamp(timestamp)) return timestamp;
  const kept: LoggedHeader[] = [];
  if (Array.isArray(headers)) {
    for (const header of headers as unknown[]) {
      if (isObject(header) && typeof header.name === 'string' && typeof header.value === 'string') {
        kept.push({ name: header.name, value: header.value });
      }
    }
  }
  return {
    timestamp,
    clientIp,
    uri: typeof uri === 'string' ? uri : '',
    headers: kept,
    ...(typeof requestId === 'string' && requestId !== '' ? { requestId } : {}),
    ...(typeof record.action === 'string' ? { action: record.action } : {}),
    ...(typeof record.terminatingRuleId === 'string' ? { terminatingRuleId: record.terminatingRuleId } : {}),
    ...labelFields(record.labels),
  };
}

/**
 * A record's `labels` as {@link LoggedRequest} keeps them: absent or `null` is no labels; a list
 * of `{ name: string }` their names; anything else is malformed, so that it is not taken for "no
 * labels" (which a replay explains by the blocklist).
 */
function labelFields(labels: unknown): Pick<LoggedRequest, 'labels' | 'labelsMalformed'> {
  if (labels === undefined || labels === null) return {};
  if (!Array.isArray(labels)) return { labelsMalformed: true };
  const names: string[] = [];
  for (const label of labels as unknown[]) {
    if (!isObject(label) || typeof label.name !== 'string') return { labelsMalformed: true };
    names.push(label.name);
  }
  return { labels: names };
}

/** Hands a {@link wafRequest} result to the sink; whether it was a WAF record. */
function deliver(found: LoggedRequest | number | string | undefined, sink: RecordSink, via?: MessageField): boolean {
  if (found === undefined) return false;
  if (typeof found === 'number') sink.impossibleTimestamp(found);
  else if (typeof found === 'string') sink.textTimestamp(found);
  else sink.request(found, via);
  return true;
}

/** The JSON object after any text prefix (a timestamp, a stream name), or `undefined` when there is none. */
export function parseAfterPrefix(text: string): unknown {
  const start = text.indexOf('{');
  if (start === -1) return undefined;
  try {
    return JSON.parse(start === 0 ? text : text.slice(start)) as unknown;
  } catch {
    // Not JSON: the caller counts the entry as malformed.
    return undefined;
  }
}

/** The WAF record in a CloudWatch Logs event or Logs Insights row, if its message holds one. */
function wrappedRequest(entry: Record<string, unknown>): [LoggedRequest | number | string, MessageField] | undefined {
  for (const field of ['message', '@message'] as const) {
    const message = entry[field];
    const inner = typeof message === 'string' ? parseAfterPrefix(message) : message;
    if (!isObject(inner)) continue;
    const found = wafRequest(inner);
    if (found !== undefined) return [found, field];
  }
  return undefined;
}

/**
 * Hands the WAF records in one parsed entry to `sink`: a record, a CloudWatch Logs event or Logs
 * Insights row whose message holds one, or a whole filter-log-events page on one line.
 *
 * @returns how many WAF records it held, counted or not.
 */
export function findRecords(entry: unknown, sink: RecordSink): number {
  if (!isObject(entry)) return 0;
  if (deliver(wafRequest(entry), sink)) return 1;
  const wrapped = wrappedRequest(entry);
  if (wrapped !== undefined) {
    deliver(wrapped[0], sink, wrapped[1]);
    return 1;
  }
  if (!Array.isArray(entry.events)) return 0;
  let found = 0;
  for (const event of entry.events as unknown[]) {
    const inner = isObject(event) ? wrappedRequest(event) : undefined;
    if (inner !== undefined && deliver(inner[0], sink, inner[1])) found++;
  }
  return found;
}

/**
 * What an entry that held no WAF record looked like. `text` is the entry's text, looked at again
 * only when it did not parse as an object (a line such as `null` or `42`).
 */
export function sampleOf(entry: unknown, text: string | undefined): EntrySample {
  if (isObject(entry)) {
    const keys = Object.keys(entry).slice(0, 5);
    const messageField = (['@message', 'message'] as const).find((field) => typeof entry[field] === 'string');
    return messageField === undefined ? { json: true, keys } : { json: true, keys, messageField };
  }
  const value = entry ?? parseWhole(text);
  if (value === undefined) return { json: false, keys: [] };
  return { json: true, keys: [], value: JSON.stringify(value).slice(0, 40) };
}

function parseWhole(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON at all.
    return undefined;
  }
}

/**
 * The request in one log line, or `undefined` when the line holds no WAF record we can count (not
 * JSON, without a numeric `timestamp` and a string `httpRequest.clientIp`, or with an impossible
 * timestamp). Text before the JSON (a timestamp, a log stream name) is skipped; a CloudWatch Logs
 * event's `message` is read.
 */
export function parseWafRecord(line: string): LoggedRequest | undefined {
  let found: LoggedRequest | undefined;
  findRecords(parseAfterPrefix(line), {
    request: (request) => (found ??= request),
    impossibleTimestamp: () => undefined,
    textTimestamp: () => undefined,
  });
  return found;
}
