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
 * An entry that is not a WAF record, a record whose timestamp WAF cannot have written (see
 * waf-record) and an entry over 16 MiB are counted by reason and skipped, never fatal, since one
 * torn line in a 1 GB export must not cost the operator the whole replay; what the skipped entries
 * looked like is kept (read-stats), so that a file with no WAF record at all can be named for what
 * it is (see log-shape). The readers that split text into entries are in record-readers.
 */
import { plural } from '../format';
import { describeFsError, LogReadError, logName, openLogText } from './log-text';
import { emptyReadStats, HEAD_CHARS, type LogLayout, type ReadStats } from './read-stats';
import { DocumentReader, LineReader, type RecordReader } from './record-readers';
import type { LoggedRequest } from './waf-record';

export { LogReadError, STDIN_PATH } from './log-text';
export {
  emptyReadStats,
  HEAD_CHARS,
  MALFORMED_REASONS,
  MALFORMED_SAMPLE_SIZE,
  type LogLayout,
  type MalformedReason,
  type MalformedTally,
  type ReadStats,
} from './read-stats';
export {
  EARLIEST_RECORD_MS,
  RECORDS_BEFORE_MS,
  parseWafRecord,
  type EntrySample,
  type LoggedHeader,
  type LoggedRequest,
  type MessageField,
} from './waf-record';

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
  const peeked = { prefix: '' };
  let reader: RecordReader | undefined;
  const next = async (): Promise<string | undefined> => {
    try {
      const result = await text.chunks.next();
      return result.done === true ? undefined : result.value;
    } catch (cause) {
      throw readError(logName(path), stats.gzipped, reader?.linesRead ?? countNewlines(peeked.prefix), cause);
    }
  };
  try {
    const complete = await peek(next, peeked);
    const { prefix } = peeked;
    stats.head = prefix.slice(0, HEAD_CHARS);
    stats.layout = detectLayout(prefix, complete);
    reader = stats.layout === 'document' ? new DocumentReader(stats) : new LineReader(stats);
    let batch: LoggedRequest[] = [];
    reader.push(prefix, batch);
    peeked.prefix = '';
    for (let chunk = complete ? undefined : await next(); chunk !== undefined; chunk = await next()) {
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

/**
 * The error for a file that stopped reading after `lines` whole lines of text. zlib's own words
 * ("unexpected end of file", "incorrect header check") do not say what is wrong with the file.
 */
function readError(path: string, gzipped: boolean, lines: number, cause: unknown): LogReadError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const zlib = cause instanceof Error ? ` (zlib: ${cause.message})` : '';
  const after = `after ${plural(lines, 'decompressed line')}`;
  if (gzipped && code === 'Z_BUF_ERROR') {
    return new LogReadError(`cannot read log file ${path}: the gzip stream is truncated, it ends ${after}${zlib}`, {
      cause,
    });
  }
  if (gzipped && code === 'Z_DATA_ERROR') {
    return new LogReadError(
      `cannot read log file ${path}: the gzip data is corrupt or followed by bytes that are not gzip, ` +
        `${after}${zlib}`,
      { cause },
    );
  }
  return new LogReadError(`cannot read log file ${path} after ${plural(lines, 'line')}: ${describeFsError(cause)}`, {
    cause,
  });
}

function countNewlines(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

/**
 * Reads into `peeked.prefix` until the layout can be decided.
 *
 * @returns whether that took the whole text.
 */
async function peek(next: () => Promise<string | undefined>, peeked: { prefix: string }): Promise<boolean> {
  for (;;) {
    const { prefix } = peeked;
    const first = prefix.search(/\S/);
    const decided =
      prefix.length >= PEEK_CHARS ||
      (first !== -1 && prefix[first] !== '{') ||
      (first !== -1 && leadingLines(prefix.slice(first), false).length >= 2);
    if (decided && prefix.length >= HEAD_CHARS) return false;
    const chunk = await next();
    if (chunk === undefined) return true;
    peeked.prefix += chunk;
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
