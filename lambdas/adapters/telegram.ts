/**
 * Thin adapter over the Telegram Bot API's `sendMessage`, with the retry policy the notifier needs:
 *
 * - 429: wait Telegram's `retry_after` when the invocation has the time left, else give up;
 * - 5xx, network errors and timeouts: retry with jittered exponential backoff, a bounded number of times;
 * - any other 4xx (bad token, chat not found, ...): fail at once with Telegram's description;
 * - `can't parse entities` (our HTML refused): resend once as plain text, so the alert still arrives.
 *
 * The bot token is part of every request URL. It never leaves this module in a message, a detail or
 * a cause: every text derived from a request or an error is redacted first.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TelegramError } from '#shared/errors';

/** A bot token as BotFather issues it: `<bot id>:<secret>`. */
const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;
/** Anything that looks like a bot token, wherever it appears (URLs, error texts). */
const ANY_BOT_TOKEN = /\d{1,20}:[A-Za-z0-9_-]{20,100}/g;

/** True when `value` has the shape of a bot token (says nothing about whether Telegram accepts it). */
export function isBotToken(value: string): boolean {
  return BOT_TOKEN.test(value);
}

/** Replaces the token, and anything shaped like a token, with `<redacted>`. */
export function redactToken(value: string, token: string): string {
  const exact = token === '' ? value : value.split(token).join('<redacted>');
  return exact.replace(ANY_BOT_TOKEN, '<redacted>');
}

/** The narrow logger the client needs. */
export interface TelegramLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Options of {@link TelegramClient}. */
export interface TelegramClientOptions {
  /** Base URL without a trailing slash, e.g. `https://api.telegram.org`. */
  readonly apiUrl: string;
  readonly token: string;
  /** Milliseconds the invocation has left; no wait is started that would run past it. */
  readonly remainingMs: () => number;
  /**
   * Time kept back for the rest of the invocation (other chats, logging) when deciding whether a wait fits.
   * @default 3000
   */
  readonly reserveMs?: number;
  /**
   * One request's timeout.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Attempts for 5xx and network errors, the first included.
   * @default 4
   */
  readonly maxAttempts?: number;
  /**
   * 429 answers honoured per message before giving up.
   * @default 3
   */
  readonly maxRateLimitWaits?: number;
  /**
   * First backoff wait; doubles each attempt, with jitter.
   * @default 500
   */
  readonly baseDelayMs?: number;
  readonly logger?: TelegramLogger;
  /** Injected by tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
}

/** What {@link TelegramClient.sendMessage} did. */
export interface Delivery {
  /** HTTP requests made, the successful one included. */
  readonly requests: number;
  /** True when Telegram refused the HTML and the plain-text fallback went out instead. */
  readonly plainFallback: boolean;
}

/** The parts of a Bot API answer we read. */
interface BotApiAnswer {
  readonly ok?: unknown;
  readonly description?: unknown;
  readonly parameters?: { readonly retry_after?: unknown };
}

/** Sends messages to Telegram chats. Create one per token; it holds no connection state. */
export class TelegramClient {
  private readonly url: string;
  private readonly options: TelegramClientOptions;

  /** @throws {TelegramError} when the token does not look like a bot token (no request is made). */
  constructor(options: TelegramClientOptions) {
    if (!isBotToken(options.token)) {
      throw new TelegramError('(none)', 'the bot token does not have the form <bot id>:<secret>');
    }
    this.options = options;
    this.url = `${options.apiUrl.replace(/\/+$/, '')}/bot${options.token}/sendMessage`;
  }

