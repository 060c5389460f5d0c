/**
 * `waf-autoblock replay` on the inputs a tester built to break it (issue 10): FORWARDED_IP records
 * without a usable header, records delivered twice, timestamps written as text, logs that hold
 * only blocked requests, and logs read from stdin or a pipe. Each input is one test with the
 * answer an operator needs.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { BLOCKED_ROW, FLOOD, jsonLines, loginRecord, T0, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('replay-hostile-');

const run = (...argv: string[]) => runCli(argv);

const TEN_PER_MINUTE = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));

/** Runs the real executable with `input` on its stdin, as a shell pipe would. */
function execWithStdin(input: Uint8Array | string, ...argv: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/waf-autoblock.mjs'), ...argv], {
      cwd: PROJECT_ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('replay says what WAF does with FORWARDED_IP requests it cannot key', () => {
  const config = file(
    'forwarded.json',
    JSON.stringify({
      scope: 'REGIONAL',
      forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' },
      rateRules: [
        { name: 'login', limit: 10, windowSeconds: 60, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' },
      ],
    }),
  );
  const viaProxy = (clientIp: string, at: number, realIp: string) =>
    loginRecord(clientIp, at, { headers: [{ name: 'X-Real-IP', value: realIp }] });

  it('counts records without the header and says WAF does not apply the rule to them', async () => {
    const path = file('no-header.jsonl', jsonLines(FLOOD));
    const { code, stdout, stderr } = await run('replay', path, '--config', config);
    expect(code).toBe(0);
    expect(stdout).toContain('No range would have been blocked.');
    expect(stderr).toBe(
      'waf-autoblock replay: warning: rule login: 12 requests in scope had no X-Real-IP header; WAF does not apply ' +
        'a FORWARDED_IP rule to such a request at all (not counted, not blocked), and neither did replay\n',
    );
  });

  it('counts records whose header holds no address and says the stack sets FallbackBehavior MATCH: WAF blocks them', async () => {
    const records = [
      ...Array.from({ length: 11 }, (_, i) => viaProxy('10.0.0.9', T0 + i * 100, '45.33.12.7')),
      viaProxy('10.0.0.9', T0 + 2000, 'unknown'),
      viaProxy('10.0.0.9', T0 + 2100, ''),
    ];
    const path = file('unreadable-header.jsonl', jsonLines(records));
    const { code, stdout, stderr } = await run('replay', path, '--config', config);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+\S+\s+login\s+1\s+11\s+1$/m);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: rule login: 2 requests in scope had the X-Real-IP header with a first entry ' +
        'that is not an IP address; with the FallbackBehavior MATCH that the stack sets, WAF blocks each such request ' +
        'by this rule at once, without counting it for any address, so replay lists no range for them\n',
    );
    const json = await run('replay', path, '--config', config, '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      rules: [{ name: 'login', forwardedIpFallback: 'MATCH' }],
      tallies: [{ rule: 'login', counted: 11, unkeyed: 2, withoutHeader: 0, noHeaderAddress: 2 }],
    });
  });
});

