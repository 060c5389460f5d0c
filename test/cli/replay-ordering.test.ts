/**
 * Records out of time order, as interleaved log streams and S3 objects deliver them: whatever the
 * order, as long as no record comes more than the reorder window after a later one, the simulator
 * limits the same keys with the same counts as for the log sorted by time, and those counts are
 * the ones a naive count over each request's window gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateSimulator, type SimulatedRule } from '../../cli/replay/simulator';
import type { LoggedRequest } from '../../cli/replay/waf-log';

const T0 = Date.UTC(2025, 2, 14, 2);
const ADDRESSES = ['45.33.12.7', '45.33.12.8', '2a01:4f8::5'];

interface Sent {
  readonly ip: string;
  readonly atMs: number;
  readonly login: boolean;
}

const sentArbitrary = fc.record({
  ip: fc.constantFrom(...ADDRESSES),
  // Clustered: many share a second, so that small limits are crossed, and windows slide over 400 s.
  atMs: fc.oneof(
    fc.integer({ min: 0, max: 400_000 }),
    fc.integer({ min: 0, max: 400 }).map((s) => s * 1000),
  ),
  login: fc.boolean(),
});

const rulesArbitrary = fc.tuple(
  fc.integer({ min: 1, max: 6 }),
  fc.constantFrom(60, 120),
  fc.integer({ min: 1, max: 4 }),
);

function rulesOf([limit, windowSeconds, loginLimit]: [number, number, number]): SimulatedRule[] {
  const base = { aggregateKey: 'IP', forwardedIpHeader: 'X-Forwarded-For' } as const;
  return [
    { ...base, name: 'rate-all', limit, windowSeconds },
    { ...base, name: 'login', limit: loginLimit, windowSeconds: 60, uriPathPrefix: '/login' },
  ];
}

function toRequest(sent: Sent): LoggedRequest {
  return { timestamp: T0 + sent.atMs, clientIp: sent.ip, uri: sent.login ? '/login/form' : '/', headers: [] };
}

function replay(rules: SimulatedRule[], sent: readonly Sent[], reorderWindowSeconds?: number) {
  const simulator = new RateSimulator(rules, { reorderWindowSeconds });
  for (const s of sent) simulator.observe(toRequest(s));
  return { limited: simulator.limitedKeys(), tallies: simulator.tallies(), ordering: simulator.ordering() };
}

const byTime = (sent: readonly Sent[]) => [...sent].sort((a, b) => a.atMs - b.atMs);

/** Each request counted over its own window by brute force: the limited keys of the sorted log. */
function naiveLimited(rules: SimulatedRule[], sent: readonly Sent[]) {
  const sorted = byTime(sent);
  return rules.flatMap((rule) => {
    const inScope = sorted.filter((s) => rule.uriPathPrefix === undefined || s.login);
    return ADDRESSES.flatMap((ip) => {
      const times = inScope.filter((s) => s.ip === ip).map((s) => s.atMs);
      const over = times.filter(
        (at, i) => times.slice(0, i + 1).filter((t) => t > at - rule.windowSeconds * 1000).length > rule.limit,
      );
      if (over.length === 0) return [];
      const key = ip.includes(':') ? `${ip}/128` : `${ip}/32`;
      return [
        { rule: rule.name, key, firstLimited: T0 + (over[0] ?? 0), requests: times.length, overLimit: over.length },
      ];
    });
  });
}

describe('RateSimulator over records out of time order', () => {
  it('limits the keys that a naive count over each window limits, for a log sorted by time', () => {
    fc.assert(
      fc.property(rulesArbitrary, fc.array(sentArbitrary, { maxLength: 200 }), (limits, sent) => {
        const rules = rulesOf(limits);
        const { limited } = replay(rules, byTime(sent));
        const sortByRuleThenTime = (list: ReturnType<typeof naiveLimited>) =>
          rules.flatMap((r) =>
            list
              .filter((k) => k.rule === r.name)
              .sort((a, b) => a.firstLimited - b.firstLimited || (a.key < b.key ? -1 : 1)),
          );
        expect(limited).toEqual(sortByRuleThenTime(naiveLimited(rules, sent)));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the result of the sorted log for any order in which no record comes more than 300 s late', () => {
    // Each record arrives at its time plus a delay of at most the reorder window: in arrival
    // order, no record is more than 300 s older than one before it.
    const delayed = fc.array(fc.tuple(sentArbitrary, fc.integer({ min: 0, max: 300_000 })), { maxLength: 400 });
    fc.assert(
      fc.property(rulesArbitrary, delayed, (limits, withDelays) => {
        const rules = rulesOf(limits);
        const sent = withDelays.map(([s]) => s);
        const arrival = withDelays
          .map(([s, delay], index) => ({ s, arrives: s.atMs + delay, index }))
          .sort((a, b) => a.arrives - b.arrives || a.index - b.index)
          .map(({ s }) => s);
        const shuffled = replay(rules, arrival);
        const sorted = replay(rules, byTime(sent));
        expect(shuffled.limited).toEqual(sorted.limited);
        expect(shuffled.tallies).toEqual(sorted.tallies);
        expect(shuffled.ordering.late).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the result of the sorted log for any order at all with an unbounded reorder window', () => {
    const shuffledLog = fc
      .array(fc.tuple(sentArbitrary, fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 300 })
      .map((pairs) => ({ sent: pairs.map(([s]) => s), order: [...pairs].sort((a, b) => a[1] - b[1]).map(([s]) => s) }));
    fc.assert(
      fc.property(rulesArbitrary, shuffledLog, (limits, { sent, order }) => {
        const rules = rulesOf(limits);
        const shuffled = replay(rules, order, Number.POSITIVE_INFINITY);
        expect(shuffled.limited).toEqual(replay(rules, byTime(sent)).limited);
        expect(shuffled.ordering.late).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the result of the sorted log over hours of jittered traffic, through sweeps of idle keys', () => {
    // 150,000 requests from 3,000 addresses over two hours, each delivered up to 5 minutes late:
    // enough to sweep idle keys, and to compact the busy ones, several times.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const sent: Sent[] = [];
    for (let i = 0; i < 150_000; i++) {
      const busy = random() < 0.3;
      const host = busy ? Math.floor(random() * 3) : Math.floor(random() * 3000);
      // The busy three flood for ten minutes in the middle; the rest browse.
      const atMs = busy ? 3_600_000 + Math.floor(random() * 600_000) : Math.floor(random() * 7_200_000);
      sent.push({ ip: `45.${33 + (host >> 8)}.${host & 255}.7`, atMs, login: random() < 0.1 });
    }
    const arrival = sent
      .map((s) => ({ s, arrives: s.atMs + Math.floor(random() * 300_000) }))
      .sort((a, b) => a.arrives - b.arrives)
      .map(({ s }) => s);
    const rules = rulesOf([2000, 300, 100]);
    const shuffled = replay(rules, arrival);
    const sorted = replay(rules, byTime(sent));
    expect(shuffled.limited.length).toBeGreaterThan(0);
    expect(shuffled.limited).toEqual(sorted.limited);
    expect(shuffled.tallies).toEqual(sorted.tallies);
    expect(shuffled.ordering).toMatchObject({ late: 0, reorderWindowSeconds: 300 });
  });
});