  /**
   * Sends one message in HTML parse mode.
   * @param plainFallback - sent instead, without parse mode, if Telegram cannot parse the HTML.
   * @throws {TelegramError} when Telegram refuses the message, or after retries run out; the error
   *   says why and carries Telegram's status and description, never the token.
   */
  async sendMessage(chatId: string, html: string, plainFallback?: string): Promise<Delivery> {
    const {
      remainingMs,
      reserveMs = 3_000,
      requestTimeoutMs = 10_000,
      maxAttempts = 4,
      maxRateLimitWaits = 3,
      baseDelayMs = 500,
      sleep = (ms: number) => delay(ms),
      random = Math.random,
    } = this.options;
    const fetchImpl = this.options.fetch ?? fetch;
    const redact = (value: string) => redactToken(value, this.options.token);
    const fits = (waitMs: number) => waitMs + reserveMs <= remainingMs();

    let payload: Record<string, unknown> = {
      chat_id: chatId,
      text: html,
      parse_mode: 'HTML',
      disable_web_page_preview: true,
    };
    let plainFallbackUsed = false;
    let requests = 0;
    let failedAttempts = 0;
    let rateLimitWaits = 0;

    for (;;) {
      requests += 1;
      const timeoutMs = Math.max(1, Math.min(requestTimeoutMs, remainingMs() - reserveMs));
      let status: number;
      let answer: BotApiAnswer | undefined;
      try {
        const response = await fetchImpl(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        answer = parseAnswer(await response.text());
      } catch (error) {
        // Network error or timeout: no answer at all. Fetch errors may quote the URL, so redact.
        failedAttempts += 1;
        const reason = redact(describe(error));
        const wait = backoff(baseDelayMs, failedAttempts, random);
        if (failedAttempts < maxAttempts && fits(wait)) {
          this.options.logger?.warn('Telegram did not answer; retrying', { chatId, reason, waitMs: wait });
          await sleep(wait);
          continue;
        }
        throw new TelegramError(chatId, `no answer after ${requests} request(s): ${reason}`, undefined, {
          cause: new Error(reason),
        });
      }

      if (status >= 200 && status < 300 && answer?.ok === true) return { requests, plainFallback: plainFallbackUsed };
      const description = redact(
        typeof answer?.description === 'string' ? answer.description.slice(0, 300) : `HTTP ${status}`,
      );

      if (status === 429) {
        const retryAfter = answer?.parameters?.retry_after;
        const waitMs = (typeof retryAfter === 'number' && retryAfter >= 0 ? retryAfter : 1) * 1000;
        if (rateLimitWaits < maxRateLimitWaits && fits(waitMs)) {
          rateLimitWaits += 1;
          this.options.logger?.warn('Telegram rate limit; waiting as asked', { chatId, waitMs });
          await sleep(waitMs);
          continue;
        }
        throw new TelegramError(
          chatId,
          `rate limited (${description}); waiting ${waitMs / 1000} s more does not fit in this invocation`,
          status,
        );
      }
      if (status >= 500) {
        failedAttempts += 1;
        const wait = backoff(baseDelayMs, failedAttempts, random);
        if (failedAttempts < maxAttempts && fits(wait)) {
          this.options.logger?.warn('Telegram server error; retrying', { chatId, status, description, waitMs: wait });
          await sleep(wait);
          continue;
        }
        throw new TelegramError(chatId, `server error after ${requests} request(s): ${description}`, status);
      }
      if (
        status === 400 &&
        /can't parse entities/i.test(description) &&
        plainFallback !== undefined &&
        !plainFallbackUsed
      ) {
        // Our HTML is built to be valid; if Telegram still refuses it, the alert matters more than its looks.
        this.options.logger?.warn('Telegram refused the HTML; sending plain text instead', { chatId, description });
        plainFallbackUsed = true;
        payload = { chat_id: chatId, text: plainFallback, disable_web_page_preview: true };
        continue;
      }
      throw new TelegramError(chatId, `refused (HTTP ${status}): ${description}`, status);
    }
  }
}

/**
 * Whether Telegram refused for good: a 4xx answer other than 429 (401 revoked token, 403 bot removed
 * from the chat, 400 chat not found). Sending the same message again gets the same answer, so a retry
 * only repeats the failure. No answer (network, timeout), 429 and 5xx are transient.
 */
export function isPermanentRefusal(error: TelegramError): boolean {
  return error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429;
}

function parseAnswer(body: string): BotApiAnswer | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    // A proxy's HTML error page, say: the status alone decides.
    return undefined;
  }
}

/** Equal jitter: half the exponential step fixed, half random, so retries spread out but still wait. */
function backoff(baseMs: number, attempt: number, random: () => number): number {
  const step = baseMs * 2 ** (attempt - 1);
  return Math.round(step / 2 + (random() * step) / 2);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
