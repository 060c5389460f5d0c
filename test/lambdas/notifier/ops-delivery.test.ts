/**
 * An ops message (a health alarm's ALARM or OK) that Telegram does not take must not feed the
 * alarms about Telegram delivery or the dead-letter queue: else telegram-undelivered, refused its own
 * OK, would go back to ALARM every few minutes, and a Telegram outage would fill the dead-letter
 * queue with ops messages. The handler resolves, and counts the part as OpsUndelivered, not as
 * TelegramUndelivered; an attack report still fails the invocation on a transient error, so that
 * Lambda retries it. Telegram is the loopback stand-in; the token comes from a strict Secrets
 * Manager mock.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { stubNotifierEnvironment, useTelegramAndSecrets } from './harness';
import { OutputCapture } from '../../support/output-capture';
import { ANSWERS } from '../../support/telegram-server';
import { CHAT, healthAlarmMessage, healthNotice, REPORT, SETTINGS, snsEvent } from './fixtures';

const telegram = useTelegramAndSecrets();
const output = new OutputCapture();

const context = {
  functionName: 'notifier',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 80_000,
} as unknown as Context;

/** telegram-undelivered's own messages, as the ops topic delivers them. */
const undeliveredAlarm = snsEvent(healthAlarmMessage(healthNotice('telegram-undelivered', 'ALARM')), 'OpsTopic');
const undeliveredOk = snsEvent(healthAlarmMessage(healthNotice('telegram-undelivered', 'OK', 'ALARM')), 'OpsTopic');
const blockReport = snsEvent(JSON.stringify(REPORT), 'ReportsTopic');

/** Every server error the client may meet while it retries. */
const serverDown = () => Array.from({ length: 10 }, () => ANSWERS.serverError());

async function loadHandler() {
  stubNotifierEnvironment(telegram.server.url, {}, { POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE });
  const { handler } = await import('#notifier/handler');
  return handler;
}

function tokenIsRevoked(): void {
  telegram.secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({
    SecretString: '123456:revoked-token-revoked-token-revoked-t',
  });
}

/** The delivery figures of the one EMF record the invocation printed. */
function published(): Record<string, unknown> {
  const records = output.emfRecords();
  expect(records).toHaveLength(1);
  const [record = {}] = records;
  return {
    delivered: record[HEALTH_METRICS.telegramDelivered],
    undelivered: record[HEALTH_METRICS.telegramUndelivered],
    // Published only when above 0 (a metric never published costs nothing).
    opsUndelivered: record[HEALTH_METRICS.opsUndelivered] ?? 0,
  };
}

beforeEach(() => {
  output.start({ stderr: false });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an ops message Telegram does not take', () => {
  it('with a revoked token: resolves, and counts OpsUndelivered, not TelegramUndelivered', async () => {
    tokenIsRevoked();
    const handler = await loadHandler();

    await expect(handler(undeliveredAlarm, context)).resolves.toMatchObject({ delivery: 'telegram' });

    expect(telegram.server.requests).toHaveLength(1);
    expect(telegram.server.delivered()).toEqual([]);
    expect(published()).toEqual({ delivered: 0, undelivered: 0, opsUndelivered: 1 });
  });

  it('refused again on its OK: nothing that telegram-undelivered watches rises, so it stays OK', async () => {
    tokenIsRevoked();
    const handler = await loadHandler();

    await expect(handler(undeliveredOk, context)).resolves.toMatchObject({ delivery: 'telegram' });

    expect(published()).toEqual({ delivered: 0, undelivered: 0, opsUndelivered: 1 });
  });

  it('on a server error (500) after the client retries: resolves, so no retry lands in the dead-letter queue', async () => {
    telegram.server.answerNext(...serverDown());
    const handler = await loadHandler();

    await expect(handler(undeliveredAlarm, context)).resolves.toMatchObject({ delivery: 'telegram' });

    // Retried in-process first: Telegram was asked more than once.
    expect(telegram.server.requests.length).toBeGreaterThan(1);
    expect(published()).toEqual({ delivered: 0, undelivered: 0, opsUndelivered: 1 });
  });

  it('when the bot token cannot be read: resolves, logging the message', async () => {
    telegram.secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not allowed'));
    const handler = await loadHandler();

    await expect(handler(undeliveredAlarm, context)).resolves.toMatchObject({ delivery: 'logged-only' });

    expect(telegram.server.requests).toEqual([]);
    expect(published()).toEqual({ delivered: 0, undelivered: 0, opsUndelivered: 1 });
  });

  it('is delivered as before when Telegram takes it', async () => {
    const handler = await loadHandler();

    await handler(undeliveredOk, context);

    expect(telegram.server.delivered().map((message) => message.chatId)).toEqual([CHAT]);
    expect(published()).toEqual({ delivered: 1, undelivered: 0, opsUndelivered: 0 });
  });
});

describe('an attack report Telegram does not take', () => {
  it('on a server error (500): still fails the invocation, so that Lambda retries it', async () => {
    telegram.server.answerNext(...serverDown());
    const handler = await loadHandler();

    await expect(handler(blockReport, context)).rejects.toThrow(/not delivered/);

    expect(published()).toEqual({ delivered: 0, undelivered: 1, opsUndelivered: 0 });
  });

  it('with a revoked token: resolves, and counts TelegramUndelivered (telegram-undelivered fires)', async () => {
    tokenIsRevoked();
    const handler = await loadHandler();

    await expect(handler(blockReport, context)).resolves.toMatchObject({ delivery: 'telegram' });

    expect(published()).toEqual({ delivered: 0, undelivered: 1, opsUndelivered: 0 });
  });

  it('when the bot token cannot be read: fails the invocation, for a retry', async () => {
    telegram.secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not allowed'));
    const handler = await loadHandler();

    await expect(handler(blockReport, context)).rejects.toThrow();
  });
});
