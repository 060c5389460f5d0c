import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ECHO_LIMIT, quoteConfigValue } from '#config/config-error';
import { ConfigError, parseConfig } from '#config/load';
import { LOG_RETENTION_DAYS } from '#config/schema';
import { configErrorOf, contextErrorOf } from '../support/config-errors';

describe('a value of the wrong type is refused in our words, saying what it got', () => {
  it.each([
    [{ alarm: { threshold: 'abc' } }, 'alarm.threshold', 'must be a number (got "abc")'],
    [{ logging: { retentionDays: '30' } }, 'logging.retentionDays', 'must be a number (got "30")'],
    [{ blocker: { ipv4Prefix: 24.5 } }, 'blocker.ipv4Prefix', 'must be a whole number (got 24.5)'],
    [{ stackName: 5 }, 'stackName', 'must be a string (got 5)'],
    [{ notifier: { telegramApiUrl: true } }, 'notifier.telegramApiUrl', 'must be a string (got true)'],
    [{ rateRules: [{ name: 'a', limit: 100, host: ['x'] }] }, 'rateRules[0].host', 'must be a string (got a list)'],
    [{ allowlist: '198.51.100.0/24' }, 'allowlist', 'must be a list (a JSON array) (got "198.51.100.0/24")'],
    [{ managedRuleGroups: {} }, 'managedRuleGroups', 'must be a list (a JSON array) (got an object)'],
    [{ alarm: 5 }, 'alarm', 'must be an object (got 5)'],
    [{ blocker: null }, 'blocker', 'must be an object (got null)'],
  ])('%j: %s %s', (input, key, wording) => {
    expect(configErrorOf(input, key)).toBe(`invalid configuration: ${key} ${wording}`);
  });

  it('a boolean key keeps the words it states itself', () => {
    expect(configErrorOf({ blocker: { dryRun: 'yes' } }, 'blocker.dryRun')).toBe(
      'invalid configuration: blocker.dryRun must be true or false',
    );
  });

  it('a required key left out says it is missing and what it must be', () => {
    expect(configErrorOf({ rateRules: [{ name: 'a' }] }, 'rateRules[0].limit')).toBe(
      'invalid configuration: rateRules[0].limit is missing; it must be a number',
    );
  });

  it('a -c value that is not JSON arrives as text, and is named as such', () => {
    expect(contextErrorOf({ 'wafAutoblock.alarm.threshold': 'lots' }, 'alarm.threshold')).toBe(
      'invalid configuration: alarm.threshold must be a number (got "lots")',
    );
  });

  it('logging.retentionDays "<=": refused in our words, echoing the text it got', () => {
    expect(configErrorOf({ logging: { retentionDays: '<=' } }, 'logging.retentionDays')).toBe(
      'invalid configuration: logging.retentionDays must be a number (got "<=")',
    );
    expect(configErrorOf({ logging: { retentionDays: 31 } }, 'logging.retentionDays')).toBe(
      `invalid configuration: logging.retentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  });

  it("no refusal of any value of any type carries zod's own wording", () => {
    const keys = [
      ['stackName'],
      ['scope'],
      ['region'],
      ['rateRules'],
      ['allowlist'],
      ['webAclCapacityLimit'],
      ['alarm', 'threshold'],
      ['alarm', 'periodSeconds'],
      ['logging', 'retentionDays'],
      ['logging', 'actions'],
      ['blocker', 'schedule'],
      ['blocker', 'ipv6Prefix'],
      ['blocker', 'reservedConcurrency'],
      ['blocker', 'sharedIpSets'],
      ['notifier', 'chatIds'],
      ['notifier', 'summaryMinutes'],
    ];
    const anyJson = fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...keys), anyJson, (path, value) => {
        const input = path.length === 1 ? { [path[0] ?? '']: value } : { [path[0] ?? '']: { [path[1] ?? '']: value } };
        try {
          parseConfig(input);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          const { message } = error as ConfigError;
          // The value is echoed in quotes; a string such as "<=" is the user's text, not zod's words.
          const wording = message.replace(/"(?:[^"\\]|\\.)*"/g, '""');
          expect(wording).not.toMatch(/Invalid input|expected \w+, received|Too (small|big)|>=|<=/);
          expect(message).not.toContain('\n');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('an echoed value is cut after a bounded length, with its total length', () => {
  const long = 'x'.repeat(3_000);

  it('an allowlist entry of 3,000 characters', () => {
    const message = configErrorOf({ allowlist: [long] }, 'allowlist[0]');
    expect(message).toBe(
      `invalid configuration: allowlist[0] "${'x'.repeat(ECHO_LIMIT)}…" (3,000 characters) is not an IPv4 or IPv6 address or CIDR range`,
    );
    expect(message.length).toBeLessThan(200);
  });

  it('a schedule, a stack name of the wrong type, and a cron field of 3,000 characters', () => {
    for (const [input, key] of [
      [{ blocker: { schedule: long } }, 'blocker.schedule'],
      [{ blocker: { schedule: `cron(${long} * * * ? *)` } }, 'blocker.schedule'],
      [{ webAclCapacityLimit: long }, 'webAclCapacityLimit'],
    ] as const) {
      const message = configErrorOf(input, key);
      expect(message).toContain('characters)');
      expect(message.length).toBeLessThan(400);
    }
  });

  it('a -c key path of 3,000 characters that cannot be read: cut in the message and the key', () => {
    const written = `alarm.${'x'.repeat(3_000)}[`;
    const shown = `alarm.${'x'.repeat(ECHO_LIMIT - 6)}… (3,007 characters)`;
    expect(contextErrorOf({ [`wafAutoblock.${written}`]: '5' }, shown)).toBe(
      `invalid configuration: -c wafAutoblock.${shown}: cannot read this key; write keys with dots and list items with an index, e.g. wafAutoblock.rateRules[0].limit=500`,
    );
  });

  it('quoteConfigValue keeps short values whole and never cuts a character in two', () => {
    expect(quoteConfigValue('rate(5 minutes)')).toBe('"rate(5 minutes)"');
    expect(quoteConfigValue('a\nb')).toBe('"a\\nb"');
    const emoji = '😀'.repeat(ECHO_LIMIT + 1);
    expect(quoteConfigValue(emoji)).toBe(`"${'😀'.repeat(ECHO_LIMIT)}…" (${ECHO_LIMIT + 1} characters)`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (value) => {
        const quoted = quoteConfigValue(value);
        expect(quoted).not.toContain('\n');
        expect(quoted).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i); // no lone surrogate
        // Whole: the quotes read back as the value. Not JSON.stringify's text: format characters
        // (bidi, U+2028, ...) are escaped too, which a random grapheme sometimes is.
        if (Array.from(value).length <= ECHO_LIMIT) expect(JSON.parse(quoted)).toBe(value);
        else expect(quoted).toMatch(/…" \(\d+ characters\)$/);
      }),
    );
  });
});
