/**
 * Reads AWS WAF log records from the files operators have, whatever they are called, plain or
 * gzipped; the shape is told by content:
 *
 * - JSON lines as WAF writes them to S3, Firehose and CloudWatch Logs, also with a text prefix
 *   before the JSON (a CloudWatch Logs export to S3, `aws logs tail` lines: timestamp, stream
 *   name, record), and CloudWatch Logs events one per line (`{"message": "<WAF record>", ...}`);
 * - JSON documents: a CloudWatch Logs Insights export ("Download table (JSON)": an array of rows
 *   whose `@message` holds the record as a string), `aws logs filter-log-events` output (an
 *   object whose `events` hold the record in `message`; pages may follow one another), an array
 *   of records, or pretty-printed records one after the other.
 *
 * Both stream: memory stays flat however large the file (a document holds one entry at a time).
 * An entry that is not a WAF record is counted and skipped, never fatal, since one torn line in a
 * 1 GB export must not cost the operator the whole replay; what the skipped entries looked like
 * is kept, so that a file with no WAF record at all can be named for what it is (see log-shape).
 */
import { JsonEntryScanner, MAX_ENTRY_CHARS, type DocumentOutline } from './json-entries';
import { describeFsError, LogReadError, openLogText, type FileProgress } from './log-text';

export { LogReadError } from './log-text';

/** One HTTP request header as WAF logs it. */
export interface LoggedHeader {
  readonly name: string;
  readonly value: string;
}

/** The fields of a WAF log record that rate-based rules look at. */
export interface LoggedRequest {
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** The connecting address (`httpRequest.clientIp`). */
  readonly clientIp: string;
  /** The URI path (`httpRequest.uri`), without the query string. */
  readonly uri: string;
  readonly headers: readonly LoggedHeader[];
}

/** How many line numbers of malformed entries are kept for the report. */
export const MALFORMED_SAMPLE_SIZE = 5;
/** Characters of the file's start kept to say what it is when it holds no WAF record. */
export const HEAD_CHARS = 4096;

/** How the content is read: line by line, or as JSON documents split into entries. */
export type LogLayout = 'lines' | 'document';

/** Where a CloudWatch Logs wrapper keeps the log event: `message` (events), `@message` (Logs Insights rows). */
export type MessageField = 'message' | '@message';

/** What the first entry that was not a WAF record held. */
export interface EntrySample {
  /** Whether it was JSON (after any text prefix). */
  readonly json: boolean;
  /** Its first keys, when it was a JSON object. */
  readonly keys: readonly string[];
  /** The wrapper field that held a string, when it had one. */
  readonly messageField?: MessageField;
}

/** Counts kept while reading, updated in place so that progress can be shown mid-stream. */
export interface ReadStats extends FileProgress {
  /** Non-blank lines seen, or entries of a JSON document. */
  lines: number;
  /** WAF records read. */
  records: number;
  /** Of those, records found inside a CloudWatch Logs wrapper, by its field. */
  readonly wrapped: Record<MessageField, number>;
  /** Lines or entries that held no WAF record. */
  malformed: number;
  /** 1-based line numbers of the first {@link MALFORMED_SAMPLE_SIZE} of them. */
  readonly malformedLines: number[];
  /** Decided from the first bytes; undefined until then. */
  layout: LogLayout | undefined;
  /** The first {@link HEAD_CHARS} characters of the (decompressed) text. */
  head: string;
  firstSkipped: EntrySample | undefined;
  /** For a JSON document: its top-level shape. */
  outline: DocumentOutline | undefined;
}

