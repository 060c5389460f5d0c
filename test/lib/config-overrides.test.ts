import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf, contextErrorOf, loadWithContext } from '../support/config-errors';

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'waf-autoblock-')), 'config.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('-c overrides of one list item', () => {
  it.each(['wafAutoblock.rateRules[0].limit', 'wafAutoblock.rateRules.0.limit'])(
    '%s=500 changes the limit of the rule from cdk.json and keeps the rest of it',
    (key) => {
      const config = loadWithContext({ [key]: '500' });
      expect(config.rateRules).toHaveLength(1);
      expect(config.rateRules[0]).toMatchObject({
        name: 'rate-all',
        limit: 500,
        windowSeconds: 300,
        aggregateKey: 'IP',
      });
    },
  );

  it('changes a field of an item from a config file', () => {
    const file = configFile({
      rateRules: [
        { name: 'all', limit: 2000 },
        { name: 'login', limit: 100, windowSeconds: 60 },
      ],
    });
    const config = loadWithContext({ config: file, 'wafAutoblock.rateRules[1].uriPathPrefix': '/login' });
    expect(config.rateRules.map((rule) => [rule.name, rule.uriPathPrefix])).toEqual([
      ['all', undefined],
      ['login', '/login'],
    ]);
  });

  it('replaces one item of a plain list', () => {
    const file = configFile({ allowlist: ['198.51.100.0/24', '203.0.113.0/24'] });
    const config = loadWithContext({ config: file, 'wafAutoblock.allowlist[1]': '192.0.2.0/24' });
    expect(config.allowlist).toEqual(['198.51.100.0/24', '192.0.2.0/24']);
  });

  it('applies a whole list before a field of one of its items, whatever order the keys come in', () => {
    const config = loadWithContext({
      'wafAutoblock.rateRules[1].limit': '50',
      'wafAutoblock.rateRules': '[{"name":"a","limit":1000},{"name":"b","limit":100}]',
    });
    expect(config.rateRules.map((rule) => rule.limit)).toEqual([1000, 50]);
  });

  it('refuses an item that does not exist, naming the key and how to set the whole list', () => {
    const message = contextErrorOf({ 'wafAutoblock.rateRules[1].limit': '500' }, 'rateRules[1].limit');
    expect(message).toContain('rateRules holds 1 item (rateRules[0] to rateRules[0])');
    expect(message).toContain("-c 'wafAutoblock.rateRules=[...]'");
  });

  it('refuses an item of an empty list, and of a list that is not set at all', () => {
    expect(contextErrorOf({ 'wafAutoblock.notifier.chatIds[0]': '@ops' }, 'notifier.chatIds[0]')).toContain(
      'notifier.chatIds holds no items',
    );
    const withoutList = { wafAutoblock: { stackName: 'Site' }, 'wafAutoblock.allowlist[0]': '192.0.2.0/24' };
    expect(contextErrorOf(withoutList, 'allowlist[0]')).toContain('allowlist is not set');
  });

  it('refuses a key path it cannot read, with the syntax that works', () => {
    expect(contextErrorOf({ 'wafAutoblock.rateRules[x].limit': '5' }, 'rateRules[x].limit')).toContain(
      'wafAutoblock.rateRules[0].limit=500',
    );
    contextErrorOf({ 'wafAutoblock.rateRules[].limit': '5' }, 'rateRules[].limit');
    contextErrorOf({ 'wafAutoblock.alarm..threshold': '5' }, 'alarm..threshold');
  });

  it('refuses a key of a list without an index, showing the index', () => {
    expect(contextErrorOf({ 'wafAutoblock.rateRules.limit': '500' }, 'rateRules.limit')).toContain(
      'rateRules is a list: name an item by its index, e.g. rateRules[0].limit',
    );
  });

  it('refuses a key under a single value', () => {
    expect(contextErrorOf({ 'wafAutoblock.alarm.threshold.value': '5' }, 'alarm.threshold.value')).toContain(
      'alarm.threshold is a single value',
    );
  });

  it('still suggests the likely key for a typo', () => {
    expect(contextErrorOf({ 'wafAutoblock.rateRules[0].limt': '5' }, 'rateRules[0].limt')).toContain(
      'did you mean "rateRules[0].limit"',
    );
  });
});

describe('account', () => {
  it('-c wafAutoblock.account=123456789012 (read as a number) is the account "123456789012"', () => {
    expect(loadWithContext({ 'wafAutoblock.account': '123456789012' }).account).toBe('123456789012');
    expect(parseConfig({ account: 123456789012 }).account).toBe('123456789012');
  });

  it('keeps a leading 0 that -c passes as text', () => {
    expect(loadWithContext({ 'wafAutoblock.account': '012345678901' }).account).toBe('012345678901');
    expect(loadWithContext({ 'wafAutoblock.account': '"012345678901"' }).account).toBe('012345678901');
  });

  it('a number that lost its leading 0 gets the id it probably was, and how to quote it', () => {
    const message = configErrorOf({ account: 12345678901 }, 'account');
    expect(message).toContain('has 11 digits');
    expect(message).toContain(`-c 'wafAutoblock.account="012345678901"'`);
  });

  it.each([[1234567890123], [1.5], [-123456789012], ['12345678901'], ['1234567890ab'], [true]])(
    'refuses %o',
    (account) => {
      expect(configErrorOf({ account }, 'account')).toContain('12-digit AWS account id');
    },
  );
});
