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
import { describeFsError, LogReadError, logName, openLogText, type DamageReport } from './log-text';
import { emptyReadStats, HEAD_CHARS, type LogLayout, type ReadStats } from './read-stats';
import { DocumentReader, LineReader, type RecordReader } from './record-readers';
import type { LoggedRequest } from './waf-record';

export type { GzipDamage } from './gzip-members';
export { LogReadError, STDIN_PATH, type DamageReport } from './log-text';
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
 * `stats` is updated as the file is read. A damaged gzip file yields the records of every whole
 * line that could be decompressed, and then sets `stats.damage`.
 *
 * @throws LogReadError when the file cannot be opened or read; batches yielded before stay valid.
 */
export async function* readWafLogBatches(
  path: string,
  stats: ReadStats = emptyReadStats(),
): AsyncGenerator<LoggedRequest[]> {
  const text = await openLogText(path, stats);
  const peeked = { prefix: '' };
  let reader: RecordReader | undefined;
  let last = '';
  const next = async (): Promise<string | undefined> => {
    try {
      const result = await text.chunks.next();
      if (result.done === true) return undefined;
      if (result.value !== '') last = result.value;
      return result.value;
    } catch (cause) {
      throw readError(logName(path), reader?.linesRead ?? countNewlines(peeked.prefix), cause);
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
    const gzip = text.damage();
    // Text cut short ends inside a line or entry: it is part of the damage, not a malformed line.
    if (gzip === undefined) reader.end(batch);
    else stats.damage = { gzip, lines: reader.linesRead, partial: last !== '' && !last.endsWith('\n') };
    if (batch.length > 0) yield batch;
  } finally {
    await text.close();
  }
}

/**
 * One line naming the damage of a gzip file and what was replayed of it, e.g. `sample.gz: the
 * gzip data is truncated after 16,955 lines; replayed the lines read`.
 */
export function damageMessage(file: string, { gzip: damage, lines, partial }: DamageReport): string {
  const cut = partial ? ', and a last line cut short that was not' : '';
  const read = plural(lines, 'line');
  if (damage.kind === 'trailing') {
    return (
      `${file}: the gzip data is followed by ${plural(damage.trailingBytes, 'byte')} that are not gzip; ` +
      `replayed the ${read} before them${cut}`
    );
  }
  if (damage.kind === 'truncated')
    return `${file}: the gzip data is truncated after ${read}; replayed the lines read${cut}`;
  if (damage.kind === 'checksum')
    return (
      `${file}: the gzip data does not match its checksum (${damage.reason}), found after ${read}: ` +
      `corrupt data can inflate to other text without error, so any of those lines may be altered and the replay may be wrong${cut}`
    );
  return `${file}: the gzip data is corrupt after ${read} (${damage.reason}); replayed the lines before it${cut}`;
}

/** The error for a file that stopped reading after `lines` whole lines of text. */
function readError(path: string, lines: number, cause: unknown): LogReadError {
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
