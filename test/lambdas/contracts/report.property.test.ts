/**
 * Block reports that always fit one SNS message: fitReport and mergeReports, pure, without mocks.
 * The properties run with small budgets so that a few hundred entries already have to be cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_REPORT_KIND,
  fitReport,
  mergeReports,
  REPORT_MAX_BYTES,
  REPORT_MIN_BYTES,
  reportBytes,
  SNS_MAX_MESSAGE_BYTES,
  upgradeReport,
  type AddedRange,
  type BlockReport,
  type BlockReportV1,
  type BlockReportV2,
  type ExpiredRange,
} from '#contracts/report';
import { formatCidr } from '#core/cidr-format';
import { parseAddress } from '#core/ip-parse';
import { compareRanges } from '#core/network-range';
import { attackReport } from '../../support/block-reports';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** Any text: quotes, backslashes, control characters and emoji cost the most once escaped. */
const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('"\\"\\', '\u0000\u0001\u001f', '🛡️🇩🇪', 'shop.example.com'),
);
const count = fc.oneof(fc.nat({ max: 100_000 }), fc.constant(0));
const cidr = fc.oneof(
  fc.ipV4().map((ip) => `${ip.replace(/\.\d+$/, '.0')}/24`),
  // Canonical, as the blocker writes them (fitReport orders ranges of equal hits by address).
  fc
    .tuple(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }))
    .map(([w0, w1]) => formatCidr('IPV6', w0, w1, 0, 0, 64)),
  anyText,
);

/** fitReport's order of ranges with equal hits: canonical ranges in the core's address order, then any other text. */
function byAddress(a: string, b: string): number {
  const canonical = (text: string) => {
    const parsed = parseAddress(text);
    return parsed && formatCidr(parsed.family, parsed.w0, parsed.w1, parsed.w2, parsed.w3, parsed.prefix) === text
      ? parsed
      : undefined;
  };
  const [x, y] = [canonical(a), canonical(b)];
  if (x && y) return compareRanges(x, y);
  return x ? -1 : y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

const isoTime = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
const added = fc.record({ range: cidr, source: anyText, hits: count });
const expired = fc.record({ range: cidr, source: anyText, lastSeen: fc.oneof(isoTime, anyText) });

function reportOf(context: { text: fc.Arbitrary<string>; many: number }): fc.Arbitrary<BlockReport> {
  const body = fc.record({
    kind: fc.constant(BLOCK_REPORT_KIND),
    at: isoTime,
    webAclName: context.text,
    dryRun: fc.boolean(),
    collected: fc.boolean(),
    added: fc.array(added, { maxLength: 400, size: 'max' }),
    expired: fc.array(expired, { maxLength: 300, size: 'max' }),
    overflow: fc.record({ count, sample: fc.array(cidr, { maxLength: 40, size: 'max' }) }),
    ipSets: fc.array(
      fc.record({
        name: context.text,
        family: fc.constantFrom('IPV4' as const, 'IPV6' as const),
        size: count,
        capacity: count,
      }),
      { maxLength: context.many, size: 'max' },
    ),
    topHosts: fc.array(fc.record({ host: context.text, count }), { maxLength: context.many, size: 'max' }),
    rejectedKeys: fc.dictionary(context.text, count, { maxKeys: context.many, size: 'max' }),
    unreadableRules: fc.array(context.text, { maxLength: context.many, size: 'max' }),
  });
  const v1 = body.map((b): BlockReportV1 => ({ ...b, version: 1 }));
  // Version 2 totals are at least the lists (a fitted or merged report counts more than it lists).
  const v2 = fc
    .tuple(body, fc.nat({ max: 50_000 }), fc.nat({ max: 50_000 }), fc.integer({ min: 1, max: 300 }), isoTime)
    .map(([b, moreAdded, moreExpired, runs, since]): BlockReportV2 => ({
      ...b,
      version: 2,
      addedCount: b.added.length + moreAdded,
      expiredCount: b.expired.length + moreExpired,
      runs,
      ...(runs > 1 ? { since } : {}),
    }));
  return fc.oneof(v1, v2);
}

/** What a blocker writes: a few short context entries. */
const report = reportOf({ text: anyText, many: 6 });
/** Context no blocker writes: long, costly texts in long lists. */
const hostileText = fc.oneof(anyText, fc.constantFrom('\u0000'.repeat(600), '"'.repeat(2_000), '🇩🇪'.repeat(400)));
const hostileReport = reportOf({ text: hostileText, many: 60 });
/** Small budgets, so that a few hundred entries must be cut; and the real one. */
const budget = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: REPORT_MIN_BYTES, max: 40_000 }) },
  { weight: 1, arbitrary: fc.constant(REPORT_MAX_BYTES) },
);

/**
 * Runs, and a bound on the whole check: shrinking a counterexample of a few hundred entries can take
 * minutes, so a failure is reported as found (not shrunk) once the time is up.
 */
