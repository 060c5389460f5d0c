/**
 * Gzip as operators have it: one member or several (`cat a.gz b.gz`), and sometimes damaged: cut
 * short by a copy that stopped, followed by bytes that are not gzip, or corrupt. Node's gunzip
 * drops the text of the write that hits such damage and destroys what it had buffered, so a file
 * cut in its last kilobyte would replay nothing. Here each member's header (RFC 1952) is parsed,
 * its deflate body inflated raw a slice at a time (what is inflated is handed on as it comes, and
 * a slice that hits corrupt data loses at most one output buffer), and its trailer checked; what
 * was wrong is reported once, after every byte that could be decompressed was.
 */
import * as zlib from 'node:zlib';

/** What was wrong with a gzip file, found once its readable text was all handed on. */
export interface GzipDamage {
  /**
   * `truncated`: the file ends inside a member (header, body or trailer); `trailing`: bytes after a
   * member that are neither a gzip member nor zeros; `corrupt`: zlib refused the deflate data;
   * `checksum`: the data inflated but its length or CRC does not match the trailer, so the text
   * may have been altered anywhere before (a flipped byte can inflate to other text without error).
   */
  readonly kind: 'truncated' | 'trailing' | 'corrupt' | 'checksum';
  /** For `trailing`: how many bytes follow the last member. */
  readonly trailingBytes: number;
  /** For `corrupt` and `checksum`: what zlib or the trailer check said. */
  readonly reason: string;
}

/** Compressed bytes written to the inflater at a time: the most whose text a corrupt spot can cost. */
const SLICE_BYTES = 16 * 1024;
/** A header's file name and comment are read up to this size; a longer one is not gzip as tools write it. */
const MAX_HEADER_BYTES = 64 * 1024;
const TRAILER_BYTES = 8;
const FLAG_HCRC = 0x02;
const FLAG_EXTRA = 0x04;
const FLAG_NAME = 0x08;
const FLAG_COMMENT = 0x10;
const FLAGS_RESERVED = 0xe0;

/** zlib.crc32 exists from Node 20.15 and 22.2; on older runtimes only the trailer's length is checked. */
const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Bytes of a source read ahead, handed out in pieces; what a member did not use goes back. */
class ByteInput {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  get buffered(): Buffer {
    return this.pending;
  }

  /** Reads until `count` bytes are held. @returns false when the source ends first. */
  async fill(count: number): Promise<boolean> {
    while (this.pending.length < count && !this.ended) {
      const next = await this.source.next();
      if (next.done === true) this.ended = true;
      else this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    }
    return this.pending.length >= count;
  }

  take(count: number): Buffer {
    const taken = this.pending.subarray(0, count);
    this.pending = this.pending.subarray(count);
    return taken;
  }

  /** Up to `max` bytes, or undefined at the end of the source. */
  async slice(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill(1))) return undefined;
    return this.take(Math.min(max, this.pending.length));
  }

  giveBack(bytes: Buffer): void {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([bytes, this.pending]);
  }
}

/**
 * The length of the gzip member header at the start of `bytes`, `short` when more bytes are
 * needed to tell, or `bad` when they are not a gzip header.
 */
export function memberHeaderLength(bytes: Buffer): number | 'short' | 'bad' {
  if (bytes.length >= 1 && bytes[0] !== 0x1f) return 'bad';
  if (bytes.length >= 2 && bytes[1] !== 0x8b) return 'bad';
  if (bytes.length >= 3 && bytes[2] !== 8) return 'bad';
  if (bytes.length < 10) return 'short';
  const flags = bytes[3] ?? 0;
  if ((flags & FLAGS_RESERVED) !== 0) return 'bad';
  let at = 10;
  if ((flags & FLAG_EXTRA) !== 0) {
    if (bytes.length < at + 2) return 'short';
    at += 2 + bytes.readUInt16LE(at);
  }
  for (const flag of [FLAG_NAME, FLAG_COMMENT]) {
    if ((flags & flag) === 0) continue;
    const zero = at <= bytes.length ? bytes.indexOf(0, at) : -1;
    if (zero === -1) return bytes.length > MAX_HEADER_BYTES ? 'bad' : 'short';
    at = zero + 1;
  }
  if ((flags & FLAG_HCRC) !== 0) at += 2;
  return at <= bytes.length ? at : 'short';
}

