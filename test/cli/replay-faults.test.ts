/**
 * `waf-autoblock replay` on records and files that are wrong in a way the replay must say, through
 * the CLI's entry point: impossible timestamps, addresses that are not addresses, entries too large
 * to hold, broken gzip, an empty path; and how it says it (one prefix, counts in words that agree).
 * Fixtures are built here, in a temp dir that is removed afterwards.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { BLOCKED_ROW, FLOOD, jsonLines, loginRecord, T0, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('replay-faults-');

const run = (...argv: string[]) => runCli(argv);

/** One rate rule of 10 requests per 60 s, to keep fixtures small. */
const TEN_PER_MINUTE = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));

/** Every line on stderr starts with the prefix that the CLI's errors have. */
function expectOnePrefix(stderr: string): void {
  for (const line of stderr.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^waf-autoblock replay: /);
}

describe('replay refuses timestamps WAF cannot have written', () => {
  it('skips a record with timestamp 1e20 and names its line, instead of failing with a stack trace', async () => {
    const path = file(
      'huge-timestamp.jsonl',
      jsonLines([...FLOOD.slice(0, 6), loginRecord('45.33.12.7', 1e20), ...FLOOD.slice(6)]),
    );
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stdout).toContain('Summary: 12 records read, 1 malformed,');
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 1 malformed line of ${path}: with a timestamp that is not epoch ` +
        'milliseconds from 2015 to 2099 (line 7; such as 100000000000000000000)\n',
    );
  });

  it('skips 0, negative and second timestamps among millisecond records, and counts the flood right', async () => {
    const wrong = [
      loginRecord('45.33.12.7', 1_741_917_600),
      loginRecord('45.33.12.7', 0),
      loginRecord('45.33.12.7', -5),
    ];
    const path = file('mixed-units.jsonl', jsonLines([FLOOD[0] ?? {}, ...wrong, ...FLOOD.slice(1)]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    // Counted at 1970 or at the latest time, the wrong ones would have made the flood 15 requests.
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stdout).toContain('Replayed 2025-03-14T02:00:00.000Z to 2025-03-14T02:00:01.100Z through:');
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 3 malformed lines of ${path}: with a timestamp that is not epoch ` +
        'milliseconds from 2015 to 2099 (lines 2, 3 and 4; such as 1741917600, which looks like seconds)\n',
    );
  });

  it('exits 1 on a log whose every record is in seconds, saying so', async () => {
    const path = file('seconds.jsonl', jsonLines(FLOOD.map((r) => ({ ...r, timestamp: r.timestamp / 1000 }))));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(
      `waf-autoblock replay: ${path} holds no AWS WAF log record that replay can count: its 12 records have a ` +
        'timestamp that is not epoch milliseconds from 2015 to 2099, such as 1741917600, which looks like seconds\n',
    );
  });

  it('says that no reorder window can count a record more than a day late, instead of suggesting one', async () => {
    const path = file('days-late.jsonl', jsonLines([loginRecord('45.33.12.7', T0 + 3 * 86_400_000), ...FLOOD]));
    const { code, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: 12 records came more than 300 s after a later one (up to 259,200 s) and ' +
        'were counted 300 s before the latest record instead of at their own time, so counts can be wrong in both directions and ranges that ' +
        'crossed a limit may be missing: no --reorder-window can count them exactly (86,400 s at most): sort the log by time first\n',
    );
  });
});

