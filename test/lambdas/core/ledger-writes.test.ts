import { describe, expect, it } from 'vitest';
import { expiryMargin } from '#core/ledger';
import { planLedgerWrites } from '#core/ledger-writes';
import type { LedgerEntry } from '#core/types';
import { banSighting, LedgerRuns, rateSighting } from '../../support/ledger-runs';

const MINUTE = 60_000;
const DURATION_MINUTES = 240;
const DURATION = DURATION_MINUTES * MINUTE;
const T0 = Date.UTC(2025, 0, 1);
const at = (minutes: number): number => T0 + minutes * MINUTE;
const RANGE = '45.33.12.0/24';
const SHARED = 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b';

const stored = (fields: Partial<LedgerEntry> = {}): LedgerEntry => ({
  range: RANGE,
  family: 'IPV4',
  firstSeen: T0,
  lastSeen: T0,
  expiresAt: T0 + DURATION,
  hits: 1,
  source: 'rate-ip',
  ...fields,
});

function plan(before: LedgerEntry | undefined, entry: LedgerEntry) {
  return planLedgerWrites(new Map(before ? [[before.range, before]] : []), [entry]);
}

describe('planLedgerWrites', () => {
  it('records a new range before the IP set write', () => {
    expect(plan(undefined, stored())).toEqual({ first: [stored()], refresh: [], skipped: 0 });
  });

  it('skips a range whose expiry did not move, and writes every one whose expiry moved, however little', () => {
    const seenAgain = stored({ lastSeen: at(5), hits: 2 });
    expect(plan(stored(), seenAgain)).toEqual({ first: [], refresh: [], skipped: 1 });
    const moved = stored({ lastSeen: at(1), expiresAt: T0 + DURATION + 1 });
    expect(plan(stored(), moved)).toEqual({ first: [], refresh: [moved], skipped: 0 });
  });

  it('writes a new reason at once', () => {
    const reasoned = stored({ lastSeen: at(1), reason: 'scanner' });
    expect(plan(stored(), reasoned).refresh).toEqual([reasoned]);
  });

  it('records a change of ownership in a shared set before the IP set writes', () => {
    const handedOver = stored({ lastSeen: at(1) });
    expect(plan(stored({ sharedPreexisting: [SHARED] }), handedOver).first).toEqual([handedOver]);
    expect(plan(stored({ preexisting: true }), handedOver).first).toEqual([handedOver]);
  });
});

describe('how long a block lasts, run after run (every 5 minutes)', () => {
  it('has a margin of a tenth of the block duration, at most 15 minutes', () => {
    expect(expiryMargin(DURATION)).toBe(15 * MINUTE);
    expect(expiryMargin(60 * MINUTE)).toBe(6 * MINUTE);
    expect(expiryMargin(7 * 24 * 60 * MINUTE)).toBe(15 * MINUTE);
  });

  it('keeps a range seen at t0, t0+5 and t0+10 (none after) blocked at t0+10+duration-1 minutes', () => {
    const runs = new LedgerRuns(DURATION);
    for (const minutes of [0, 5, 10]) runs.run(at(minutes), [rateSighting(RANGE)]);
    runs.run(at(10 + DURATION_MINUTES - 1));
    expect(runs.isBlocked(RANGE)).toBe(true);
  });

  it('lifts that range no earlier than t0+10+duration, and at the latest one run after the margin', () => {
    const runs = new LedgerRuns(DURATION);
    for (const minutes of [0, 5, 10]) runs.run(at(minutes), [rateSighting(RANGE)]);
    let liftedAt: number | undefined;
    for (let minutes = 15; liftedAt === undefined && minutes <= 10 + DURATION_MINUTES + 60; minutes += 5) {
      if (runs.run(at(minutes)).expired.includes(RANGE)) liftedAt = minutes;
      else expect(runs.isBlocked(RANGE)).toBe(true);
    }
    expect(runs.isBlocked(RANGE)).toBe(false);
    expect(liftedAt).toBeGreaterThanOrEqual(10 + DURATION_MINUTES);
    expect(liftedAt).toBeLessThanOrEqual(10 + DURATION_MINUTES + 15 + 5);
  });

  it('rewrites a range seen on every run of a ten-hour attack 3 times an hour', () => {
    const runs = new LedgerRuns(DURATION);
    runs.run(at(0), [rateSighting(RANGE)]);
    const afterFirst = runs.writes;
    // Ten hours of an attack that never stops: 120 runs.
    for (let minutes = 5; minutes <= 600; minutes += 5) runs.run(at(minutes), [rateSighting(RANGE)]);
    expect(afterFirst).toBe(1);
    expect(runs.writes - afterFirst).toBe(30);
    expect(runs.isBlocked(RANGE)).toBe(true);
  });

  it('keeps a ban at exactly the minutes asked, also when it is repeated a few minutes later', () => {
    const runs = new LedgerRuns(DURATION);
    runs.run(at(0), [banSighting(RANGE, 60)]);
    // fail2ban sends the same 60-minute ban again: the ban now ends at t0+65, not a margin later.
    expect(runs.run(at(5), [banSighting(RANGE, 60)]).written).toBe(1);
    expect(runs.stored.get(RANGE)?.expiresAt).toBe(at(65));
    runs.run(at(64));
    expect(runs.isBlocked(RANGE)).toBe(true);
    expect(runs.run(at(65)).expired).toEqual([RANGE]);
    expect(runs.isBlocked(RANGE)).toBe(false);
  });

  it('never shortens a week-long ban when a rate rule sees the range, and writes nothing for that sighting', () => {
    const runs = new LedgerRuns(DURATION);
    runs.run(at(0), [banSighting(RANGE, 7 * 24 * 60)]);
    expect(runs.run(at(5), [rateSighting(RANGE)]).written).toBe(0);
    expect(runs.stored.get(RANGE)?.expiresAt).toBe(at(7 * 24 * 60));
  });

  it('takes a rate rule sighting after a short ban a full duration (and the margin) from then', () => {
    const runs = new LedgerRuns(DURATION);
    runs.run(at(0), [banSighting(RANGE, 30)]);
    expect(runs.run(at(20), [rateSighting(RANGE)]).written).toBe(1);
    expect(runs.stored.get(RANGE)?.expiresAt).toBe(at(20 + DURATION_MINUTES + 15));
  });
});
