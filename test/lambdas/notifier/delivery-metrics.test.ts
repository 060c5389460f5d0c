/**
 * The notifier's delivery metrics as the telegram-undelivered health alarm reads them: one EMF line
 * per invocation, namespace WafAutoblock, dimension `service` = the function's service name, with
 * TelegramDelivered and TelegramUndelivered counted per message part. Telegram is the loopback
 * stand-in; the bot token comes from a strict Secrets Manager mock.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { stubNotifierEnvironment, useTelegramAndSecrets } from './harness';
import { OutputCapture } from '../../support/output-capture';
import { ANSWERS } from '../../support/telegram-server';
import { CHAT, OTHER_CHAT, SETTINGS, snsEvent } from './fixtures';

const SERVICE = 'shop-web-notifier';
const telegram = useTelegramAndSecrets();
const { secrets } = telegram;
const output = new OutputCapture();

const context = {
  functionName: 'notifier',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 80_000,
} as unknown as Context;

/** The environment for these `chatIds`, without the ops settings, and the metrics under {@link SERVICE}. */
function setEnvironment(chatIds: readonly string[]): void {
  stubNotifierEnvironment(
    telegram.server.url,
    {
      telegramChatIds: JSON.stringify(chatIds),
      blockerLogGroup: undefined,
      opsTopicArn: undefined,
      deadLetterQueueUrl: undefined,
    },
    { POWERTOOLS_SERVICE_NAME: SERVICE, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
  );
}

/** The EMF records the invocation printed. */
const emfRecords = () => output.emfRecords();

beforeEach(() => {
  output.start({ stderr: false });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the notifier handler publishes its Telegram deliveries', () => {
  it('counts every delivered part, with no undelivered one, under the dimension the alarm watches', async () => {
    telegram.server.addChat(OTHER_CHAT);
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
    telegram.server.removeChat(OTHER_CHAT);
    setEnvironment([CHAT, OTHER_CHAT]);
    const { handler } = await import('#notifier/handler');

    await expect(handler(snsEvent('test', 'AlertTopic'), context)).resolves.toMatchObject({ delivery: 'telegram' });

    expect(telegram.server.delivered().map((message) => message.chatId)).toEqual([CHAT]);
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
    expect(telegram.server.requests).toHaveLength(1);
    expect(telegram.server.delivered()).toEqual([]);
    expect(emfRecords()).toEqual([
      expect.objectContaining({ [HEALTH_METRICS.telegramDelivered]: 0, [HEALTH_METRICS.telegramUndelivered]: 1 }),
    ]);
  });

  it('fails the invocation on a server error (500) so that Lambda retries, and still publishes', async () => {
    telegram.server.answerNext(...Array.from({ length: 10 }, () => ANSWERS.serverError()));
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
