/**
 * The JSON that the configuration is read from, as a hostile or careless user writes it: object
 * internals as keys, runaway nesting, control characters in keys, a byte order mark, keys written
 * twice, numbers too large for JSON (issue 10, configuration findings 12 to 15, 19 and 20).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ECHO_LIMIT } from '#config/config-error';
import { MAX_CONFIG_DEPTH } from '#config/config-json';
import { configErrorFrom, configErrorOf, contextErrorOf, loadWithContext } from '../support/config-errors';

const directory = mkdtempSync(join(tmpdir(), 'waf-autoblock-config-input-'));
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

let files = 0;
/** A config file holding exactly `text`. */
function fileWith(text: string): string {
  const file = join(directory, `config-${files++}.json`);
  writeFileSync(file, text);
  return file;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('keys that name object internals are refused, never assigned', () => {
  it.each([
    ['wafAutoblock.__proto__.x', '__proto__'],
    ['wafAutoblock.constructor', 'constructor'],
    ['wafAutoblock.blocker.prototype', 'blocker.prototype'],
    ['wafAutoblock.rateRules[0].__proto__', 'rateRules[0].__proto__'],
  ])('-c %s=1 names %s', (written, key) => {
    const message = contextErrorOf({ [written]: '1' }, key);
    expect(message).toContain('is not a configuration key');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('-c wafAutoblock.blocker=\'{"__proto__":{"dryRun":true}}\' names blocker.__proto__', () => {
    contextErrorOf({ 'wafAutoblock.blocker': '{"__proto__":{"dryRun":true}}' }, 'blocker.__proto__');
  });

  it.each([
    ['{"__proto__": {"alarm": {"threshold": 5}}}', '__proto__'],
    ['{"blocker": {"__proto__": {"dryRun": true}}}', 'blocker.__proto__'],
    ['{"rateRules": [{"name": "a", "limit": 100, "constructor": 1}]}', 'rateRules[0].constructor'],
  ])('in a config file, %s names %s instead of being ignored', (text, key) => {
    const message = contextErrorOf({ config: fileWith(text) }, key);
    expect(message).toContain(' (in ');
  });
});

describe('runaway nesting is one line, not a stack overflow', () => {
  it('a config file of 10,000 nested arrays', () => {
    const message = contextErrorOf(
      { config: fileWith(`{"allowlist": ${nested(10_000)}}`) },
      `allowlist${'[0]'.repeat(ECHO_LIMIT / 3 - 3)}[… (${(9 + 3 * MAX_CONFIG_DEPTH - 3).toLocaleString('en-US')} characters)`,
    );
    expect(message).toContain(`nests more than ${MAX_CONFIG_DEPTH} levels deep`);
  });

  it('a -c value of 10,000 nested arrays', () => {
    const message = configErrorFrom(
      () => loadWithContext({ 'wafAutoblock.allowlist': nested(10_000) }),
      `allowlist${'[0]'.repeat(ECHO_LIMIT / 3 - 3)}[… (${(9 + 3 * MAX_CONFIG_DEPTH).toLocaleString('en-US')} characters)`,
    );
    expect(message).toContain('nests more than');
  });

  it('nesting that the configuration itself uses is read', () => {
    expect(loadWithContext({ config: fileWith('{"rateRules": [{"name": "a", "limit": 100}]}') }).rateRules).toEqual([
      expect.objectContaining({ name: 'a' }),
    ]);
  });
});

describe('an echoed key is escaped and cut like an echoed value', () => {
  it('an unknown key with an ESC byte comes back as \\u001b, never the byte', () => {
    const message = configErrorOf({ alarm: { '\u001b[2Jthreshold': 5 } }, 'alarm.\\u001b[2Jthreshold');
    expect(message).not.toContain('\u001b');
    expect(message).toContain('unknown key "alarm.\\u001b[2Jthreshold"');
  });

  it('an unknown key of 3,000 characters is cut after 64 with its length', () => {
    const key = 'k'.repeat(3_000);
    const message = configErrorOf({ [key]: 1 }, `${'k'.repeat(ECHO_LIMIT)}… (3,000 characters)`);
    expect(message.length).toBeLessThan(400);
  });

  it('a -c key path with an ESC byte is escaped', () => {
    const message = contextErrorOf({ 'wafAutoblock.alarm.\u001bx': '5' }, 'alarm.\\u001bx');
    expect(message).not.toContain('\u001b');
  });
});

describe('a config file as editors write it', () => {
  it('a UTF-8 byte order mark at the start is skipped', () => {
    const config = loadWithContext({ config: fileWith('\uFEFF{"alarm": {"threshold": 500}}') });
    expect(config.alarm.threshold).toBe(500);
  });

  it.each([
    ['{"alarm": {"threshold": 500, "threshold": 600}}', 'alarm.threshold'],
    ['{"stackName": "a", "stackName": "b"}', 'stackName'],
    ['{"rateRules": [{"name": "a", "limit": 100}, {"name": "b", "limit": 50, "name": "c"}]}', 'rateRules[1].name'],
  ])('a key written twice in one object, %s, names %s', (text, key) => {
    expect(contextErrorOf({ config: fileWith(text) }, key)).toContain('is written twice in one object');
  });

  it('the same key in different objects is no duplicate, and a string value is no key', () => {
    const config = loadWithContext({
      config: fileWith(
        '{"alarm": {"threshold": 9}, "rateRules": [{"name": "threshold", "limit": 100}, {"name": "b", "limit": 100}]}',
      ),
    });
    expect([config.alarm.threshold, config.rateRules.map((rule) => rule.name)]).toEqual([9, ['threshold', 'b']]);
  });

  it('text that is not JSON names the file, in one line', () => {
    expect(contextErrorOf({ config: fileWith('{"a" "b"}') }, 'config')).toContain('is not JSON');
  });
});

describe('a number too large for its key says the bound', () => {
  it.each([
    [
      { rateRules: [{ name: 'a', limit: 2 ** 60 }] },
      'rateRules[0].limit',
      'must be at most 2,000,000,000 (got 1152921504606847000)',
    ],
    [{ blocker: { ipv4Prefix: 2 ** 60 } }, 'blocker.ipv4Prefix', 'must be at most 32 (got 1152921504606847000)'],
    [
      { alarm: { threshold: 2 ** 60 } },
      'alarm.threshold',
      'must be at most 9,007,199,254,740,991 (got 1152921504606847000)',
    ],
  ])('%j: %s %s', (input, key, wording) => {
    expect(configErrorOf(input, key)).toBe(`invalid configuration: ${key} ${wording}`);
  });

  it('1e400 in a config file (Infinity to JSON)', () => {
    expect(
      contextErrorOf({ config: fileWith('{"rateRules": [{"name": "a", "limit": 1e400}]}') }, 'rateRules[0].limit'),
    ).toBe(
      'invalid configuration: rateRules[0].limit must be at most 2,000,000,000 (got a number beyond what JSON numbers hold)',
    );
  });

  it('-1e400 for a positive key', () => {
    expect(configErrorOf({ alarm: { threshold: -Infinity } }, 'alarm.threshold')).toBe(
      'invalid configuration: alarm.threshold must be more than 0 (got a number beyond what JSON numbers hold)',
    );
  });
});
