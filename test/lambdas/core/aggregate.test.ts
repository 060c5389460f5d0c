/** Lossless aggregation by example: what a set holds for the ranges the ledger blocks, and which entries are ours. */
import { describe, expect, it } from 'vitest';
import { aggregateRanges, ownedSetEntries } from '#core/aggregate';

describe('aggregateRanges', () => {
  it('holds both /24s of a /23 as the /23, and three of four /24s of a /22 as a /23 and a /24', () => {
    expect(aggregateRanges(['45.33.13.0/24', '45.33.12.0/24'])).toEqual(['45.33.12.0/23']);
    expect(aggregateRanges(['45.33.12.0/24', '45.33.13.0/24', '45.33.14.0/24'])).toEqual([
      '45.33.12.0/23',
      '45.33.14.0/24',
    ]);
  });

  it('never aggregates wider than /16 (IPv4) or /48 (IPv6) by default: 512 /24s stay two /16s', () => {
    const twoSixteens = Array.from({ length: 512 }, (_, i) => `62.${i >> 8}.${i & 255}.0/24`);
    expect(aggregateRanges(twoSixteens)).toEqual(['62.0.0.0/16', '62.1.0.0/16']);
    expect(aggregateRanges(['2a01:4f8:1:2::/64', '2a01:4f8:1:3::/64'])).toEqual(['2a01:4f8:1:2::/63']);
  });

  it('keeps a wider range as it is, drops what it holds, and never merges across families', () => {
    expect(aggregateRanges(['10.0.0.0/8', '10.1.2.0/24', '11.0.0.0/8', '::ffff:10.9.9.9'])).toEqual([
      '10.0.0.0/8',
      '11.0.0.0/8',
    ]);
    expect(aggregateRanges(['45.33.12.0/24', '2a01:4f8:1:2::/64'])).toEqual(['45.33.12.0/24', '2a01:4f8:1:2::/64']);
  });

  it('refuses text that is not a range, naming it', () => {
    expect(() => aggregateRanges(['45.33.12.0/24', 'not-an-address'])).toThrow(
      'not an address or CIDR range: "not-an-address"',
    );
  });
});

describe('ownedSetEntries', () => {
  it('an aggregate is ours while every range it covers is managed, and stands for them', () => {
    const owned = ['45.33.12.0/24', '45.33.13.0/24'];
    expect(ownedSetEntries(['45.33.12.0/23', '91.200.12.0/24'], owned)).toEqual({
      ours: [{ entry: '45.33.12.0/23', covers: owned }],
      foreign: ['91.200.12.0/24'],
    });
  });

  it('once one of its ranges is no longer managed, the aggregate is foreign: the next write splits it', () => {
    expect(ownedSetEntries(['45.33.12.0/23'], ['45.33.12.0/24'])).toEqual({ ours: [], foreign: ['45.33.12.0/23'] });
  });

  it("a narrower entry inside an operator's wide ban was put there by someone else", () => {
    expect(ownedSetEntries(['45.33.12.0/24', '45.0.0.0/8'], ['45.0.0.0/8'])).toEqual({
      ours: [{ entry: '45.0.0.0/8', covers: ['45.0.0.0/8'] }],
      foreign: ['45.33.12.0/24'],
    });
  });

  it('an entry wider than the floor is ours only as a managed range itself, never as an aggregate', () => {
    const halves = ['62.0.0.0/16', '62.1.0.0/16'];
    expect(ownedSetEntries(['62.0.0.0/15'], halves).foreign).toEqual(['62.0.0.0/15']);
    expect(ownedSetEntries(['62.0.0.0/15'], halves, { IPV4: 15, IPV6: 48 }).ours).toEqual([
      { entry: '62.0.0.0/15', covers: halves },
    ]);
  });
});
