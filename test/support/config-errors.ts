/** Asserts how the configuration refuses a value: one ConfigError, one line, naming the key. */
import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load';

/**
 * Parses `input`, expects a ConfigError whose key is `key` and whose one-line message names it, and
 * returns the message for further checks.
 */
export function configErrorOf(input: unknown, key: string): string {
  let caught: unknown;
  try {
    parseConfig(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.key).toBe(key);
  expect(error.message).toContain(key);
  expect(error.message).not.toContain('\n');
  return error.message;
}
