import { describe, expect, it } from 'vitest';
import { planLedgerWrites, refreshMargin } from '../../../lambdas/core/ledger-writes';
import type { LedgerEntry } from '../../../lambdas/core/types';

const MINUTE = 60_000;
const DURATION = 240 * MINUTE;
const T0 = Date.UTC(2025, 0, 1);
const SHARED = 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/partner/1a2b';

const stored = (fields: Partial<LedgerEntry> = {}): LedgerEntry => ({
  range: '45.33.12.0/24',
  family: 'IPV4',
  firstSeen: T0,
  lastSeen: T0,
  expiresAt: T0 + DURATION,
  hits: 1,
  source: 'rate-ip',
  ...fields,
});

/** The merged entry of a rate rule sighting `minutes` after T0. */
const seenAgain = (minutes: number, fields: Partial<LedgerEntry> = {}): LedgerEntry =>
  stored({ lastSeen: T0 + minutes * MINUTE, expiresAt: T0 + minutes * MINUTE + DURATION, hits: 2, ...fields });

function plan(before: LedgerEntry | undefined, entry: LedgerEntry, minutes: number) {
  return planLedgerWrites(new Map(before ? [[before.range, before]] : []), [entry], T0 + minutes * MINUTE, DURATION);
}

describe('planLedgerWrites', () => {
  it('records a new range before the IP set write', () => {
    expect(plan(undefined, stored(), 0)).toEqual({ first: [stored()], refresh: [], skipped: 0 });
  });

  it('skips a range seen again within the margin, and refreshes it once its expiry would move by the margin', () => {
    const margin = refreshMargin(DURATION) / MINUTE;
    expect(margin).toBe(15);
    expect(plan(stored(), seenAgain(5), 5)).toMatchObject({ first: [], refresh: [], skipped: 1 });
    expect(plan(stored(), seenAgain(15), 15)).toMatchObject({ first: [], refresh: [seenAgain(15)], skipped: 0 });
  });

  it('writes a manual ban that moves the expiry far out at once, even when the range was just seen', () => {
    const week = stored({ lastSeen: T0 + MINUTE, expiresAt: T0 + 7 * 24 * 60 * MINUTE, source: 'cli:alice' });
    expect(plan(stored(), week, 1).refresh).toEqual([week]);
  });

  it('writes a new reason at once', () => {
    const reasoned = seenAgain(1, { expiresAt: T0 + DURATION, reason: 'scanner' });
    expect(plan(stored(), reasoned, 1).refresh).toEqual([reasoned]);
  });

  it('records a change of ownership in a shared set before the IP set writes', () => {
    const handedOver = seenAgain(1, { expiresAt: T0 + DURATION });
    expect(plan(stored({ sharedPreexisting: [SHARED] }), handedOver, 1).first).toEqual([handedOver]);
    expect(plan(stored({ preexisting: true }), handedOver, 1).first).toEqual([handedOver]);
  });
});
