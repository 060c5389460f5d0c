/**
 * Every error the Lambdas raise on purpose. Each names the resource involved and keeps its cause.
 * (ConfigurationError, the one a bad environment variable raises, is part of the environment
 * contract in lambdas/contracts/environment.ts.)
 */

/** A source or a target could not be read; the run writes nothing based on it. */
export class ReadError extends Error {
  constructor(
    /** What could not be read, e.g. `IP set waf-autoblock-v4 (REGIONAL)` or `ledger table Ledger-1A2B`. */
    readonly resource: string,
    options?: { cause?: unknown },
  ) {
    super(`could not read ${resource}: ${describeCause(options?.cause)}`, options);
    this.name = 'ReadError';
  }
}

/** A write failed; the invocation must fail so the Lambda error alarm fires. */
export class WriteError extends Error {
  constructor(
    readonly resource: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `could not write ${resource}: ${detail}${options?.cause ? `: ${describeCause(options.cause)}` : ''}`,
      options,
    );
    this.name = 'WriteError';
  }
}

/**
 * A Telegram message was not delivered. The message, the detail and the cause never contain the bot
 * token: the Telegram adapter redacts every text that could carry it (request URLs do) before it
 * builds one of these.
 */
export class TelegramError extends Error {
  constructor(
    /** The chat the message was for (chat ids are not secret). */
    readonly chatId: string,
    /** What went wrong, with Telegram's own description when it sent one. */
    readonly detail: string,
    /** Telegram's HTTP status; undefined when no answer came (network error, timeout). */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`could not send to Telegram chat ${chatId}: ${detail}`, options);
    this.name = 'TelegramError';
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}

/** An UpdateIPSet that did not land; says how many lock conflicts it met on the way (for the LockConflicts metric). */
export class IpSetWriteError extends WriteError {
  constructor(
    resource: string,
    detail: string,
    readonly conflicts: number,
    options?: { cause?: unknown },
  ) {
    super(resource, detail, options);
    this.name = 'IpSetWriteError';
  }
}
