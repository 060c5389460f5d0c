/**
 * The Telegram client against a loopback server that behaves like the Bot API (test/support/telegram-server).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isBotToken, redactToken, TelegramClient, type TelegramClientOptions } from '#adapters/telegram';
import { TelegramError } from '#shared/errors';
import { ANSWERS, TelegramServer } from '../../support/telegram-server';
import { CHAT, OTHER_CHAT, TOKEN } from './fixtures';

let server: TelegramServer;
const waits: number[] = [];
const sleep = vi.fn((ms: number) => {
  waits.push(ms);
  return Promise.resolve();
});

function client(options: Partial<TelegramClientOptions> = {}): TelegramClient {
  return new TelegramClient({
    apiUrl: server.url,
    token: TOKEN,
    remainingMs: () => 60_000,
    sleep,
    random: () => 0.5,
    ...options,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<TelegramError> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof TelegramError)) throw new Error(`expected a TelegramError, got ${String(error)}`);
  return error;
}

/** Everything an error could show: message, stack, detail, and its causes'. */
function everythingIn(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(current));
    current = current.cause;
  }
  parts.push(String(current));
  return parts.join('\n');
}

beforeAll(async () => {
  server = await TelegramServer.start({ token: TOKEN, chats: [CHAT, OTHER_CHAT] });
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.reset();
  waits.length = 0;
  sleep.mockClear();
});

