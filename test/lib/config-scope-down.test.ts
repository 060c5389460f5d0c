/**
 * A rate rule's scope-down as a tester who tried to evade it wrote it (issue 10, configuration
 * findings 5 and 6): values that could never match the path or Host header as WAF transforms it
 * are refused with the reason; the ones that can are matched however the client spells them.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { hostRegex, PATH_TRANSFORMATIONS } from '#config/scope-down';
import { configErrorOf } from '../support/config-errors';

const withPath = (uriPathPrefix: string) => ({ rateRules: [{ name: 'login', limit: 100, uriPathPrefix }] });
const withHost = (host: string) => ({ rateRules: [{ name: 'shop', limit: 100, host }] });

describe('rateRules[].uriPathPrefix that no request path can match is refused, saying why', () => {
  it.each([
    ['login', 'must start with "/"'],
    ['/login?next=1', 'the query string is not part of the path'],
    ['/api/*', 'matched as a prefix, not a pattern'],
    ['/page#top', 'the fragment never reaches the server'],
    ['/log in', 'must not hold whitespace'],
    ['/log\tin', 'must not hold control characters'],
    ['/login\u001b', 'must not hold control characters'],
    ['/läden', 'must be ASCII'],
    ['/%6cogin', 'WAF decodes the path before matching'],
    ['//login', 'write it normalized'],
    ['/./login', 'write it normalized'],
    ['/a/../login', 'write it normalized'],
  ])('%j: %s', (prefix, reason) => {
    expect(configErrorOf(withPath(prefix), 'rateRules[0].uriPathPrefix')).toContain(reason);
  });

  it('a mixed-case prefix is read, and matched lower-cased as WAF lower-cases the path', () => {
    expect(parseConfig(withPath('/Login')).rateRules[0]?.uriPathPrefix).toBe('/Login');
    expect(PATH_TRANSFORMATIONS.map((t) => t.type)).toEqual(['URL_DECODE', 'NORMALIZE_PATH', 'LOWERCASE']);
  });
});

describe('rateRules[].host that no Host header can match is refused, saying why', () => {
  it.each([
    ['https://example.com', 'not a URL'],
    ['example.com/login', 'without "/"'],
    ['example.com:443', 'without a port'],
    ['example.com.', 'without the trailing dot'],
    ['example .com', 'whitespace'],
    ['example\n.com', 'whitespace'],
    ['bücher.de', 'xn-- form ("xn--bcher-kva.de")'],
    ['exa_mple.com', 'must be a host name'],
    ['-example.com', 'must be a host name'],
    ['example..com', 'must be a host name'],
  ])('%j: %s', (host, reason) => {
    expect(configErrorOf(withHost(host), 'rateRules[0].host')).toContain(reason);
  });

  it.each(['example.com', 'Shop.Example.COM', 'xn--bcher-kva.de', '192.0.2.10', 'localhost'])('%j is read', (host) => {
    expect(parseConfig(withHost(host)).rateRules[0]?.host).toBe(host);
  });
});

describe('the host regex matches the spellings a client may send, after WAF lower-cases them', () => {
  const matches = (host: string, header: string) => new RegExp(hostRegex(host)).test(header.toLowerCase());

  it.each([
    'shop.example.com',
    'Shop.Example.COM',
    'shop.example.com.',
    'shop.example.com:443',
    'SHOP.example.com.:8080',
  ])('shop.example.com matches %j', (header) => {
    expect(matches('Shop.Example.com', header)).toBe(true);
  });

  it.each([
    'example.com',
    'shopxexample.com',
    'shop.example.com.evil.net',
    'evil.shop.example.com',
    'shop.example.com:',
  ])('shop.example.com does not match %j', (header) => {
    expect(matches('shop.example.com', header)).toBe(false);
  });
});
