/** `--for` durations and the spans the commands print. */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../cli/duration';
import { UsageError } from '../../cli/errors';
import { fromNow, span } from '../../cli/format';

describe('parseDuration', () => {
  it.each([
    ['90m', 90],
    ['90', 90],
    ['24h', 1440],
    ['7d', 10_080],
    ['1w', 10_080],
    ['2W', 20_160],
    ['1m', 1],
    ['525600', 525_600],
    ['365d', 525_600],
  ])('reads %s as %i minutes', (text, minutes) => {
    expect(parseDuration('--for', text)).toBe(minutes);
  });

  it.each(['0', '0h', '525601', '366d', '53w', '1.5h', '-1h', '1y', 'h', '', '24 h', '9999999w'])(
    'refuses %j, naming the flag and the value',
    (text) => {
      expect(() => parseDuration('--for', text)).toThrow(UsageError);
      expect(() => parseDuration('--for', text)).toThrow(`--for must be a duration such as 90m, 24h, 7d or 2w`);
      expect(() => parseDuration('--for', text)).toThrow(`got "${text}"`);
    },
  );
});

describe('span', () => {
  it.each([
    [0, '<1m'],
    [59_999, '<1m'],
    [60_000, '1m'],
    [(3 * 60 + 50) * 60_000, '3h 50m'],
    [4 * 3_600_000, '4h'],
    [(26 * 60 + 5) * 60_000, '1d 2h'],
    [7 * 86_400_000 + 60_000, '7d'],
  ])('prints %i ms as %s', (ms, text) => {
    expect(span(ms)).toBe(text);
  });

  it('says which way a time lies from now', () => {
    expect(fromNow(10 * 60_000, 0)).toBe('in 10m');
    expect(fromNow(0, 2 * 60_000)).toBe('2m ago');
  });
});
