/**
 * A log file as text: opened, gunzipped when its first bytes say gzip (whatever it is called), and
 * decoded as UTF-8 in chunks of the stream's size, so that memory stays flat however large it is.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Counts of the file kept while reading, updated in place so that progress can be shown mid-stream. */
export interface FileProgress {
  /** Bytes read from the file so far (compressed bytes for a gzipped file). */
  bytesRead: number;
  /** Size of the file in bytes. */
  fileBytes: number;
  /** Whether the file is gzip (magic bytes 1f 8b). */
  gzipped: boolean;
}

/** The log file cannot be opened or its content cannot be decoded (e.g. a truncated gzip). */
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
  /** Stops reading and closes the file; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Opens `path` for reading as text. `progress` is filled in at once (size, gzip) and as bytes are read.
 *
 * @throws LogReadError when the file cannot be opened or its first bytes cannot be read.
 */
export async function openLogText(path: string, progress: FileProgress): Promise<LogText> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new LogReadError(`cannot open log file ${path}: ${describeFsError(cause)}`, { cause });
  }
  let raw: Readable;
  let decoded: Readable;
  try {
    progress.fileBytes = (await handle.stat()).size;
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    progress.gzipped = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    raw = handle.createReadStream({ start: 0, autoClose: false });
    raw.on('data', (chunk: Buffer) => (progress.bytesRead += chunk.length));
    decoded = progress.gzipped ? raw.pipe(createGunzip()) : raw;
    // A read error of the file ends the decoded stream with that error too.
    if (decoded !== raw) raw.on('error', (error) => decoded.destroy(error));
    decoded.setEncoding('utf8');
  } catch (cause) {
    await handle.close();
    throw new LogReadError(`cannot read log file ${path}: ${describeFsError(cause)}`, { cause });
  }
  let closed = false;
  return {
    chunks: decoded[Symbol.asyncIterator]() as AsyncIterator<string>,
    async close() {
      if (closed) return;
      closed = true;
      decoded.destroy();
      raw.destroy();
      await handle.close();
    },
  };
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
