/**
 * The two ways a command can fail, mapped to exit codes by `main`: the operator asked for
 * something the command does not understand (2), or the command understood but could not do it (1).
 */

/** The command line is wrong: an unknown flag, a missing argument, a value out of range. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The command line was fine but the work failed: a missing file, an unreadable log, a bad config. Exit code 1. */
export class CommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
  }
}
