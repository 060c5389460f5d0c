/**
 * `waf-autoblock replay` on gzip files as copies and tools leave them: cut short (in the header,
 * the body, the trailer), followed by other bytes or by zeros, several members end to end, corrupt.
 * Every whole line that can be decompressed is replayed, one line says what was damaged, and the
 * exit code is 3 (1 when not one record could be read). Fixtures are built here from a small log.
 */
import { gunzipSync, gzipSync, constants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { jsonLines, loginRecord, T0, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('replay-gzip-damage-');
const CONFIG = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));

/** 40 records of 40 clients, one a second: nothing over the limit, every line a record. */
const RECORDS = Array.from({ length: 40 }, (_, i) => loginRecord(`45.33.${i}.7`, T0 + i * 1000));
const WHOLE = gzipSync(jsonLines(RECORDS));

async function replay(name: string, bytes: Buffer) {
  const path = file(name, bytes);
  const result = await runCli(['replay', path, '--config', CONFIG]);
  return { ...result, path };
}

/** The records the table's summary says were read. */
const recordsRead = (stdout: string) => /Summary: ([\d,]+) records? read/.exec(stdout)?.[1];

describe('replay reads a damaged gzip file up to the damage, says so and exits 3', () => {
  it('replays the whole lines of a file cut inside its body, and not the line cut short', async () => {
    // The first record holds most of the compressed bytes; the others repeat it.
    const cut = WHOLE.subarray(0, WHOLE.length - 60);
    // Node's gunzip, told to hand on what it has, is the oracle for the text before the cut.
    const text = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const whole = text.split('\n').length - 1;
    expect(whole).toBeGreaterThan(5);
    expect(whole).toBeLessThan(40);
    expect(text.endsWith('\n')).toBe(false);
    const { code, stdout, stderr, path } = await replay('cut-body.jsonl.gz', cut);
    expect(code).toBe(3);
    expect(recordsRead(stdout)).toBe(String(whole));
    expect(stdout).toContain(' 0 malformed,');
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is truncated after ${whole} lines; replayed the lines read, ` +
        'and a last line cut short that was not\n',
    );
  });

  it.each([
    ['without its 8-byte trailer', 8],
    ['cut inside its trailer', 3],
  ])('replays every line of a file %s, and says it is truncated', async (_, missing) => {
    const { code, stdout, stderr, path } = await replay(`cut-trailer-${missing}.gz`, WHOLE.subarray(0, -missing));
    expect(code).toBe(3);
    expect(recordsRead(stdout)).toBe('40');
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is truncated after 40 lines; replayed the lines read\n`,
    );
  });

  it('exits 1 on a file cut inside its header, naming the damage and that no record was read', async () => {
    const { code, stdout, stderr, path } = await replay('cut-header.gz', WHOLE.subarray(0, 6));
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    // One line: the file is damaged, not empty (a tester read two lines that contradicted each other).
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is truncated (not a gzip header) before its first whole line: no WAF record could be read\n`,
    );
  });

  it('replays every line of a file followed by bytes that are not gzip, and counts them', async () => {
    const trailing = Buffer.from('garbage after the stream');
    const { code, stdout, stderr, path } = await replay('trailing.gz', Buffer.concat([WHOLE, trailing]));
    expect(code).toBe(3);
    expect(recordsRead(stdout)).toBe('40');
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is followed by 24 bytes that are not gzip; replayed the 40 ` +
        'lines before them\n',
    );
  });

  it('says a file is corrupt when the deflate data is, and replays the members before it', async () => {
    // A second member whose first block has the reserved type 3: zlib says "invalid block type".
    const header = WHOLE.subarray(0, 10);
    const broken = Buffer.concat([WHOLE, header, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const { code, stdout, stderr, path } = await replay('corrupt.gz', broken);
    expect(code).toBe(3);
    expect(recordsRead(stdout)).toBe('40');
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is corrupt after 40 lines (invalid block type); replayed the ` +
        'lines before it\n',
    );
  });

  it('says the lines read may be altered when the trailer does not match the text (found only at its end)', async () => {
    // A tester flipped one byte in the middle of the sample: zlib inflated it to other text without
    // error, and only the trailer told; the lines before were not "the lines before the damage".
    const wrongLength = Buffer.from(WHOLE);
    wrongLength.writeUInt32LE((wrongLength.readUInt32LE(wrongLength.length - 4) + 1) >>> 0, wrongLength.length - 4);
    const { code, stdout, stderr } = await replay('wrong-length.gz', wrongLength);
    expect(code).toBe(3);
    expect(recordsRead(stdout)).toBe('40');
    expect(stderr).toMatch(
      /does not match its checksum \(the length in its trailer does not match\), found after 40 lines: corrupt data can inflate to other text without error, so any of those lines may be altered and the replay may be wrong/,
    );
  });
});

describe('replay reads gzip files that are whole', () => {
  it('reads every line of two members end to end (cat a.gz b.gz), exit 0', async () => {
    const more = Array.from({ length: 25 }, (_, i) => loginRecord(`46.1.${i}.9`, T0 + 60_000 + i * 1000));
    const { code, stdout, stderr } = await replay('two.gz', Buffer.concat([WHOLE, gzipSync(jsonLines(more))]));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(recordsRead(stdout)).toBe('65');
  });

  it('takes zeros after the last member for padding, not damage', async () => {
    const { code, stdout, stderr } = await replay('padded.gz', Buffer.concat([WHOLE, Buffer.alloc(512)]));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(recordsRead(stdout)).toBe('40');
  });

  it('reads a member with a file name, a comment and an extra field in its header', async () => {
    const name = Buffer.from('waf.log\0comment\0');
    const header = Buffer.from(WHOLE.subarray(0, 10));
    header[3] = 0x04 | 0x08 | 0x10;
    const extra = Buffer.from([4, 0, 1, 2, 3, 4]);
    const rebuilt = Buffer.concat([header, extra, name, WHOLE.subarray(10)]);
    const { code, stdout } = await replay('named.gz', rebuilt);
    expect(code).toBe(0);
    expect(recordsRead(stdout)).toBe('40');
  });
});