describe('replay says what it skipped, in words that agree with its summary', () => {
  it('lists three skipped lines as "lines 2, 4 and 7"', async () => {
    const lines = [FLOOD[0], 'torn', FLOOD[1], '{"a":1}', '', FLOOD[2], 'junk'];
    const path = file(
      'three-skipped.log',
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
    );
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 3 malformed lines of ${path}: without a WAF record (lines 2, 4 and 7)\n`,
    );
    expect(stdout).toContain('Summary: 3 records read, 3 malformed, 0 keys limited, 0 ranges would be blocked');
  });

  it('counts an entry over 16 MiB as malformed in the warning and in the summary, in a document and in lines', async () => {
    const huge = { ...loginRecord('45.33.99.1', T0), padding: 'x'.repeat(16 * 1024 * 1024) };
    const documentPath = file('huge.json', `[\n${[...FLOOD, huge].map((r) => JSON.stringify(r)).join(',\n')}\n]\n`);
    const linesPath = file('huge.jsonl', jsonLines([...FLOOD, huge]));
    for (const [path, what, line] of [
      [documentPath, 'entry', 14],
      [linesPath, 'line', 13],
    ] as const) {
      const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
      expect(code).toBe(0);
      expect(stdout).toMatch(BLOCKED_ROW);
      expect(stdout).toContain(
        'Summary: 12 records read, 1 malformed, 1 key limited, 1 range would be blocked, refused: none',
      );
      expect(stderr).toBe(
        `waf-autoblock replay: warning: skipped 1 malformed ${what} of ${path}: over 16 MiB (line ${line})\n`,
      );
    }
  });

  it('warns in one line about requests whose clientIp is not an address, and still exits 0', async () => {
    const bad = [loginRecord('not-an-ip', T0), loginRecord('45.33.12.0/24', T0 + 1), loginRecord('not-an-ip', T0 + 2)];
    const path = file('bad-client-ip.jsonl', jsonLines([...FLOOD, ...bad]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: 3 requests had a clientIp that is not an IP address (the first: ' +
        '"not-an-ip"), and the rules keyed by client IP did not count them\n',
    );
    const json = await run('replay', path, '--config', TEN_PER_MINUTE, '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      summary: { records: 15, unaddressedRequests: 3 },
      tallies: [{ rule: 'rate-all', counted: 12, unkeyed: 3 }],
    });
    expectOnePrefix(json.stderr);
  });

  it('writes every stderr line with the prefix of its errors, the JSON summary included', async () => {
    const path = file('prefix.jsonl', jsonLines([...FLOOD, loginRecord('45.33.12.7', 0)]));
    const { code, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE, '--format', 'json');
    expect(code).toBe(0);
    expect(stderr).toContain('waf-autoblock replay: warning: skipped 1 malformed line');
    expect(stderr).toContain(
      'waf-autoblock replay: 12 records read, 1 malformed, 1 key limited, 1 range would be blocked, refused: none\n',
    );
    expectOnePrefix(stderr);
  });

  it('says "1 record read" for a single record', async () => {
    const path = file('one.jsonl', jsonLines([loginRecord('45.33.12.7', T0)]));
    const { stdout } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(stdout).toContain('Summary: 1 record read, 0 malformed, 0 keys limited, 0 ranges would be blocked');
  });
});

describe('replay reads a damaged gzip file as far as it can, and says what is wrong with it', () => {
  const gzipped = gzipSync(jsonLines(FLOOD));

  it('replays a gzip stream cut before its trailer, names the damage and exits 3', async () => {
    // Without its 8-byte trailer (CRC and size) the stream still holds all twelve lines.
    const path = file('truncated.jsonl.gz', gzipped.subarray(0, gzipped.length - 8));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(3);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is truncated after 12 lines; replayed the lines read\n`,
    );
  });

  it('replays gzip data followed by bytes that are not gzip, and counts those bytes', async () => {
    const path = file('trailing.jsonl.gz', Buffer.concat([gzipped, Buffer.from('garbage after the stream')]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(3);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: ${path}: the gzip data is followed by 24 bytes that are not gzip; replayed the 12 ` +
        'lines before them\n',
    );
  });
});

describe('replay arguments', () => {
  it('exits 2 on an empty <log file>, instead of reading the working directory', async () => {
    const { code, stdout, stderr } = await run('replay', '');
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe('waf-autoblock replay: the <log file> argument is empty (see "waf-autoblock replay --help")\n');
  });
});

describe('replay refuses a timestamp with a fraction of a millisecond', () => {
  it('skips 1741917600101.5 by its line, as WAF writes whole milliseconds', async () => {
    const path = file('fraction.jsonl', jsonLines([...FLOOD, loginRecord('45.33.12.7', 1_741_917_600_101.5)]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 1 malformed line of ${path}: with a timestamp that is not epoch ` +
        'milliseconds from 2015 to 2099 (line 13; such as 1741917600101.5, which is not a whole number of milliseconds)\n',
    );
  });
});
