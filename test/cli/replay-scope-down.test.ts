/**
 * Replay's scope-down matches paths and hosts as the deployed rule does (issue 10, second round,
 * finding 1): the path after URL_DECODE, NORMALIZE_PATH and LOWERCASE starts with the lower-cased
 * prefix, and the lower-cased Host header matches the stack's host regex. Each spelling a tester
 * sent is one case, through the simulator and through the command.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PATH_TRANSFORMATIONS } from '#config/scope-down';
import {
  applyTransformations,
  asciiLowercase,
  normalizePath,
  scopeDownMatcher,
  urlDecode,
} from '../../cli/replay/scope-down-match';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { jsonLines, loginRecord, T0 } from '../support/replay-records';

const { file } = fixtureDir('replay-scope-down-');

describe('the path as WAF transforms it', () => {
  it.each([
    ['/Login', '/login'],
    ['//login', '/login'],
    ['/%6cogin', '/login'],
    ['/%4C%4FGIN', '/login'],
    ['/./login', '/login'],
    ['/admin/../login', '/login'],
    ['/a//b/./c/', '/a/b/c/'],
    ['/../login', '/../login'],
    ['/%zzlogin', '/%zzlogin'],
    ['/login%', '/login%'],
  ])('%s is matched as %s', (path, transformed) => {
    expect(applyTransformations(path, PATH_TRANSFORMATIONS)).toBe(transformed);
  });

  it('lower-cases A-Z only, as WAF LOWERCASE does', () => {
    expect(asciiLowercase('/ÄDMIN/Login')).toBe('/Ädmin/login');
  });

  it('a normalized path is its own normalization, and the prefix match is stable under it', () => {
    const segment = fc.constantFrom('', '.', '..', 'login', 'Admin', 'a%2f', '%2e');
    const path = fc.array(segment, { maxLength: 8 }).map((parts) => '/' + parts.join('/'));
    fc.assert(
      fc.property(path, (p) => {
        const once = normalizePath(p);
        expect(normalizePath(once)).toBe(once);
        expect(once).not.toMatch(/\/\/|\/\.(\/|$)/u);
        expect(asciiLowercase(asciiLowercase(p))).toBe(asciiLowercase(p));
        expect(urlDecode(p.replaceAll('%', '%25'))).toBe(p);
      }),
    );
  });
});

describe('scopeDownMatcher', () => {
  it('matches a configured "/LOGIN" as "/login", as the stack does', () => {
    const scope = scopeDownMatcher({ uriPathPrefix: '/LOGIN' });
    expect(scope.pathPrefix).toBe('/login');
    expect(scope.pathMatches('/login')).toBe(true);
    expect(scope.pathMatches('/LOGIN')).toBe(true);
    expect(scope.pathMatches('/logout')).toBe(false);
  });

  it.each([
    'shop.example.com',
    'SHOP.example.com',
    'shop.example.com:443',
    'shop.example.com.',
    'shop.example.com.:8443',
  ])('counts Host: %s for host "shop.example.com"', (header) => {
    expect(scopeDownMatcher({ host: 'shop.example.com' }).hostMatches(header)).toBe(true);
  });

  it.each(['shopxexample.com', 'shop.example.com.evil', 'a.shop.example.com', 'shop.example.com:123456', undefined])(
    'does not count Host: %s',
    (header) => {
      expect(scopeDownMatcher({ host: 'shop.example.com' }).hostMatches(header)).toBe(false);
    },
  );
});

describe('waf-autoblock replay with a scope-down', () => {
  const config = file(
    'scoped.json',
    JSON.stringify({
      rateRules: [{ name: 'login', limit: 10, windowSeconds: 60, uriPathPrefix: '/LOGIN', host: 'shop.example.com' }],
    }),
  );
  const uris = ['/Login', '//login', '/%6cogin', '/./login', '/login', '/LOGIN/x'];
  const hosts = ['shop.example.com:443', 'shop.example.com.', 'Shop.Example.com'];

  it('counts every spelling of the path and the host, and prints the prefix as the stack matches it', async () => {
    const records = Array.from({ length: 12 }, (_, i) =>
      loginRecord('45.33.12.7', T0 + i * 100, {
        uri: uris[i % uris.length],
        headers: [{ name: 'Host', value: hosts[i % hosts.length] ?? '' }],
      }),
    );
    const { code, stdout, stderr } = await runCli([
      'replay',
      file('spellings.jsonl', jsonLines(records)),
      '--config',
      config,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(
      'only requests whose URI path starts with "/login" and whose Host header is "shop.example.com"',
    );
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+\S+\s+login\s+1\s+12\s+2$/m);
  });

  it('does not count another path or another host', async () => {
    const records = [
      ...Array.from({ length: 6 }, (_, i) =>
        loginRecord('45.33.12.7', T0 + i, { uri: '/logout', headers: [{ name: 'Host', value: 'shop.example.com' }] }),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        loginRecord('45.33.12.7', T0 + 10 + i, { headers: [{ name: 'Host', value: 'shop.example.com.evil' }] }),
      ),
    ];
    const { code, stdout } = await runCli(['replay', file('others.jsonl', jsonLines(records)), '--config', config]);
    expect(code).toBe(0);
    expect(stdout).toContain('No range would have been blocked.');
  });
});
