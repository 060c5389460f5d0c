/**
 * Normalization: turns the keys a rate rule (or a ban) reports into the ranges we block (/24, /64
 * by default), and refuses ranges that must never reach a blocklist.
 */
import { scannedProblem, unreadableProblem, type AddressProblem } from './address-verdict';
import { Allowlist } from './allowlist';
import { createAddressScan, scanAddress } from './ip-parse';
import { networkRange, type NetworkRange } from './network-range';
import type { ParsedRanges } from './parsed-ranges';
import { scanRangeKey, sortedRangeKeys, type RangeKey } from './range-key';
import { isNonGlobal } from './special-purpose';
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
  readonly key: RangeKey;
  readonly range: NetworkRange;
  readonly verdict: RejectReason | undefined;
  hits: number;
}

/**
 * Turns the keys one source reported (e.g. the addresses a rate rule is limiting) into the ranges
 * to block: each key is widened to the policy's prefix (a wider key keeps its own), keys in the
 * same range become one sighting whose `hits` is the number of keys, and keys whose text
 * `readRange` refuses (host bits aside: a key's are cleared), or whose range is wider than /8 or
 * /32, non-global or allowlisted, are refused with the reason.
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
  const rejected: RejectedKey[] = [];
  // Rate rules report many hosts of one range: decide each range once.
  const tallies = new Map<RangeKey, RangeTally>();

  // Indexed loops and forEach here: a first big run meets this code before V8 has compiled it,
  // and an iterator result per key costs several times more there.
  const list = Array.isArray(keys) ? (keys as readonly string[]) : [...keys];
  for (let i = 0; i < list.length; i++) {
    const key = list[i] as string;
    if (!scanAddress(key, scanned)) {
      rejected.push({ key, reason: unreadableProblem(key) });
      continue;
    }
    const problem = scannedProblem(scanned);
    if (problem !== undefined) {
      rejected.push({ key, reason: problem });
      continue;
    }
    const isV4 = scanned.family === 'IPV4';
    const prefix = Math.min(scanned.prefix, isV4 ? policy.ipv4Prefix : policy.ipv6Prefix);
    if (prefix < (isV4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX)) {
      rejected.push({ key, reason: 'too-wide' });
      continue;
    }
    const tallyKey = scanRangeKey(scanned, prefix);
    let tally = tallies.get(tallyKey);
    if (tally === undefined) {
      const range = networkRange(scanned, prefix);
      tally = {
        key: tallyKey,
        range,
        verdict: judge(range, policy.allowlist),
        hits: 0,
      };
      tallies.set(tallyKey, tally);
    }
    if (tally.verdict === undefined) tally.hits++;
    else rejected.push({ key, reason: tally.verdict });
  }

  const accepted: RangeKey[] = [];
  tallies.forEach((tally) => {
    if (tally.verdict === undefined) accepted.push(tally.key);
  });
  const sorted = sortedRangeKeys(accepted);
  const sightings: Sighting[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const { range, hits } = tallies.get(sorted[i] as RangeKey) as RangeTally;
    parsed?.remember(range);
    sightings.push({ range: range.cidr, family: range.family, source, hits });
  }
  return { sightings, rejected };
}

function judge(range: NetworkRange, allowlist: Allowlist): RejectReason | undefined {
  if (isNonGlobal(range)) return 'non-global';
  if (allowlist.overlaps(range)) return 'allowlisted';
  return undefined;
}
