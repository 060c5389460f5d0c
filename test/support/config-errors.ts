/** Asserts how the configuration refuses a value: one ConfigError, one line, naming the key. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '#config/load';
import type { WafAutoblockConfig } from '#config/schema';

/**
 * Runs `build`, expects a ConfigError whose key is `key` and whose one-line message names it, and
 * returns the message for further checks.
 */
export function configErrorFrom(build: () => unknown, key: string): string {
  let caught: unknown;
  try {
    build();
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

/**
 * Parses `input`, expects a ConfigError whose key is `key` and whose one-line message names it, and
 * returns the message for further checks.
 */
export function configErrorOf(input: unknown, key: string): string {
  return configErrorFrom(() => parseConfig(input), key);
}

const CDK_JSON_CONTEXT = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> }).context;

/**
 * Loads the configuration as `cdk synth` would with cdk.json's context plus `extra` (what `-c`
 * adds: `{ 'wafAutoblock.alarm.threshold': '500' }`, values as the CLI passes them, strings).
 */
export function loadWithContext(extra: Record<string, unknown>): WafAutoblockConfig {
  const context: Record<string, unknown> = { ...CDK_JSON_CONTEXT, ...extra };
  return loadConfig((key) => context[key], Object.keys(context));
}

/** {@link loadWithContext}, expecting it to refuse the context with a ConfigError naming `key`. */
export function contextErrorOf(extra: Record<string, unknown>, key: string): string {
  return configErrorFrom(() => loadWithContext(extra), key);
}