const SETTINGS = { numRuns: 80, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true };

/** Entries by their JSON, with how many times each occurs: lists compared as multisets. */
function tally(list: readonly unknown[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of list) {
    const key = JSON.stringify(entry);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function isSubsetOf(kept: readonly unknown[], all: readonly unknown[]): boolean {
  const available = tally(all);
  return [...tally(kept)].every(([key, n]) => (available.get(key) ?? 0) >= n);
}

/** The entries of `all` not in `kept` (as many times as they are missing). */
function dropped<T>(all: readonly T[], kept: readonly T[]): T[] {
  const left = tally(kept);
  return all.filter((entry) => {
    const key = JSON.stringify(entry);
    const n = left.get(key) ?? 0;
    if (n === 0) return true;
    left.set(key, n - 1);
    return false;
  });
}

describe('fitReport, for any report and budget', () => {
  it('fits: the report as SNS carries it, and the published message, take at most the budget', () => {
    fc.assert(
      fc.property(
        fc.oneof({ weight: 3, arbitrary: report }, { weight: 1, arbitrary: hostileReport }),
        budget,
        (input, maxBytes) => {
          const fitted = fitReport(input, maxBytes);
          expect(reportBytes(fitted)).toBeLessThanOrEqual(maxBytes);
          expect(bytes(JSON.stringify(fitted))).toBeLessThanOrEqual(maxBytes);
        },
      ),
      SETTINGS,
    );
  });

  it('keeps the totals exact, whatever it cuts', () => {
    fc.assert(
      fc.property(
        fc.oneof({ weight: 3, arbitrary: report }, { weight: 1, arbitrary: hostileReport }),
        budget,
        (input, maxBytes) => {
          const fitted = fitReport(input, maxBytes);
          const whole = upgradeReport(input);
          expect(fitted).toMatchObject({
            version: 2,
            addedCount: whole.addedCount,
            expiredCount: whole.expiredCount,
            runs: whole.runs,
            overflow: { count: whole.overflow.count },
          });
          expect(isSubsetOf(fitted.added, whole.added)).toBe(true);
          expect(isSubsetOf(fitted.expired, whole.expired)).toBe(true);
          expect(fitted.overflow.sample).toEqual(whole.overflow.sample.slice(0, fitted.overflow.sample.length));
        },
      ),
      SETTINGS,
    );
  });

  it('drops nothing (and reorders nothing) when the report already fits', () => {
    fc.assert(
      fc.property(report, (input) => {
        const maxBytes = reportBytes(upgradeReport(input)) + 1;
        expect(fitReport(input, Math.max(REPORT_MIN_BYTES, maxBytes))).toEqual(upgradeReport(input));
      }),
    );
  });

  it('keeps the most important ranges: a dropped one never had more hits, or was never seen later, than a kept one', () => {
    fc.assert(
      fc.property(report, budget, (input, maxBytes) => {
        const fitted = fitReport(input, maxBytes);
        const droppedAdded = dropped(input.added, fitted.added);
        const minKeptHits = Math.min(...fitted.added.map((entry) => entry.hits));
        for (const entry of droppedAdded) expect(entry.hits).toBeLessThanOrEqual(minKeptHits);
        // A time that cannot be read sorts last: below any kept one that can be.
        const time = (entry: ExpiredRange) => {
          const at = Date.parse(entry.lastSeen);
          return Number.isNaN(at) ? -Infinity : at;
        };
        const latestDropped = Math.max(...dropped(input.expired, fitted.expired).map(time));
        for (const kept of fitted.expired) expect(time(kept)).toBeGreaterThanOrEqual(latestDropped);
      }),
      SETTINGS,
    );
  });

  it('cuts no list shorter than it must: one more entry of any cut list would not fit', () => {
    fc.assert(
      fc.property(report, budget, (input, maxBytes) => {
        const fitted = fitReport(input, maxBytes);
        const whole = upgradeReport(input);
        // The next in fitReport's order: most hits, then by address.
        const nextAdded = dropped(whole.added, fitted.added).sort(
          (a, b) => b.hits - a.hits || byAddress(a.range, b.range),
        )[0];
        if (nextAdded)
          expect(reportBytes({ ...fitted, added: [...fitted.added, nextAdded] })).toBeGreaterThan(maxBytes);
        const nextSample = whole.overflow.sample[fitted.overflow.sample.length];
        if (nextSample !== undefined) {
          const sample = [...fitted.overflow.sample, nextSample];
          expect(reportBytes({ ...fitted, overflow: { ...fitted.overflow, sample } })).toBeGreaterThan(maxBytes);
        }
      }),
      SETTINGS,
    );
  });

  it('refuses a budget too small to hold every heading and total, naming the minimum', () => {
    const input = upgradeReport({ ...tenThousand(), added: [] });
    expect(() => fitReport(input, REPORT_MIN_BYTES - 1)).toThrow(
      new RangeError(`report budget must be an integer of at least 8192 bytes, got 8191`),
    );
  });
});

/** The attack: 10,000 global addresses, one per /24, blocked at once; and 10,000 expiring. */
const tenThousand = () => attackReport(10_000, 10_000);

describe('a report of 10,000 added and 10,000 expired ranges', () => {
  it('fits one SNS notification, lists thousands of the most active ranges, and counts all 20,000', () => {
    const input = tenThousand();
    expect(bytes(JSON.stringify(input))).toBeGreaterThan(SNS_MAX_MESSAGE_BYTES);

    const fitted = fitReport(input);

    // What SNS delivers to the notifier: the message as a JSON string inside the notification.
    const notification = JSON.stringify({
      Records: [
        {
          EventSource: 'aws:sns',
          Sns: {
            Type: 'Notification',
            MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
            TopicArn: 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-Reports',
            Subject: 'waf-autoblock report for waf-autoblock-WebAcl',
            Message: JSON.stringify(fitted),
            Timestamp: '2026-11-30T23:00:01.000Z',
            SignatureVersion: '1',
            Signature: 'x'.repeat(344),
            SigningCertUrl: `https://sns.us-east-1.amazonaws.com/${'c'.repeat(80)}.pem`,
            UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&${'u'.repeat(120)}`,
            MessageAttributes: {},
          },
        },
      ],
    });
    expect(bytes(notification)).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(reportBytes(fitted)).toBeLessThanOrEqual(REPORT_MAX_BYTES);
    expect(fitted).toMatchObject({ addedCount: 10_000, expiredCount: 10_000, runs: 1, overflow: input.overflow });
    // The room is shared: both lists keep well over a thousand entries, about as many each (what
    // is left after cutting both to one length goes to the added ranges).
    expect(fitted.expired.length).toBeGreaterThan(1_000);
    expect(fitted.added.length - fitted.expired.length).toBeGreaterThanOrEqual(0);
    expect(fitted.added.length - fitted.expired.length).toBeLessThan(5);
    // The most active first; the expired last seen latest first.
    const hits = fitted.added.map((entry: AddedRange) => entry.hits);
    expect(hits).toEqual([...hits].sort((a, b) => b - a));
    expect(hits[0]).toBe(1_096);
    const lowestKept = hits.at(-1) ?? 0;
    expect(input.added.filter((entry) => entry.hits > lowestKept).length).toBeLessThanOrEqual(hits.length);
    expect(fitted.expired[0]).toEqual(input.expired.at(-1));
    expect(fitted).toMatchObject({ webAclName: input.webAclName, ipSets: input.ipSets, topHosts: input.topHosts });
  });
});

describe('mergeReports', () => {
  const earlier: BlockReportV1 = {
    ...tenThousand(),
    at: '2026-11-30T22:55:00.000Z',
    added: [{ range: '45.142.120.0/24', source: 'RateLimitPerIp', hits: 5_000 }],
    expired: [],
    overflow: { count: 0, sample: [] },
    ipSets: [{ name: 'waf-autoblock-v4', family: 'IPV4', size: 1, capacity: 10_000 }],
    topHosts: [
      { host: 'shop.example.com', count: 10 },
      { host: 'api.example.com', count: 40 },
    ],
    rejectedKeys: { allowlisted: 2, 'non-global': 1 },
    unreadableRules: ['RateLimitLogin'],
  };

  it('says what both runs did, with the state after the later one', () => {
    const later = fitReport(tenThousand());
    const merged = mergeReports(fitReport(earlier), later);

    expect(merged).toMatchObject({
      version: 2,
      at: later.at,
      since: earlier.at,
      runs: 2,
      addedCount: 10_001,
      expiredCount: 10_000,
      overflow: later.overflow,
      ipSets: later.ipSets,
      rejectedKeys: { allowlisted: 3, 'non-global': 1 },
      unreadableRules: ['RateLimitLogin'],
      topHosts: [
        { host: 'shop.example.com', count: 107 },
        { host: 'api.example.com', count: 40 },
      ],
    });
    expect(merged.added[0]).toEqual(earlier.added[0]);
    // Merged, then fitted again: still one message, still every total.
    const refitted = fitReport(merged);
    expect(reportBytes(refitted)).toBeLessThanOrEqual(REPORT_MAX_BYTES);
    expect(refitted).toMatchObject({ addedCount: 10_001, expiredCount: 10_000, runs: 2, since: earlier.at });
    // The earlier run's range had the most hits of all: it is listed first.
    expect(refitted.added[0]?.range).toBe('45.142.120.0/24');
  });

  it('keeps the first run of a chain as `since` and counts every run', () => {
    const one = { ...earlier, at: '2026-11-30T22:50:00.000Z' };
    const chained = mergeReports(mergeReports(one, earlier), tenThousand());
    expect(chained).toMatchObject({ since: one.at, runs: 3, addedCount: 10_002 });
  });
});
