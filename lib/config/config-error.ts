/**
 * The one error type of the configuration (what the app prints as one line when synth stops), and
 * the wording every refusal shares: how a value the user wrote is echoed, and how a value of the
 * wrong type, size or choice is described when a schema gives no words of its own.
 */
import type { z } from 'zod';

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

/**
 * The most characters of a value that a refusal repeats. Enough for any address, CIDR, schedule
 * expression or header the configuration takes whole; a pasted file or a runaway value is cut.
 */
export const ECHO_LIMIT = 64;

/**
 * What JSON.stringify leaves raw but a terminal would act on: C1 controls, the line and paragraph
 * separators, and format characters (Unicode category Cf: the bidi controls U+200E/F, U+202A–E and
 * U+2066–9 that reorder the text around them, zero-width characters, tags).
 */
const INVISIBLE = /[\u007f-\u009f\u2028\u2029\p{Cf}]/gu;

/** `text` in JSON quotes, with {@link INVISIBLE} characters escaped too: `"1.2.3.4\u202e"`. */
function jsonQuoted(text: string): string {
  return JSON.stringify(text).replace(INVISIBLE, (character) =>
    Array.from(
      { length: character.length },
      (_, at) => `\\u${character.charCodeAt(at).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
}

/**
 * `value` as a refusal repeats it: in JSON quotes (so control, bidi and other format characters
 * stay escaped and the message stays one line and reads as written), cut after
 * {@link ECHO_LIMIT} characters with `…` and the total length, e.g. `"aaaa…" (3,000 characters)`.
 * Never cuts a character in two.
 */
export function quoteConfigValue(value: string): string {
  if (value.length <= ECHO_LIMIT) return jsonQuoted(value);
  const characters = Array.from(value);
  if (characters.length <= ECHO_LIMIT) return jsonQuoted(value);
  const shown = jsonQuoted(`${characters.slice(0, ECHO_LIMIT).join('')}…`);
  return `${shown} (${characters.length.toLocaleString('en-US')} characters)`;
}

/**
 * A key the user wrote (an unknown key, a `-c` path), as a refusal names it: control, bidi and
 * format characters escaped as JSON escapes controls (`\u001b`, `\u202e`), so that nothing reaches the terminal but text, and cut
 * after {@link ECHO_LIMIT} characters with `…` and the total length, like {@link quoteConfigValue}
 * but without the quotes, as keys are written bare.
 */
export function echoConfigKey(key: string): string {
  const escape = (text: string) => jsonQuoted(text).slice(1, -1);
  const characters = Array.from(key);
  if (characters.length <= ECHO_LIMIT) return escape(key);
  return `${escape(characters.slice(0, ECHO_LIMIT).join(''))}… (${characters.length.toLocaleString('en-US')} characters)`;
}

/** A value of any JSON type as a refusal names it: text quoted and cut, a list or object by kind. */
export function describeConfigValue(value: unknown): string {
  if (typeof value === 'string') return quoteConfigValue(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** The JSON types a configuration key may expect, as a refusal words them. */
const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list (a JSON array)',
  object: 'an object',
};

const count = (value: number | bigint) => value.toLocaleString('en-US');

/**
 * Words a zod issue that its schema left without a message, in the configuration's own terms:
 * `must be a number (got "abc")` instead of zod's "Invalid input: expected number, received
 * string". Pass as the `error` option of `configSchema.safeParse`; a message that a schema states
 * itself always wins over this one.
 *
 * @returns the message, said after the key; undefined for issues it has no better words for.
 */
export function configIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const got = `(got ${describeConfigValue(issue.input)})`;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      return issue.input === undefined ? `is missing; it must be ${expected}` : `must be ${expected} ${got}`;
    }
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue);
    case 'invalid_value':
      return `must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')} ${got}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor} ${got}`;
    default:
      return undefined;
  }
}

/** A length, count or number outside its bounds, by what was measured. */
function sizeMessage(
  issue: z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall> | z.core.$ZodRawIssue<z.core.$ZodIssueTooBig>,
): string {
  const small = issue.code === 'too_small';
  const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  const relation = small ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  switch (issue.origin) {
    case 'string':
      return `must be ${relation} ${count(bound)} character${bound === 1 ? '' : 's'} long`;
    case 'array':
    case 'set':
      return `must hold ${relation} ${count(bound)} item${bound === 1 ? '' : 's'}`;
    default:
      return `must be ${relation} ${count(bound)} (got ${describeConfigValue(issue.input)})`;
  }
}
