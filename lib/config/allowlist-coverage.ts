/**
 * An allowlist that allows everybody. `0.0.0.0/0` and `::/0` are refused entry by entry (the core
 * reader's `zero-prefix`), but `0.0.0.0/1` with `128.0.0.0/1` (or `::/1` with `8000::/1`, or any
 * set of ranges) covers a whole family just as well: the ALLOW rule, evaluated first, would then
 * let every request of that family past the blocklist, the rate rules and the managed groups.
 * This refuses an allowlist whose ranges together cover all of a family; a smaller share is the
 * user's choice.
 */
import { readRange } from '#core/address-verdict';
import type { ConfigProblem } from './config-error';

/** A range as the first and last address, as integers. */
interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

function intervalOf(cidr: string): { readonly family: 'IPV4' | 'IPV6'; readonly interval: Interval } | undefined {
  const { range } = readRange(cidr);
  if (range === undefined) return undefined;
  const width = range.family === 'IPV4' ? 32 : 128;
  const words = range.family === 'IPV4' ? [range.w0] : [range.w0, range.w1, range.w2, range.w3];
  const first = words.reduce((value, word) => (value << 32n) | BigInt(word), 0n);
  const size = 1n << BigInt(width - range.prefix);
  return { family: range.family, interval: { first, last: first + size - 1n } };
}

/** Whether the intervals together cover 0 to `max`. */
function coversAll(intervals: Interval[], max: bigint): boolean {
  let next = 0n;
  for (const { first, last } of [...intervals].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))) {
    if (first > next) return false;
    if (last + 1n > next) next = last + 1n;
    if (next > max) return true;
  }
  return next > max;
}

/**
 * The families that the allowlist covers whole, as one problem naming `allowlist`.
 * @param allowlist canonical CIDRs, as the schema reads them.
 */
export function allowlistCoverageProblems(allowlist: readonly string[]): ConfigProblem[] {
  // IPv4-mapped IPv6 space is read as IPv4 and can never be an IPv6 entry, so IPv6 counts as
  // covered without it.
  const mapped = 0xffffn << 32n;
  const byFamily: Record<'IPV4' | 'IPV6', Interval[]> = {
    IPV4: [],
    IPV6: [{ first: mapped, last: mapped + 0xffffffffn }],
  };
  for (const cidr of allowlist) {
    const read = intervalOf(cidr);
    if (read !== undefined) byFamily[read.family].push(read.interval);
  }
  const whole = (['IPV4', 'IPV6'] as const).filter((family) =>
    coversAll(byFamily[family], (1n << BigInt(family === 'IPV4' ? 32 : 128)) - 1n),
  );
  return whole.map((family) => ({
    path: ['allowlist'],
    message: `together covers every ${family === 'IPV4' ? 'IPv4' : 'IPv6'} address (${family === 'IPV4' ? '0.0.0.0/0' : '::/0'}), like an entry of /0: the ALLOW rule would let every client of that family past the blocklist and every rate rule; list only the ranges you trust`,
  }));
}
