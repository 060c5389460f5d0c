import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonEntryScanner, MAX_ENTRY_CHARS } from '../../cli/replay/json-entries';
import { LineReader } from '../../cli/replay/record-readers';
import {
  EARLIEST_RECORD_MS,
  emptyReadStats,
  LogReadError,
  parseWafRecord,
  RECORDS_BEFORE_MS,
  readWafLog,
  type LoggedRequest,
} from '../../cli/replay/waf-log';

const dir = mkdtempSync(join(tmpdir(), 'waf-log-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (clientIp: string, timestamp = 1_741_917_600_000) =>
  JSON.stringify({
    timestamp,
    action: 'ALLOW',
    terminatingRuleId: 'Default_Action',
    httpRequest: {
      clientIp,
      country: 'DE',
      uri: '/login',
      httpMethod: 'POST',
      headers: [{ name: 'Host', value: 'a' }],
    },
  });

async function readAll(path: string) {
  const stats = emptyReadStats();
  const requests = [];
  for await (const request of readWafLog(path, stats)) requests.push(request);
  return { requests, stats };
}

describe('parseWafRecord', () => {
  it('takes what rate rules need from a WAF record', () => {
    expect(parseWafRecord(line('45.33.12.7'))).toEqual({
      timestamp: 1_741_917_600_000,
      clientIp: '45.33.12.7',
      uri: '/login',
      headers: [{ name: 'Host', value: 'a' }],
      action: 'ALLOW',
      // Which rule ended the request: replay leaves out what the Anti-DDoS group ended itself.
      terminatingRuleId: 'Default_Action',
    });
  });

  it('reads a timestamp written as digits in a string as epoch milliseconds', () => {
    const quoted = line('45.33.12.7').replace('"timestamp":1741917600000', '"timestamp":"1733000000000"');
    expect(parseWafRecord(quoted)?.timestamp).toBe(1_733_000_000_000);
  });

  it('reads a line exported from CloudWatch Logs, which starts with a timestamp', () => {
    expect(parseWafRecord(`2025-03-14T02:00:00.000Z ${line('45.33.12.7')}`)?.clientIp).toBe('45.33.12.7');
  });

  it.each([
    ['not JSON', '{"timestamp": 1, "httpRequest": '],
    ['no timestamp', '{"httpRequest":{"clientIp":"1.2.3.4"}}'],
    ['a string timestamp', '{"timestamp":"1","httpRequest":{"clientIp":"1.2.3.4"}}'],
    ['no clientIp', '{"timestamp":1,"httpRequest":{}}'],
    ['an array', '[1,2]'],
    ['text', 'hello'],
  ])('refuses %s', (_, text) => {
    expect(parseWafRecord(text)).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['a negative time', -5],
    ['seconds', 1_741_917_600],
    ['microseconds', 1_741_917_600_000_000],
    ['1e20, which no Date can hold', 1e20],
    ['the last millisecond of 2014', EARLIEST_RECORD_MS - 1],
    ['2100-01-01', RECORDS_BEFORE_MS],
  ])('refuses a record whose timestamp is %s', (_, timestamp) => {
    expect(parseWafRecord(line('45.33.12.7', timestamp))).toBeUndefined();
  });

  it('takes exactly the timestamps from 2015-01-01 to the end of 2099, each one a valid date', () => {
    expect(new Date(EARLIEST_RECORD_MS).toISOString()).toBe('2015-01-01T00:00:00.000Z');
    expect(new Date(RECORDS_BEFORE_MS).toISOString()).toBe('2100-01-01T00:00:00.000Z');
    const timestamp = fc.oneof(
      fc.double({ noNaN: true }),
      fc.integer({ min: EARLIEST_RECORD_MS - 10, max: RECORDS_BEFORE_MS + 10 }),
    );
    fc.assert(
      fc.property(timestamp, (at) => {
        const request = parseWafRecord(line('45.33.12.7', at));
        // Whole milliseconds only: WAF never writes a fraction.
        const plausible = Number.isInteger(at) && at >= EARLIEST_RECORD_MS && at < RECORDS_BEFORE_MS;
        expect(request !== undefined).toBe(plausible);
        if (request !== undefined) expect(new Date(request.timestamp).toISOString()).toMatch(/^20\d\d-/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('readWafLog', () => {
  const content = [line('45.33.12.7'), 'garbage', '', line('2a01:4f8::5'), '{"timestamp":1}', line('46.1.2.3')].join(
    '\r\n',
  );

  it('reads plain JSON lines, counting and skipping malformed ones with their line numbers', async () => {
    const path = join(dir, 'plain.jsonl');
    writeFileSync(path, content);
    const { requests, stats } = await readAll(path);
    expect(requests.map((r) => r.clientIp)).toEqual(['45.33.12.7', '2a01:4f8::5', '46.1.2.3']);
    expect(stats).toMatchObject({ lines: 5, records: 3, malformed: 2, malformedLines: [2, 5] });
  });

  it('reads gzip by its magic bytes, whatever the file is called', async () => {
    const path = join(dir, 'compressed.log');
    writeFileSync(path, gzipSync(content));
    const { requests, stats } = await readAll(path);
    expect(requests).toHaveLength(3);
    expect(stats.bytesRead).toBe(stats.fileBytes);
  });

  it('skips a record whose timestamp is an ISO time, naming its line and the first such time', async () => {
    const iso = line('46.1.2.3').replace('"timestamp":1741917600000', '"timestamp":"2024-12-01T00:00:00Z"');
    const path = join(dir, 'iso.jsonl');
    writeFileSync(path, [line('45.33.12.7'), iso].join('\n'));
    const { requests, stats } = await readAll(path);
    expect(requests.map((r) => r.clientIp)).toEqual(['45.33.12.7']);
    expect(stats.malformedBy['text-timestamp']).toEqual({ count: 1, lines: [2] });
    expect(stats.firstTextTimestamp).toBe('2024-12-01T00:00:00Z');
  });

  it('reads a FIFO, which cannot seek, gzipped, telling gzip by the bytes as they pass', async () => {
    const fifo = join(dir, 'log.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    writer.end(gzipSync(content));
    const { requests, stats } = await readAll(fifo);
    expect(requests.map((r) => r.clientIp)).toEqual(['45.33.12.7', '2a01:4f8::5', '46.1.2.3']);
    expect(stats).toMatchObject({ gzipped: true, fileBytes: 0, records: 3 });
  });

  it('fails naming the file when it is missing', async () => {
    const failure = readAll(join(dir, 'missing.jsonl'));
    await expect(failure).rejects.toBeInstanceOf(LogReadError);
    await expect(failure).rejects.toThrow(/missing\.jsonl: no such file/);
  });

  it('reads a truncated gzip up to its last whole line, and says where it was cut', async () => {
    const truncated = join(dir, 'truncated.gz');
    const whole = gzipSync(Array.from({ length: 2000 }, (_, i) => line(`45.33.${i % 256}.7`)).join('\n'));
    const cut = whole.subarray(0, whole.length / 2);
    writeFileSync(truncated, cut);
    const text = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const lines = text.split('\n').length - 1;
    const { requests, stats } = await readAll(truncated);
    expect(requests).toHaveLength(lines);
    expect(stats).toMatchObject({ records: lines, malformed: 0 });
    expect(stats.damage).toEqual({
      gzip: { kind: 'truncated', reason: '', trailingBytes: 0 },
      lines,
      partial: !text.endsWith('\n'),
    });
  });
});

describe('LineReader', () => {
  const CHUNK = 64 * 1024;
  /** `text` pushed in chunks of a file stream's size, with what the reader held after each chunk. */
  function readInChunks(text: string) {
    const stats = emptyReadStats();
    const reader = new LineReader(stats);
    const requests: LoggedRequest[] = [];
    const retained: number[] = [];
    for (let at = 0; at < text.length; at += CHUNK) {
      reader.push(text.slice(at, at + CHUNK), requests);
      retained.push(reader.retainedChars);
    }
    reader.end(requests);
    return { reader, stats, requests, retained };
  }

  it('looks at each character once and holds nothing of a junk line once it passes 16 MiB', () => {
    // 40 MiB without a newline between two records: the newline search used to rescan the text
    // carried over on every chunk, quadratic in the line's length.
    const junk = 'x'.repeat(40 * 1024 * 1024);
    const text = `${line('45.33.12.7')}\n${junk}\n${line('46.1.2.3')}\n`;
    const { reader, stats, requests, retained } = readInChunks(text);
    expect(reader.scannedChars).toBe(text.length);
    expect(Math.max(...retained)).toBeLessThanOrEqual(MAX_ENTRY_CHARS);
    // From the chunk that takes the line past the limit on, up to its newline, nothing is held.
    const overLimit = Math.ceil((MAX_ENTRY_CHARS + line('45.33.12.7').length) / CHUNK);
    expect(retained.slice(overLimit, Math.floor(text.length / CHUNK) - 1).every((chars) => chars === 0)).toBe(true);
    expect(requests.map((r) => r.clientIp)).toEqual(['45.33.12.7', '46.1.2.3']);
    expect(stats).toMatchObject({ lines: 3, records: 2, malformed: 1, malformedLines: [2] });
    expect(stats.malformedBy.oversized).toEqual({ count: 1, lines: [2] });
  });

  it('looks at each character once for junk lines under the limit too, and skips each one', () => {
    const junk = 'x'.repeat(15 * 1024 * 1024);
    const text = [line('45.33.12.7'), junk, junk, junk, line('46.1.2.3')].join('\n');
    const { reader, stats, requests, retained } = readInChunks(text);
    expect(reader.scannedChars).toBe(text.length);
    expect(Math.max(...retained)).toBeLessThanOrEqual(junk.length);
    expect(requests).toHaveLength(2);
    expect(stats.malformedBy['no-record']).toEqual({ count: 3, lines: [2, 3, 4] });
  });

  it('reads the same lines however the text is cut into chunks', () => {
    const text = [line('45.33.12.7'), '', 'garbage', line('2a01:4f8::5'), line('46.1.2.3')].join('\n');
    fc.assert(
      fc.property(fc.array(fc.nat({ max: text.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const stats = emptyReadStats();
        const reader = new LineReader(stats);
        const requests: LoggedRequest[] = [];
        for (const [i, from] of [0, ...points].entries())
          reader.push(text.slice(from, points[i] ?? text.length), requests);
        reader.end(requests);
        expect(requests.map((r) => r.clientIp)).toEqual(['45.33.12.7', '2a01:4f8::5', '46.1.2.3']);
        expect(stats).toMatchObject({ lines: 4, malformedLines: [3] });
        expect(reader.linesRead).toBe(5);
      }),
    );
  });
});

describe('JsonEntryScanner', () => {
  const object = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
  /** A document and the entries it holds, by the scanner's rules. */
  const documentArbitrary = fc.oneof(
    fc
      .tuple(fc.array(fc.oneof(object, fc.jsonValue({ maxDepth: 1 })), { maxLength: 6 }), fc.constantFrom(0, 2, 4))
      .map(([items, indent]) => ({
        text: JSON.stringify(items, null, indent),
        entries: items.filter((item) => typeof item === 'object' && item !== null && !Array.isArray(item)),
      })),
    fc
      .array(fc.tuple(fc.array(object, { maxLength: 4 }), object, fc.boolean()), { minLength: 1, maxLength: 3 })
      .map((pages) => ({
        // filter-log-events pages, one after the other, `events` before or after the other keys.
        text: pages
          .map(([events, rest, eventsFirst]) => {
            const others = Object.fromEntries(Object.entries(rest).filter(([key]) => key !== 'events'));
            return JSON.stringify(eventsFirst ? { events, ...others } : { ...others, events }, null, 4);
          })
          .join('\n'),
        entries: pages.flatMap(([events]) => events),
      })),
    fc.array(object, { maxLength: 5 }).map((objects) => {
      const plain = objects.filter((o) => !Array.isArray(o.events));
      return { text: plain.map((o) => JSON.stringify(o, null, 2)).join('\n'), entries: plain };
    }),
  );

  function scan(chunks: readonly string[]) {
    const entries: unknown[] = [];
    const stray: number[] = [];
    const scanner = new JsonEntryScanner({
      entry: (text) => entries.push(JSON.parse(text)),
      stray: (line) => stray.push(line),
    });
    for (const chunk of chunks) scanner.push(chunk);
    scanner.end();
    return { entries, stray, outline: scanner.outline };
  }

  it('finds the same entries however the text is cut into chunks', () => {
    fc.assert(
      fc.property(documentArbitrary, fc.array(fc.nat(), { maxLength: 8 }), ({ text, entries }, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((from, i) => text.slice(from, points[i] ?? text.length));
        const scanned = scan(chunks);
        expect(scanned.entries).toEqual(JSON.parse(JSON.stringify(entries)));
        expect(scanned.stray).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('finds the same entries whichever character of an escape or a key a chunk ends on', () => {
    const pages = [
      { nextToken: 'a\\"b', events: [{ message: '\\"\\\\"', e: '"' }, { message: '\\' }] },
      { events: [{ message: '{\\"timestamp\\":1}' }], searchedLogStreams: [{ logStreamName: '"\\' }] },
    ];
    const text = pages.map((page) => JSON.stringify(page)).join('\n');
    const events = pages.flatMap((page) => page.events);
    for (let cut = 0; cut <= text.length; cut++) {
      for (const second of [cut + 1, cut + 2]) {
        const chunks = [text.slice(0, cut), text.slice(cut, second), text.slice(second)];
        expect(scan(chunks).entries, `cut at ${cut} and ${second}`).toEqual(events);
      }
    }
  });

  it('counts text outside any JSON value and an entry cut by the end, with their lines', () => {
    const { entries, stray, outline } = scan(['[\n{"a":1},\n{"b":\n', '2}\n]\ntrailing words\n{"c":']);
    expect(entries).toEqual([{ a: 1 }, { b: 2 }]);
    expect(stray).toEqual([6, 7]);
    expect(outline).toEqual({ firstTopLevel: 'array', eventsArrays: 0, valueItems: false });
    expect(scan(['[1, "a", [2], null', ', {"b": [3]}]']).outline.valueItems).toBe(true);
    expect(scan(['[{"a": [1, "x", null]},\n', ' {"b": 2}]']).outline.valueItems).toBe(false);
  });
});
