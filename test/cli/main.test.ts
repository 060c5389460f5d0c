import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLE = 'examples/waf-log-sample.jsonl.gz';
const dir = mkdtempSync(join(tmpdir(), 'waf-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI in-process with captured output. */
const run = (...argv: string[]) => runCli(argv);

/** Runs the real executable as a user would (`env`: the whole environment; default: this process's). */
async function exec(...argv: string[]) {
  return execWith(process.env, ...argv);
}

async function execWith(env: NodeJS.ProcessEnv, ...argv: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/waf-autoblock.mjs', ...argv], {
      cwd: ROOT,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('waf-autoblock (executable)', () => {
  it('replays the sample: the flood /24 and the scanner /64 are blocked', async () => {
    const { code, stdout } = await exec('replay', SAMPLE);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^91\.240\.118\.0\/24\s+2025-03-14T02:1\d:\S+\s+rate-all\s+3\s+6,480/m);
    expect(stdout).toMatch(/^2a0b:7280:200:3::\/64\s+2025-03-14T02:2\d:\S+\s+rate-all\s+1\s+2,160/m);
    expect(stdout).toMatch(/^Summary: 16,955 records read, 0 malformed, 5 keys limited, 3 ranges would be blocked/m);
  });

  it('prints help, and exits 2 naming an unknown flag or command', async () => {
    const help = await exec('--help');
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('replay') as unknown });
    const replayHelp = await exec('replay', '--help');
    expect(replayHelp).toMatchObject({ code: 0, stdout: expect.stringContaining('--window <s>') as unknown });
    const badFlag = await exec('replay', SAMPLE, '--limt', '5');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--limt');
    expect(await exec('bogus')).toMatchObject({ code: 2, stderr: expect.stringContaining('"bogus"') as unknown });
  });

  it('exits 1 naming a missing log file', async () => {
    const { code, stderr } = await exec('replay', 'no-such-log.jsonl');
    expect(code).toBe(1);
    expect(stderr).toContain('no-such-log.jsonl: no such file');
  });
});

/** What package.json says the version is. */
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * A user with no AWS credentials anywhere: no variables, no config or credentials file, no
 * instance metadata. Any AWS call would fail with "no AWS credentials found" (exit 1).
 */
const NO_CREDENTIALS: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: dir,
  AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};

