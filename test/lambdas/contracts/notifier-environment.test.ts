import { describe, expect, it } from 'vitest';
import { NOTIFIER_ENV, readNotifierSettings } from '#contracts/notifier-environment';
import { ConfigurationError } from '#contracts/environment';

const VALID: Record<keyof typeof NOTIFIER_ENV, string> = {
  scope: 'CLOUDFRONT',
  webAclName: 'WafAutoblock-web-acl',
  wafLogGroup: 'aws-waf-logs-WafAutoblock',
  blocklistIpv4: 'WafAutoblock-blocklist-ipv4|v4-id',
  blocklistIpv6: 'WafAutoblock-blocklist-ipv6|v6-id',
  alarmName: 'WafAutoblock-BlockedRequests',
  ledgerTable: 'Ledger',
  telegramSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:BotToken-AbCdEf',
  telegramChatIds: '["-1001234567890","@wafalerts"]',
  telegramApiUrl: 'https://api.telegram.org/',
  summaryMinutes: '15',
  maxListedRanges: '20',
  blockerLogGroup: '/aws/lambda/WafAutoblock-Blocker',
  opsTopicArn: 'arn:aws:sns:us-east-1:123456789012:WafAutoblock-OpsTopic',
  deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/WafAutoblock-DeadLetters',
};

const env = (overrides: Partial<Record<keyof typeof NOTIFIER_ENV, string | undefined>> = {}) =>
  Object.fromEntries(
    Object.entries({ ...VALID, ...overrides }).map(([key, value]) => [
      NOTIFIER_ENV[key as keyof typeof NOTIFIER_ENV],
      value,
    ]),
  );

describe('readNotifierSettings', () => {
  it('reads every variable, with the API URL without its trailing slash', () => {
    expect(readNotifierSettings(env())).toEqual({
      scope: 'CLOUDFRONT',
      webAclName: 'WafAutoblock-web-acl',
      wafLogGroup: 'aws-waf-logs-WafAutoblock',
      blocklist: {
        IPV4: [{ name: 'WafAutoblock-blocklist-ipv4', id: 'v4-id', scope: 'CLOUDFRONT' }],
        IPV6: [{ name: 'WafAutoblock-blocklist-ipv6', id: 'v6-id', scope: 'CLOUDFRONT' }],
      },
      alarmName: 'WafAutoblock-BlockedRequests',
      ledgerTable: 'Ledger',
      telegramSecretId: VALID.telegramSecretId,
      chatIds: ['-1001234567890', '@wafalerts'],
      telegramApiUrl: 'https://api.telegram.org',
      summaryMinutes: 15,
      maxListedRanges: 20,
      blockerLogGroup: '/aws/lambda/WafAutoblock-Blocker',
      deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/WafAutoblock-DeadLetters',
    });
    expect(readNotifierSettings(env({ telegramChatIds: '[]' })).chatIds).toEqual([]);
    expect(readNotifierSettings(env({ telegramApiUrl: 'http://127.0.0.1:8081' })).telegramApiUrl).toBe(
      'http://127.0.0.1:8081',
    );
  });

  it('reads every blocklist set of a family from a JSON array, in shard order; a bare name|id is one set', () => {
    const settings = readNotifierSettings(
      env({
        blocklistIpv4: '["WafAutoblock-blocklist-ipv4|v4-id","WafAutoblock-blocklist-ipv4-2|v4-id-2"]',
        blocklistIpv6: '["WafAutoblock-blocklist-ipv6|v6-id"]',
        scope: 'REGIONAL',
      }),
    );
    expect(settings.blocklist).toEqual({
      IPV4: [
        { name: 'WafAutoblock-blocklist-ipv4', id: 'v4-id', scope: 'REGIONAL' },
        { name: 'WafAutoblock-blocklist-ipv4-2', id: 'v4-id-2', scope: 'REGIONAL' },
      ],
      IPV6: [{ name: 'WafAutoblock-blocklist-ipv6', id: 'v6-id', scope: 'REGIONAL' }],
    });
  });

  it('runs without the blocker log group and the dead-letter queue (a stack deployed before them)', () => {
    const older = readNotifierSettings(env({ blockerLogGroup: undefined, deadLetterQueueUrl: '' }));
    expect(older).not.toHaveProperty('blockerLogGroup');
    expect(older).not.toHaveProperty('deadLetterQueueUrl');
    expect(readNotifierSettings(env({ blockerLogGroup: '' }))).not.toHaveProperty('blockerLogGroup');
  });

  it.each([
    ['scope', undefined, 'is not set'],
    ['scope', 'GLOBAL', 'CLOUDFRONT or REGIONAL'],
    ['telegramSecretId', '', 'is not set'],
    ['blocklistIpv4', 'no-id', '"name|id"'],
    ['blocklistIpv4', '[]', 'non-empty JSON array of "name|id" strings'],
    ['blocklistIpv6', '["a|1","b"]', 'non-empty JSON array of "name|id" strings'],
    ['blocklistIpv4', '["a|1","b|1"]', 'lists the same IP set twice'],
    ['blocklistIpv6', '["a|1"', 'non-empty JSON array of "name|id" strings'],
    ['telegramChatIds', '-100123', 'JSON array of chat ids'],
    ['telegramChatIds', '[-100123]', 'JSON array of chat ids'],
    ['telegramChatIds', '["not a chat"]', 'JSON array of chat ids'],
    ['telegramApiUrl', 'http://api.telegram.org', 'must use https'],
    ['telegramApiUrl', 'https://user:pw@api.telegram.org', 'credentials'],
    ['telegramApiUrl', 'telegram', 'must be a URL'],
    ['summaryMinutes', '0', 'from 1 to 180'],
    ['maxListedRanges', '2.5', 'from 1 to 98'],
  ] as const)('refuses %s=%j, naming the variable', (key, value, detail) => {
    let caught: unknown;
    try {
      readNotifierSettings(env({ [key]: value }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as ConfigurationError).variable).toBe(NOTIFIER_ENV[key]);
    expect((caught as ConfigurationError).message).toContain(detail);
  });

  it('holds no variable for the token itself: only the secret that holds it', () => {
    expect(Object.values(NOTIFIER_ENV).filter((name) => /TOKEN/i.test(name))).toEqual([]);
  });
});
