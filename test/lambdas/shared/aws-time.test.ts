import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAwsTimestamp } from '#shared/aws-time';

/** `t` as the wall clock `offsetMinutes` east of UTC shows it, with that offset: `2025-05-17T05:00:00.123+0200`. */
function withOffset(t: number, offsetMinutes: number, colon: boolean): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  const wall = new Date(t + offsetMinutes * 60_000).toISOString().slice(0, -1);
  return `${wall}${sign}${hh}${colon ? ':' : ''}${mm}`;
}

// 1970 to 2100: every time an AWS event can carry, and then some.
const times = fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) });

describe('parseAwsTimestamp', () => {
  it('reads the forms SNS and CloudWatch write', () => {
    expect(parseAwsTimestamp('2025-05-17T03:00:01.000Z')).toBe(Date.UTC(2025, 4, 17, 3, 0, 1));
    expect(parseAwsTimestamp('2025-05-17T03:00:00.123+0000')).toBe(Date.UTC(2025, 4, 17, 3, 0, 0, 123));
  });

  it('reads any time back from its UTC form, as Date.parse does', () => {
    fc.assert(
      fc.property(times, (t) => {
        const text = new Date(t).toISOString();
        expect(parseAwsTimestamp(text)).toBe(t);
        expect(parseAwsTimestamp(text)).toBe(Date.parse(text));
      }),
    );
  });

  it('reads any time back from a form with any offset, with or without a colon', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), fc.boolean(), (t, offset, colon) => {
        expect(parseAwsTimestamp(withOffset(t, offset, colon))).toBe(t);
      }),
    );
  });

  it('keeps milliseconds of a finer fraction and fills a shorter one', () => {
    expect(parseAwsTimestamp('2025-05-17T03:00:00.123456789Z')).toBe(Date.UTC(2025, 4, 17, 3, 0, 0, 123));
    expect(parseAwsTimestamp('2025-05-17T03:00:00.5Z')).toBe(Date.UTC(2025, 4, 17, 3, 0, 0, 500));
    expect(parseAwsTimestamp('2025-05-17T03:00:00Z')).toBe(Date.UTC(2025, 4, 17, 3, 0, 0));
  });

  it.each([
    ['not a string', 1_747_450_800_123],
    ['an object', { toString: () => '2025-05-17T03:00:00Z' }],
    ['empty', ''],
    ['a date alone (Date.parse: midnight UTC)', '2025-05-17'],
    ['no zone (Date.parse: local time)', '2025-05-17T03:00:00'],
    ['no seconds', '2025-05-17T03:00Z'],
    ['a space for the T', '2025-05-17 03:00:00Z'],
    ['an HTTP date', 'Sat, 17 May 2025 03:00:00 GMT'],
    ['month 13', '2025-13-01T00:00:00Z'],
    ['February 29 of a common year', '2025-02-29T00:00:00Z'],
    ['April 31', '2025-04-31T00:00:00Z'],
    ['hour 24', '2025-05-17T24:00:00Z'],
    ['second 60', '2025-05-17T23:59:60Z'],
    ['year 0099 (Date.UTC reads 1999)', '0099-05-17T03:00:00Z'],
    ['offset +24:00', '2025-05-17T03:00:00+24:00'],
    ['offset minutes 60', '2025-05-17T03:00:00+0060'],
    ['a fraction of ten digits', '2025-05-17T03:00:00.1234567890Z'],
    ['a leading blank', ' 2025-05-17T03:00:00Z'],
    ['a trailing newline', '2025-05-17T03:00:00Z\n'],
    ['non-ASCII digits', '٢٠٢٥-05-17T03:00:00Z'],
  ])('refuses %s', (_, value) => {
    expect(parseAwsTimestamp(value)).toBeUndefined();
  });

  it('takes February 29 of a leap year', () => {
    expect(parseAwsTimestamp('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12));
  });
});
