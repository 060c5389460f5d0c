/**
 * The notifier's test harness, written once for its tests (beside their fixtures, which test/support
 * may not import): what makes a message sendable to
 * Telegram ({@link expectSendable}), the environment the construct sets for the notifier
 * ({@link stubNotifierEnvironment}), and the Telegram stand-in on loopback with the bot token
 * behind a strict Secrets Manager mock ({@link useTelegramAndSecrets}).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { MAX_PARTS, TELEGRAM_MESSAGE_LIMIT } from '#notifier/telegram-html';
import { BLOCKER_LOG_GROUP, CHAT, DEAD_LETTER_QUEUE_URL, OPS_TOPIC_ARN, SETTINGS, TOKEN } from './fixtures';
import { TELEGRAM_FORMATS_AT_MOST, telegramEntities } from './telegram-entities';
import { checkTelegramHtml, TelegramServer, visibleText } from '../../support/telegram-server';

/**
 * Asserts that Telegram would accept and format every message in full: at most {@link MAX_PARTS}
 * of them, each within the limit, well-formed, at most 100 entities, something to show.
 */
export function expectSendable(messages: readonly string[]): void {
  expect(messages.length).toBeGreaterThan(0);
  expect(messages.length).toBeLessThanOrEqual(MAX_PARTS);
  for (const message of messages) {
    expect(message.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT);
    expect(checkTelegramHtml(message)).toBeUndefined();
    expect(telegramEntities(message)).toBeLessThanOrEqual(TELEGRAM_FORMATS_AT_MOST);
    expect(visibleText(message).trim()).not.toBe('');
  }
}

/** Values of the notifier's variables by their key in {@link NOTIFIER_ENV}; `undefined` leaves one unset. */
export type NotifierEnvironmentValues = Partial<Record<keyof typeof NOTIFIER_ENV, string | undefined>>;

/**
 * Stubs the environment the construct sets for the fixtures' {@link SETTINGS}, one chat
 * ({@link CHAT}) and Telegram at `telegramApiUrl`, with `overrides` on top; the logger is silent
 * and the region fixed. `extra` adds other variables (e.g. Powertools' metrics settings).
 * `vi.unstubAllEnvs()` undoes it.
 */
export function stubNotifierEnvironment(
  telegramApiUrl: string,
  overrides: NotifierEnvironmentValues = {},
  extra: Readonly<Record<string, string>> = {},
): void {
  const values: NotifierEnvironmentValues = {
    scope: SETTINGS.scope,
    webAclName: SETTINGS.webAclName,
    wafLogGroup: SETTINGS.wafLogGroup,
    blocklistIpv4: `${SETTINGS.blocklist.IPV4[0].name}|${SETTINGS.blocklist.IPV4[0].id}`,
    blocklistIpv6: `${SETTINGS.blocklist.IPV6[0].name}|${SETTINGS.blocklist.IPV6[0].id}`,
    alarmName: SETTINGS.alarmName,
    ledgerTable: SETTINGS.ledgerTable,
    telegramSecretId: SETTINGS.telegramSecretId,
    telegramChatIds: JSON.stringify([CHAT]),
    telegramApiUrl,
    summaryMinutes: '15',
    maxListedRanges: '20',
    blockerLogGroup: BLOCKER_LOG_GROUP,
    opsTopicArn: OPS_TOPIC_ARN,
    deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
    ...overrides,
  };
  for (const key of Object.keys(values) as (keyof typeof NOTIFIER_ENV)[]) {
    const value = values[key];
    if (value !== undefined) vi.stubEnv(NOTIFIER_ENV[key], value);
  }
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
}

/** The Telegram stand-in and the strict Secrets Manager mock of one test file. */
export interface TelegramAndSecrets {
  /** Knows {@link TOKEN} and {@link CHAT}; reset before each test. */
  readonly server: TelegramServer;
  /** Rejects every command but the read of the token secret, which answers {@link TOKEN}. */
  readonly secrets: AwsClientStub<SecretsManagerClient>;
}

/**
 * Starts the Telegram stand-in (`beforeAll`; stopped in `afterAll`), and before each test resets
 * the modules (so that each `import('#notifier/handler')` loads the handler afresh, as a cold
 * start), the stand-in and the secrets mock; after each, unstubs the environment.
 */
export function useTelegramAndSecrets(): TelegramAndSecrets {
  const secrets = mockClient(SecretsManagerClient);
  let server: TelegramServer | undefined;

  beforeAll(async () => {
    server = await TelegramServer.start({ token: TOKEN, chats: [CHAT] });
  });
  afterAll(async () => {
    await server?.stop();
    secrets.restore();
  });
  beforeEach(() => {
    vi.resetModules();
    server?.reset();
    secrets.reset();
    secrets.onAnyCommand().rejects(new Error('unexpected command'));
    secrets.on(GetSecretValueCommand, { SecretId: SETTINGS.telegramSecretId }, true).resolves({ SecretString: TOKEN });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  return {
    get server() {
      if (server === undefined) throw new Error("the Telegram stand-in is read before the harness's beforeAll ran");
      return server;
    },
    secrets,
  };
}
