/**
 * Scope-down values that pass the shape checks but can do nothing (issue 10, second round,
 * finding 14): a path prefix every path has, and a host with an xn-- label that is not punycode.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const rule = (extra: Record<string, string>) => ({ rateRules: [{ name: 'login', limit: 100, ...extra }] });

describe('uriPathPrefix "/"', () => {
  it('is refused: it limits nothing and costs WCUs, so remove it', () => {
    const message = configErrorOf(rule({ uriPathPrefix: '/' }), 'rateRules[0].uriPathPrefix');
    expect(message).toContain('every request path starts with');
    expect(message).toContain('remove uriPathPrefix');
  });

  it('"/a" is still read', () => {
    expect(parseConfig(rule({ uriPathPrefix: '/a' })).rateRules[0]?.uriPathPrefix).toBe('/a');
  });
});

describe('host with an xn-- label', () => {
  it.each(['xn--zz.com', 'xn--a.example.com', 'shop.xn--zz.com', 'XN--ZZ.com'])(
    '%s is refused: not valid punycode, so no browser sends it',
    (host) => {
      expect(configErrorOf(rule({ host }), 'rateRules[0].host')).toContain('not valid punycode');
    },
  );

  it('a valid xn-- name is read', () => {
    expect(parseConfig(rule({ host: 'xn--bcher-kva.example' })).rateRules[0]?.host).toBe('xn--bcher-kva.example');
  });
});