/** Stats before anything is read, for {@link readWafLogBatches} to fill in. */
export function emptyReadStats(): ReadStats {
  return {
    lines: 0,
    records: 0,
    wrapped: { message: 0, '@message': 0 },
    malformed: 0,
    malformedLines: [],
    bytesRead: 0,
    fileBytes: 0,
    gzipped: false,
    layout: undefined,
    head: '',
    firstSkipped: undefined,
    outline: undefined,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request of a WAF record: a numeric `timestamp` and a string `httpRequest.clientIp`, at least. */
function wafRequest(record: Record<string, unknown>): LoggedRequest | undefined {
  const { timestamp, httpRequest } = record;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || !isObject(httpRequest)) return undefined;
  const { clientIp, uri, headers } = httpRequest;
  if (typeof clientIp !== 'string') return undefined;
  const logged: LoggedHeader[] = [];
  if (Array.isArray(headers)) {
    for (const header of headers as unknown[]) {
      if (isObject(header) && typeof header.name === 'string' && typeof header.value === 'string') {
        logged.push({ name: header.name, value: header.value });
      }
    }
  }
  return { timestamp, clientIp, uri: typeof uri === 'string' ? uri : '', headers: logged };
}

/** The JSON value after any text prefix (a timestamp, a stream name), or `undefined` when there is none. */
function parseAfterPrefix(text: string): unknown {
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
function wrappedRequest(entry: Record<string, unknown>, stats: ReadStats): LoggedRequest | undefined {
  for (const field of ['message', '@message'] as const) {
    const message = entry[field];
    const inner = typeof message === 'string' ? parseAfterPrefix(message) : message;
    if (!isObject(inner)) continue;
    const request = wafRequest(inner);
    if (request === undefined) continue;
    stats.wrapped[field]++;
    return request;
  }
  return undefined;
}

/**
 * Adds the WAF records in one parsed entry to `out`: a record, a CloudWatch Logs event or Logs
 * Insights row whose message holds one, or a whole filter-log-events page on one line.
 *
 * @returns how many were added.
 */
function collectRecords(entry: unknown, out: LoggedRequest[], stats: ReadStats): number {
  if (!isObject(entry)) return 0;
  const request = wafRequest(entry) ?? wrappedRequest(entry, stats);
  if (request !== undefined) {
    out.push(request);
    return 1;
  }
  if (!Array.isArray(entry.events)) return 0;
  let added = 0;
  for (const event of entry.events as unknown[]) {
    const inner = isObject(event) ? wrappedRequest(event, stats) : undefined;
    if (inner === undefined) continue;
    out.push(inner);
    added++;
  }
  return added;
}

function sampleOf(entry: unknown): EntrySample {
  if (!isObject(entry)) return { json: entry !== undefined, keys: [] };
  const keys = Object.keys(entry).slice(0, 5);
  const messageField = (['@message', 'message'] as const).find((field) => typeof entry[field] === 'string');
  return messageField === undefined ? { json: true, keys } : { json: true, keys, messageField };
}

/**
 * The request in one log line, or `undefined` when the line holds no WAF record (not JSON, or
 * without a numeric `timestamp` and a string `httpRequest.clientIp`). Text before the JSON (a
 * timestamp, a log stream name) is skipped; a CloudWatch Logs event's `message` is read.
 */
export function parseWafRecord(line: string): LoggedRequest | undefined {
  const out: LoggedRequest[] = [];
  collectRecords(parseAfterPrefix(line), out, emptyReadStats());
  return out[0];
}

/** Reads decoded text chunk by chunk and adds the records it finds to `out`. */
interface RecordReader {
  push(text: string, out: LoggedRequest[]): void;
  end(out: LoggedRequest[]): void;
  /** The 1-based line reached, for error messages. */
  readonly line: number;
}

function noteMalformed(stats: ReadStats, line: number, entry: unknown): void {
  stats.malformed++;
  if (stats.malformedLines.length < MALFORMED_SAMPLE_SIZE) stats.malformedLines.push(line);
  stats.firstSkipped ??= sampleOf(entry);
}

/** One entry per line; a line longer than {@link MAX_ENTRY_CHARS} is skipped, not held. */
class LineReader implements RecordReader {
  line = 0;
  private carry = '';
  private skipping = false;

  constructor(private readonly stats: ReadStats) {}

  push(text: string, out: LoggedRequest[]): void {
    const data = this.carry === '' ? text : this.carry + text;
    this.carry = '';
    let start = 0;
    for (let end = data.indexOf('\n'); end !== -1; end = data.indexOf('\n', start)) {
      if (this.skipping) {
        this.skipping = false;
        this.line++;
      } else {
        this.onLine(data.slice(start, end), out);
      }
      start = end + 1;
    }
    if (this.skipping) return;
    if (data.length - start > MAX_ENTRY_CHARS) {
      this.skipping = true;
      this.stats.lines++;
      noteMalformed(this.stats, this.line + 1, undefined);
    } else {
      this.carry = data.slice(start);
    }
  }

  end(out: LoggedRequest[]): void {
    if (!this.skipping && this.carry !== '') this.onLine(this.carry, out);
    this.carry = '';
  }

  private onLine(line: string, out: LoggedRequest[]): void {
    this.line++;
    if (line.trim() === '') return;
    this.stats.lines++;
    const entry = parseAfterPrefix(line);
    const added = collectRecords(entry, out, this.stats);
    if (added > 0) this.stats.records += added;
    else noteMalformed(this.stats, this.line, entry);
  }
}

/** Entries of JSON documents, split by {@link JsonEntryScanner}. */
class DocumentReader implements RecordReader {
  private readonly scanner: JsonEntryScanner;
  private out: LoggedRequest[] = [];

  constructor(private readonly stats: ReadStats) {
    this.scanner = new JsonEntryScanner({
      entry: (text, line) => {
        this.onEntry(text, line);
      },
      stray: (line) => {
        stats.lines++;
        noteMalformed(stats, line, undefined);
      },
    });
    stats.outline = this.scanner.outline;
  }

  get line(): number {
    return this.scanner.currentLine;
  }

  push(text: string, out: LoggedRequest[]): void {
    this.out = out;
    this.scanner.push(text);
  }

  end(out: LoggedRequest[]): void {
    this.out = out;
    this.scanner.end();
  }

  private onEntry(text: string, line: number): void {
    this.stats.lines++;
    let entry: unknown;
    try {
      entry = JSON.parse(text) as unknown;
    } catch {
      // Structurally whole but not JSON (e.g. a trailing comma): counted as malformed below.
      entry = undefined;
    }
    const added = collectRecords(entry, this.out, this.stats);
    if (added > 0) this.stats.records += added;
    else noteMalformed(this.stats, line, entry);
  }
}

/** Text read before the layout is decided: up to two whole lines, or this many characters. */
const PEEK_CHARS = 1024 * 1024;

/**
 * JSON lines unless the text starts with `[`, or with `{` and neither of its first two lines is a
 * whole JSON value on its own (a pretty-printed or multi-line document).
 */
export function detectLayout(prefix: string, complete: boolean): LogLayout {
  const first = prefix.search(/\S/);
  if (first === -1 || (prefix[first] !== '[' && prefix[first] !== '{')) return 'lines';
  if (prefix[first] === '[') return 'document';
  for (const line of leadingLines(prefix.slice(first), complete)) {
    try {
      JSON.parse(line);
      return 'lines';
    } catch {
      // Part of a larger document; look at the next line.
    }
  }
  return 'document';
}

/** The first two non-blank lines that are whole (followed by a newline, or by the end of a complete text). */
function leadingLines(text: string, complete: boolean): string[] {
  const pieces = text.split('\n', 64);
  if (!complete || pieces.length === 64) pieces.pop();
  return pieces.filter((piece) => piece.trim() !== '').slice(0, 2);
}

/**
 * Yields the WAF requests of a log file in file order, in batches (one per chunk of text read).
 * `stats` is updated as the file is read.
 *
 * @throws LogReadError when the file cannot be opened or decoded; batches yielded before stay valid.
 */
export async function* readWafLogBatches(
  path: string,
  stats: ReadStats = emptyReadStats(),
): AsyncGenerator<LoggedRequest[]> {
  const text = await openLogText(path, stats);
  let reader: RecordReader | undefined;
  const next = async () => {
    try {
      return await text.chunks.next();
    } catch (cause) {
      throw new LogReadError(
        `cannot read log file ${path} after line ${reader?.line ?? 0}: ${describeFsError(cause)}`,
        {
          cause,
        },
      );
    }
  };
  try {
    const { prefix, complete } = await peek(next);
    stats.head = prefix.slice(0, HEAD_CHARS);
    stats.layout = detectLayout(prefix, complete);
    reader = stats.layout === 'document' ? new DocumentReader(stats) : new LineReader(stats);
    let batch: LoggedRequest[] = [];
    reader.push(prefix, batch);
    for (let chunk = complete ? undefined : await nextText(next); chunk !== undefined; chunk = await nextText(next)) {
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
      reader.push(chunk, batch);
    }
    reader.end(batch);
    if (batch.length > 0) yield batch;
  } finally {
    await text.close();
  }
}

async function nextText(next: () => Promise<IteratorResult<string>>): Promise<string | undefined> {
  const result = await next();
  return result.done === true ? undefined : result.value;
}

/** Reads until the layout can be decided; `complete` when that took the whole text. */
async function peek(next: () => Promise<IteratorResult<string>>): Promise<{ prefix: string; complete: boolean }> {
  let prefix = '';
  for (;;) {
    const first = prefix.search(/\S/);
    const decided =
      prefix.length >= PEEK_CHARS ||
      (first !== -1 && prefix[first] !== '{') ||
      (first !== -1 && leadingLines(prefix.slice(first), false).length >= 2);
    if (decided && prefix.length >= HEAD_CHARS) return { prefix, complete: false };
    const chunk = await nextText(next);
    if (chunk === undefined) return { prefix, complete: true };
    prefix += chunk;
  }
}

/**
 * Yields the WAF requests of a log file one by one, in file order; see {@link readWafLogBatches}.
 *
 * @throws LogReadError when the file cannot be opened or decoded; records yielded before stay valid.
 */
export async function* readWafLog(path: string, stats: ReadStats = emptyReadStats()): AsyncGenerator<LoggedRequest> {
  for await (const batch of readWafLogBatches(path, stats)) yield* batch;
}
