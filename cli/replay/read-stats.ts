/**
 * What reading a log file counted: lines, records, what was skipped and why, and what the start of
 * the file looked like, kept so that a replay can report them and name a file with no WAF record.
 */
import type { DocumentOutline } from './json-entries';
import type { FileProgress } from './log-text';
import type { EntrySample, MessageField } from './waf-record';

/** How many line numbers of malformed entries are kept for the report, per reason and in all. */
export const MALFORMED_SAMPLE_SIZE = 5;
/** Characters of the file's start kept to say what it is when it holds no WAF record. */
export const HEAD_CHARS = 4096;

/** How the content is read: line by line, or as JSON documents split into entries. */
export type LogLayout = 'lines' | 'document';

/**
 * Why a line or entry was skipped: it held no WAF record, a WAF record whose timestamp WAF cannot
 * have written (a number out of range, or text that is not digits: see waf-record), or it was
 * longer than the 16 MiB an entry may have.
 */
export type MalformedReason = 'no-record' | 'impossible-timestamp' | 'text-timestamp' | 'oversized';

/** The reasons in the order the report names them. */
export const MALFORMED_REASONS: readonly MalformedReason[] = [
  'no-record',
  'impossible-timestamp',
  'text-timestamp',
  'oversized',
];

/** Lines or entries skipped for one reason. */
export interface MalformedTally {
  count: number;
  /** 1-based line numbers of the first {@link MALFORMED_SAMPLE_SIZE} of them (a line once). */
  readonly lines: number[];
}

/** Counts kept while reading, updated in place so that progress can be shown mid-stream. */
export interface ReadStats extends FileProgress {
  /** Non-blank lines seen, or entries of a JSON document. */
  lines: number;
  /** WAF records read. */
  records: number;
  /** Items of a top-level JSON array that are not objects (`1`, `[...]`), counted in `lines` and as malformed. */
  valueItems: number;
  /** Of those, records found inside a CloudWatch Logs wrapper, by its field. */
  readonly wrapped: Record<MessageField, number>;
  /** Lines, entries or records (of a filter-log-events page on one line) skipped, for any reason. */
  malformed: number;
  /** 1-based line numbers of the first {@link MALFORMED_SAMPLE_SIZE} of them. */
  readonly malformedLines: number[];
  /** The same, by reason. */
  readonly malformedBy: Record<MalformedReason, MalformedTally>;
  /** The first impossible timestamp, to show the operator what it was. */
  firstImpossibleTimestamp: number | undefined;
  /** The first timestamp that was text other than digits (`"2024-12-01T00:00:00Z"`). */
  firstTextTimestamp: string | undefined;
  /** Decided from the first bytes; undefined until then. */
  layout: LogLayout | undefined;
  /** The first {@link HEAD_CHARS} characters of the (decompressed) text. */
  head: string;
  firstSkipped: EntrySample | undefined;
  /** For a JSON document: its top-level shape. */
  outline: DocumentOutline | undefined;
}

/** Stats before anything is read, for the reader to fill in. */
export function emptyReadStats(): ReadStats {
  return {
    lines: 0,
    records: 0,
    valueItems: 0,
    wrapped: { message: 0, '@message': 0 },
    malformed: 0,
    malformedLines: [],
    malformedBy: {
      'no-record': { count: 0, lines: [] },
      'impossible-timestamp': { count: 0, lines: [] },
      'text-timestamp': { count: 0, lines: [] },
      oversized: { count: 0, lines: [] },
    },
    firstImpossibleTimestamp: undefined,
    firstTextTimestamp: undefined,
    bytesRead: 0,
    fileBytes: 0,
    gzipped: false,
    layout: undefined,
    head: '',
    firstSkipped: undefined,
    outline: undefined,
  };
}

/** Counts one skipped line or entry. */
export function noteMalformed(stats: ReadStats, line: number, reason: MalformedReason): void {
  stats.malformed++;
  if (stats.malformedLines.length < MALFORMED_SAMPLE_SIZE) stats.malformedLines.push(line);
  const tally = stats.malformedBy[reason];
  tally.count++;
  if (tally.lines.length < MALFORMED_SAMPLE_SIZE && tally.lines[tally.lines.length - 1] !== line) {
    tally.lines.push(line);
  }
}
