import { describe, expect, it } from 'vitest';
import { createNormalizePolicy } from '#core/normalize';
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
      { rule: 'login', counted: 11, unkeyed: 0, withoutHeader: 0, noHeaderAddress: 0, multiValued: 0 },
      { rule: 'host', counted: 22, unkeyed: 0, withoutHeader: 0, noHeaderAddress: 0, multiValued: 0 },
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
    expect(simulator.tallies()).toEqual([
      { rule: 'fwd', counted: 11, unkeyed: 22, withoutHeader: 11, noHeaderAddress: 11, multiValued: 22 },
    ]);
  });

  it('counts a request whose clientIp is not an address once, however many rules keyed by IP skip it', () => {
    const login = rule({ name: 'login', uriPathPrefix: '/login' });
    const forwarded = rule({ name: 'fwd', aggregateKey: 'FORWARDED_IP' });
    const requests = [
      ...burst('45.33.12.7', 11),
      request('not-an-ip', 0, { uri: '/login' }),
      request('45.33.12.0/24', 10),
      request('', 20),
    ];
    const simulator = simulate([rule(), login, forwarded], requests);
    expect(simulator.limitedKeys().map((k) => `${k.rule} ${k.key}`)).toEqual(['rate-all 45.33.12.7/32']);
    expect(simulator.unaddressedClients()).toEqual({ requests: 3, first: 'not-an-ip' });
    expect(simulator.tallies()).toEqual([
      { rule: 'rate-all', counted: 11, unkeyed: 3, withoutHeader: 0, noHeaderAddress: 0, multiValued: 0 },
      { rule: 'login', counted: 0, unkeyed: 1, withoutHeader: 0, noHeaderAddress: 0, multiValued: 0 },
      // No forwarded header at all: unkeyed, but not for its clientIp.
      { rule: 'fwd', counted: 0, unkeyed: 14, withoutHeader: 14, noHeaderAddress: 0, multiValued: 0 },
    ]);
  });

  it('keys a header with several addresses by the first, as WAF does, and counts it as multi-valued', () => {
    // The attack of issue 10: the client writes a victim's address first, its proxy appends its own.
    const login = rule({ name: 'login', limit: 100, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' });
    const forged = { uri: '/login', headers: [{ name: 'X-Forwarded-For', value: '45.33.50.7, 45.33.99.10' }] };
    const simulator = simulate([login], burst('45.33.99.10', 150, 0, 100, forged));
    expect(simulator.limitedKeys()).toMatchObject([{ key: '45.33.50.7/32', requests: 150, overLimit: 50 }]);
    expect(simulator.tallies()).toEqual([
      { rule: 'login', counted: 150, unkeyed: 0, withoutHeader: 0, noHeaderAddress: 0, multiValued: 150 },
    ]);
  });
});

describe('RateSimulator with records out of time order', () => {
  // Issue 10: ten requests at 02:02:00.000-.090, then one from 02:00:00.000 out of another log stream.
  const at0200 = Date.UTC(2025, 2, 14, 2, 0, 0) - T0;
  const interleaved = () => [...burst('45.33.12.7', 10, at0200 + 120_000, 10), request('45.33.12.7', at0200)];

  it('counts a record that comes within the reorder window at its own time: no 60 s window holds 11', () => {
    const simulator = simulate([rule()], interleaved());
    expect(simulator.limitedKeys()).toEqual([]);
    expect(simulator.tallies()).toEqual([
      { rule: 'rate-all', counted: 11, unkeyed: 0, withoutHeader: 0, noHeaderAddress: 0, multiValued: 0 },
    ]);
    expect(simulator.ordering()).toEqual({ reorderWindowSeconds: 300, late: 0, maxLatenessMs: 120_090 });
  });

  it('limits a key from the time of a record that comes late but within the window', () => {
    // Ten at 30 s, one at 100 s, then one from 35 s: eleven in (-25 s, 35 s], so limited at 35 s.
    const requests = [
      ...burst('45.33.12.7', 10, 30_000, 0),
      request('45.33.12.7', 100_000),
      request('45.33.12.7', 35_000),
    ];
    expect(simulate([rule()], requests).limitedKeys()).toEqual([
      { rule: 'rate-all', key: '45.33.12.7/32', firstLimited: T0 + 35_000, requests: 12, overLimit: 1 },
    ]);
  });

  it('counts a record later than the reorder window at the earliest time still open, and reports it', () => {
    const simulator = new RateSimulator([rule()], { reorderWindowSeconds: 60 });
    for (const r of interleaved()) simulator.observe(r);
    // 02:02:00.090 - 60 s: the window (02:00:00.090, 02:01:00.090] then holds only the late record.
    expect(simulator.limitedKeys()).toEqual([]);
    expect(simulator.ordering()).toEqual({ reorderWindowSeconds: 60, late: 1, maxLatenessMs: 120_090 });

    const counting = new RateSimulator([rule()], { reorderWindowSeconds: 0 });
    for (const r of interleaved()) counting.observe(r);
    // Without a reorder window the late record joins the ten at 02:02:00.090: over-counted, and said so.
    expect(counting.limitedKeys()).toMatchObject([{ firstLimited: T0 + at0200 + 120_090, requests: 11, overLimit: 1 }]);
    expect(counting.ordering()).toMatchObject({ late: 1 });
  });

  it('treats a record older than what limitedKeys() already counted as late', () => {
    const simulator = simulate([rule()], burst('45.33.12.7', 10, 60_000, 10));
    expect(simulator.limitedKeys()).toEqual([]);
    simulator.observe(request('45.33.12.7', 59_000));
    expect(simulator.ordering().late).toBe(1);
    expect(simulator.limitedKeys()).toMatchObject([{ requests: 11, overLimit: 1 }]);
  });

  it('refuses a negative reorder window', () => {
    expect(() => new RateSimulator([rule()], { reorderWindowSeconds: -1 })).toThrow(RangeError);
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
