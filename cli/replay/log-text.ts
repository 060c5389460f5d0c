/**
 * A log file as text: opened (a file, a pipe, or stdin), gunzipped when its first bytes say gzip
 * (whatever it is called), and decoded as UTF-8 in chunks of the stream's size, so that memory
 * stays flat however large it is.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipMembers, type GzipDamage } from './gzip-members';

/** Counts of the file kept while reading, updated in place so that progress can be shown mid-stream. */
export interface FileProgress {
  /** Bytes read from the file so far (compressed bytes for a gzipped file). */
  bytesRead: number;
  /** Size of the file in bytes; 0 for stdin, a pipe or a device, whose size is not known. */
  fileBytes: number;
  /** Whether the file is gzip (magic bytes 1f 8b). */
  gzipped: boolean;
  /** For a damaged gzip file: what was wrong, set once its text has been read to the end. */
  damage?: DamageReport;
}

/** Where a damaged gzip file stopped being readable. */
export interface DamageReport {
  readonly gzip: GzipDamage;
  /** Whole lines of text read before the damage. */
  readonly lines: number;
  /** Whether the text ended inside a line (or JSON entry): cut short, that one is not replayed. */
  readonly partial: boolean;
}

/** The log file cannot be opened or read (a damaged gzip file is read as far as it can be: see {@link FileProgress.damage}). */
export class LogReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogReadError';
  }
}

/** An open log file's text. */
export interface LogText {
  /** Decoded chunks, in file order; a decoding or read error is thrown from `next()`. */
  readonly chunks: AsyncIterator<string>;
  /** For gzip: what was wrong with the file, once `chunks` is done. */
  damage(): GzipDamage | undefined;
  /** Stops reading and closes the file; safe to call more than once. */
  close(): Promise<void>;
}

/** The log path that means standard input. */
export const STDIN_PATH = '-';

/**
 * Paths that name the process's stdin. They are read as stdin, not opened: when stdin is a socket
 * (a process started by Node.js or a service manager), opening them fails with ENXIO.
 */
const STDIN_ALIASES = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** How a log path is named in messages: `stdin` for {@link STDIN_PATH}, else the path. */
export function logName(path: string): string {
  return path === STDIN_PATH ? 'stdin' : path;
}

/**
 * Opens `path` for reading as text: a file, a pipe or device (a FIFO), or stdin for
 * {@link STDIN_PATH} and `/dev/stdin`. Gzip is told by the first two bytes as they stream past, so a
 * source that cannot seek is read once; a damaged one yields the text that could be decompressed,
 * and then {@link LogText.damage} says what was wrong. `progress` is filled in as bytes are read (the size only for a
 * regular file).
 *
 * @throws LogReadError when the file cannot be opened or its first bytes cannot be read.
 */
export async function openLogText(
  path: string,
  progress: FileProgress,
  stdin: Readable = process.stdin,
): Promise<LogText> {
  let handle: FileHandle | undefined;
  let raw: Readable;
  try {
    if (path === STDIN_PATH || STDIN_ALIASES.has(path)) {
      raw = stdin;
    } else {
      handle = await open(path, 'r');
      const stat = await handle.stat();
      if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      // A pipe or device has no size, and must not be read at a position.
      if (stat.isFile()) progress.fileBytes = stat.size;
      raw = handle.createReadStream({ autoClose: false });
    }
  } catch (cause) {
    await handle?.close();
    throw new LogReadError(`cannot open log file ${logName(path)}: ${describeFsError(cause)}`, { cause });
  }
  const bytes = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  try {
    while (head.length < 2) {
      const next = await bytes.next();
      if (next.done === true) break;
      head = Buffer.concat([head, next.value]);
    }
  } catch (cause) {
    raw.destroy();
    await handle?.close();
    throw new LogReadError(`cannot read log file ${logName(path)}: ${describeFsError(cause)}`, { cause });
  }
  progress.bytesRead = head.length;
  progress.gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const source = withHead(head, bytes, progress);
  // A read error of the source is thrown from the decoded stream's next().
  const found: { damage?: GzipDamage } = {};
  const decoded = Readable.from(progress.gzipped ? gunzipMembers(source, found) : source, { objectMode: false });
  decoded.setEncoding('utf8');
  let closed = false;
  return {
    chunks: decoded[Symbol.asyncIterator]() as AsyncIterator<string>,
    damage: () => found.damage,
    async close() {
      if (closed) return;
      closed = true;
      decoded.destroy();
      raw.destroy();
      await handle?.close();
    },
  };
}

/** The bytes already read to sniff gzip, then the rest of the source, counted as they pass. */
async function* withHead(head: Buffer, rest: AsyncIterator<Buffer>, progress: FileProgress): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    progress.bytesRead += next.value.length;
    yield next.value;
  }
}

/** A file system or decoding error in a few words: `no such file`, `it is a directory`, zlib's message. */
export function describeFsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return error.message;
}