describe('waf-autoblock (executable, no AWS credentials)', () => {
  it.each([
    [['ban', 'notanip'], '<ip|cidr> "notanip" is not an IPv4 or IPv6 address or CIDR range'],
    [
      ['ban', '10.1.2.3'],
      '10.1.2.3 is not globally routable (private, loopback, link-local, documentation, multicast or reserved): never blocked',
    ],
    [['unban', 'example.com'], '<ip|cidr> "example.com" is not an IPv4 or IPv6 address or CIDR range'],
    [
      ['unban', '10.1.2.3'],
      '10.1.2.3 is not globally routable (private, loopback, link-local, documentation, multicast or reserved): never blocked, so there is nothing to unban',
    ],
    [
      ['ban', '45.33.12.7', '--reason', 'ticket\n4711'],
      '--reason must be one line of printable text, got U+000A (a control or bidi formatting character) at character 7',
    ],
    [
      ['ban', '45.33.12.7', '--reason', 'paid by \u202egnp.exe'],
      '--reason must be one line of printable text, got U+202E (a control or bidi formatting character) at character 9',
    ],
    [
      ['ban', '45.33.12.7', '--reason', '\u{1F525}'.repeat(257)],
      '--reason must be at most 256 characters (Unicode code points), got 257',
    ],
    // stdin is a pipe here: nobody could answer the question.
    [['flush'], 'stdin is not a terminal, so nobody can confirm removing every managed range: pass --yes to go ahead'],
  ])('%j: one line saying what is wrong, exit 2, before asking AWS for anything', async (argv, message) => {
    const { code, stdout, stderr } = await execWith(NO_CREDENTIALS, ...argv);

    expect(stdout).toBe('');
    expect(stderr).toMatch(/^[^\n]*\n$/);
    expect(stderr).toContain(`waf-autoblock ${argv[0]}: ${message}`);
    expect(code).toBe(2);
  });

  it('reaches AWS, and says there are no credentials, once the input is right, in one line', async () => {
    const { code, stderr } = await execWith(NO_CREDENTIALS, 'ban', '45.33.12.7', '--region', 'eu-west-1');

    expect(code).toBe(1);
    // Nothing before it: on Node.js 20 the SDK's 8-line NodeVersionSupportWarning is not printed.
    expect(stderr).toMatch(/^waf-autoblock ban: no AWS credentials found [^\n]*\n$/);
  });

  it('takes a --reason of 256 emoji (512 UTF-16 units): the limit counts characters as people see them', async () => {
    const reason = '\u{1F525}'.repeat(256);
    const { code, stderr } = await execWith(
      NO_CREDENTIALS,
      'ban',
      '45.33.12.7',
      '--reason',
      reason,
      '--region',
      'eu-west-1',
    );

    expect(code).toBe(1);
    expect(stderr).toMatch(/^waf-autoblock ban: no AWS credentials found /);
  });

  it('names a profile AWS_PROFILE asks for that the config files lack, and how to list them, before any AWS call', async () => {
    const config = join(dir, 'aws-config-with-prod');
    writeFileSync(config, '[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n');
    const env = { ...NO_CREDENTIALS, AWS_CONFIG_FILE: config, AWS_PROFILE: 'prdo' };

    const { code, stdout, stderr } = await execWith(env, 'unban', '45.33.12.7', '--region', 'eu-west-1');

    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(
      `waf-autoblock unban: AWS_PROFILE names profile "prdo", which is not in ${config} or ` +
        `${join(dir, 'no-aws-credentials')}; "aws configure list-profiles" lists the profiles there are\n`,
    );
    const known = await execWith({ ...env, AWS_PROFILE: 'prod' }, 'unban', '45.33.12.7', '--region', 'eu-west-1');
    expect(known.stderr).toMatch(/^waf-autoblock unban: no AWS credentials found /);
  });

  it("shows the SDK's Node.js version notice when asked to, with the SDK's own variable", async () => {
    const env = { ...NO_CREDENTIALS, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
    const { code, stderr } = await execWith(env, 'status', '--region', 'eu-west-1');

    expect(code).toBe(1);
    // The SDK warns below Node.js 22 only.
    const major = Number(process.versions.node.split('.')[0]);
    expect(stderr.includes('NodeVersionSupportWarning')).toBe(major < 22);
    expect(stderr).toContain('waf-autoblock status: no AWS credentials found');
  });
});

describe('waf-autoblock --version', () => {
  it.each(['--version', '-V'])('%s prints the version from package.json and exits 0', async (flag) => {
    expect(await run(flag)).toEqual({ code: 0, stdout: `waf-autoblock ${VERSION}\n`, stderr: '' });
  });

  it.each([
    ['status', '--version'],
    ['list', '-V'],
    ['ban', '45.33.12.7', '--version'],
    ['unban', '-V'],
    ['diff', '--version'],
    ['flush', '-V'],
    ['replay', '--version'],
  ])('%s %s prints the version too, without looking anything up', async (...argv) => {
    expect(await runCli(argv, { aws: noAws([]) })).toEqual({
      code: 0,
      stdout: `waf-autoblock ${VERSION}\n`,
      stderr: '',
    });
  });

  it('takes --version after "--" as an argument, not as the flag', async () => {
    const { code, stderr } = await run('unban', '--', '--version');
    expect(code).toBe(2);
    expect(stderr).toContain('<ip|cidr> "--version" is not an IPv4 or IPv6 address');
  });

  it('works from the executable too', async () => {
    expect(await exec('--version')).toEqual({ code: 0, stdout: `waf-autoblock ${VERSION}\n`, stderr: '' });
  });
});

describe('waf-autoblock --help', () => {
  const commands = ['status', 'list', 'ban', 'unban', 'diff', 'flush', 'replay'];

  it('lists every command with its summary', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(0);
    const listed = stdout
      .split('\n')
      .filter((line) => /^ {2}\w/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(listed).toEqual(commands);
    expect(stdout).toContain(
      '\nOptions:\n  -h, --help     show this help\n  -V, --version  print the version of waf-autoblock\n',
    );
  });

  it.each(commands)('prints the usage, options and examples of %s and exits 0', async (name) => {
    const { code, stdout } = await run(name, '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Usage: waf-autoblock ${name} `));
    expect(stdout).toContain('Options:');
    expect(stdout).toContain(`Examples:\n  waf-autoblock ${name}`);
    if (name !== 'replay') expect(stdout).toContain('--stack <name>');
  });
});

describe('waf-autoblock replay', () => {
  it.each([
    [['replay'], 'missing the <log file> argument'],
    [['replay', SAMPLE, '--window', '90'], '--window must be one of 60, 120, 300, 600, got 90'],
    [['replay', SAMPLE, '--limit', '5'], '--limit must be a whole number from 10 to 2000000000, got "5"'],
    [['replay', SAMPLE, '--prefix', '24x'], '--prefix must be a whole number from 8 to 32, got "24x"'],
    [['replay', SAMPLE, '--format', 'xml'], '--format must be table or json, got "xml"'],
    [['replay', SAMPLE, 'second.log'], 'expected one <log file>, got 2'],
  ])('exits 2 on %j', async (argv, message) => {
    const { code, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('applies the config file: the allowlisted office is refused, the login attacks are keyed on their proxy', async () => {
    const { code, stdout } = await run('replay', SAMPLE, '--config', 'examples/replay-config.json');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^34\.240\.12\.0\/24\s+\S+\s+login\s+1\s+360/m);
    expect(stdout).toMatch(/^81\.2\.69\.142\/32\s+\S+\s+rate-all\s+2,\d{3}\s+allowlisted/m);
    // The proxy is not the site's own: the addresses in its X-Forwarded-For are its clients' word.
    expect(stdout).not.toMatch(/95\.173\.136|10\.20\.30\.40/);
    expect(stdout).toMatch(/refused: 1 allowlisted$/m);
  });

  it('simulates one rule with --limit and --window, and widens by --prefix, in JSON', async () => {
    const { code, stdout, stderr } = await run(
      ...['replay', SAMPLE, '--limit', '500', '--window', '60', '--prefix', '16', '--format', 'json'],
    );
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as { rules: unknown[]; blocked: { range: string }[] };
    expect(json.rules).toEqual([expect.objectContaining({ name: 'rate-all', limit: 500, windowSeconds: 60 })]);
    expect(json.blocked.map((b) => b.range)).toContain('91.240.0.0/16');
    expect(stderr).toMatch(/^waf-autoblock replay: 16,955 records read/m);
  });

  it('reports malformed lines on stderr and still replays the rest', async () => {
    const path = join(dir, 'torn.jsonl');
    const record = JSON.stringify({ timestamp: 1_741_917_600_000, httpRequest: { clientIp: '45.33.12.7', uri: '/' } });
    writeFileSync(path, [record, '{"timestamp":', record, 'x'].join('\n'));
    const { code, stdout, stderr } = await run('replay', path, '--progress');
    expect(code).toBe(0);
    expect(stderr).toContain('skipped 2 malformed lines of');
    expect(stderr).toContain('without a WAF record (lines 2 and 4)');
    expect(stdout).toContain('2 records read, 2 malformed');
  });

  it('exits 1 naming a config file that does not exist or is invalid', async () => {
    const missing = await run('replay', SAMPLE, '--config', 'nope.json');
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('nope.json does not exist') as unknown });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ rateRules: [{ name: 'x', limit: 1 }] }));
    const invalid = await run('replay', SAMPLE, '--config', bad);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('rateRules[0].limit');
  });
});

