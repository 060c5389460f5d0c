import { describe, expect, it } from 'vitest';
import { createNormalizePolicy } from '../../lambdas/core/address';
import { RateSimulator, type SimulatedRule } from '../../cli/replay/simulator';
import { judgeLimitedKeys } from '../../cli/replay/verdict';
import type { LoggedRequest } from '../../cli/replay/waf-log';

const T0 = Date.UTC(2025, 0, 1);
const rule = (overrides: Partial<SimulatedRule> = {}): SimulatedRule => ({
  name: 'rate-all',
  limit: 10,
  windowSeconds: 60,
  aggregateKey: 'IP',
  forwardedIpHeader: 'X-Forwarded-For',
  ...overrides,
});

function request(clientIp: string, atMs: number, extra: Partial<LoggedRequest> = {}): LoggedRequest {
  return { timestamp: T0 + atMs, clientIp, uri: '/', headers: [{ name: 'Host', value: 'shop.example.com' }], ...extra };
}

/** `count` requests from `ip`, `gapMs` apart, starting at `fromMs`. */
function burst(ip: string, count: number, fromMs = 0, gapMs = 100, extra: Partial<LoggedRequest> = {}) {
  return Array.from({ length: count }, (_, i) => request(ip, fromMs + i * gapMs, extra));
}

function simulate(rules: SimulatedRule[], requests: LoggedRequest[]) {
  const simulator = new RateSimulator(rules);
  for (const r of requests) simulator.observe(r);
  return simulator;
}

describe('RateSimulator', () => {
  it('does not limit a key at exactly the limit, and limits it on the next request', () => {
    expect(simulate([rule()], burst('45.33.12.7', 10)).limitedKeys()).toEqual([]);
    expect(simulate([rule()], burst('45.33.12.7', 11)).limitedKeys()).toEqual([
      { rule: 'rate-all', key: '45.33.12.7/32', firstLimited: T0 + 1000, requests: 11, overLimit: 1 },
    ]);
  });

  it('slides the window: requests older than windowSeconds no longer count', () => {
    // 10 requests, then 11 more each spaced so that the window never holds more than 10.
    const spaced = burst('45.33.12.7', 30, 0, 6000);
    expect(simulate([rule()], spaced).limitedKeys()).toEqual([]);
    // A request exactly one window after the first does not see the first.
    const edge = [...burst('45.33.12.7', 10, 0, 0), request('45.33.12.7', 60_000)];
    expect(simulate([rule()], edge).limitedKeys()).toEqual([]);
    const inside = [...burst('45.33.12.7', 10, 0, 0), request('45.33.12.7', 59_999)];
    expect(simulate([rule()], inside).limitedKeys()).toHaveLength(1);
  });

  it('counts requests after the limit as over the limit until the window empties', () => {
    const requests = [...burst('45.33.12.7', 15, 0, 100), request('45.33.12.7', 200_000)];
    const [key] = simulate([rule()], requests).limitedKeys();
    expect(key).toMatchObject({ firstLimited: T0 + 1000, requests: 16, overLimit: 5 });
  });

  it('keys by address, not by spelling', () => {
    const requests = [...burst('2a01:4f8::5', 6), ...burst('2A01:04F8:0:0::5', 5, 600)];
    expect(simulate([rule()], requests).limitedKeys()).toMatchObject([{ key: '2a01:4f8::5/128', requests: 11 }]);
  });

  it('counts only requests inside the scope-down: URI path prefix and host (ignoring case)', () => {
    const login = rule({ name: 'login', uriPathPrefix: '/login' });
    const host = rule({ name: 'host', host: 'SHOP.example.com' });
    const requests = [
      ...burst('45.33.12.7', 11, 0, 100, { uri: '/products' }),
      ...burst('46.1.2.3', 11, 0, 100, { uri: '/login/form' }),
      ...burst('77.1.2.3', 11, 0, 100, { headers: [{ name: 'host', value: 'other.example.com' }] }),
    ];
    const simulator = simulate([login, host], requests);
    expect(simulator.limitedKeys().map((k) => `${k.rule} ${k.key}`)).toEqual([
      'login 46.1.2.3/32',
      'host 45.33.12.7/32',
      'host 46.1.2.3/32',
    ]);
    expect(simulator.tallies()).toEqual([
      { rule: 'login', counted: 11, unkeyed: 0 },
      { rule: 'host', counted: 22, unkeyed: 0 },
    ]);
  });

  it('keys FORWARDED_IP rules on the first address of the header and skips requests without one', () => {
    const forwarded = rule({ name: 'fwd', aggregateKey: 'FORWARDED_IP' });
    const via = (value: string) => ({ headers: [{ name: 'x-forwarded-for', value }] });
    const requests = [
      ...burst('34.240.12.7', 11, 0, 100, via(' 95.173.136.70 , 34.240.12.7')),
      ...burst('34.240.12.7', 11, 0, 100, via('not-an-ip, 1.2.3.4')),
      ...burst('34.240.12.7', 11, 0, 100),
    ];
    const simulator = simulate([forwarded], requests);
    expect(simulator.limitedKeys().map((k) => k.key)).toEqual(['95.173.136.70/32']);
    expect(simulator.tallies()).toEqual([{ rule: 'fwd', counted: 11, unkeyed: 22 }]);
  });

  it('never counts an out-of-order record in the past', () => {
    const requests = [...burst('45.33.12.7', 10, 120_000, 0), request('45.33.12.7', 0)];
    expect(simulate([rule()], requests).limitedKeys()).toMatchObject([{ firstLimited: T0 + 120_000 }]);
  });
});

