/**
 * perListBiggestLast: the run's per-list steps and plans are made the smallest list first and the
 * biggest last (so that V8 does not compile a function again, before the first IP set write, for
 * the lists after a big one), and give the same record as perList.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LISTS, perList, perListBiggestLast, type ListKey } from '#blocker/run/types';

describe('perListBiggestLast', () => {
  it('makes the lists in ascending order of size, the biggest last, equal sizes in LISTS order', () => {
    const sizes: Record<ListKey, number> = { IPV4: 10_000, IPV6: 0, 'neighbour#IPV4': 0, 'neighbour#IPV6': 3 };
    const calls: ListKey[] = [];

    const made = perListBiggestLast(
      (key) => sizes[key],
      (key) => {
        calls.push(key);
        return `${key}:${sizes[key]}`;
      },
    );

    expect(calls).toEqual(['IPV6', 'neighbour#IPV4', 'neighbour#IPV6', 'IPV4']);
    expect(made).toEqual({
      IPV4: 'IPV4:10000',
      IPV6: 'IPV6:0',
      'neighbour#IPV4': 'neighbour#IPV4:0',
      'neighbour#IPV6': 'neighbour#IPV6:3',
    });
    // The record reads as perList's does, keys in LISTS order.
    expect(Object.keys(made)).toEqual([...LISTS]);
  });

  it('gives what perList gives, calling make once per list, whatever the sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 5 }), { minLength: 4, maxLength: 4 }), (weights) => {
        const size = (key: ListKey) => weights[LISTS.indexOf(key)] as number;
        const calls: ListKey[] = [];
        const made = perListBiggestLast(size, (key) => {
          calls.push(key);
          return { key, size: size(key) };
        });

        expect(made).toEqual(perList((key) => ({ key, size: size(key) })));
        expect([...calls].sort()).toEqual([...LISTS].sort());
        for (let i = 1; i < calls.length; i++) {
          const [before, after] = [calls[i - 1] as ListKey, calls[i] as ListKey];
          expect(
            size(before) < size(after) ||
              (size(before) === size(after) && LISTS.indexOf(before) < LISTS.indexOf(after)),
          ).toBe(true);
        }
      }),
    );
  });
});
