/**
 * The IP sets a deployment writes (each family's blocklist sets, with a neighbour tier each
 * family's neighbour sets, and any shared sets), and how they compare with the ledger: one list's
 * sets together, since a range may be in any of them, against the ledger rows of that list's
 * tier. The comparison is the blocker's own reconcile plan: what the next run would add and
 * remove is exactly what is out of step.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { describeIpSet, readIpSet } from '#adapters/waf';
import type { BlockerSettings, IpSetAddress, IpSetShards } from '#contracts/blocker-environment';
import { describeAddressProblem, readRange } from '#core/address-verdict';
import { ownedSetEntries } from '#core/aggregate';
import type { NetworkRange } from '#core/network-range';
import { partitionByExpiry } from '#core/ledger';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { asSeenBySet, IpSetIndex, planReconcile } from '#core/reconcile';
import { tierOf, type Cidr, type Family, type IpSetSnapshot, type LedgerEntry, type Tier } from '#core/types';
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
  /** `neighbour` for a neighbour set; `block` for a blocklist or shared set. */
  readonly tier: Tier;
  /** Set for a shared IP set: its ARN, which ledger entries name in `sharedPreexisting`. */
  readonly sharedArn?: string;
  /** Set for a shared IP set: the region it lives in. */
  readonly sharedRegion?: string;
}

const FAMILIES = ['IPV4', 'IPV6'] as const;

/**
 * The blocklists, then the neighbour sets (with a neighbour tier), then the shared sets, each with
 * the WAF client of its region.
 */
export function targetSets(deployment: Deployment): TargetSet[] {
  const { settings, clients } = deployment;
  const own = (tier: Tier, sets: Readonly<Record<Family, IpSetShards>>): TargetSet[] =>
    FAMILIES.flatMap((family) =>
      sets[family].map((ref) => ({ label: describeIpSet(ref), ref, client: clients.waf, family, tier })),
    );
  return [
    ...own('block', settings.blocklist),
    ...(settings.neighbours === undefined ? [] : own('neighbour', settings.neighbours.sets)),
    ...settings.sharedIpSets.map((shared) => ({
      label: `shared ${describeIpSet(shared)} in ${shared.region}`,
      ref: shared,
      client: clients.wafIn(shared.region),
      tier: 'block' as const,
      sharedArn: shared.arn,
      sharedRegion: shared.region,
    })),
  ];
}

/**
 * IP sets that are compared with the ledger together: one family's blocklist sets or neighbour
 * sets (a range may be in any of them), or one shared set.
 */
export interface TargetGroup {
  /**
   * For messages: the set's label, or `IPv4 blocklist (IP sets a, b)` / `IPv4 neighbour sets (IP
   * sets c, d)` for several.
   */
  readonly label: string;
  /** Set for the blocklists and neighbour sets; a shared set's family is read from WAF. */
  readonly family?: Family;
  /** Whose ledger rows the sets hold: the block tier's, or the neighbour tier's. */
  readonly tier: Tier;
  readonly sets: readonly [TargetSet, ...TargetSet[]];
  /** Set for a shared IP set: its ARN. */
  readonly sharedArn?: string;
}

/**
 * Each family's blocklist sets as one group, then (with a neighbour tier) each family's neighbour
 * sets as one group, then each shared set as its own.
 */
export function targetGroups(deployment: Deployment): TargetGroup[] {
  const targets = targetSets(deployment);
  const groups: TargetGroup[] = [];
  for (const tier of ['block', 'neighbour'] as const) {
    for (const family of FAMILIES) {
      const [first, ...more] = targets.filter(
        (target) => target.sharedArn === undefined && target.family === family && target.tier === tier,
      );
      if (first === undefined) continue;
      const names = [first, ...more].map((target) => target.ref.name).join(', ');
      const label = more.length === 0 ? first.label : `${listName(family, tier)} (IP sets ${names})`;
      groups.push({ label, family, tier, sets: [first, ...more] });
    }
  }
  for (const target of targets.filter((candidate) => candidate.sharedArn !== undefined)) {
    groups.push({
      label: target.label,
      tier: 'block',
      sets: [target],
      ...(target.sharedArn ? { sharedArn: target.sharedArn } : {}),
    });
  }
  return groups;
}

/** `IPv4 blocklist`, or `IPv4 neighbour sets`: one family's own sets of one tier. */
export function listName(family: Family, tier: Tier): string {
  return `${familyName(family)} ${tier === 'block' ? 'blocklist' : 'neighbour sets'}`;
}

/**
 * The tier as an operator reads it: `block`, or `neighbour (CHALLENGE)` with the action the
 * neighbour rules take.
 */
export function tierName(tier: Tier, settings: BlockerSettings): string {
  const action = settings.neighbours?.action;
  return tier === 'block' ? 'block' : action === undefined ? 'neighbour' : `neighbour (${action})`;
}

/** `IPv4` or `IPv6`. */
export function familyName(family: Family): string {
  return family === 'IPV4' ? 'IPv4' : 'IPv6';
}

