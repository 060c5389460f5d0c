/**
 * The Lambda entry as Lambda loads it: settings from the environment at import, clients created once,
 * the token read through Powertools Parameters (strict mock), Telegram on loopback.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { ConfigurationError } from '#contracts/environment';
import { TelegramServer } from '../../support/telegram-server';
import { BLOCKER_LOG_GROUP, CHAT, DEAD_LETTER_QUEUE_URL, OPS_TOPIC_ARN, SETTINGS, snsEvent, TOKEN } from './fixtures';

const secrets = mockClient(SecretsManagerClient);
let server: TelegramServer;

const context = {
  functionName: 'notifier',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 80_000,
} as unknown as Context;

function setEnvironment(overrides: Partial<Record<keyof typeof NOTIFIER_ENV, string>> = {}): void {
  const values: Record<keyof typeof NOTIFIER_ENV, string> = {
    scope: SETTINGS.scope,
    webAclName: SETTINGS.webAclName,
    wafLogGroup: SETTINGS.wafLogGroup,
    blocklistIpv4: `${SETTINGS.blocklist.IPV4[0].name}|${SETTINGS.blocklist.IPV4[0].id}`,
    blocklistIpv6: `${SETTINGS.blocklist.IPV6[0].name}|${SETTINGS.blocklist.IPV6[0].id}`,
    alarmName: SETTINGS.alarmName,
    ledgerTable: SETTINGS.ledgerTable,
    telegramSecretId: SETTINGS.telegramSecretId,
    telegramChatIds: JSON.stringify([CHAT]),
    telegramApiUrl: server.url,
    summaryMinutes: '15',
    maxListedRanges: '20',
    blockerLogGroup: BLOCKER_LOG_GROUP,
    opsTopicArn: OPS_TOPIC_ARN,
    deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
    ...overrides,
  };
  for (const [key, value] of Object.entries(values)) vi.stubEnv(NOTIFIER_ENV[key as keyof typeof NOTIFIER_ENV], value);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  // The delivery metrics are delivery-metrics.test.ts's to check; here they would only be noise.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
}

beforeAll(async () => {
  server = await TelegramServer.start({ token: TOKEN, chats: [CHAT] });
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  vi.resetModules();
  server.reset();
  secrets.reset();
  secrets.onAnyCommand().rejects(new Error('unexpected command'));
  secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({ SecretString: TOKEN });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('handler', () => {
  it('delivers the manual test message and reads the token once for warm invocations', async () => {
    setEnvironment();
    const { handler } = await import('#notifier/handler');
    await expect(handler(snsEvent('test', 'AlertTopic', undefined, 'm-1'), context)).resolves.toMatchObject({
      delivery: 'telegram',
      notices: [{ kind: 'plain', delivered: 1 }],
    });
    await handler(snsEvent('test again', 'AlertTopic', undefined, 'm-2'), context);
    expect(server.delivered().map((message) => message.text.split('\n')[3])).toEqual(['test', 'test again']);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('refuses to load without its settings, naming the variable', async () => {
    setEnvironment({ telegramChatIds: 'not json' });
    // resetModules gives the handler its own copy of the errors module, so compare by name.
    await expect(import('#notifier/handler')).rejects.toMatchObject({
      name: ConfigurationError.name,
      variable: NOTIFIER_ENV.telegramChatIds,
    });
  });
});
