/**
 * `waf-autoblock replay` on the files operators really have, through the CLI's entry point: the
 * export shapes of CloudWatch Logs, records out of time order, files that are not WAF logs at
 * all, and FORWARDED_IP keys that clients choose. Fixtures are built here, in a temp dir that is
 * removed afterwards.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { BLOCKED_ROW, FLOOD, jsonLines, loginRecord, T0, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('replay-inputs-');

const run = (...argv: string[]) => runCli(argv);

/** A config with one rate rule of 10 requests per 60 s, to keep fixtures small. */
const TEN_PER_MINUTE = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));

describe('replay reads the shapes CloudWatch Logs exports', () => {
  it('reads a Logs Insights "Download table (JSON)" export, newest first, with the record in @message', async () => {
    const rows = [...FLOOD].reverse().map((r, i) => ({
      '@timestamp': new Date(r.timestamp).toISOString().replace('T', ' ').replace('Z', ''),
      '@message': JSON.stringify(r),
      '@logStream': `cloudfront_WafAutoblock_${i % 3}`,
      '@log': '123456789012:aws-waf-logs-WafAutoblock',
      '@ptr': `CmAKJwojMTIzNDU2Nzg5MDEyOmF3cy13YWYtbG9ncy${i}`,
    }));
    const path = file('insights.json', JSON.stringify(rows, null, 4));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stdout).toContain('Summary: 12 records read, 0 malformed');
  });

  it('reads aws logs filter-log-events output, two pages one after the other, gzipped', async () => {
    const page = (records: typeof FLOOD, nextToken?: string) => ({
      events: records.map((r, i) => ({
        logStreamName: `cloudfront_WafAutoblock_${i % 2}`,
        timestamp: r.timestamp,
        message: JSON.stringify(r),
        ingestionTime: r.timestamp + 900,
        eventId: `3812345678901234567890123456789012345678901234567890${i}`,
      })),
      searchedLogStreams: [{ logStreamName: 'cloudfront_WafAutoblock_0', searchedCompletely: true }],
      ...(nextToken === undefined ? {} : { nextToken }),
    });
    const pages = [page(FLOOD.slice(0, 7), 'Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCr'), page(FLOOD.slice(7))];
    const path = file('filter-log-events.json.gz', gzipSync(pages.map((p) => JSON.stringify(p, null, 4)).join('\n')));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stdout).toContain('Summary: 12 records read, 0 malformed');
  });

  it('reads a single-line filter-log-events page and events one per line', async () => {
    const events = FLOOD.map((r) => ({ logStreamName: 's', timestamp: r.timestamp, message: JSON.stringify(r) }));
    const compact = file('compact-page.json', JSON.stringify({ events, searchedLogStreams: [] }));
    const perLine = file('events.jsonl', jsonLines(events));
    for (const path of [compact, perLine]) {
      const { code, stdout } = await run('replay', path, '--config', TEN_PER_MINUTE);
      expect(code).toBe(0);
      expect(stdout).toMatch(BLOCKED_ROW);
    }
  });

  it('reads aws logs tail lines (timestamp, log stream, record), and records pretty-printed or back to back', async () => {
    const tail = FLOOD.map(
      (r) =>
        `${new Date(r.timestamp).toISOString().replace('Z', '000+00:00')} cloudfront_WafAutoblock_0 ${JSON.stringify(r)}`,
    ).join('\n');
    const pretty = FLOOD.map((r) => JSON.stringify(r, null, 2)).join('\n');
    // Firehose delivers records back to back when nothing adds a newline between them.
    const backToBack = FLOOD.map((r) => JSON.stringify(r)).join('');
    const paths = [file('tail.log', tail), file('pretty.json', pretty), file('firehose.log', backToBack)];
    for (const path of paths) {
      const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toMatch(BLOCKED_ROW);
    }
  });

  it('skips entries of a document that hold no WAF record, naming their lines', async () => {
    const rows = [{ '@timestamp': '2025-03-14 02:00:00.000', '@message': 'START RequestId: 1' }, ...FLOOD];
    const path = file('mixed.json', JSON.stringify(rows, null, 2));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 1 malformed entry of ${path}: without a WAF record (line 2)\n`,
    );
  });
});

describe('replay counts records out of time order at their own time', () => {
  // Issue 10: ten requests at 02:02:00.000-.090, then one from 02:00:00.000 out of another stream.
  const interleaved = [
    ...Array.from({ length: 10 }, (_, i) => loginRecord('45.33.12.7', T0 + 120_000 + i * 10)),
    loginRecord('45.33.12.7', T0),
  ];

  it('blocks nothing when no 60 s window holds more than 10', async () => {
    const path = file('interleaved.jsonl', jsonLines(interleaved));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('No range would have been blocked.');
    expect(stdout).toContain('Summary: 11 records read, 0 malformed, 0 keys limited, 0 ranges would be blocked');
  });

  it('says when a record came later than the reorder window, and how wide a window would do', async () => {
    const path = file('late.jsonl', jsonLines(interleaved));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE, '--reorder-window', '0');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+2025-03-14T02:02:00\.090Z\s+rate-all\s+1\s+11\s+1$/m);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: 1 record came more than 0 s after a later one (up to 121 s) and was counted ' +
        '0 s before the latest record instead of at its own time, so counts can be wrong in both directions and ranges that ' +
        'crossed a limit may be missing: replay with --reorder-window 180 to count it exactly\n',
    );
    const wider = await run('replay', path, '--config', TEN_PER_MINUTE, '--reorder-window', '180');
    expect(wider).toMatchObject({ code: 0, stderr: '' });
    expect(wider.stdout).toContain('No range would have been blocked.');
  });

  it('exits 2 on a reorder window out of range', async () => {
    const { code, stderr } = await run('replay', 'x.jsonl', '--reorder-window', '90000');
    expect(code).toBe(2);
    expect(stderr).toContain('--reorder-window must be a whole number from 0 to 86400, got "90000"');
  });
});

describe('replay refuses a file that holds no WAF record, naming what it is', () => {
  const albLine =
    'https 2025-03-14T02:00:00.123456Z app/my-alb/50dc6c495c0c9188 45.33.12.7:2817 10.0.0.1:80 0.000 0.001 0.000 ' +
    '200 200 34 366 "GET https://shop.example.com:443/ HTTP/1.1" "curl/8.5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ' +
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 ' +
    '"Root=1-58337262-36d228ad5d99923122bbe354" "shop.example.com" "arn:aws:acm:us-east-1:123456789012:certificate/1" ' +
    '0 2025-03-14T02:00:00.122000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1';

  it.each([
    ['empty.log', '', 'it is empty'],
    ['blank.log', '\n  \n', 'it holds only blank lines'],
    ['empty.gz', gzipSync(''), 'it is empty once decompressed'],
    ['notes.txt', 'Dear operator,\nthe log is attached.\n', 'it looks like plain text'],
    ['notes.log.gz', gzipSync('Dear operator,\nthe log is attached.\n'), 'it looks like plain text, gzipped'],
    ['a.jsonl', '{"a":1}\n{"a":2}\n', 'it looks like JSON lines without WAF fields (first keys: a)'],
    [
      'alb.log',
      `${albLine}\n${albLine}\n`,
      'it looks like an ALB access log (space-separated, starts with a protocol and a timestamp)',
    ],
    [
      'cloudfront.log',
      '#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip\n2025-03-14\t02:00:00\tFRA56-P1\t1024\t45.33.12.7\n',
      'it looks like a CloudFront standard access log (tab-separated, with #Fields headers)',
    ],
    [
      'insights.csv',
      '@timestamp,@message\n2025-03-14 02:00:00.000,"{""timestamp"":1}"\n',
      'it looks like CSV (first columns: @timestamp, @message): download the Logs Insights results as JSON instead',
    ],
    ['no-results.json', '[]\n', 'it looks like an empty JSON array'],
    ['numbers.json', '[1, 2]\n', 'it looks like a JSON array of values that are not WAF records'],
    ['null.json', 'null\n', 'it looks like a JSON value that is not a WAF record (null)'],
    ['42.json', '42', 'it looks like a JSON value that is not a WAF record (42)'],
    [
      'tail-json.log',
      // aws logs tail --format json: the message pretty-printed on the lines after the timestamp and stream.
      FLOOD.slice(0, 2)
        .map((r) => `2025-03-14T02:00:00+00:00 cloudfront_WafAutoblock_0 \n${JSON.stringify(r, null, 4)}\n`)
        .join(''),
      'it looks like aws logs tail --format json output, which replay does not read (each record is ' +
        'pretty-printed over several lines): run aws logs tail with --format detailed or short instead',
    ],
    [
      'no-events.json',
      JSON.stringify({ events: [], searchedLogStreams: [] }, null, 4),
      'it looks like aws logs filter-log-events output with no events',
    ],
    [
      'lambda-insights.json',
      JSON.stringify([{ '@timestamp': '2025-03-14 02:00:00.000', '@message': 'START RequestId: 1' }], null, 4),
      'it looks like a CloudWatch Logs Insights export whose @message is not a WAF record',
    ],
    [
      'image.bin',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      'it looks like binary data, not text',
    ],
  ])('exits 1 on %s', async (name, content, phrase) => {
    const path = file(name, content);
    const { code, stdout, stderr } = await run('replay', path);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(`waf-autoblock replay: ${path} holds no AWS WAF log records: ${phrase}\n`);
  });

  it('says so in JSON format too, with nothing on stdout', async () => {
    const path = file('a2.jsonl', '{"a":1}\n');
    const { code, stdout } = await run('replay', path, '--format', 'json');
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
  });

  it('keeps going when some lines are WAF records, and says how many were skipped', async () => {
    const path = file('partly.log', [albLine, ...FLOOD.map((r) => JSON.stringify(r)), '{"a":1}'].join('\n'));
    const { code, stdout, stderr } = await run('replay', path, '--config', TEN_PER_MINUTE);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toBe(
      `waf-autoblock replay: warning: skipped 2 malformed lines of ${path}: without a WAF record (lines 1 and 14)\n`,
    );
  });
});

describe('replay warns when the client chooses a FORWARDED_IP key', () => {
  it('keys 150 forged logins by the first address, as WAF does, and says the header is not overwritten', async () => {
    const config = file(
      'forwarded.json',
      JSON.stringify({
        // Behind an ALB: no CloudFront in front whose viewer address would make the header the client's.
        scope: 'REGIONAL',
        forwardedIp: { headerName: 'X-Forwarded-For', setByOwnProxy: 'overwrites' },
        rateRules: [
          { name: 'login', limit: 100, windowSeconds: 60, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' },
        ],
      }),
    );
    // Issue 10: 45.33.99.10 sends X-Forwarded-For with a victim first; an appending proxy adds the sender.
    const forged = Array.from({ length: 150 }, (_, i) =>
      loginRecord('45.33.99.10', T0 + i * 200, {
        headers: [{ name: 'x-forwarded-for', value: '45.33.50.7, 45.33.99.10' }],
      }),
    );
    const honest = loginRecord('45.33.99.10', T0, { headers: [{ name: 'x-forwarded-for', value: '45.33.99.10' }] });
    const path = file('forged.jsonl', jsonLines([honest, ...forged]));
    const { code, stdout, stderr } = await run('replay', path, '--config', config);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^45\.33\.50\.0\/24\s+\S+\s+login\s+1\s+150\s+50$/m);
    expect(stderr).toBe(
      'waf-autoblock replay: warning: rule login: 150 of 151 requests carried several addresses in X-Forwarded-For, and WAF keys them by ' +
        'the first, which the client wrote: the configuration says your proxy overwrites this header, so either it ' +
        'appends to it or requests reach WAF without passing it\n',
    );
    const json = await run('replay', path, '--config', config, '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      tallies: [{ rule: 'login', counted: 151, unkeyed: 0, withoutHeader: 0, noHeaderAddress: 0, multiValued: 150 }],
    });
  });
});

describe('replay refuses a negative option value in one line, before reading the log', () => {
  it.each([
    ['--limit', '-5', '--limit must be a whole number from 10'],
    ['--reorder-window', '-1', '--reorder-window must be a whole number from 0'],
  ])('%s %s', async (flag, value, expected) => {
    const { code, stdout, stderr } = await runCli(['replay', 'examples/waf-log-sample.jsonl.gz', flag, value]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(expected);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