/** How one member ended: whole and checked, or damaged. */
type MemberEnd = { readonly whole: true } | { readonly whole: false; readonly damage: GzipDamage };

const damaged = (kind: GzipDamage['kind'], reason = '', trailingBytes = 0): MemberEnd => ({
  whole: false,
  damage: { kind, reason, trailingBytes },
});

/** Writes `slice` and waits until zlib has inflated it (or failed on it) and handed on its output. */
function inflateSlice(inflater: zlib.InflateRaw, slice: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      inflater.off('error', done);
      // 'data' may be emitted on the next tick after the write's callback.
      setImmediate(resolve);
    };
    inflater.once('error', done);
    inflater.write(slice, done);
  });
}

/** Inflates one member's body from `input` and checks its trailer, yielding the text as it comes. */
async function* inflateMember(input: ByteInput): AsyncGenerator<Buffer, MemberEnd> {
  const inflater = zlib.createInflateRaw();
  let output: Buffer[] = [];
  let failure: Error | undefined;
  inflater.on('data', (chunk: Buffer) => output.push(chunk));
  inflater.on('error', (error: Error) => (failure = error));
  let written = 0;
  let size = 0;
  let crc = 0;
  try {
    for (;;) {
      const slice = await input.slice(SLICE_BYTES);
      if (slice === undefined) return damaged('truncated');
      written += slice.length;
      await inflateSlice(inflater, slice);
      for (const chunk of output) {
        size = (size + chunk.length) >>> 0;
        if (crc32 !== undefined) crc = crc32(chunk, crc);
        yield chunk;
      }
      output = [];
      if (failure !== undefined) return damaged('corrupt', failure.message);
      // zlib takes no input past the end of the deflate stream: the rest is the trailer and what follows.
      const unused = written - inflater.bytesWritten;
      if (unused > 0) {
        input.giveBack(slice.subarray(slice.length - unused));
        break;
      }
    }
  } finally {
    inflater.destroy();
  }
  if (!(await input.fill(TRAILER_BYTES))) return damaged('truncated');
  const trailer = input.take(TRAILER_BYTES);
  if (trailer.readUInt32LE(4) !== size) return damaged('checksum', 'the length in its trailer does not match');
  if (crc32 !== undefined && trailer.readUInt32LE(0) !== crc) return damaged('checksum', 'its CRC does not match');
  return { whole: true };
}

/** Reads what follows the last member: zeros (padding some tools write) are fine, anything else is counted. */
async function trailingDamage(input: ByteInput): Promise<GzipDamage | undefined> {
  let bytes = 0;
  let zeros = true;
  for (let slice = await input.slice(SLICE_BYTES); slice !== undefined; slice = await input.slice(SLICE_BYTES)) {
    bytes += slice.length;
    zeros &&= slice.every((byte) => byte === 0);
  }
  return zeros ? undefined : { kind: 'trailing', reason: '', trailingBytes: bytes };
}

/**
 * Decompresses the gzip bytes of `source`, member after member, yielding the text as it is
 * inflated. Damage does not throw: every byte that could be decompressed is yielded, then
 * `found.damage` says what was wrong. A read error of the source is thrown.
 */
export async function* gunzipMembers(
  source: AsyncIterator<Buffer>,
  found: { damage?: GzipDamage },
): AsyncGenerator<Buffer> {
  const input = new ByteInput(source);
  for (let member = 0; ; member++) {
    if (!(await input.fill(1))) {
      if (member === 0) found.damage = { kind: 'truncated', reason: '', trailingBytes: 0 };
      return;
    }
    let header = memberHeaderLength(input.buffered);
    while (header === 'short' && (await input.fill(input.buffered.length + 1))) {
      header = memberHeaderLength(input.buffered);
    }
    if (header === 'bad' && member > 0) {
      const trailing = await trailingDamage(input);
      if (trailing !== undefined) found.damage = trailing;
      return;
    }
    if (header === 'short' || header === 'bad') {
      found.damage = {
        kind: header === 'short' ? 'truncated' : 'corrupt',
        reason: 'not a gzip header',
        trailingBytes: 0,
      };
      return;
    }
    input.take(header);
    const end = yield* inflateMember(input);
    if (!end.whole) {
      found.damage = end.damage;
      return;
    }
  }
}