/** How full one IP set of a group is. */
export interface SetFill {
  readonly target: TargetSet;
  /** Entries in the set. */
  readonly size: number;
  /** Entries that stand for ranges waf-autoblock manages (a range, or an aggregate of ranges). */
  readonly managed: number;
}

/** How a group of IP sets stands against the ledger. */
export interface SetComparison {
  readonly target: TargetGroup;
  readonly family: Family;
  /** Entries in all its sets. */
  readonly size: number;
  /** The most entries its sets hold together: 10,000 per set. */
  readonly capacity: number;
  /** Entries that stand for ranges waf-autoblock manages there (blocking, or due for removal). */
  readonly managed: number;
  /** Managed ranges those entries stand for: more than `managed` when some are aggregates. */
  readonly rangesHeld: number;
  /** Each set's own figures, in shard order. */
  readonly sets: readonly SetFill[];
  /** Managed ranges that no set holds: the next run adds them. */
  readonly missing: Cidr[];
  /** Ranges that the next run removes: blocks that ended, and ranges that give way when the sets are full. */
  readonly extra: string[];
  /** Managed ranges that do not fit: every set is full. */
  readonly overflow: Cidr[];
  /** Entries waf-autoblock did not put there (by hand, another tool, or before it claimed them): never removed. */
  readonly foreign: string[];
}

/**
 * Reads a group's sets and compares them with the ledger's active entries (both families and both
 * tiers; those of the group's family and tier count).
 * @throws {ReadError} naming a set that cannot be read, or whose family is unknown.
 */
export async function compareTarget(
  group: TargetGroup,
  entries: readonly LedgerEntry[],
  now: number,
): Promise<SetComparison> {
  const snapshots = await Promise.all(group.sets.map((target) => readIpSet(target.client, target.ref)));
  return compareSet(group, snapshots, entries, now);
}

/**
 * {@link compareTarget} on sets already read (`snapshots`, in the group's order). An entry is
 * ours when it is a range the ledger manages there, or an aggregate of such ranges (lossless
 * aggregation, lambdas/core/aggregate.ts): the plan then sees the ranges it stands for.
 */
export function compareSet(
  group: TargetGroup,
  snapshots: readonly IpSetSnapshot[],
  entries: readonly LedgerEntry[],
  now: number,
): SetComparison {
  const family = group.family ?? snapshots[0]?.family;
  if (family === undefined) {
    throw new ReadError(group.label, { cause: new Error('GetIPSet returned no IPAddressVersion') });
  }
  const owned = asSeenBySet(
    entries.filter((entry) => entry.family === family && tierOf(entry) === group.tier),
    group.sharedArn,
  );
  const ourRanges = owned.flatMap((entry) => (entry.preexisting === true ? [] : [entry.range]));
  const perSet = snapshots.map((snapshot) => ownedSetEntries(snapshot.addresses, ourRanges));
  // Present as the plan sees it: foreign entries as they are, our aggregates as the ranges they cover.
  const present = perSet.flatMap((ownership) => [
    ...ownership.foreign,
    ...ownership.ours.flatMap((entry) => entry.covers),
  ]);
  const { active, expired } = partitionByExpiry(owned, now);
  const capacity = snapshots.length * IP_SET_CAPACITY;
  const plan = planReconcile({ current: new IpSetIndex(present), active, expired, capacity });
  const sets = group.sets.map((target, index) => ({
    target,
    size: snapshots[index]?.addresses.length ?? 0,
    managed: perSet[index]?.ours.length ?? 0,
  }));
  return {
    target: group,
    family,
    size: sets.reduce((sum, set) => sum + set.size, 0),
    capacity,
    managed: sets.reduce((sum, set) => sum + set.managed, 0),
    rangesHeld: perSet.reduce((sum, ownership) => sum + ownership.ours.reduce((n, o) => n + o.covers.length, 0), 0),
    sets,
    missing: plan.added,
    extra: plan.removed,
    overflow: plan.overflow.map((entry) => entry.range),
    foreign: perSet.flatMap((ownership) => ownership.foreign),
  };
}

/**
 * Every active ledger entry, both families, earliest expiry first (then by range); with
 * `neighbours`, the neighbour tier's too (entries with `tier: 'neighbour'`), read only from a
 * deployment that has one.
 */
export async function activeEntries(
  deployment: Deployment,
  options: { readonly neighbours?: boolean } = {},
): Promise<LedgerEntry[]> {
  const tiers = options.neighbours === true && deployment.settings.neighbours !== undefined ? 2 : 1;
  const reads = (['block', 'neighbour'] as const)
    .slice(0, tiers)
    .flatMap((tier) => (['IPV4', 'IPV6'] as const).map((family) => deployment.ledger.activeEntries(family, tier)));
  const entries = (await Promise.all(reads)).flat();
  return entries.sort((a, b) => a.expiresAt - b.expiresAt || (a.range < b.range ? -1 : a.range > b.range ? 1 : 0));
}
