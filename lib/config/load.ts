/**
 * Builds the configuration from CDK context: the defaults in `cdk.json` (key `wafAutoblock`), then an
 * optional JSON file named with `-c config=path`, then single keys given as
 * `-c wafAutoblock.<path>=<value>` (see ./context-path: `alarm.threshold`, `rateRules[0].limit`).
 * Later layers win; objects merge, arrays replace, and a single-key override changes one key of
 * what the layers below hold.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { readValueText } from '#core/value-space';
import { ConfigError, configIssueMessage, describeConfigValue, echoConfigKey, quoteConfigValue } from './config-error';
import { checkConfigShape, checkRepeatedKeys, parseConfigFile } from './config-json';
import { formatPath, parseOverridePath, setOverride, type PathSegment } from './context-path';
import { configSchema, type WafAutoblockConfig } from './schema';
import { trimConfigValues } from './trimmed-values';

export { ConfigError };

/** The CDK context key that holds the configuration object. */
export const CONTEXT_KEY = 'wafAutoblock';
/** The CDK context key that names an extra JSON configuration file. */
export const FILE_CONTEXT_KEY = 'config';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `override` over `base`: objects merge key by key, anything else (lists too) replaces. */
function mergeObjects(base: JsonObject, override: JsonObject): JsonObject {
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const below = base[key];
    merged[key] = isObject(below) && isObject(value) ? mergeObjects(below, value) : value;
  }
  return merged;
}

/**
 * `-c` values arrive as strings; numbers, booleans, arrays and objects are written as JSON. Text
 * that starts like a list or an object but is not JSON was meant as one: refused, naming `key`
 * and where the parser stopped, rather than read as a string ("must be a list (got …)"). The
 * whitespace rule of every value applies first (lib/config/trimmed-values), so that `=\u00a0500`
 * is the number 500.
 * @throws {ConfigError}
 */
function parseContextValue(written: unknown, key: string, base: readonly PathSegment[] = []): unknown {
  if (typeof written !== 'string') return written;
  const reading = readValueText(written);
  if ('problem' in reading)
    throw new ConfigError(key, `invalid configuration: ${key} ${quoteConfigValue(written)} ${reading.problem}`);
  const text = reading.value;
  try {
    const value = JSON.parse(text) as Json;
    // A key written twice: JSON.parse keeps the last one silently (lib/config/config-json).
    checkRepeatedKeys(text, ` (in -c ${base.length === 0 ? CONTEXT_KEY : `${CONTEXT_KEY}.${key}`})`, base);
    return value;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    if (!/^\s*[[{]/.test(text)) return text;
    const reason = (cause as Error).message.replace(/\s+/g, ' ');
    throw new ConfigError(key, `invalid configuration: ${key} is not valid JSON: ${reason}`, { cause });
  }
}

/**
 * Validates a raw configuration object and applies the defaults. Text values are read by the
 * whitespace rule of every value first (see lib/config/trimmed-values).
 * @throws {ConfigError} naming the first invalid key, with the allowed values.
 */
export function parseConfig(raw: unknown): WafAutoblockConfig {
  const result = configSchema.safeParse(trimConfigValues(raw ?? {}), { error: configIssueMessage });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConfigError('', 'invalid configuration');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    // The key as written, escaped and cut: it is the user's text, not one of ours.
    const where = echoConfigKey(formatPath([...issue.path, key]));
    const known = knownKeysAt(issue.path);
    const suggestion = closest(key, known);
    throw new ConfigError(
      where,
      `invalid configuration: unknown key "${where}"${suggestion ? `; did you mean "${formatPath([...issue.path, suggestion])}"?` : ''} (known keys here: ${known.join(', ')})`,
    );
  }
  const where = formatPath(issue.path);
  const message = outOfRangeMessage(issue.path, valueAt(raw, issue.path)) ?? issue.message;
  throw new ConfigError(where, `invalid configuration: ${where || '(root)'} ${message}`);
}

/** What the raw configuration holds at `path` (zod's issues do not carry it). */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/**
 * A number too large for its key (Infinity from `1e400`, or past 2^53, where JSON numbers stop
 * being exact), said as the key's bound, `must be at most 2,000,000,000 (got 1152921504606847000)`,
 * rather than "must be a whole number" or "must be a number".
 */
function outOfRangeMessage(path: readonly PropertyKey[], input: unknown): string | undefined {
  if (typeof input !== 'number' || Number.isNaN(input) || Number.isSafeInteger(input)) return undefined;
  if (Number.isFinite(input) && Math.abs(input) < Number.MAX_SAFE_INTEGER) return undefined;
  const schema = unwrapped(schemaAt(path));
  if (!(schema instanceof z.ZodNumber)) return undefined;
  const bound = input > 0 ? schema.maxValue : schema.minValue;
  // The configuration's only bound of 0 is `.positive()`, which 0 itself does not meet.
  const relation = input > 0 ? 'at most' : bound === 0 ? 'more than' : 'at least';
  if (bound === null || !Number.isFinite(bound)) return undefined;
  const got = Number.isFinite(input) ? describeConfigValue(input) : `a number beyond what JSON numbers hold`;
  return `must be ${relation} ${bound.toLocaleString('en-US')} (got ${got})`;
}

/**
 * Reads the configuration from CDK context as described in this module's header.
 * @param tryGetContext the app's `node.tryGetContext`.
 * @throws {ConfigError} when a file cannot be read or a value is invalid.
 */
export function loadConfig(
  tryGetContext: (key: string) => unknown,
  contextKeys: readonly string[],
): WafAutoblockConfig {
  let defaults: unknown = tryGetContext(CONTEXT_KEY) ?? {};
  if (typeof defaults === 'string') defaults = parseContextValue(defaults, CONTEXT_KEY);
  if (!isObject(defaults))
    throw new ConfigError(CONTEXT_KEY, `invalid configuration: context "${CONTEXT_KEY}" must be an object`);
  checkConfigShape(defaults, ` (in context "${CONTEXT_KEY}")`);
  let raw = defaults;

  const file = tryGetContext(FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string')
      throw new ConfigError(FILE_CONTEXT_KEY, 'invalid configuration: -c config must be a file path');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new ConfigError(
        FILE_CONTEXT_KEY,
        `invalid configuration: cannot read config file ${file}: ${(cause as Error).message}`,
        { cause },
      );
    }
    const fromFile = parseConfigFile(text, file);
    if (!isObject(fromFile))
      throw new ConfigError(FILE_CONTEXT_KEY, `invalid configuration: ${file} must hold a JSON object`);
    checkConfigShape(fromFile, ` (in ${file})`);
    raw = mergeObjects(raw, fromFile);
  }

  return parseConfig(applyOverrides(raw, tryGetContext, contextKeys));
}