describe('replay counts a record delivered twice once', () => {
  it('drops the second copy of each requestId (overlapping exports) and says how many', async () => {
    // Eleven requests, the first ten of them delivered twice: 21 lines, 11 requests, 1 over the limit.
    const path = file('overlapping.jsonl', jsonLines([...FLOOD.slice(0, 10), ...FLOOD.slice(0, 11)]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+2025-03-14T02:00:01\.000Z\s+rate-all\s+1\s+11\s+1$/m);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: dropped 10 duplicate records (an httpRequest.requestId read before, as when ' +
        'exports overlap): each request is counted once\n',
    );
    const json = await run('replay', path, '--config', TEN_PER_MINUTE, '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ summary: { records: 21, duplicates: 10 } });
  });

  it('keeps requests of the same client and time that have their own ids', async () => {
    const sameMoment = Array.from({ length: 11 }, () => loginRecord('45.33.12.7', T0));
    const path = file('same-moment.jsonl', jsonLines(sameMoment));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+\S+\s+rate-all\s+1\s+11\s+1$/m);
  });
});

describe('replay names a rule scope the way WAF does', () => {
  it('says "URI path starts with" and "Host header is" instead of a glob', async () => {
    const config = file(
      'scoped.json',
      JSON.stringify({
        rateRules: [{ name: 'login', limit: 10, windowSeconds: 60, uriPathPrefix: '/login', host: 'shop.example.com' }],
      }),
    );
    const path = file('scoped.jsonl', jsonLines(FLOOD));
    const { code, stdout } = await run('replay', path, '--config', config);
    expect(code).toBe(0);
    expect(stdout).toContain(
      '  login: more than 10 requests in 60 s per client IP, only requests whose URI path starts with "/login" ' +
        'and whose Host header is "shop.example.com"\n',
    );
    expect(stdout).not.toContain('/login*');
  });
});

describe('replay reads timestamps written as text', () => {
  const withTimestamp = (record: object, timestamp: string) => ({ ...record, timestamp });

  it('reads "1741917600000" (digits in a string) as epoch milliseconds', async () => {
    const path = file('quoted-ms.jsonl', jsonLines(FLOOD.map((r) => withTimestamp(r, String(r.timestamp)))));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(BLOCKED_ROW);
  });

  it('skips a record whose timestamp is an ISO time, naming its line and why', async () => {
    const iso = withTimestamp(loginRecord('46.1.2.3', T0), '2025-03-14T02:00:00Z');
    const path = file('one-iso.jsonl', jsonLines([...FLOOD, iso]));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 1 malformed line of ${path}: with a timestamp that is text, not epoch ` +
        'milliseconds (line 13; such as "2025-03-14T02:00:00Z", an ISO 8601 time: WAF writes epoch milliseconds, and ' +
        'replay does not guess the zone or precision of a time a tool wrote out; convert it back to epoch milliseconds)\n',
    );
  });

  it('exits 1 for a log whose every timestamp is an ISO time, naming the first line, not "not a WAF log"', async () => {
    const records = FLOOD.map((r) => withTimestamp(r, new Date(r.timestamp).toISOString()));
    const path = file('all-iso.jsonl', jsonLines(records));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(
      `waf-autoblock replay: ${path} holds no AWS WAF log record that replay can count: its 12 records have a ` +
        'timestamp that is text, not epoch milliseconds (first at line 1: "2025-03-14T02:00:00.000Z", an ISO 8601 ' +
        'time: WAF writes epoch milliseconds, and replay does not guess the zone or precision of a time a tool wrote ' +
        'out; convert it back to epoch milliseconds)\n',
    );
  });
});

describe('replay warns when the log holds only blocked requests', () => {
  const blocked = FLOOD.map((r) => ({ ...r, action: 'BLOCK', terminatingRuleId: 'rate-all' }));

  it('warns once that the counts are too low, and which logging filter gives a faithful replay', async () => {
    const path = file('block-only.jsonl', jsonLines(blocked));
    const { code, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: every record has action BLOCK: the log holds only requests WAF blocked (a ' +
        'logging filter that keeps BLOCK only, the default logging.actions), so the rate rules saw too few requests ' +
        'and their counts are too low; for a faithful replay log every request: set logging.actions to ' +
        '["ALLOW","BLOCK","COUNT","CAPTCHA","CHALLENGE"] (a logging filter that keeps every action) while you tune\n',
    );
  });

  it('does not warn when one record was allowed', async () => {
    const path = file('mostly-blocked.jsonl', jsonLines([...blocked, loginRecord('46.1.2.3', T0)]));
    const { code, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('replay reads stdin and pipes', () => {
  it('reads - as stdin, gzipped, told by its first bytes', async () => {
    const { code, stdout, stderr } = await execWithStdin(
      gzipSync(jsonLines(FLOOD)),
      'replay',
      '-',
      '--config',
      TEN_PER_MINUTE,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(BLOCKED_ROW);
  });

  it('reads /dev/stdin as stdin, also when stdin is a socket (a program started replay)', async () => {
    const { code, stdout, stderr } = await execWithStdin(
      jsonLines(FLOOD),
      'replay',
      '/dev/stdin',
      '--config',
      TEN_PER_MINUTE,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(BLOCKED_ROW);
  });

  it('names stdin, and says it is empty, when nothing comes', async () => {
    const { code, stdout, stderr } = await execWithStdin('', 'replay', '-', '--config', TEN_PER_MINUTE);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe('waf-autoblock replay: stdin holds no AWS WAF log records: it is empty\n');
  });
});
