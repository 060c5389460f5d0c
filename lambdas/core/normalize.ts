/**
 * Normalization: turns the keys a rate rule (or a ban) reports into the ranges we block (/24, /64
 * by default), and refuses ranges that must never reach a blocklist.
 */
import { scannedProblem, unreadableProblem, type AddressProblem } from './address-verdict';
import { Allowlist } from './allowlist';
import { formatIpv4 } from './cidr-format';
import { createAddressScan, scanAddress, scanIpv4CidrRun, type Ipv4KeyRun } from './ip-parse';
import { networkRange, type NetworkRange } from './network-range';
import type { ParsedRanges } from './parsed-ranges';
import { scanRangeKey, sortedRangeKeys, type RangeKey } from './range-key';
import { isNonGlobal, nonGlobalIpv4Bounds } from './special-purpose';
import type { Sighting } from './types';

/**
 * Why a key (or a ban) was not turned into a sighting: what is wrong with its text (see
 * {@link AddressProblem}; `unparsable` and `zero-prefix` among them), or the policy that refuses
 * its range.
 */
export type RejectReason =
  | AddressProblem
  /** Wider than /8 (IPv4) or /32 (IPv6): blocking it would take out a large part of the Internet. */
  | 'too-wide'
  /** Overlaps a special-purpose block (private, loopback, documentation, ...): see `SPECIAL_PURPOSE_BLOCKS`. */
  | 'non-global'
  /** Overlaps an entry of the operator's allowlist. */
  | 'allowlisted';

/** Narrowest prefix the blocker may widen an IPv4 key to, and the widest range it may block. */
export const MIN_IPV4_PREFIX = 8;
/** Narrowest prefix the blocker may widen an IPv6 key to, and the widest range it may block. */
export const MIN_IPV6_PREFIX = 32;
/** Default IPv4 prefix: one /24 is the usual unit of hosting and of abuse. */
export const DEFAULT_IPV4_PREFIX = 24;
/** Default IPv6 prefix: a /64 is one subnet, and one customer can rotate through all of it at will. */
export const DEFAULT_IPV6_PREFIX = 64;

/** This module's scratch for {@link normalizeKeys}: one key at a time, never kept. */
const scanned = createAddressScan();

/** How keys become ranges. */
export interface NormalizePolicy {
  /** Prefix IPv4 keys are widened to, from 8 to 32. @default 24 */
  readonly ipv4Prefix: number;
  /** Prefix IPv6 keys are widened to, from 32 to 128. @default 64 */
  readonly ipv6Prefix: number;
  /** Ranges never to block. @default an empty allowlist */
  readonly allowlist: Allowlist;
}

/**
 * Builds a {@link NormalizePolicy}, filling in defaults.
 *
 * @throws RangeError naming `ipv4Prefix` or `ipv6Prefix` when it is not an integer within its bounds.
 * @throws Error naming an allowlist entry that does not parse, when entries are given as text.
 */
export function createNormalizePolicy(
  options: {
    readonly ipv4Prefix?: number;
    readonly ipv6Prefix?: number;
    readonly allowlist?: Allowlist | Iterable<string>;
  } = {},
): NormalizePolicy {
  const allowlist = options.allowlist ?? [];
  const policy: NormalizePolicy = {
    ipv4Prefix: options.ipv4Prefix ?? DEFAULT_IPV4_PREFIX,
    ipv6Prefix: options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX,
    allowlist: allowlist instanceof Allowlist ? allowlist : new Allowlist(allowlist),
  };
  assertPolicy(policy);
  return policy;
}

