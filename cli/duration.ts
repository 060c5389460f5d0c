/** `--for` durations: how long an operator's ban lasts. */
import { MAX_BAN_MINUTES } from '#blocker/actions';
import { trimSurroundingSpace } from '#core/value-space';
import { UsageError } from './errors';

const MINUTES_PER_UNIT: Readonly<Record<string, number>> = { m: 1, h: 60, d: 1440, w: 10_080 };

export { MAX_BAN_MINUTES };

/**
 * Reads `90m`, `24h`, `7d`, `2w`, or a plain number of minutes.
 * @returns whole minutes, from 1 to {@link MAX_BAN_MINUTES}.
 * @throws {UsageError} naming `flag` and the value when it is not such a duration or out of bounds.
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d{1,7})([mhdw]?)$/.exec(trimSurroundingSpace(text).toLowerCase());
  const minutes = match ? Number(match[1]) * (MINUTES_PER_UNIT[match[2] || 'm'] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(minutes) || minutes < 1 || minutes > MAX_BAN_MINUTES) {
    throw new UsageError(
      `${flag} must be a duration such as 90m, 24h, 7d or 2w (a plain number is minutes), from 1 minute to 365 days; got "${text}"`,
    );
  }
  return minutes;
}
