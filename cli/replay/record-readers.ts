/**
 * The two ways of splitting decoded text into entries, each counting the WAF records it finds into
 * {@link ReadStats}: one entry per line, or the entries of JSON documents.
 */
import { JsonEntryScanner, MAX_ENTRY_CHARS } from './json-entries';
import { noteMalformed, type ReadStats } from './read-stats';
import {
  findRecords,
  parseAfterPrefix,
  sampleOf,
  type LoggedRequest,
  type MessageField,
  type RecordSink,
} from './waf-record';

/** Reads decoded text chunk by chunk and adds the records it finds to `out`. */
export interface RecordReader {
  push(text: string, out: LoggedRequest[]): void;
  end(out: LoggedRequest[]): void;
  /** Newlines read so far: the whole lines behind the reader, for error messages. */
  readonly linesRead: number;
}

/**
 * Counts the records of one parsed entry into `stats` and `out`, and notes the entry as malformed
 * when it held none. `text` is the entry's text, looked at again only to describe the first one skipped.
 */
class EntryCounter implements RecordSink {
  private out: LoggedRequest[] = [];
  private line = 0;

  constructor(private readonly stats: ReadStats) {}

  count(entry: unknown, text: string | undefined, line: number, out: LoggedRequest[]): void {
    this.out = out;
    this.line = line;
    this.stats.lines++;
    if (findRecords(entry, this) > 0) return;
    noteMalformed(this.stats, line, 'no-record');
    this.stats.firstSkipped ??= sampleOf(entry, text);
  }

  request(request: LoggedRequest, via: MessageField | undefined): void {
    this.out.push(request);
    this.stats.records++;
    if (via !== undefined) this.stats.wrapped[via]++;
  }

  impossibleTimestamp(timestamp: number): void {
    this.stats.firstImpossibleTimestamp ??= timestamp;
    noteMalformed(this.stats, this.line, 'impossible-timestamp');
  }

  textTimestamp(timestamp: string): void {
    this.stats.firstTextTimestamp ??= timestamp;
    noteMalformed(this.stats, this.line, 'text-timestamp');
  }

  /** An entry too long to hold, not read. */
  oversized(line: number): void {
    this.stats.lines++;
    noteMalformed(this.stats, line, 'oversized');
  }
}

/**
 * One entry per line. A line is kept as the chunks that hold it, and each chunk is searched for a
 * newline once: the work is linear in the text however long a line is. A line longer than
 * {@link MAX_ENTRY_CHARS} is dropped as soon as it is, and the text up to its newline is skipped
 * without being kept.
 */
export class LineReader implements RecordReader {
  /** Lines ended by a newline so far. */
  linesRead = 0;
  /** Characters the newline search has looked at: each character of the text once. */
  scannedChars = 0;
  private parts: string[] = [];
  private partChars = 0;
  private skipping = false;
  private readonly counter: EntryCounter;

  constructor(stats: ReadStats) {
    this.counter = new EntryCounter(stats);
  }

  /** Characters of the unfinished line held until its newline comes: at most {@link MAX_ENTRY_CHARS}. */
  get retainedChars(): number {
    return this.partChars;
  }

  push(text: string, out: LoggedRequest[]): void {
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.scannedChars += end + 1 - start;
      this.endLine(text.slice(start, end), out);
      start = end + 1;
    }
    this.scannedChars += text.length - start;
    if (this.skipping || start === text.length) return;
    this.keep(start === 0 ? text : text.slice(start));
  }

  end(out: LoggedRequest[]): void {
    if (this.skipping || this.partChars > 0) this.endLine('', out);
  }

  private keep(part: string): void {
    if (this.partChars + part.length > MAX_ENTRY_CHARS) {
      this.drop();
      return;
    }
    this.parts.push(part);
    this.partChars += part.length;
  }

  /** The line being read is too long: what is held goes, the rest is skipped up to its newline. */
  private drop(): void {
    this.parts = [];
    this.partChars = 0;
    this.skipping = true;
    this.counter.oversized(this.linesRead + 1);
  }

  private endLine(tail: string, out: LoggedRequest[]): void {
    if (!this.skipping && this.partChars + tail.length > MAX_ENTRY_CHARS) this.drop();
    this.linesRead++;
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    let line = tail;
    if (this.parts.length > 0) {
      this.parts.push(tail);
      line = this.parts.join('');
      this.parts = [];
      this.partChars = 0;
    }
    if (line.trim() === '') return;
    this.counter.count(parseAfterPrefix(line), line, this.linesRead, out);
  }
}

/** Entries of JSON documents, split by {@link JsonEntryScanner}. */
export class DocumentReader implements RecordReader {
  private readonly scanner: JsonEntryScanner;
  private readonly counter: EntryCounter;
  private out: LoggedRequest[] = [];

  constructor(stats: ReadStats) {
    this.counter = new EntryCounter(stats);
    this.scanner = new JsonEntryScanner({
      entry: (text, line) => {
        this.onEntry(text, line);
      },
      stray: (line, oversized) => {
        if (oversized) this.counter.oversized(line);
        else this.counter.count(undefined, undefined, line, this.out);
      },
      // An array item that is not an object holds no record: malformed, as a line without one is.
      valueItem: (line) => {
        stats.valueItems++;
        this.counter.count(undefined, undefined, line, this.out);
      },
    });
    stats.outline = this.scanner.outline;
  }

  get linesRead(): number {
    return this.scanner.currentLine - 1;
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
    let entry: unknown;
    try {
      entry = JSON.parse(text) as unknown;
    } catch {
      // Structurally whole but not JSON (e.g. a trailing comma): counted as malformed.
      entry = undefined;
    }
    this.counter.count(entry, undefined, line, this.out);
  }
}
