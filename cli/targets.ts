/**
 * The IP sets a deployment writes (its two blocklists and any shared sets), and how each compares
 * with the ledger. The comparison is the blocker's own reconcile plan: what the next run would add
 * and remove is exactly what is out of step.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { describeIpSet, readIpSet } from '#adapters/waf';
import type { IpSetAddress } from '#contracts/blocker-environment';
import { describeAddressProblem, readRange } from '#core/address-verdict';
import type { NetworkRange } from '#core/network-range';
import { rangeKey, type RangeKey } from '#core/range-key';
import { partitionByExpiry } from '#core/ledger';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { asSeenBySet, IpSetIndex, planReconcile } from '#core/reconcile';
import type { Cidr, Family, IpSetSnapshot, LedgerEntry } from '#core/types';
import { ReadError } from '#shared/errors';
import type { Deployment } from './deployment';
import { UsageError } from './errors';
import { printable } from './format';

export { IP_SET_CAPACITY };

/**
 * Reads the `<ip|cidr>` of `ban` or `unban` before anything is looked up, as config, ban feed and
 * blocker read it: the same text is the same range (an IPv4-mapped IPv6 address is IPv4), or is
 * refused for the same reason. Whether the range may be blocked (allowlist, non-global space, a
 * ban's widest range) is the blocker run's to say.
 *
 * @returns the range as written, in canonical form (not yet widened to the deployment's prefix).
 * @throws {UsageError} (exit code 2) quoting the argument and saying what is wrong with it.
 */
export function readTargetRange(text: string): NetworkRange {
  const reading = readRange(text);
  if (reading.problem === undefined) return reading.range;
  throw new UsageError(`<ip|cidr> "${printable(text)}" ${describeAddressProblem(reading)}`);
}

/** One IP set the deployment keeps its managed ranges in. */
export interface TargetSet {
  /** For messages: `IP set <name> (<scope>, id <id>)`, and the region of a shared set. */
  readonly label: string;
  readonly ref: IpSetAddress;
  readonly client: WAFV2Client;
  /** The blocklists' family is known from the settings; a shared set's is read from WAF. */
  readonly family?: Family;
  /** Set for a shared IP set: its ARN, which ledger entries name in `sharedPreexisting`. */
  readonly sharedArn?: string;
  /** Set for a shared IP set: the region it lives in. */
  readonly sharedRegion?: string;
}

/** The blocklists, then the shared sets, each with the WAF client of its region. */
export function targetSets(deployment: Deployment): TargetSet[] {
  const { settings, clients } = deployment;
  return [
    ...(['IPV4', 'IPV6'] as const).flatMap((family) =>
      settings.blocklist[family].map((ref) => ({ label: describeIpSet(ref), ref, client: clients.waf, family })),
    ),
    ...settings.sharedIpSets.map((shared) => ({
      label: `shared ${describeIpSet(shared)} in ${shared.region}`,
      ref: shared,
      client: clients.wafIn(shared.region),
      sharedArn: shared.arn,
      sharedRegion: shared.region,
    })),
  ];
}

/** How one IP set stands against the ledger. */
export interface SetComparison {
  readonly target: TargetSet;
  readonly family: Family;
  /** Entries in the set. */
  readonly size: number;
  /** Entries of the set that are ranges waf-autoblock manages there (blocking, or due for removal). */
  readonly managed: number;
  /** Managed ranges that the set should hold and does not: the next run adds them. */
  readonly missing: Cidr[];
  /** Entries that the next run removes: blocks that ended, and ranges that give way in a full set. */
  readonly extra: string[];
  /** Managed ranges that do not fit: the set is full (10,000 entries). */
  readonly overflow: Cidr[];
  /** Entries waf-autoblock did not put there (by hand, another tool, or before it claimed them): never removed. */
  readonly foreign: string[];
}

/**
 * Reads a set and compares it with the ledger's active entries (both families; those of the
 * set's family count).
 * @throws {ReadError} naming the set when it cannot be read or its family is unknown.
 */
export async function compareTarget(
  target: TargetSet,
  entries: readonly LedgerEntry[],
  now: number,
): Promise<SetComparison> {
  const snapshot = await readIpSet(target.client, target.ref);
  return compareSet(target, snapshot, entries, now);
}

/** {@link compareTarget} on a set already read. */
export function compareSet(
  target: TargetSet,
  snapshot: IpSetSnapshot,
  entries: readonly LedgerEntry[],
  now: number,
): SetComparison {
  const family = target.family ?? snapshot.family;
  if (family === undefined) {
    throw new ReadError(target.label, { cause: new Error('GetIPSet returned no IPAddressVersion') });
  }
  const owned = asSeenBySet(
    entries.filter((entry) => entry.family === family),
    target.sharedArn,
  );
  const { active, expired } = partitionByExpiry(owned, now);
  const current = new IpSetIndex(snapshot.addresses);
  const plan = planReconcile({ current, active, expired, capacity: IP_SET_CAPACITY });
  const ours = new Set<RangeKey>();
  for (const entry of owned) {
    const key = entry.preexisting === true ? undefined : rangeKey(entry.range);
    if (key !== undefined) ours.add(key);
  }
  const foreign = snapshot.addresses.filter((_, index) => {
    const key = current.keys[index];
    return key === undefined || !ours.has(key);
  });
  return {
    target,
    family,
    size: snapshot.addresses.length,
    managed: snapshot.addresses.length - foreign.length,
    missing: plan.added,
    extra: plan.removed,
    overflow: plan.overflow.map((entry) => entry.range),
    foreign,
  };
}

/** Every active ledger entry, both families, earliest expiry first (then by range). */
export async function activeEntries(deployment: Deployment): Promise<LedgerEntry[]> {
  const [v4, v6] = await Promise.all([
    deployment.ledger.activeEntries('IPV4'),
    deployment.ledger.activeEntries('IPV6'),
  ]);
  return [...v4, ...v6].sort(
    (a, b) => a.expiresAt - b.expiresAt || (a.range < b.range ? -1 : a.range > b.range ? 1 : 0),
  );
}
