/**
 * The notifier's delivery metrics as the telegram-undelivered health alarm reads them: one EMF line
 * per invocation, namespace WafAutoblock, dimension `service` = the function's service name, with
 * TelegramDelivered and TelegramUndelivered counted per message part. Telegram is the loopback
 * stand-in; the bot token comes from a strict Secrets Manager mock.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { ANSWERS, TelegramServer } from '../../support/telegram-server';
import { CHAT, OTHER_CHAT, SETTINGS, snsEvent, TOKEN } from './fixtures';

const SERVICE = 'shop-web-notifier';
const secrets = mockClient(SecretsManagerClient);
let server: TelegramServer;
let lines: string[] = [];

const context = {
  functionName: 'notifier',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 80_000,
} as unknown as Context;

function setEnvironment(chatIds: readonly string[]): void {
  const values: Partial<Record<keyof typeof NOTIFIER_ENV, string>> = {
    scope: SETTINGS.scope,
    webAclName: SETTINGS.webAclName,
    wafLogGroup: SETTINGS.wafLogGroup,
    blocklistIpv4: `${SETTINGS.blocklist.IPV4[0].name}|${SETTINGS.blocklist.IPV4[0].id}`,
    blocklistIpv6: `${SETTINGS.blocklist.IPV6[0].name}|${SETTINGS.blocklist.IPV6[0].id}`,
    alarmName: SETTINGS.alarmName,
    ledgerTable: SETTINGS.ledgerTable,
    telegramSecretId: SETTINGS.telegramSecretId,
    telegramChatIds: JSON.stringify(chatIds),
    telegramApiUrl: server.url,
    summaryMinutes: '15',
    maxListedRanges: '20',
  };
  for (const [key, value] of Object.entries(values)) vi.stubEnv(NOTIFIER_ENV[key as keyof typeof NOTIFIER_ENV], value);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', SERVICE);
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);
}

/** The EMF records the invocation printed. */
function emfRecords(): Record<string, unknown>[] {
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => '_aws' in record);
}

beforeAll(async () => {
  server = await TelegramServer.start({ token: TOKEN, chats: [CHAT] });
});

afterAll(async () => {
  await server.stop();
  secrets.restore();
});

beforeEach(() => {
  vi.resetModules();
  server.reset();
  secrets.reset();
  secrets.onAnyCommand().rejects(new Error('unexpected command'));
  secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({ SecretString: TOKEN });
  lines = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation(capture);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the notifier handler publishes its Telegram deliveries', () => {
  it('counts every delivered part, with no undelivered one, under the dimension the alarm watches', async () => {
    server.addChat(OTHER_CHAT);
    setEnvironment([CHAT, OTHER_CHAT]);
    const { handler } = await import('#notifier/handler');

    await handler(snsEvent('test', 'AlertTopic'), context);

    const [emf, ...more] = emfRecords();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({
      service: SERVICE,
      [HEALTH_METRICS.telegramDelivered]: 2,
      [HEALTH_METRICS.telegramUndelivered]: 0,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['service']],
            Metrics: expect.arrayContaining([
              { Name: HEALTH_METRICS.telegramDelivered, Unit: 'Count' },
              { Name: HEALTH_METRICS.telegramUndelivered, Unit: 'Count' },
            ]) as unknown,
          },
        ],
      },
    });
  });

  it('counts a part Telegram refused for good as undelivered, and the invocation succeeds (no retry)', async () => {
    // OTHER_CHAT is unknown to the stand-in: Telegram answers 400 "chat not found".
    server.removeChat(OTHER_CHAT);
    setEnvironment([CHAT, OTHER_CHAT]);
    const { handler } = await import('#notifier/handler');

    await expect(handler(snsEvent('test', 'AlertTopic'), context)).resolves.toMatchObject({ delivery: 'telegram' });

    expect(server.delivered().map((message) => message.chatId)).toEqual([CHAT]);
    expect(emfRecords()).toEqual([
      expect.objectContaining({
        service: SERVICE,
        [HEALTH_METRICS.telegramDelivered]: 1,
        [HEALTH_METRICS.telegramUndelivered]: 1,
      }),
    ]);
  });

  it('resolves on a revoked token (401): the event is not retried into the dead-letter queue', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({
      SecretString: '123456:revoked-token-revoked-token-revoked-t',
    });
    setEnvironment([CHAT]);
    const { handler } = await import('#notifier/handler');

    await expect(handler(snsEvent('test', 'AlertTopic'), context)).resolves.toMatchObject({ delivery: 'telegram' });

    // The stand-in answers 401 Unauthorized to a token it does not know, as Telegram does to a revoked one.
    expect(server.requests).toHaveLength(1);
    expect(server.delivered()).toEqual([]);
    expect(emfRecords()).toEqual([
      expect.objectContaining({ [HEALTH_METRICS.telegramDelivered]: 0, [HEALTH_METRICS.telegramUndelivered]: 1 }),
    ]);
  });

  it('fails the invocation on a server error (500) so that Lambda retries, and still publishes', async () => {
    server.answerNext(...Array.from({ length: 10 }, () => ANSWERS.serverError()));
    setEnvironment([CHAT]);
    const { handler } = await import('#notifier/handler');

    await expect(handler(snsEvent('test', 'AlertTopic'), context)).rejects.toThrow(/not delivered/);

    expect(emfRecords()).toEqual([expect.objectContaining({ [HEALTH_METRICS.telegramUndelivered]: 1 })]);
  });

  it('publishes zeros when no chat is configured (messages are only logged)', async () => {
    setEnvironment([]);
    const { handler } = await import('#notifier/handler');

    await handler(snsEvent('test', 'AlertTopic'), context);

    expect(emfRecords()).toEqual([
      expect.objectContaining({ [HEALTH_METRICS.telegramDelivered]: 0, [HEALTH_METRICS.telegramUndelivered]: 0 }),
    ]);
  });
});
