/**
 * A rate rule's scope-down as the deployed web ACL evaluates it, for replay: the same
 * transformations and the same host regex as the stack places (lib/config/scope-down.ts, the one
 * source of truth for both), applied here in WAF's documented semantics, so that `/Login`,
 * `//login`, `/%6cogin`, `/./login`, `Host: shop.example.com:443` and `shop.example.com.` count
 * in replay exactly when they count in WAF.
 *
 * Semantics, from the AWS WAF Developer Guide, "Text transformation options"
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html)
 * and the API reference's `TextTransformation` type
 * (https://docs.aws.amazon.com/waf/latest/APIReference/API_TextTransformation.html):
 * - `URL_DECODE`: decode a URL-encoded value. Each valid `%XX` becomes its byte; an invalid or
 *   cut-off `%` sequence stays as written. `+` is left alone: in a path it is not an encoded space.
 * - `NORMALIZE_PATH`: remove multiple slashes, directory self-references and directory
 *   back-references that are not at the beginning of the input.
 * - `LOWERCASE`: convert uppercase letters (A-Z) to lowercase (a-z); nothing else changes.
 * Pure: no I/O.
 */
import {
  hostRegex,
  HOST_TRANSFORMATIONS,
  PATH_TRANSFORMATIONS,
  pathSearchString,
  type ScopeDownTransformation,
} from '#config/scope-down';

/** One of the transformations the stack uses, as a function of text to text. */
const TRANSFORM: Record<ScopeDownTransformation['type'], (text: string) => string> = {
  URL_DECODE: urlDecode,
  NORMALIZE_PATH: normalizePath,
  LOWERCASE: asciiLowercase,
};

/**
 * Applies `transformations` in WAF's order (lowest priority first), as WAF does before it inspects.
 * @param transformations in the web ACL's `TextTransformation` shape, e.g. {@link PATH_TRANSFORMATIONS}.
 */
export function applyTransformations(text: string, transformations: readonly ScopeDownTransformation[]): string {
  const ordered = [...transformations].sort((a, b) => a.priority - b.priority);
  return ordered.reduce((value, step) => TRANSFORM[step.type](value), text);
}

/**
 * WAF's `URL_DECODE`: each `%XX` (two hex digits) becomes that byte, read as Latin-1 so that one
 * byte is one character (a prefix is ASCII, so multi-byte characters never decide a match); a `%`
 * without two hex digits after it stays as written.
 */
export function urlDecode(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/%([0-9a-fA-F]{2})/gu, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * WAF's `NORMALIZE_PATH`: `//` becomes `/`, a `.` segment is removed, and a `..` segment removes
 * itself and the segment before it; a `..` with no segment before it (at the beginning) stays. A
 * trailing slash stays (`/a/./` → `/a/`).
 */
export function normalizePath(path: string): string {
  if (!/\/\/|(^|\/)\.\.?(\/|$)/u.test(path)) return path;
  const absolute = path.startsWith('/');
  const parts = path.split('/');
  const trailing = parts.length > 1 && (parts.at(-1) === '' || parts.at(-1) === '.' || parts.at(-1) === '..');
  const kept: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..' && kept.length > 0 && kept.at(-1) !== '..') kept.pop();
    else kept.push(part);
  }
  const body = kept.join('/');
  const joined = (absolute ? '/' : '') + body;
  return trailing && body !== '' ? `${joined}/` : joined === '' && absolute ? '/' : joined;
}

/** WAF's `LOWERCASE`: A-Z to a-z only, unlike `toLowerCase`, which also folds non-ASCII letters. */
export function asciiLowercase(text: string): string {
  return text.replace(/[A-Z]+/gu, (upper) => upper.toLowerCase());
}

/** A rule's scope-down, compiled once: does a request's path and Host header put it in scope? */
export interface ScopeDownMatcher {
  /** The `uriPathPrefix` as the web ACL matches it (lower case), or undefined when not set. */
  readonly pathPrefix: string | undefined;
  /** True when the URI path, transformed as WAF does, starts with the prefix (or no prefix is set). */
  pathMatches(uri: string): boolean;
  /** True when the Host header, lower-cased, matches the rule's host regex (or no host is set). */
  hostMatches(hostHeader: string | undefined): boolean;
}

/**
 * Compiles a rule's `uriPathPrefix` and `host` into the matches the stack places
 * (lib/blocklist-web-acl): STARTS_WITH {@link pathSearchString} after {@link PATH_TRANSFORMATIONS},
 * and {@link hostRegex} after {@link HOST_TRANSFORMATIONS}. A request without a Host header is out
 * of scope of a rule with `host`, as WAF finds nothing to match.
 */
export function scopeDownMatcher(scope: { readonly uriPathPrefix?: string; readonly host?: string }): ScopeDownMatcher {
  const pathPrefix = scope.uriPathPrefix === undefined ? undefined : pathSearchString(scope.uriPathPrefix);
  const host = scope.host === undefined ? undefined : new RegExp(hostRegex(scope.host), 'u');
  return {
    pathPrefix,
    pathMatches: (uri) =>
      pathPrefix === undefined || applyTransformations(uri, PATH_TRANSFORMATIONS).startsWith(pathPrefix),
    hostMatches: (header) =>
      host === undefined || (header !== undefined && host.test(applyTransformations(header, HOST_TRANSFORMATIONS))),
  };
}
