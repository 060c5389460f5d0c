/**
 * Which set entry not ours covers a range we would record (lambdas/core/foreign-cover.ts).
 */
import { describe, expect, it } from 'vitest';
import { ForeignCover } from '#core/foreign-cover';

describe('ForeignCover', () => {
  it("names the entry of any of the family's sets that covers a range from a shorter prefix", () => {
    const cover = new ForeignCover([['203.0.113.0/24'], ['88.9.0.0/23', '2a01:4f8:20::/60']], []);
    expect(cover.coveringEntry('88.9.1.0/24')).toBe('88.9.0.0/23');
    expect(cover.coveringEntry('2a01:4f8:20:f::/64')).toBe('2a01:4f8:20::/60');
    expect(cover.coveringEntry('88.9.2.0/24')).toBeUndefined();
  });

  it('does not count an entry equal to the range (the ledger marks that one preexisting), nor one inside it', () => {
    const cover = new ForeignCover([['88.9.0.0/24', '45.33.12.128/25']], []);
    expect(cover.coveringEntry('88.9.0.0/24')).toBeUndefined();
    expect(cover.coveringEntry('45.33.12.0/24')).toBeUndefined();
  });

  it('does not count our own entries: an owned range, or an aggregate that owned ranges tile', () => {
    const cover = new ForeignCover([['62.0.0.0/23', '46.5.0.0/16']], ['62.0.0.0/24', '62.0.1.0/24', '46.5.0.0/16']);
    expect(cover.coveringEntry('62.0.1.0/24')).toBeUndefined();
    expect(cover.coveringEntry('46.5.7.0/24')).toBeUndefined();
  });

  it('takes an entry that owned ranges only partly fill for what it is: not ours', () => {
    const cover = new ForeignCover([['88.9.0.0/23']], ['88.9.0.0/24']);
    expect(cover.coveringEntry('88.9.1.0/24')).toBe('88.9.0.0/23');
  });

  it('answers nothing for text that is not a range, and nothing when the sets are empty', () => {
    expect(new ForeignCover([['10.0.0.0/8', 'not-an-entry']], []).coveringEntry('banana')).toBeUndefined();
    expect(new ForeignCover([[], []], []).coveringEntry('88.9.1.0/24')).toBeUndefined();
  });
});
