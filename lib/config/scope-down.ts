/**
 * A rate rule's scope-down (`uriPathPrefix`, `host`): which requests it counts. A client writes
 * the path and the Host header, and can write the same resource in many ways (`/LOGIN`,
 * `/%6cogin`, `//login`, `/./login`; `Example.com.`, `example.com:443`), so the web ACL matches
 * them after WAF's text transformations, and the configuration refuses values that could never
 * match the transformed text. Pure: the construct (lib/blocklist-web-acl) places these statements
 * as they are, and lib/config/capacity prices them.
 */

/** A text transformation in the web ACL's `TextTransformation` shape. */
export interface ScopeDownTransformation {
  readonly priority: number;
  readonly type: 'URL_DECODE' | 'NORMALIZE_PATH' | 'LOWERCASE';
}

/**
 * What WAF does to the URI path before the `uriPathPrefix` match, in this order: decode `%XX`
 * (`/%6cogin` → `/login`), remove `//`, `/./` and `/../` segments (`//login`, `/./login` →
 * `/login`), then lower-case (`/LOGIN` → `/login`). 10 WCUs each.
 */
export const PATH_TRANSFORMATIONS: readonly ScopeDownTransformation[] = [
  { priority: 0, type: 'URL_DECODE' },
  { priority: 1, type: 'NORMALIZE_PATH' },
  { priority: 2, type: 'LOWERCASE' },
];

/** What WAF does to the Host header before the `host` match: lower-case it. 10 WCUs. */
export const HOST_TRANSFORMATIONS: readonly ScopeDownTransformation[] = [{ priority: 0, type: 'LOWERCASE' }];

/** The `uriPathPrefix` as the web ACL compares it with the transformed path: lower case. */
export function pathSearchString(prefix: string): string {
  return prefix.toLowerCase();
}

/**
 * The regular expression that the lower-cased Host header must match for `host`: the name, with
 * or without the trailing dot of a fully qualified name, with or without a port
 * (`example.com`, `example.com.`, `example.com:443`). WAF's regex match: 3 WCUs plus the
 * transformation.
 */
export function hostRegex(host: string): string {
  return `^${host.toLowerCase().replaceAll('.', '\\.')}\\.?(?::[0-9]{1,5})?$`;
}

// Control characters are what this pattern is for.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/u;

/**
 * Why `prefix` could never match a request's path as the web ACL transforms it, or undefined.
 * Each reason names what to write instead.
 */
export function uriPathPrefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith('/')) return 'must start with "/", as every request path does';
  if (prefix === '/')
    return 'is "/", which every request path starts with: it limits nothing yet costs a path match\'s WCUs; remove uriPathPrefix to count every path';
  if (CONTROL.test(prefix)) return 'must not hold control characters: no request path holds them';
  if (/\s/u.test(prefix)) return 'must not hold whitespace: a request path holds it encoded, which WAF decodes first';
  if (/[^\u0020-\u007e]/u.test(prefix))
    return 'must be ASCII: WAF matches the path after decoding %XX and lower-casing ASCII letters only; shorten it to its ASCII part';
  if (prefix.includes('?')) return 'must not hold "?": the query string is not part of the path that WAF matches';
  if (prefix.includes('#')) return 'must not hold "#": the fragment never reaches the server';
  if (prefix.includes('*'))
    return 'must not hold "*": it is matched as a prefix, not a pattern (e.g. "/api/" for "/api/*")';
  if (prefix.includes('%'))
    return 'must not hold "%": WAF decodes the path before matching, so write the character itself';
  if (/\/\/|\/\.\.?(\/|$)/u.test(prefix))
    return 'must not hold "//", "/./" or "/../": WAF normalizes the path first, so write it normalized';
  return undefined;
}

/** At most 253 characters of labels of letters, digits and "-", 1 to 63 each, not starting or ending with "-". */
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/u;

/**
 * Why `host` could never match a Host header as the web ACL transforms it, or undefined. A
 * trailing dot and a port are matched by the rule itself (see {@link hostRegex}), so they are
 * refused here as written.
 * @param toAscii turns an internationalized name into its `xn--` form, e.g. node:url's `domainToASCII`.
 */
export function hostProblem(host: string, toAscii: (name: string) => string): string | undefined {
  if (host.includes('://')) return 'must be a host name, not a URL: remove the scheme (e.g. "example.com")';
  if (host.includes('/')) return 'must be a host name, without "/" or a path (e.g. "example.com")';
  if (CONTROL.test(host) || /\s/u.test(host)) return 'must not hold whitespace or control characters';
  if (/:\d*$/u.test(host)) return 'must be the name without a port: the rule matches any port (e.g. "example.com")';
  if (host.endsWith('.')) return 'must be the name without the trailing dot: the rule matches it with and without';
  if (/[^\u0020-\u007e]/u.test(host)) {
    const ascii = toAscii(host);
    return `must be ASCII, as browsers send it: write the internationalized name in its xn-- form${ascii ? ` ("${ascii}")` : ''}`;
  }
  if (!HOST_NAME.test(host.toLowerCase()))
    return 'must be a host name: labels of letters, digits and "-" separated by dots (e.g. "www.example.com")';
  // An xn-- label that is not valid punycode decodes to no name, so no browser sends it.
  if (/(^|\.)xn--/iu.test(host) && toAscii(host) === '')
    return 'has an "xn--" label that is not valid punycode, so no browser sends it: write the name as the browser shows it, or its xn-- form from a converter (e.g. "bücher.example" is "xn--bcher-kva.example")';
  return undefined;
}