describe('TelegramClient', () => {
  it('posts sendMessage with HTML parse mode and no link previews', async () => {
    await expect(client().sendMessage(CHAT, '<b>hi</b> &amp; bye')).resolves.toEqual({
      requests: 1,
      plainFallback: false,
    });
    expect(server.requests).toEqual([
      {
        method: 'POST',
        path: '/bot<token>/sendMessage',
        tokenMatched: true,
        body: { chat_id: CHAT, text: '<b>hi</b> &amp; bye', parse_mode: 'HTML', disable_web_page_preview: true },
      },
    ]);
    expect(server.delivered()).toEqual([{ chatId: CHAT, text: '<b>hi</b> &amp; bye', parseMode: 'HTML' }]);
  });

  it('waits retry_after on 429 and sends again', async () => {
    server.answerNext(ANSWERS.tooManyRequests(7));
    await expect(client().sendMessage(CHAT, 'hi')).resolves.toMatchObject({ requests: 2 });
    expect(waits).toEqual([7_000]);
    expect(server.delivered()).toHaveLength(1);
  });

  it('gives up on 429 when retry_after does not fit in the time the invocation has left', async () => {
    server.answerNext(ANSWERS.tooManyRequests(30));
    const error = await failureOf(client({ remainingMs: () => 20_000 }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBe(429);
    expect(error.message).toContain('Too Many Requests: retry after 30');
    expect(error.message).toContain('does not fit in this invocation');
    expect(waits).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('honours at most maxRateLimitWaits 429s for one message', async () => {
    server.answerNext(...Array.from({ length: 4 }, () => ANSWERS.tooManyRequests(1)));
    const error = await failureOf(client({ maxRateLimitWaits: 3 }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBe(429);
    expect(waits).toEqual([1_000, 1_000, 1_000]);
    expect(server.requests).toHaveLength(4);
  });

  it('fails at once on "chat not found", with Telegram\'s description, and does not retry', async () => {
    const error = await failureOf(client().sendMessage('-100999', 'hi'));
    expect(error).toMatchObject({ chatId: '-100999', status: 400 });
    expect(error.message).toBe(
      'could not send to Telegram chat -100999: refused (HTTP 400): Bad Request: chat not found',
    );
    expect(server.requests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('fails at once on a token Telegram does not know, without showing the token', async () => {
    const wrong = '7000000001:BBwrong_token_but_well_formed_xyz12';
    const error = await failureOf(client({ token: wrong }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBe(401);
    expect(error.message).toContain('Unauthorized');
    expect(everythingIn(error)).not.toContain(wrong);
    expect(server.requests).toHaveLength(1);
  });

  it('retries 5xx with growing, jittered waits and delivers once the server recovers', async () => {
    server.answerNext(ANSWERS.serverError(), ANSWERS.badGateway());
    await expect(client().sendMessage(CHAT, 'hi')).resolves.toMatchObject({ requests: 3 });
    // Equal jitter with random() = 0.5: three quarters of 500 ms, then of 1,000 ms.
    expect(waits).toEqual([375, 750]);
    expect(server.delivered()).toHaveLength(1);
  });

  it('gives up after maxAttempts server errors', async () => {
    server.answerNext(...Array.from({ length: 4 }, () => ANSWERS.serverError()));
    const error = await failureOf(client({ maxAttempts: 4 }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBe(500);
    expect(error.message).toContain('server error after 4 request(s): Internal Server Error');
    expect(waits).toEqual([375, 750, 1_500]);
  });

  it('does not start a backoff wait that would run past the invocation', async () => {
    server.answerNext(ANSWERS.serverError());
    const error = await failureOf(client({ remainingMs: () => 3_200 }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBe(500);
    expect(waits).toEqual([]);
  });

  it('retries a dropped connection and a request that times out', async () => {
    server.answerNext('drop', 'hang');
    await expect(client({ requestTimeoutMs: 200 }).sendMessage(CHAT, 'hi')).resolves.toMatchObject({
      requests: 3,
    });
    expect(waits).toEqual([375, 750]);
  });

  it('fails with no status when the server is unreachable, and the error never shows the token', async () => {
    const gone = await TelegramServer.start({ token: TOKEN, chats: [CHAT] });
    const url = gone.url;
    await gone.stop();
    const error = await failureOf(client({ apiUrl: url, maxAttempts: 2 }).sendMessage(CHAT, 'hi'));
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/no answer after 2 request\(s\)/);
    expect(everythingIn(error)).not.toContain(TOKEN);
  });

  it('redacts the token from errors that quote the request URL', async () => {
    const leaky = vi.fn((input: string | URL | Request) =>
      Promise.reject(
        new TypeError(
          `fetch failed: connect ECONNREFUSED for ${input instanceof Request ? input.url : input.toString()}`,
        ),
      ),
    );
    const error = await failureOf(
      client({ fetch: leaky as unknown as typeof fetch, maxAttempts: 1 }).sendMessage(CHAT, 'hi'),
    );
    expect(leaky).toHaveBeenCalledWith(`${server.url}/bot${TOKEN}/sendMessage`, expect.anything());
    expect(error.message).toContain('/bot<redacted>/sendMessage');
    expect(everythingIn(error)).not.toContain(TOKEN);
  });

  it('sends the plain-text fallback once when Telegram cannot parse the HTML', async () => {
    server.answerNext(ANSWERS.cantParse());
    await expect(client().sendMessage(CHAT, '<b>x</b>', 'x')).resolves.toEqual({ requests: 2, plainFallback: true });
    expect(server.requests[1]?.body).toEqual({ chat_id: CHAT, text: 'x', disable_web_page_preview: true });
    // Without a fallback, the refusal is final.
    server.answerNext(ANSWERS.cantParse());
    const error = await failureOf(client().sendMessage(CHAT, '<b>x</b>'));
    expect(error.status).toBe(400);
  });

  it('refuses a token that does not look like one before sending anything', () => {
    expect(() => client({ token: 'not-a-token' })).toThrow(TelegramError);
    expect(() => client({ token: `${TOKEN}\n` })).toThrow(/does not have the form/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('token helpers', () => {
  it('recognise and redact bot tokens', () => {
    expect(isBotToken(TOKEN)).toBe(true);
    expect(isBotToken('123:short')).toBe(false);
    expect(redactToken(`url /bot${TOKEN}/x and 7000000001:BBwrong_token_but_well_formed_xyz12`, TOKEN)).toBe(
      'url /bot<redacted>/x and <redacted>',
    );
  });
});
