/**
 * Every text value of the configuration read by the product's one whitespace rule
 * (lambdas/core/value-space), before the schema sees it: ASCII whitespace, U+00A0 and U+FEFF
 * around a value are trimmed (`" eu-west-1"` is `eu-west-1`, `" 1.2.3.4"` is `1.2.3.4`), and a
 * value holding any other Unicode space is refused, naming the key and the character as U+XXXX.
 *
 * One kind of value is exempt: a custom response body (`blockResponse.body`,
 * `rateRules[i].blockResponse.body`) is content sent to clients, not an identifier, so it is taken
 * verbatim (a localized page may hold U+3000, and a final CRLF is the author's); the schema
 * (lib/config/custom-response.ts) refuses the control characters a body must not hold.
 */
import { readValueText } from '#core/value-space';
import { ConfigError, quoteConfigValue } from './config-error';
import { formatPath, type PathSegment } from './context-path';

/**
 * A copy of `raw` with every string trimmed by the whitespace rule (object keys are left as
 * written: they are names, refused by the schema when unknown). Walks iteratively; the depth was
 * bounded by `checkConfigShape` before.
 *
 * @throws {ConfigError} naming the first key whose value holds a space that is not trimmed.
 */
export function trimConfigValues(raw: unknown): unknown {
  const root = { value: copyNode(raw) };
  const pending: { node: unknown; path: PathSegment[] }[] = [{ node: root.value, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, path } = next;
    if (typeof node !== 'object' || node === null) continue;
    const entries: [PathSegment, unknown][] = Array.isArray(node)
      ? node.map((item: unknown, index) => [index, item])
      : Object.entries(node);
    for (const [key, value] of entries) {
      const trimmed = typeof value === 'string' ? configString(value, [...path, key]) : copyNode(value);
      // Own properties set as data: a key named like an object internal stays a key, as JSON.parse made it.
      Object.defineProperty(node, key, { value: trimmed, writable: true, enumerable: true, configurable: true });
      pending.push({ node: trimmed, path: [...path, key] });
    }
  }
  return root.value;
}

/** A shallow copy of an object or list (its children are copied as the walk reaches them). */
function copyNode(value: unknown): unknown {
  if (Array.isArray(value)) return [...(value as unknown[])];
  if (typeof value === 'object' && value !== null) return { ...value };
  return typeof value === 'string' ? trimmedString(value, []) : value;
}

/**
 * Whether the value at `path` is a custom response body: `blockResponse.body` or
 * `rateRules[i].blockResponse.body`, the only values taken verbatim.
 */
export function isVerbatimPath(path: readonly PathSegment[]): boolean {
  const [first, index, response, body] = path;
  if (path.length === 2) return first === 'blockResponse' && index === 'body';
  return (
    path.length === 4 &&
    first === 'rateRules' &&
    typeof index === 'number' &&
    response === 'blockResponse' &&
    body === 'body'
  );
}

/** A string of the configuration as the schema reads it: verbatim at {@link isVerbatimPath}, else trimmed. */
function configString(value: string, path: readonly PathSegment[]): string {
  return isVerbatimPath(path) ? value : trimmedString(value, path);
}

function trimmedString(value: string, path: readonly PathSegment[]): string {
  const reading = readValueText(value);
  if ('value' in reading) return reading.value;
  const key = formatPath(path) || '(root)';
  throw new ConfigError(key, `invalid configuration: ${key} ${quoteConfigValue(value)} ${reading.problem}`);
}