describe('judgeLimitedKeys', () => {
  const limited = (key: string, firstLimited: number, requests = 11) => ({
    rule: 'rate-all',
    key,
    firstLimited: T0 + firstLimited,
    requests,
    overLimit: 1,
  });

  it('widens keys as the blocker does and groups them per range and rule, earliest first', () => {
    const verdict = judgeLimitedKeys(
      [limited('91.240.118.18/32', 5000, 20), limited('91.240.118.17/32', 3000), limited('2a0b:7280:200:3::15/128', 0)],
      createNormalizePolicy(),
    );
    expect(verdict.blocked).toEqual([
      { range: '2a0b:7280:200:3::/64', rule: 'rate-all', firstLimited: T0, keys: 1, requests: 11, overLimit: 1 },
      { range: '91.240.118.0/24', rule: 'rate-all', firstLimited: T0 + 3000, keys: 2, requests: 31, overLimit: 2 },
    ]);
    expect(verdict.rangeCount).toBe(2);
  });

  it('refuses a non-global key and a /32 inside an allowlisted range, counting each reason', () => {
    const policy = createNormalizePolicy({ allowlist: ['81.2.69.142/32'] });
    const verdict = judgeLimitedKeys(
      [limited('81.2.69.142/32', 0), limited('81.2.69.7/32', 0), limited('10.20.30.40/32', 0)],
      policy,
    );
    expect(verdict.blocked).toEqual([]);
    expect(verdict.refused.map((r) => `${r.key} ${r.reason}`)).toEqual([
      '10.20.30.40/32 non-global',
      '81.2.69.142/32 allowlisted',
      // Its /24 holds the allowlisted /32: blocking it would block the office too.
      '81.2.69.7/32 allowlisted',
    ]);
    expect(verdict.refusedByReason).toEqual({ 'non-global': 1, allowlisted: 2 });
  });

  it('honours the prefixes of the policy', () => {
    const verdict = judgeLimitedKeys([limited('91.240.118.17/32', 0)], createNormalizePolicy({ ipv4Prefix: 16 }));
    expect(verdict.blocked.map((b) => b.range)).toEqual(['91.240.0.0/16']);
  });
});
