/** The duplicate filter of replay: a request id read again is dropped, within a bounded window. */
import { describe, expect, it } from 'vitest';
import { DuplicateFilter, MAX_REMEMBERED_IDS } from '../../cli/replay/duplicates';

const T0 = Date.UTC(2025, 2, 14, 2, 0, 0);

describe('DuplicateFilter', () => {
  it('drops a request id read before and counts it; a record without an id is never a duplicate', () => {
    const filter = new DuplicateFilter(300);
    expect(filter.isDuplicate('r-1', T0)).toBe(false);
    expect(filter.isDuplicate('r-2', T0)).toBe(false);
    expect(filter.isDuplicate('r-1', T0)).toBe(true);
    expect(filter.isDuplicate(undefined, T0)).toBe(false);
    expect(filter.isDuplicate(undefined, T0)).toBe(false);
    expect(filter.dropped).toBe(1);
  });

  it('forgets ids more than the window before the latest record, so memory stays bounded', () => {
    const filter = new DuplicateFilter(300);
    filter.isDuplicate('old', T0);
    // 65,536 later records, 301 s on, make the filter sweep what the window no longer holds.
    for (let i = 0; i < 65_536; i++) filter.isDuplicate(`r-${i}`, T0 + 301_000);
    expect(filter.isDuplicate('old', T0)).toBe(false);
    expect(filter.isDuplicate('r-0', T0 + 301_000)).toBe(true);
  });

  it('refuses a negative window', () => {
    expect(() => new DuplicateFilter(-1)).toThrow('duplicate window must be 0 or more seconds, got -1');
  });
});

describe('how long DuplicateFilter remembers an id (as docs/replay.md says)', () => {
  it('remembers an id at least the window: a copy 6.7 min after, with a 300 s window, is still dropped', () => {
    const filter = new DuplicateFilter(300);
    const t0 = Date.UTC(2025, 2, 14);
    for (let i = 0; i < 2000; i++) filter.isDuplicate(`id-${i}`, t0 + i);
    for (let i = 0; i < 2000; i++) filter.isDuplicate(`id-${i}`, t0 + 402_000 + i);
    expect(filter.dropped).toBe(2000);
  });

  it(`holds at most ${MAX_REMEMBERED_IDS.toLocaleString('en-US')} ids: the oldest is forgotten first, whatever the window`, () => {
    const filter = new DuplicateFilter(Number.POSITIVE_INFINITY);
    for (let i = 0; i <= MAX_REMEMBERED_IDS; i++) filter.isDuplicate(`id-${i}`, 0);
    expect(filter.isDuplicate(`id-${MAX_REMEMBERED_IDS}`, 0)).toBe(true);
    expect(filter.isDuplicate('id-0', 0)).toBe(false);
  });
});
