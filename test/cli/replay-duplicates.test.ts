/** The duplicate filter of replay: a request id read again is dropped, within a bounded window. */
import { describe, expect, it } from 'vitest';
import { DuplicateFilter } from '../../cli/replay/duplicates';

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
