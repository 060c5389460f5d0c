/**
 * Records from several log streams concatenated, each in time order (issue 10, round 3, finding
 * 6): late records counted at the earliest open time can split an attacker's burst, so replay
 * under-counts and misses it. The warning says results can be wrong in both directions and names
 * the window that would have been enough.
 */
import { describe, expect, it } from 'vitest';
import { RateSimulator, type SimulatedRule } from '../../cli/replay/simulator';
import type { LoggedRequest } from '../../cli/replay/waf-log';

const T0 = Date.UTC(2025, 0, 1);
const RULE: SimulatedRule = {
  name: 'rate-all',
  limit: 10,
  windowSeconds: 60,
  aggregateKey: 'IP',
  forwardedIpHeader: 'X-Forwarded-For',
};
const request = (clientIp: string, atMs: number): LoggedRequest => ({
  timestamp: T0 + atMs,
  clientIp,
  uri: '/',
  headers: [{ name: 'Host', value: 'shop.example.com' }],
});
const burst = (ip: string, count: number, fromMs: number) =>
  Array.from({ length: count }, (_, i) => request(ip, fromMs + i * 100));

/** Two streams, each in time order, one after the other: the attacker's 12 requests split 6 and 6. */
const streams = [
  ...burst('91.240.118.7', 6, 100_000),
  ...Array.from({ length: 20 }, (_, i) => request('45.33.12.7', 100_000 + i * 100_000)),
  ...burst('91.240.118.7', 6, 100_600),
];

function replay(reorderWindowSeconds: number) {
  const simulator = new RateSimulator([RULE], { reorderWindowSeconds });
  for (const record of streams) simulator.observe(record);
  return simulator;
}

describe('late records across concatenated streams', () => {
  it('the default window under-counts: the attacker is missing, and the lateness is reported', () => {
    const simulator = replay(300);
    expect(simulator.limitedKeys()).toEqual([]);
    expect(simulator.ordering()).toMatchObject({ late: 6, maxLatenessMs: 2_000_000 - 100_600 });
  });

  it('a window as wide as the largest lateness, rounded up to a minute, finds the attacker', () => {
    expect(replay(1_920).limitedKeys()).toMatchObject([{ key: '91.240.118.7/32', requests: 12, overLimit: 2 }]);
  });
});
