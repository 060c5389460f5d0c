/**
 * What a file that holds no WAF record looks like, from its first characters and what the reader
 * skipped: the operator who passed the wrong file (an ALB log, a CSV download, an empty export)
 * learns which one it was instead of reading "nothing would have been blocked".
 */
import { EARLIEST_RECORD_MS, RECORDS_BEFORE_MS, type ReadStats } from './waf-log';

/** The ALB access log: type, then an ISO 8601 time (`https 2024-01-01T00:00:00.123456Z app/...`). */
const ALB = /^(?:http|https|h2|grpcs|ws|wss) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /;
/** CloudFront's standard log: `#Version: 1.0` and `#Fields: date time x-edge-location ...` headers. */
const CLOUDFRONT = /^#(?:Version: \d|Fields: date time x-edge-location)/;
/** Apache and nginx common and combined formats: `host ident user [time] "request"`. */
const WEB_SERVER = /^\S+ \S+ \S+ \[[^\]]+\] "/;
/**
 * `aws logs tail --format json`: a timestamp with its UTC offset and the log stream name, then the
 * message pretty-printed over the following lines.
 */
const TAIL_JSON = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d:\d\d \S+ ?(\{?)\s*$/;

/**
 * The one line that says why `logFile` gives nothing to replay: it holds only WAF records with
 * impossible timestamps, or no WAF record at all and {@link describeContent} says what it is.
 */
export function noRecordsMessage(logFile: string, stats: ReadStats): string {
  const impossible = stats.malformedBy['impossible-timestamp'].count;
  const text = stats.malformedBy['text-timestamp'];
  if (text.count > 0 && stats.firstTextTimestamp !== undefined && impossible === 0) {
    const records = text.count === 1 ? 'record has' : `${text.count} records have`;
    return (
      `${logFile} holds no AWS WAF log record that replay can count: its ${records} a timestamp that is text, ` +
      `not epoch milliseconds (first at line ${text.lines[0] ?? '?'}: ${describeTextTimestamp(stats.firstTextTimestamp)})`
    );
  }
  if (impossible === 0 || stats.firstImpossibleTimestamp === undefined) {
    return `${logFile} holds no AWS WAF log records: ${describeContent(stats)}`;
  }
  return (
    `${logFile} holds no AWS WAF log record that replay can count: its ${impossible === 1 ? 'record has' : `${impossible} records have`} ` +
    `a timestamp that is not epoch milliseconds from ${new Date(EARLIEST_RECORD_MS).getUTCFullYear()} to ` +
    `${new Date(RECORDS_BEFORE_MS).getUTCFullYear() - 1}, such as ${describeTimestamp(stats.firstImpossibleTimestamp)}`
  );
}

/**
 * An impossible timestamp, with the unit it looks like when that is not milliseconds:
 * `1741917600, which looks like seconds`.
 */
export function describeTimestamp(timestamp: number): string {
  const inRange = (factor: number) =>
    timestamp * factor >= EARLIEST_RECORD_MS && timestamp * factor < RECORDS_BEFORE_MS;
  if (Number.isFinite(timestamp) && !Number.isInteger(timestamp) && inRange(1))
    return `${String(timestamp)}, which is not a whole number of milliseconds`;
  const unit = inRange(1000) ? 'seconds' : inRange(1 / 1000) ? 'microseconds' : undefined;
  return unit === undefined ? String(timestamp) : `${String(timestamp)}, which looks like ${unit}`;
}

/**
 * A timestamp that is text WAF never writes, and why replay does not read it:
 * `"2024-12-01T00:00:00Z", an ISO 8601 time: WAF writes epoch milliseconds, and a time written
 * out may have lost its zone or its milliseconds; convert it back (e.g. jq's fromdate * 1000)`.
 */
export function describeTextTimestamp(timestamp: string): string {
  const quoted = JSON.stringify(timestamp.length > 40 ? `${timestamp.slice(0, 40)}…` : timestamp);
  const iso = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(timestamp.trim());
  return iso
    ? `${quoted}, an ISO 8601 time: WAF writes epoch milliseconds, and replay does not guess the zone or ` +
        `precision of a time a tool wrote out; convert it back to epoch milliseconds`
    : `${quoted}, which is not a time WAF writes (epoch milliseconds)`;
}

/**
 * One phrase, "it ...", saying what the file read into `stats` is: for
 * `<file> holds no AWS WAF log records: <phrase>`.
 */
export function describeContent(stats: ReadStats): string {
  if (stats.bytesRead === 0) return 'it is empty';
  if (stats.head.trim() === '') return stats.gzipped ? 'it is empty once decompressed' : 'it holds only blank lines';
  const looks = isBinary(stats.head)
    ? 'binary data, not text'
    : stats.layout === 'document'
      ? describeDocument(stats)
      : describeLines(stats);
  return `it looks like ${looks}${stats.gzipped ? ', gzipped' : ''}`;
}

function describeLines(stats: ReadStats): string {
  const lines = stats.head.split('\n').filter((line) => line.trim() !== '');
  const first = lines[0] ?? '';
  if (ALB.test(first)) return 'an ALB access log (space-separated, starts with a protocol and a timestamp)';
  if (CLOUDFRONT.test(first)) return 'a CloudFront standard access log (tab-separated, with #Fields headers)';
  if (WEB_SERVER.test(first)) return 'a web server access log (Apache or nginx format)';
  const tail = TAIL_JSON.exec(first);
  if (tail !== null && (tail[1] === '{' || lines[1]?.trim() === '{')) {
    return (
      'aws logs tail --format json output, which replay does not read (each record is pretty-printed over ' +
      'several lines): run aws logs tail with --format detailed or short instead'
    );
  }
  const sample = stats.firstSkipped;
  if (sample?.value !== undefined) return `a JSON value that is not a WAF record (${sample.value})`;
  if (sample?.json === true) {
    if (sample.messageField !== undefined) {
      return `CloudWatch Logs events whose ${sample.messageField} is not a WAF record`;
    }
    return `JSON lines without WAF fields (${keyList(sample.keys)})`;
  }
  const columns = csvColumns(lines);
  if (columns !== undefined) {
    const hint = columns.includes('@message') ? ': download the Logs Insights results as JSON instead' : '';
    return `CSV (first columns: ${columns.slice(0, 5).join(', ')})${hint}`;
  }
  return 'plain text';
}

function describeDocument(stats: ReadStats): string {
  const outline = stats.outline;
  const sample = stats.firstSkipped;
  if (stats.lines === 0 && outline?.eventsArrays !== undefined && outline.eventsArrays > 0) {
    return 'aws logs filter-log-events output with no events';
  }
  // Only items that are not objects (or none): counted as entries, none of them a record.
  if (stats.lines === stats.valueItems && outline?.firstTopLevel === 'array') {
    return outline.valueItems ? 'a JSON array of values that are not WAF records' : 'an empty JSON array';
  }
  if (sample?.messageField === '@message')
    return 'a CloudWatch Logs Insights export whose @message is not a WAF record';
  if (sample?.messageField === 'message') return 'CloudWatch Logs events whose message is not a WAF record';
  const kind = outline?.firstTopLevel === 'array' ? 'a JSON array' : 'a JSON document';
  if (sample?.json === true) return `${kind} without WAF fields (${keyList(sample.keys)})`;
  return `${kind} that does not parse`;
}

function keyList(keys: readonly string[]): string {
  return keys.length === 0 ? 'no keys' : `first keys: ${keys.join(', ')}`;
}

/** The columns of a CSV header line: two or more names without spaces, such as `@timestamp,@message`. */
function csvColumns(lines: readonly string[]): string[] | undefined {
  const columns = (lines[0] ?? '').split(',').map((column) => column.trim().replace(/^"(.*)"$/, '$1'));
  return columns.length >= 2 && columns.every((column) => /^[@\w.-]+$/.test(column)) ? columns : undefined;
}

/** NUL characters, or more than one control or undecodable character in ten. */
function isBinary(head: string): boolean {
  if (head.includes('\u0000')) return true;
  let odd = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0xfffd) odd++;
  }
  return odd * 10 > head.length;
}
