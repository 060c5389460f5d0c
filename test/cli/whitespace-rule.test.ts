/**
 * One whitespace rule for every value the CLI reads (issue 10): ASCII whitespace, U+00A0 and U+FEFF
 * around a value are trimmed; any other Unicode space is refused with exit 2, naming the option
 * and the character as U+XXXX. Run through the CLI's entry point, before any AWS call.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../cli/arguments';
import { checkDeploymentOptions, DEPLOYMENT_OPTIONS } from '../../cli/deployment';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { FLOOD, jsonLines, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('whitespace-rule-');
const ALLOWLISTED = file('allowlisted.json', JSON.stringify({ allowlist: ['45.33.12.0/28'] }));
const TEN_PER_MINUTE = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));
const LOG = file('flood.jsonl', jsonLines(FLOOD));

const run = (...argv: string[]) => runCli(argv);

describe('ban and unban read the address with surrounding whitespace trimmed', () => {
  it.each([' 45.33.12.7', '45.33.12.7\u00a0', '\ufeff45.33.12.7\t'])(
    '%j is 45.33.12.7, with --for and --reason trimmed too (refused here by the config allowlist, exit 1)',
    async (address) => {
      const { code, stderr } = await run(
        'ban',
        address,
        '--for',
        ' 90m',
        '--reason',
        ' stuffing ',
        '--config',
        ALLOWLISTED,
      );
      expect(code).toBe(1);
      expect(stderr).toContain('refused: 45.33.12.7 (range 45.33.12.0/24) overlaps allowlist entry 45.33.12.0/28');
    },
  );

  it.each([
    [['ban', '\u200345.33.12.7'], 'the argument "\u200345.33.12.7" holds U+2003 (em space)'],
    [['unban', '45.33.12.7\u3000'], 'the argument "45.33.12.7\u3000" holds U+3000 (ideographic space)'],
    [['ban', '45.33.12.7', '--for', '\u300090m'], '--for "\u300090m" holds U+3000 (ideographic space)'],
    [['ban', '45.33.12.7', '--reason', 'stuffing\u2009'], '--reason "stuffing\u2009" holds U+2009 (thin space)'],
    [['ban', '45.33.12.7', '--stack', 'Shop\u200b'], '--stack "Shop\u200b" holds U+200B (zero width space)'],
    [['ban', '45.33.12.7', '--region', '\u2002eu-west-1'], '--region "\u2002eu-west-1" holds U+2002 (en space)'],
  ])('%j is refused with exit 2 naming the value and the character', async (argv, said) => {
    const { code, stdout, stderr } = await run(...argv);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain(`${said}, a space that is not trimmed; write the value without it`);
  });

  it('--stack and --region with surrounding whitespace are the stack and region', () => {
    const { values } = parseCommandLine(['--stack', ' ShopWaf\u00a0', '--region', 'eu-west-1 '], DEPLOYMENT_OPTIONS);
    expect(values).toEqual({ stack: 'ShopWaf', region: 'eu-west-1' });
    expect(() => {
      checkDeploymentOptions(values);
    }).not.toThrow();
  });
});

describe('replay flags follow the same rule', () => {
  it('--limit " 10" and --format "json " are 10 and json', async () => {
    const { code, stdout } = await run(
      'replay',
      LOG,
      '--config',
      TEN_PER_MINUTE,
      '--limit',
      ' 10',
      '--format',
      'json ',
    );
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as { rules: { limit: number }[]; blocked: { range: string }[] };
    expect(json.rules[0]?.limit).toBe(10);
    expect(json.blocked.map((b) => b.range)).toEqual(['45.33.12.0/24']);
  });

  it('--window with an ideographic space is refused naming it', async () => {
    const { code, stderr } = await run('replay', LOG, '--window', '60\u3000');
    expect(code).toBe(2);
    expect(stderr).toContain('--window "60\u3000" holds U+3000 (ideographic space), a space that is not trimmed');
  });
});
