/**
 * The AWS SDK's logger middleware, taken out of the clients that carry big payloads.
 *
 * Every SDK v3 client runs `loggerMiddleware` (@aws-sdk/core) around each call. After the answer
 * it copies the call's input and output through the schema's sensitive-data filter, to hand the
 * copies to `logger.info`, and it does so even when the logger is the SDK's default, a no-op that
 * drops them (the arguments are built before the call). Our calls carry the biggest payloads an
 * attack brings: 10,000 managed keys in one answer, an IP set of 10,000 addresses, a write-ahead
 * intent of 160 KB, ledger pages of 1 MB. The copy of the 10,000 keys alone took about 2.5 ms of
 * CPU in a fresh process (9.4 against 6.9 ms for the whole call, medians of 5 processes each,
 * Node.js 20), on the path to a big attack's first block. We never give the SDK a logger (the
 * blocker logs what each call did itself), so the copy is work for nothing; a client built with a
 * logger keeps the middleware, and its logs.
 *
 * The Lambda runs the SDK its Node.js runtime ships (the bundle leaves `@aws-sdk/*` out), whose
 * version the tests do not pin: an SDK without a middleware of this name has nothing taken out,
 * and its clients work as before (test/lambdas/adapters/sdk-logging.test.ts checks the name on the
 * version the tests run).
 */

/** The name the SDK registers its logger middleware under (`loggerMiddlewareOptions` in @aws-sdk/core). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/** What {@link withoutSdkLogging} needs of a client: its middleware stack. */
export interface HasMiddlewareStack {
  readonly middlewareStack: { remove(toRemove: string): boolean };
}

/**
 * Takes the SDK's logger middleware out of `client`, unless `logger` is given (the caller asked
 * for the SDK's logs). Call it once, where the client is made.
 * @param logger - The `logger` the client was configured with, if any.
 * @returns `client` itself, for use in a factory's return.
 */
export function withoutSdkLogging<C extends HasMiddlewareStack>(client: C, logger?: unknown): C {
  if (logger === undefined) client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
