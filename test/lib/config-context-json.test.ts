/**
 * A `-c` value written as a list or an object that is not valid JSON (issue 10, second round,
 * finding 8) is refused as such, naming the key and where the parser stopped, instead of "must be
 * a list (got …)" for the text read as a string.
 */
import { describe, expect, it } from 'vitest';
import { contextErrorOf, loadWithContext } from '../support/config-errors';

describe('-c values that start like JSON but are not JSON', () => {
  it('a trailing comma in a list of rate rules names rateRules and the position', () => {
    const message = contextErrorOf({ 'wafAutoblock.rateRules': '[{"name":"a","limit":100,}]' }, 'rateRules');
    expect(message).toMatch(/^invalid configuration: rateRules is not valid JSON: .*position 25/);
    expect(message).not.toContain('must be a list');
  });

  it('an object with an unquoted key names its key', () => {
    const message = contextErrorOf({ 'wafAutoblock.alarm': ' {threshold: 5}' }, 'alarm');
    expect(message).toContain('alarm is not valid JSON: ');
  });

  it('a list item path is named as written', () => {
    contextErrorOf({ 'wafAutoblock.rateRules[0]': '{"name":"a",' }, 'rateRules[0]');
  });

  it('the whole wafAutoblock block given as broken JSON names wafAutoblock', () => {
    expect(contextErrorOf({ wafAutoblock: '{"scope":}' }, 'wafAutoblock')).toContain('not valid JSON');
  });

  it('valid JSON and plain strings are read as before', () => {
    const config = loadWithContext({
      'wafAutoblock.rateRules': '[{"name":"a","limit":100}]',
      'wafAutoblock.stackName': 'Shop-Waf',
    });
    expect(config.rateRules.map((rule) => [rule.name, rule.limit])).toEqual([['a', 100]]);
    expect(config.stackName).toBe('Shop-Waf');
  });
});
