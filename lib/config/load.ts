/**
 * Builds the configuration from CDK context: the defaults in `cdk.json` (key `wafAutoblock`), then an
 * optional JSON file named with `-c config=path`, then single keys given as
 * `-c wafAutoblock.<dotted.key>=<value>`. Later layers win; objects merge, arrays replace.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema, type WafAutoblockConfig } from './schema';

/** The CDK context key that holds the configuration object. */
export const CONTEXT_KEY = 'wafAutoblock';
/** The CDK context key that names an extra JSON configuration file. */
export const FILE_CONTEXT_KEY = 'config';

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

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override;
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = deepMerge(base[key], value);
  return merged;
}

/** `-c` values arrive as strings; numbers, booleans, arrays and objects are written as JSON. */
function parseContextValue(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function setPath(target: JsonObject, path: string[], value: unknown): void {
  let node = target;
  path.slice(0, -1).forEach((segment) => {
    if (!isObject(node[segment])) node[segment] = {};
    node = node[segment] as JsonObject;
  });
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/**
 * Validates a raw configuration object and applies the defaults.
 * @throws {ConfigError} naming the first invalid key, with the allowed values.
 */
export function parseConfig(raw: unknown): WafAutoblockConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConfigError('', 'invalid configuration');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const where = formatPath([...issue.path, key]);
    const known = knownKeysAt(issue.path);
    const suggestion = closest(key, known);
    throw new ConfigError(
      where,
      `invalid configuration: unknown key "${where}"${suggestion ? `; did you mean "${formatPath([...issue.path, suggestion])}"?` : ''} (known keys here: ${known.join(', ')})`,
    );
  }
  const where = formatPath(issue.path);
  throw new ConfigError(where, `invalid configuration: ${where || '(root)'} ${issue.message}`);
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
  let raw: unknown = tryGetContext(CONTEXT_KEY) ?? {};
  if (typeof raw === 'string') raw = parseContextValue(raw);
  if (!isObject(raw))
    throw new ConfigError(CONTEXT_KEY, `invalid configuration: context "${CONTEXT_KEY}" must be an object`);

  const file = tryGetContext(FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string')
      throw new ConfigError(FILE_CONTEXT_KEY, 'invalid configuration: -c config must be a file path');
    let fromFile: unknown;
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new ConfigError(
        FILE_CONTEXT_KEY,
        `invalid configuration: cannot read config file ${file}: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (!isObject(fromFile))
      throw new ConfigError(FILE_CONTEXT_KEY, `invalid configuration: ${file} must hold a JSON object`);
    raw = deepMerge(raw, fromFile);
  }

  const overrides: JsonObject = {};
  for (const key of contextKeys) {
    if (!key.startsWith(`${CONTEXT_KEY}.`)) continue;
    setPath(overrides, key.slice(CONTEXT_KEY.length + 1).split('.'), parseContextValue(tryGetContext(key)));
  }
  return parseConfig(deepMerge(raw, overrides));
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text ? `${text}.${String(segment)}` : String(segment);
  }, '');
}

/** The keys an object at `path` in the schema accepts, so a typo can get a suggestion. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const segment of [...path, undefined]) {
    // Unwrap defaults, optionals and refinements until we reach the object or array underneath.
    for (;;) {
      const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod
        .def;
      if ((def.type === 'default' || def.type === 'optional' || def.type === 'pipe') && (def.innerType ?? def.in)) {
        schema = (def.innerType ?? def.in) as z.ZodType;
        continue;
      }
      break;
    }
    if (segment === undefined) break;
    if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(segment)] ?? schema;
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
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
