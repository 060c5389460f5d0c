/**
 * Timestamps as AWS services write them into events: SNS's `Timestamp` (`2025-05-17T03:00:01.000Z`)
 * and CloudWatch's `StateChangeTime` (`2025-05-17T03:00:00.123+0000`, an offset without a colon).
 * Strict on purpose: `Date.parse` also takes `May 17 2025`, `2025-05-17` (midnight) or `2025-02-30`
 * (rolled over to March), and a decision that rests on a timestamp's age must not rest on a guess.
 * No AWS imports.
 */

const AWS_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Reads an ISO 8601 date-time with seconds and a zone (`Z`, `+00:00` or `+0000`), to the millisecond
 * (finer digits are dropped).
 * @returns Milliseconds since the epoch; undefined for anything else, including dates that do not
 *   exist (February 30, hour 24) and offsets beyond ±23:59.
 */
export function parseAwsTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = AWS_TIMESTAMP.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zulu, sign, offsetHours, offsetMinutes] = match;
  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(local);
  // Date.UTC rolls 2025-02-30 over to March 2; a round trip tells a real date from a rolled one.
  // (Date.UTC also maps years 0-99 to 1900-1999, which the same check refuses.)
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  if (zulu !== undefined) return local;
  const oh = Number(offsetHours);
  const om = Number(offsetMinutes);
  if (oh > 23 || om > 59) return undefined;
  const offsetMs = (oh * 60 + om) * 60_000;
  return sign === '-' ? local + offsetMs : local - offsetMs;
}
