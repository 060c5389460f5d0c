/**
 * The JSON that the configuration is read from (cdk.json's context, the `-c config=` file, `-c`
 * values) before any of it is merged or validated. Merging and cloning walk the whole value, so a
 * value nested thousands of levels deep would stop synth with a stack overflow, and a key named
 * `__proto__` would replace an object's prototype instead of setting a key (JSON.parse keeps it as
 * a key; an assignment does not): both are refused here, naming where. A file is also checked for
 * what JSON.parse passes silently: a leading byte order mark (stripped, as editors on Windows
 * write one) and a key written twice in one object (JSON.parse keeps the last one).
 */
import { ConfigError, echoConfigKey } from './config-error';
import { formatPath, type PathSegment } from './context-path';

/**
 * The deepest nesting that a configuration value may have. The configuration's own deepest key is
 * 4 levels down (`rateRules[0].name` is 3); 32 leaves room for any JSON a user means to write.
 */
export const MAX_CONFIG_DEPTH = 32;

/** Keys that name JavaScript object internals: never a configuration key, and unsafe to assign. */
const OBJECT_INTERNALS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `key` (one path segment, as written) cannot be a configuration key, or undefined when it may be one. */
export function internalKeyProblem(key: string): string | undefined {
  return OBJECT_INTERNALS.has(key)
    ? `is not a configuration key: "${key}" names JavaScript object internals, never a setting; remove it`
    : undefined;
}

function refuse(path: readonly PathSegment[], what: string, where: string): ConfigError {
  const key = echoConfigKey(formatPath(path) || '(root)');
  return new ConfigError(key, `invalid configuration: ${key}${where} ${what}`);
}

const tooDeep = `nests more than ${MAX_CONFIG_DEPTH} levels deep (no key of the configuration is more than 4 levels down): remove the extra nesting`;

/**
 * Checks a parsed value (iteratively, so that depth cannot overflow the stack): no object key
 * that names object internals, no nesting deeper than {@link MAX_CONFIG_DEPTH}.
 * @param where said after the key, e.g. ` (in config.json)`.
 * @throws {ConfigError} naming the first such key.
 */
export function checkConfigShape(value: unknown, where = '', base: readonly PathSegment[] = []): void {
  const pending: { value: unknown; path: PathSegment[] }[] = [{ value, path: [...base] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.path.length - base.length >= MAX_CONFIG_DEPTH) throw refuse(next.path, tooDeep, where);
    const entries: [PathSegment, unknown][] = Array.isArray(next.value)
      ? next.value.map((item, index) => [index, item])
      : Object.entries(next.value);
    for (const [key, item] of entries) {
      const path = [...next.path, key];
      const problem = typeof key === 'string' ? internalKeyProblem(key) : undefined;
      if (problem !== undefined) throw refuse(path, problem, where);
      pending.push({ value: item, path });
    }
  }
}

/** One open object or list while a file's text is scanned. */
type Open =
  | { readonly kind: 'object'; readonly keys: Set<string>; key: string | undefined; expectingKey: boolean }
  | { readonly kind: 'array'; index: number };

/**
 * Reads the text of a configuration file: a UTF-8 byte order mark at the start is skipped; a key
 * written twice in one object, a key that names object internals, or nesting deeper than
 * {@link MAX_CONFIG_DEPTH} is refused.
 * @param file the path as the user gave it, said in messages.
 * @throws {ConfigError} at key `config` when the text is not JSON; at the offending key otherwise.
 */
export function parseConfigFile(text: string, file: string): unknown {
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const where = ` (in ${file})`;
  scanKeys(json, where);
  try {
    return JSON.parse(json) as unknown;
  } catch (cause) {
    throw new ConfigError(
      'config',
      `invalid configuration: config file ${file} is not JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/**
 * Checks the text of a `-c` value that JSON.parse has read (`-c 'wafAutoblock.forwardedIp={…}'`,
 * `-c 'wafAutoblock={…}'`) as {@link parseConfigFile} checks a file: JSON.parse keeps the last of
 * a key written twice, so `{"headerName":"X-Real-IP",…,"headerName":"X-Forwarded-For"}` would
 * silently trust the second header. The CDK CLI passes `-c` values to the app as text, so this
 * sees them as typed; cdk.json's own `context` reaches the app already parsed by the CLI, with
 * any repeated key gone, and cannot be checked here.
 * @param base the path the value is set at (`['forwardedIp']`; `[]` for the whole block).
 * @throws {ConfigError} naming the repeated key, e.g. `forwardedIp.headerName`.
 */
export function checkRepeatedKeys(json: string, where: string, base: readonly PathSegment[] = []): void {
  scanKeys(json, where, base);
}

/** The path of the value being read: each open container's key or index. */
function pathOf(stack: readonly Open[], base: readonly PathSegment[]): PathSegment[] {
  return [...base, ...stack.map((open) => (open.kind === 'array' ? open.index : (open.key ?? '')))];
}

/**
 * Walks JSON text without building it, checking each object's keys as written. Text that is not
 * JSON is left for JSON.parse to describe: the scan stops checking at anything it cannot read.
 */
function scanKeys(json: string, where: string, base: readonly PathSegment[] = []): void {
  const stack: Open[] = [];
  const STRING = /"(?:[^"\\]|\\.)*"/y;
  for (let at = 0; at < json.length; at++) {
    const char = json[at];
    const top = stack.at(-1);
    if (char === '{' || char === '[') {
      if (stack.length >= MAX_CONFIG_DEPTH) throw refuse(pathOf(stack, base), tooDeep, where);
      stack.push(
        char === '{'
          ? { kind: 'object', keys: new Set(), key: undefined, expectingKey: true }
          : { kind: 'array', index: 0 },
      );
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      if (top?.kind === 'array') top.index++;
      else if (top?.kind === 'object') top.expectingKey = true;
    } else if (char === '"') {
      STRING.lastIndex = at;
      const literal = STRING.exec(json)?.[0];
      if (literal === undefined) return;
      at += literal.length - 1;
      if (top?.kind !== 'object' || !top.expectingKey) continue;
      let key: string;
      try {
        key = JSON.parse(literal) as string;
      } catch {
        return;
      }
      top.expectingKey = false;
      top.key = key;
      const problem = internalKeyProblem(key);
      if (problem !== undefined) throw refuse(pathOf(stack, base), problem, where);
      if (top.keys.has(key))
        throw refuse(
          pathOf(stack, base),
          'is written twice in one object; JSON keeps only the last one: keep one',
          where,
        );
      top.keys.add(key);
    }
  }
}
