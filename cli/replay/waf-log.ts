/**
 * Reads AWS WAF log records (the JSON that WAF writes to CloudWatch Logs, S3 and Firehose, one
 * object per line) from a plain or gzipped file, as a stream: memory stays flat however large the
 * log. A line that is not a WAF record is counted and skipped, never fatal, since one torn line
 * in a 1 GB export must not cost the operator the whole replay.
 */
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

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

/** How many line numbers of malformed lines are kept for the report. */
export const MALFORMED_SAMPLE_SIZE = 5;

/** Counts kept while reading, updated in place so that progress can be shown mid-stream. */
export interface ReadStats {
  /** Non-blank lines seen. */
  lines: number;
  /** Lines that were WAF records. */
  records: number;
  /** Lines that were not. */
  malformed: number;
  /** 1-based line numbers of the first {@link MALFORMED_SAMPLE_SIZE} malformed lines. */
  readonly malformedLines: number[];
  /** Bytes read from the file so far (compressed bytes for a gzipped file). */
  bytesRead: number;
  /** Size of the file in bytes. */
  fileBytes: number;
}

export function emptyReadStats(): ReadStats {
  return { lines: 0, records: 0, malformed: 0, malformedLines: [], bytesRead: 0, fileBytes: 0 };
}

/** The log file cannot be opened or its content cannot be decoded (e.g. a truncated gzip). */
export class LogReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogReadError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The request in one log line, or `undefined` when the line is not a WAF record (not JSON, or
 * without a numeric `timestamp` and a string `httpRequest.clientIp`). A line exported from
 * CloudWatch Logs to S3 carries a timestamp before the JSON; it is skipped.
 */
export function parseWafRecord(line: string): LoggedRequest | undefined {
  const start = line.indexOf('{');
  if (start === -1) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(start === 0 ? line : line.slice(start));
  } catch {
    // Not JSON: the caller counts the line as malformed.
    return undefined;
  }
  if (!isObject(record)) return undefined;
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

/**
 * Yields the requests of a WAF log file in file order. Gzip is recognized by its magic bytes,
 * whatever the file is called. `stats` is updated as lines are read.
 *
 * @throws LogReadError when the file cannot be opened or decoded; records yielded before stay valid.
 */
export async function* readWafLog(path: string, stats: ReadStats = emptyReadStats()): AsyncGenerator<LoggedRequest> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new LogReadError(`cannot open log file ${path}: ${describeFsError(cause)}`, { cause });
  }
  const magic = Buffer.alloc(2);
  let raw: Readable;
  try {
    stats.fileBytes = (await handle.stat()).size;
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    const gzipped = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    raw = handle.createReadStream({ start: 0, autoClose: false });
    raw.on('data', (chunk: Buffer) => (stats.bytesRead += chunk.length));
    if (gzipped) raw = raw.pipe(createGunzip());
  } catch (cause) {
    await handle.close();
    throw new LogReadError(`cannot read log file ${path}: ${describeFsError(cause)}`, { cause });
  }

  // A decoding error ends the lines; it is rethrown, naming the file, after the loop.
  let failure: unknown;
  const lines = createInterface({ input: raw, crlfDelay: Infinity });
  raw.on('error', (error) => {
    failure ??= error;
    lines.close();
  });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      stats.lines++;
      const request = parseWafRecord(line);
      if (request === undefined) {
        stats.malformed++;
        if (stats.malformedLines.length < MALFORMED_SAMPLE_SIZE) stats.malformedLines.push(lineNumber);
        continue;
      }
      stats.records++;
      yield request;
    }
  } catch (error) {
    // Depending on the Node version, readline either rethrows its input's error here or just ends.
    failure ??= error;
  } finally {
    lines.close();
    raw.destroy();
    await handle.close();
  }
  if (failure !== undefined) {
    throw new LogReadError(`cannot read log file ${path} after line ${lineNumber}: ${describeFsError(failure)}`, {
      cause: failure,
    });
  }
}

function describeFsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return error.message;
}
