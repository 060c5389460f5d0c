/** The one error type of the configuration: what the app prints as one line when synth stops. */

/** A configuration value is invalid. The message is one line that names the key. */
export class ConfigError extends Error {
  constructor(
    /** Dotted path of the offending key, e.g. `alarm.threshold` or `rateRules[0].limit`. */
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** One refused value found by a check across keys: where in the configuration, and why. */
export interface ConfigProblem {
  /** Path of the key, e.g. `['rateRules', 0, 'name']`. */
  readonly path: (string | number)[];
  /** What is wrong and what to do, said after the key. */
  readonly message: string;
}
