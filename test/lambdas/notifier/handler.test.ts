/**
 * The Lambda entry as Lambda loads it: settings from the environment at import, clients created once,
 * the token read through Powertools Parameters (strict mock), Telegram on loopback.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { ConfigurationError } from '#contracts/environment';
import { stubNotifierEnvironment, useTelegramAndSecrets, type NotifierEnvironmentValues } from './harness';
import { snsEvent } from './fixtures';

const telegram = useTelegramAndSecrets();
const { secrets } = telegram;

const context = {
  functionName: 'notifier',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 80_000,
} as unknown as Context;

function setEnvironment(overrides: NotifierEnvironmentValues = {}): void {
  // The delivery metrics are delivery-metrics.test.ts's to check; here they would only be noise.
  stubNotifierEnvironment(telegram.server.url, overrides, { POWERTOOLS_METRICS_DISABLED: 'true' });
}

describe('handler', () => {
  it('delivers the manual test message and reads the token once for warm invocations', async () => {
    setEnvironment();
    const { handler } = await import('#notifier/handler');
    await expect(handler(snsEvent('test', 'AlertTopic', undefined, 'm-1'), context)).resolves.toMatchObject({
      delivery: 'telegram',
      notices: [{ kind: 'plain', delivered: 1 }],
    });
    await handler(snsEvent('test again', 'AlertTopic', undefined, 'm-2'), context);
    expect(telegram.server.delivered().map((message) => message.text.split('\n')[3])).toEqual(['test', 'test again']);
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
