/**
 * Single-key overrides given on the command line: `-c wafAutoblock.<path>=<value>`.
 *
 * A path names object keys with dots and list items with an index in brackets:
 * `alarm.threshold`, `rateRules[0].limit`, `notifier.chatIds[1]`. A bare number between dots
 * (`rateRules.0.limit`) means the same item, since no key of the configuration is a number. An
 * override changes an item that the lower layers (cdk.json, `-c config=file`) already hold; it
 * never adds one, because a half-written item (a rule with a limit and no name) would only fail
 * later with a less useful message.
 */
import { ConfigError, echoConfigKey } from './config-error';
import { internalKeyProblem } from './config-json';

/** One step of a path: an object key or a list index. */
export type PathSegment = string | number;

/** How a user writes an override on the command line: `-c wafAutoblock.<path>=<value>`. */
const CONTEXT_PREFIX = 'wafAutoblock.';
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const INDEX = /^(0|[1-9]\d*)$/;

/** `rateRules[0].limit`: the canonical spelling of a path, as error messages and the README write it. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text ? `${text}.${String(segment)}` : String(segment);
  }, '');
}

/**
 * Reads an override path as written after `wafAutoblock.`.
 * @throws {ConfigError} when the path is not dotted keys with optional `[index]` suffixes.
 */
export function parseOverridePath(written: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const part of written.split('.')) {
    if (INDEX.test(part)) {
      segments.push(Number(part));
      continue;
    }
    const bracket = part.indexOf('[');
    const name = bracket === -1 ? part : part.slice(0, bracket);
    const indexes = bracket === -1 ? '' : part.slice(bracket);
    const indexList = /^(\[(0|[1-9]\d*)\])*$/.exec(indexes);
    if (!NAME.test(name) || indexList === null) {
      // The key as typed, cut like any echoed value: a pasted file must not come back whole.
      const shown = echoConfigKey(written);
      throw new ConfigError(
        shown,
        `invalid configuration: -c ${CONTEXT_PREFIX}${shown}: cannot read this key; write keys with dots and list items with an index, e.g. ${CONTEXT_PREFIX}rateRules[0].limit=500`,
      );
    }
    const internal = internalKeyProblem(name);
    if (internal !== undefined) {
      const key = formatPath([...segments, name]);
      throw new ConfigError(key, `invalid configuration: -c ${CONTEXT_PREFIX}${key} ${internal}`);
    }
    segments.push(name, ...[...indexes.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])));
  }
  return segments;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sets `value` at `path` inside `target` (mutated), creating missing objects on the way.
 * @throws {ConfigError} naming the key when the path indexes a list item that does not exist, or
 *   indexes into something that is not a list.
 */
export function setOverride(target: Record<string, unknown>, path: readonly PathSegment[], value: unknown): void {
  let node: unknown = target;
  path.forEach((segment, depth) => {
    const last = depth === path.length - 1;
    if (typeof segment === 'number') {
      const list = node;
      if (!Array.isArray(list) || segment >= list.length) throw missingItem(path, depth, list);
      if (last) list[segment] = value;
      else node = list[segment];
      return;
    }
    if (!isObject(node)) throw notAnObject(path, depth, node);
    if (last) {
      node[segment] = value;
      return;
    }
    // A missing object on the way is created (`-c wafAutoblock.notifier.existingSecretName=x` over a
    // cdk.json without `notifier`); a missing list is not: there is no item to change in it.
    if (node[segment] === undefined && typeof path[depth + 1] === 'string') node[segment] = {};
    node = node[segment];
  });
}

function missingItem(path: readonly PathSegment[], depth: number, list: unknown): ConfigError {
  const key = formatPath(path);
  const listKey = formatPath(path.slice(0, depth));
  const index = path[depth] as number;
  const wholeList = `set the whole list instead, e.g. -c '${CONTEXT_PREFIX}${listKey}=[...]' (JSON)`;
  if (!Array.isArray(list)) {
    const what = list === undefined ? 'is not set in cdk.json or the config file' : 'is not a list';
    return new ConfigError(
      key,
      `invalid configuration: ${key}: ${listKey} ${what}, so it has no item ${index} to change; ${wholeList}`,
    );
  }
  const held =
    list.length === 0
      ? 'no items'
      : `${list.length} item${list.length === 1 ? '' : 's'} (${listKey}[0] to ${listKey}[${list.length - 1}])`;
  return new ConfigError(
    key,
    `invalid configuration: ${key}: ${listKey} holds ${held}; an override can change an item that exists but cannot add one: ${wholeList}`,
  );
}

function notAnObject(path: readonly PathSegment[], depth: number, node: unknown): ConfigError {
  const key = formatPath(path);
  const parent = formatPath(path.slice(0, depth));
  const problem = Array.isArray(node)
    ? `${parent} is a list: name an item by its index, e.g. ${formatPath([...path.slice(0, depth), 0, ...path.slice(depth)])}`
    : `${parent} is a single value, not an object with keys: set ${parent} itself`;
  return new ConfigError(key, `invalid configuration: ${key}: ${problem}`);
}