function assertPolicy(policy: NormalizePolicy): void {
  const check = (field: 'ipv4Prefix' | 'ipv6Prefix', min: number, max: number): void => {
    const value = policy[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  check('ipv4Prefix', MIN_IPV4_PREFIX, 32);
  check('ipv6Prefix', MIN_IPV6_PREFIX, 128);
}

/** A key that did not become a sighting, and why. */
export interface RejectedKey {
  readonly key: string;
  readonly reason: RejectReason;
}

/** The outcome of {@link normalizeKeys}. */
export interface NormalizedKeys {
  /** One per range, in `compareRanges` order. */
  readonly sightings: Sighting[];
  /** One per refused key, in input order. */
  readonly rejected: RejectedKey[];
}

interface RangeTally {
  readonly range: NetworkRange;
  readonly verdict: RejectReason | undefined;
  hits: number;
}

/** A refused key and its place in the input, so that refusals found later still come in input order. */
interface Refusal extends RejectedKey {
  readonly at: number;
}

/** What {@link scanKeys} found: IPv4 keys as numbers, IPv6 keys as tallies, and the refusals so far. */
interface ScannedKeys {
  /** The range key of each accepted-so-far IPv4 key, and its index in the input. */
  readonly v4: number[];
  readonly v4At: number[];
  /** IPv6 ranges by key, each judged once. */
  readonly v6: Map<RangeKey, RangeTally>;
  readonly refused: Refusal[];
}

/**
 * Turns the keys one source reported (e.g. the addresses a rate rule is limiting) into the ranges
 * to block: each key is widened to the policy's prefix (a wider key keeps its own), keys in the
 * same range become one sighting whose `hits` is the number of keys, and keys whose text
 * `readRange` refuses (host bits aside: a key's are cleared), or whose range is wider than /8 or
 * /32, non-global or allowlisted, are refused with the reason.
 *
 * IPv4 keys, nearly all of a big attack's, are counted by sorting their range keys (numbers, in
 * native code) rather than through a map: a first run of 10,000 keys meets this code before V8 has
 * compiled it, and the map's look-ups were half of its time.
 *
 * @param source - Recorded on every sighting, e.g. the rate rule's name.
 * @param parsed - The run's parsed ranges (./parsed-ranges), when it keeps them: each accepted range
 *   is recorded there, so that the run's set plans do not parse its text again.
 * @throws RangeError naming `ipv4Prefix` or `ipv6Prefix` when the policy's prefix is out of bounds.
 */
export function normalizeKeys(
  keys: Iterable<string>,
  source: string,
  policy: NormalizePolicy,
  parsed?: ParsedRanges,
): NormalizedKeys {
  assertPolicy(policy);
  const list = Array.isArray(keys) ? (keys as readonly string[]) : [...keys];
  const scannedKeys = scanKeys(list, policy);
  const sightings: Sighting[] = [];
  const refusedRanges = tallyIpv4(scannedKeys.v4, policy.allowlist, { sightings, source, parsed });
  const { refused } = scannedKeys;
  if (refusedRanges.size > 0) {
    const { v4, v4At } = scannedKeys;
    for (let i = 0; i < v4.length; i++) {
      const reason = refusedRanges.get(v4[i] as number);
      const at = v4At[i] as number;
      if (reason !== undefined) refused.push({ at, key: list[at] as string, reason });
    }
    refused.sort((a, b) => a.at - b.at);
  }
  const v6 = scannedKeys.v6;
  const accepted: RangeKey[] = [];
  v6.forEach((tally, key) => {
    if (tally.verdict === undefined) accepted.push(key);
  });
  const sorted = sortedRangeKeys(accepted);
  for (let i = 0; i < sorted.length; i++) {
    const { range, hits } = v6.get(sorted[i] as RangeKey) as RangeTally;
    parsed?.remember(range);
    sightings.push({ range: range.cidr, family: range.family, source, hits });
  }
  return { sightings, rejected: refused.map(({ key, reason }) => ({ key, reason })) };
}

/**
 * One pass over the keys: each scanned, checked and widened; IPv4 range keys kept as numbers, IPv6
 * ranges tallied and judged once each, and the keys refused so far (text, prefix, IPv6 verdicts).
 * The keys in a managed key's usual IPv4 form are read by `scanIpv4CidrRun`, as many at a time as
 * come in a row; this loop reads the one that ended each run, and goes on after it.
 * Indexed loops here: an iterator result per key costs several times more in code not yet compiled.
 */
function scanKeys(list: readonly string[], policy: NormalizePolicy): ScannedKeys {
  const found: ScannedKeys = { v4: [], v4At: [], v6: new Map(), refused: [] };
  const { v4, v4At, v6, refused } = found;
  const run: Ipv4KeyRun = { widenTo: policy.ipv4Prefix, minPrefix: MIN_IPV4_PREFIX, rangeKeys: v4, at: v4At };
  for (let i = 0; i < list.length; i++) {
    // The keys in a managed key's usual IPv4 form, a big attack's nearly all, in one loop; then the key that ended it.
    i = scanIpv4CidrRun(list, i, run);
    if (i === list.length) break;
    const key = list[i] as string;
    if (!scanAddress(key, scanned)) {
      refused.push({ at: i, key, reason: unreadableProblem(key) });
      continue;
    }
    const problem = scannedProblem(scanned);
    if (problem !== undefined) {
      refused.push({ at: i, key, reason: problem });
      continue;
    }
    const isV4 = scanned.family === 'IPV4';
    const prefix = Math.min(scanned.prefix, isV4 ? policy.ipv4Prefix : policy.ipv6Prefix);
    if (prefix < (isV4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX)) {
      refused.push({ at: i, key, reason: 'too-wide' });
      continue;
    }
    const rangeKey = scanRangeKey(scanned, prefix);
    if (isV4) {
      v4.push(rangeKey as number);
      v4At.push(i);
      continue;
    }
    let tally = v6.get(rangeKey);
    if (tally === undefined) {
      const range = networkRange(scanned, prefix);
      tally = { range, verdict: judge(range, policy.allowlist), hits: 0 };
      v6.set(rangeKey, tally);
    }
    if (tally.verdict === undefined) tally.hits++;
    else refused.push({ at: i, key, reason: tally.verdict });
  }
  return found;
}

/** Where {@link tallyIpv4} puts each accepted range: a sighting from `source`, and the range in `parsed`. */
interface Accepted {
  readonly sightings: Sighting[];
  readonly source: string;
  readonly parsed: ParsedRanges | undefined;
}

/**
 * The IPv4 range keys counted and judged, each range once, in range order: each accepted range
 * becomes a sighting with its number of keys as `hits`, and is remembered in `parsed`.
 *
 * The ranges come in address order, so each refused space (special-purpose, then the allowlist) is
 * walked beside them as a list of intervals, one comparison per range, rather than searched per
 * range (docs/blocker.md, "Fewer functions on the path"). The verdicts are those of `judge`:
 * `non-global` before `allowlisted`.
 * @returns the refused ranges' keys, with why.
 */
function tallyIpv4(keys: readonly number[], allowlist: Allowlist, accepted: Accepted): Map<number, RejectReason> {
  const { sightings, source, parsed } = accepted;
  const refused = new Map<number, RejectReason>();
  // An IPv4 range key is network address × 64 + prefix (./range-key): numeric order is range order.
  const sorted = Float64Array.from(keys).sort();
  const special = nonGlobalIpv4Bounds();
  const allowed = allowlist.ipv4Bounds();
  let s = 0;
  let a = 0;
  for (let i = 0; i < sorted.length;) {
    const key = sorted[i] as number;
    let end = i + 1;
    while (end < sorted.length && sorted[end] === key) end++;
    const prefix = key % 64;
    const first = (key - prefix) / 64;
    const last = first + 2 ** (32 - prefix) - 1;
    // First addresses never go down, so an interval that ends before this range ends before every later one.
    while (s < special.length && (special[s + 1] as number) < first) s += 2;
    while (a < allowed.length && (allowed[a + 1] as number) < first) a += 2;
    if (s < special.length && (special[s] as number) <= last) refused.set(key, 'non-global');
    else if (a < allowed.length && (allowed[a] as number) <= last) refused.set(key, 'allowlisted');
    else {
      // ipv4RangeOfKey(key) written out (docs/blocker.md, "Fewer functions on the path"): keep the two alike.
      const range: NetworkRange = {
        family: 'IPV4',
        prefix,
        w0: first,
        w1: 0,
        w2: 0,
        w3: 0,
        cidr: formatIpv4(first, prefix),
      };
      parsed?.remember(range);
      sightings.push({ range: range.cidr, family: 'IPV4', source, hits: end - i });
    }
    i = end;
  }
  return refused;
}

function judge(range: NetworkRange, allowlist: Allowlist): RejectReason | undefined {
  if (isNonGlobal(range)) return 'non-global';
  if (allowlist.overlaps(range)) return 'allowlisted';
  return undefined;
}