/** An `aws` for the io that records the regions asked for and fails: these tests must never get that far. */
function noAws(regions: (string | undefined)[]) {
  return (region: string | undefined): never => {
    regions.push(region);
    throw new Error(`an AWS client was created for ${region}`);
  };
}

describe('usage errors of every command: one line, exit 2, before any AWS client', () => {
  const TOO_LONG = `W${'a'.repeat(199)}`;
  it.each([
    [
      ['status', '--stack', 'bad name!'],
      '--stack must be a CloudFormation stack name: a letter, then letters, digits and "-"; got "bad name!"',
    ],
    [['list', '--stack', '1abc'], 'got "1abc"'],
    [['diff', '--stack', TOO_LONG], '--stack must be a CloudFormation stack name of at most 128 characters, got 200'],
    [['flush', '--yes', '--stack', ''], 'got ""'],
    [
      ['unban', '45.33.12.7', '--region', 'eu-west-1;id'],
      '--region must be an AWS region such as eu-west-1, got "eu-west-1;id"',
    ],
    [['status', '--region', 'us-east-1a'], 'got "us-east-1a"'],
    [['status', '--region', 'EU-WEST-1'], 'got "EU-WEST-1"'],
    [['ban', '45.33.12.7', '--for', '-5'], 'got "-5"'],
    [['list', '--format', '-x'], '--format must be table, json or plain, got "-x"'],
    [['list', '--format'], '--format needs a value, as in "--format <value>"'],
    [['status', '--region', '--stack', 'Shop'], '--region needs a value'],
    [['diff', '--exit-code=yes'], '--exit-code takes no value, got "yes"'],
    [['status', '--stack', 'A', '--stack', 'B'], '--stack is given twice; give it once'],
    [['status', '--bogus'], 'unknown option --bogus; this command takes --stack, --region, --config'],
    [['flush', '-y'], 'unknown option -y; this command takes --stack, --region, --config, --yes'],
    [['diff', '--exit-code', '--bogus=x'], 'unknown option --bogus'],
  ])('%j', async (argv, message) => {
    const regions: (string | undefined)[] = [];

    const { code, stdout, stderr } = await runCli(argv, { aws: noAws(regions) });

    expect(stderr).toContain(message);
    expect(stderr).toMatch(
      new RegExp(`^waf-autoblock ${argv[0]}: [^\n]+ \\(see "waf-autoblock ${argv[0]} --help"\\)\n$`),
    );
    // Every quote is closed.
    expect(stderr.split('"').length % 2).toBe(1);
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(regions).toEqual([]);
  });

  it('tells a stack name of 128 characters from one of 129', async () => {
    const regions: (string | undefined)[] = [];
    const longest = `W${'-9'.repeat(63)}a`;
    expect(longest).toHaveLength(128);

    const accepted = await runCli(['status', '--stack', longest, '--region', 'eu-west-1'], { aws: noAws(regions) });
    const refused = await runCli(['status', '--stack', `${longest}b`, '--region', 'eu-west-1'], {
      aws: noAws(regions),
    });

    // Accepted: the CLI went on to create its AWS clients (which this test refuses: exit 1).
    expect(accepted.code).toBe(1);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('got 129') as unknown });
    expect(regions).toEqual(['eu-west-1']);
  });
});

describe('--region', () => {
  /** Every region of every partition in the AWS SDK's partition table (@aws-sdk/core 3.981), one per partition's shape at least. */
  const REGIONS = [
    ...['af-south-1', 'ap-east-2', 'ap-southeast-7', 'ca-west-1', 'eu-central-2', 'il-central-1', 'me-west-1'],
    ...['mx-central-1', 'sa-east-1', 'us-west-2', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-iso-east-1'],
    ...['us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1'],
  ];

  it.each(REGIONS)('takes %s and asks for clients there', async (region) => {
    const regions: (string | undefined)[] = [];

    const { code, stderr } = await runCli(['list', '--region', region], { aws: noAws(regions) });

    expect(stderr).not.toContain('--region must be');
    expect(code).toBe(1);
    expect(regions).toEqual([region]);
  });
});
