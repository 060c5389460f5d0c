/**
 * Bidi and other format characters in an echoed configuration value (issue 10, round 3, finding
 * 5): escaped as control characters are (`\u202e`), so that a refusal reads as written and cannot
 * reorder the terminal's text around it.
 */
import { describe, expect, it } from 'vitest';
import { quoteConfigValue } from '#config/config-error';
import { contextErrorOf } from '../support/config-errors';

const RAW_FORMAT = /[\u200e\u200f\u202a-\u202e\u2066-\u2069\p{Cf}]/u;

describe('format characters in an echoed value are escaped', () => {
  it('an unknown key with U+202E, from a -c object', () => {
    const message = contextErrorOf({ 'wafAutoblock.alarm': '{"thr\\u202ex":1}' }, 'alarm.thr\\u202ex');
    expect(message).toContain('unknown key "alarm.thr\\u202ex"');
    expect(message).not.toMatch(RAW_FORMAT);
  });

  it('an allowlist entry ending in U+202E', () => {
    const message = contextErrorOf({ 'wafAutoblock.allowlist': '["1.2.3.4\\u202e"]' }, 'allowlist[0]');
    expect(message).toContain('"1.2.3.4\\u202e"');
    expect(message).not.toMatch(RAW_FORMAT);
  });

  it('a -c path that cannot be read', () => {
    const message = contextErrorOf({ 'wafAutoblock.al\u2067arm..x': '5' }, 'al\\u2067arm..x');
    expect(message).toContain('cannot read this key');
    expect(message).not.toMatch(RAW_FORMAT);
  });

  it.each([
    ['\u200e', '\\u200e'],
    ['\u200f', '\\u200f'],
    ['\u202a', '\\u202a'],
    ['\u2066', '\\u2066'],
    ['\u2069', '\\u2069'],
    ['\ufeff', '\\ufeff'],
    ['\u0085', '\\u0085'],
    ['\u2028', '\\u2028'],
    ['\u{e0041}', '\\udb40\\udc41'],
  ])('%j is quoted as %s', (character, escaped) => {
    expect(quoteConfigValue(`a${character}b`)).toBe(`"a${escaped}b"`);
  });

  it('letters of any script are left as written', () => {
    expect(quoteConfigValue('шлюз-المصدر')).toBe('"шлюз-المصدر"');
  });
});