/**
 * The `-c wafAutoblock.<path>=<value>` overrides applied to a copy of `raw`, shortest paths first,
 * so that `-c wafAutoblock.rateRules=[...]` sets the list before `rateRules[0].limit` changes it.
 */
function applyOverrides(
  raw: JsonObject,
  tryGetContext: (key: string) => unknown,
  contextKeys: readonly string[],
): JsonObject {
  const overrides: { path: PathSegment[]; value: unknown }[] = [];
  for (const key of contextKeys) {
    if (!key.startsWith(`${CONTEXT_KEY}.`)) continue;
    const path = parseOverridePath(key.slice(CONTEXT_KEY.length + 1));
    const value = parseContextValue(tryGetContext(key), echoConfigKey(formatPath(path)), path);
    checkConfigShape(value, ` (in -c ${CONTEXT_KEY}.${echoConfigKey(formatPath(path))})`, path);
    overrides.push({ path, value });
  }
  const merged = structuredClone(raw);
  for (const { path, value } of overrides.sort((a, b) => a.path.length - b.path.length)) {
    setOverride(merged, path, value);
  }
  return merged;
}

/** The schema of the key at `path` (wrapped in its defaults and refinements). */
function schemaAt(path: readonly PropertyKey[]): z.ZodType {
  let schema: z.ZodType = configSchema;
  for (const segment of path) {
    schema = unwrapped(schema);
    if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(segment)] ?? schema;
  }
  return schema;
}

/** The keys an object at `path` in the schema accepts, so a typo can get a suggestion. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  const schema = unwrapped(schemaAt(path));
  if (!(schema instanceof z.ZodObject)) return [];
  // A removed key stays in the schema only to be refused with its own message: never suggest it.
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.keys(shape).filter((key) => !(shape[key] && unwrapped(shape[key]) instanceof z.ZodNever));
}

/** `schema` without its defaults (and prefaults), optionals, nullables and refinements: the object, array or value underneath. */
function unwrapped(schema: z.ZodType): z.ZodType {
  for (;;) {
    const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod
      .def;
    const inner = def.innerType ?? def.in;
    if (!['default', 'prefault', 'optional', 'nullable', 'pipe'].includes(def.type) || inner === undefined)
      return schema;
    schema = inner;
  }
}

/** The known key nearest to `key` by edit distance, when it is near enough to be a likely typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
