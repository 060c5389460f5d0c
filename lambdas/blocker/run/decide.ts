/**
 * Phase 2, decide: from what was read, with the pure core, what each list's ledger rows and IP sets
 * should hold. Its one AWS call is a strongly consistent look-up of the few ranges the eventually
 * consistent index may not list yet (normally none, so normally no round trip).
 *
 * With a neighbour tier, every key a rate rule limits is normalized twice: by the offender prefix
 * into the block tier, and by the widened prefix into the neighbour tier. The neighbour sets hold
 * the whole widened range, the offender included: WAF evaluates the Block rule first, so the
 * offender is blocked all the same, and a neighbour range never has to be split around its
 * offenders (which would cost up to 8 entries per /24 per offender, and a re-split on every expiry).
 * Bans from the CLI or the feed go to the block tier, widened as before; an unban or the allowlist
 * ends a range in every tier.
 */
import { describeIpSet } from '#adapters/waf';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { Allowlist } from '#core/allowlist';
import { ForeignCover } from '#core/foreign-cover';
import { advanceLedger, indexByRange } from '#core/ledger';
import { planLedgerWrites } from '#core/ledger-writes';
import { mergeSightings } from '#core/merge';
import { parseRange } from '#core/ip-parse';
import { compareRanges } from '#core/network-range';
import { createNormalizePolicy, normalizeKeys, type NormalizePolicy } from '#core/normalize';
import { ParsedRanges } from '#core/parsed-ranges';
import { RangeCover } from '#core/range-cover';
import { IpSetIndex } from '#core/reconcile';
import { combinedPlan, planShards } from '#core/shard-plan';
import type { Cidr, IpSetSnapshot, LedgerEntry, Sighting, Tier } from '#core/types';
import { ReadError, WriteError } from '#shared/errors';
import { isUnbanned, planActions, withActions, type ActionOutcome, type ActionPlan } from '#blocker/actions';
import type { LedgerIntent } from '#adapters/ledger';
import { recoverIntents } from './intent';
import type { KeyInputs, RunInputs } from './read';
import {
  awaitLists,
  familyOfList,
  LISTS,
  listOf,
  message,
  OVERFLOW_SAMPLE,
  perList,
  perListBiggestLast,
  tierOfList,
  type BlockerDeps,
  type FamilyPlan,
  type FamilyStep,
  type ListKey,
  type SharedTarget,
  type Trigger,
} from './types';

/**
 * What the run will do to the ledger, before any write: all that its write-ahead needs. The IP set
 * plans ({@link planSets}) come after, while the write-ahead is in flight.
 */
export interface LedgerDecision {
  readonly collected: boolean;
  readonly keysSeen: number;
  readonly rejectedByReason: Record<string, number>;
  readonly unreadableRules: string[];
  /** Each list's ledger step, without the plan of its IP sets. */
  readonly steps: Readonly<Record<ListKey, FamilyStep>>;
  /** The shared sets that could be read; the others are in `sharedFailures`. */
  readonly shared: readonly SharedTarget[];
  /** ARNs of the shared sets that could not be read. */
  readonly sharedFailures: readonly string[];
  /** One per unreadable shared set: nothing is written to it, and the run fails at the end. */
  readonly readFailures: readonly WriteError[];
  /** Active rows an unban or the allowlist ends now: made due in the ledger before any set write. */
  readonly ending: readonly LedgerEntry[];
  /** The rows unbanned by an action of the trigger, in every tier: a range in both tiers has two. */
  readonly unbanned: readonly LedgerEntry[];
  readonly outcomes: ActionOutcome[];
  /** Left-over intents read this run: dropped once this run's rows are written. */
  readonly leftover: readonly LedgerIntent[];
  /** Left-over entries this run owns from now on and records as rows (see ./intent). */
  readonly recovered: Readonly<Record<ListKey, LedgerEntry[]>>;
  /** The ranges this run parsed (normalization's), for the set plans. */
  readonly parsed: ParsedRanges;
}

/** What the run will do, before any write: its ledger decision and the plan of every IP set. */
export interface RunDecision extends LedgerDecision {
  readonly plans: Readonly<Record<ListKey, FamilyPlan>>;
}

/**
 * The rules' keys as this run's sightings, and what judging them needs: decided as soon as the
 * alarm, the keys and the allowlists are read (./read), while the ledger's reads may still be in
 * flight.
 */
export interface CollectedKeys {
  /** Whether the gate was open: the keys were taken. */
  readonly collected: boolean;
  readonly allowlist: Allowlist;
  readonly policies: Policies;
  /** Every range the keys were widened to, parsed once for every plan of the run. */
  readonly parsed: ParsedRanges;
  readonly keys: RuleSightings;
}

/** The rules' keys as sightings, each rule's apart, and what was refused. */
export interface RuleSightings {
  /** Rules whose keys could not be read. */
  readonly unreadableRules: string[];
  /** Refused keys by reason. */
  readonly rejectedByReason: Record<string, number>;
  /** One list per rule read while the gate was open (none when closed): the block tier's sightings. */
  readonly perRule: Sighting[][];
  /** As `perRule`, with a neighbour tier: its sightings. */
  readonly neighboursPerRule: Sighting[][];
  readonly keysSeen: number;
}

/**
 * Normalizes the rules' keys (only when the gate is open), each rule's into one sighting per range.
 * @throws {ReadError} when the allowlist cannot be parsed: nothing is written.
 */
export function collectKeys(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  inputs: KeyInputs,
): CollectedKeys {
  const allowlist = allowlistOf(settings, inputs);
  const policies = policiesOf(settings, allowlist);
  const collected = trigger.collectKeys !== false && (settings.gate === 'always' || inputs.alarmState === 'ALARM');
  const parsed = new ParsedRanges();
  const keys = collectSightings(deps, settings, inputs, policies, collected, parsed);
  return { collected, allowlist, policies, parsed, keys };
}

/**
 * Decides what the run does to the ledger (the set plans are {@link planSets}).
 * @param collectedKeys - {@link collectKeys} of the same inputs.
 * @throws {ReadError} when the ledger look-up fails: nothing is written.
 */
export async function decide(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  inputs: RunInputs,
  collectedKeys: CollectedKeys,
  now: number,
): Promise<LedgerDecision> {
  const { shared, sharedFailures, readFailures } = sharedTargets(deps, settings, inputs);
  const { collected, allowlist, policies, parsed, keys } = collectedKeys;
  const actionPlan = planActions(
    trigger.actions ?? [],
    policies.widened,
    settings.blockDurationMs,
    policies.neighbours === undefined ? undefined : policies.offender,
  );
  // Every set of a list together: a range in any shard is in the list (ownership, recovery).
  const present = perList((key) => new IpSetIndex(inputs.blocklists[key].flatMap((set) => set.addresses)));
  const recovered = recoverIntents(inputs.intents, inputs.ledgerRows, present, shared, sharedFailures.length > 0);
  const recoveredRanges = LISTS.flatMap((key) => recovered[key]);
  if (recoveredRanges.length > 0) {
    deps.logger.warn('finishing a write-ahead intent left by an earlier run', {
      ranges: recoveredRanges.slice(0, OVERFLOW_SAMPLE).map((entry) => entry.range),
    });
  }
  const known = perList((key) => [...inputs.ledgerRows[key], ...recovered[key]]);
  const outside = outsideForeignEntries(deps, mergedRuleSightings(keys), inputs, known);
  if (outside.inside > 0) keys.rejectedByReason['inside-foreign-entry'] = outside.inside;
  const sightings = byList(sightingsOf(settings, outside.sightings, actionPlan));
  const rows = await confirmedRows(deps, known, present, sightings, actionPlan);
  const ended = endBlocks(deps, rows, actionPlan, allowlist, now);
  const steps = perListBiggestLast(
    (key) => sightings[key].length + ended.rows[key].length,
    (key) => stepFamily(key, settings, inputs, present[key], rows[key], ended.rows[key], sightings[key], shared, now),
  );
  return {
    collected,
    keysSeen: keys.keysSeen,
    rejectedByReason: keys.rejectedByReason,
    unreadableRules: keys.unreadableRules,
    steps,
    shared,
    sharedFailures,
    readFailures,
    ending: ended.ending,
    unbanned: ended.unbannedRows,
    leftover: inputs.intents,
    recovered,
    parsed,
    outcomes: actionOutcomes(
      actionPlan,
      steps,
      ended.unbanned,
      { lists: present, shared: shared.map((t) => t.index) },
      now,
    ),
  };
}

/** The shared sets that could be read, and a failure for each that could not. */
function sharedTargets(deps: BlockerDeps, settings: BlockerSettings, inputs: RunInputs) {
  const shared: SharedTarget[] = [];
  const sharedFailures: string[] = [];
  const readFailures: WriteError[] = [];
  // Synth refuses these by name (lib/config/shared-ip-sets.ts); a set of ours by id is never written
  // either: attacker ranges in the allowlist would be let through by its ALLOW rule.
  const own = [
    settings.allowlist.IPV4,
    settings.allowlist.IPV6,
    ...settings.blocklist.IPV4,
    ...settings.blocklist.IPV6,
    ...(settings.neighbours ? [...settings.neighbours.sets.IPV4, ...settings.neighbours.sets.IPV6] : []),
  ];
  inputs.sharedResults.forEach((result, index) => {
    const ref = settings.sharedIpSets[index];
    if (ref === undefined) return;
    if (own.some((set) => set.id === ref.id)) {
      deps.logger.error("shared IP set is one of this stack's own allowlist or blocklist sets; never written", {
        ipSet: ref.arn,
      });
      return;
    }
    const family = result.status === 'fulfilled' ? result.value.family : undefined;
    if (result.status === 'fulfilled' && family !== undefined) {
      shared.push({ ref, family, snapshot: result.value, index: new IpSetIndex(result.value.addresses) });
      return;
    }
    const cause: unknown =
      result.status === 'rejected' ? result.reason : new Error('GetIPSet returned no IPAddressVersion');
    sharedFailures.push(ref.arn);
    deps.logger.error('shared IP set unreadable; nothing is written to it this run', {
      ipSet: ref.arn,
      error: message(cause),
    });
    readFailures.push(new WriteError(describeIpSet(ref), 'not updated: the set could not be read', { cause }));
  });
  return { shared, sharedFailures, readFailures };
}

/** @throws {ReadError} naming both allowlist sets when their content cannot be parsed. */
function allowlistOf(settings: BlockerSettings, inputs: KeyInputs): Allowlist {
  try {
    return new Allowlist([...inputs.allowlists.IPV4.addresses, ...inputs.allowlists.IPV6.addresses]);
  } catch (cause) {
    throw new ReadError(
      `allowlist IP sets ${describeIpSet(settings.allowlist.IPV4)}, ${describeIpSet(settings.allowlist.IPV6)}`,
      { cause },
    );
  }
}

/**
 * Each tier's rule sightings, merged across the rules (one rule's are merged already:
 * normalizeKeys gives one per range, in range order); the neighbour tier's carry their tier.
 */
function mergedRuleSightings(keys: {
  readonly perRule: Sighting[][];
  readonly neighboursPerRule: Sighting[][];
}): Sighting[] {
  const merged = (lists: Sighting[][]) => {
    const [only] = lists;
    return lists.length === 1 && only !== undefined ? only : mergeSightings(lists);
  };
  const neighbours = merged(keys.neighboursPerRule).map((s): Sighting => ({ ...s, tier: 'neighbour' }));
  return [...merged(keys.perRule), ...neighbours];
}

/**
 * This run's sightings of both tiers, with the bans of each (`ban --tier neighbour` challenges;
 * without a neighbour tier it blocks, as every ban did) and without what an unban ends.
 */
function sightingsOf(
  settings: BlockerSettings,
  ruleSightings: readonly Sighting[],
  actionPlan: ActionPlan,
): Sighting[] {
  const tiered = settings.neighbours !== undefined;
  // Nearly every run: one tier, no action. Its sightings are the rules' own, not filtered twice over.
  if (!tiered && actionPlan.bans.length === 0 && actionPlan.unbans.size === 0 && actionPlan.unbansWithin.empty) {
    return [...ruleSightings];
  }
  const isNeighbour = (ban: Sighting) => tiered && ban.tier === 'neighbour';
  // A neighbour ban without a neighbour tier blocks: it loses its tier.
  const blockBans = actionPlan.bans.filter((ban) => !isNeighbour(ban)).map(withoutTier);
  const block = ruleSightings.filter((s) => s.tier !== 'neighbour');
  const neighbours = ruleSightings.filter((s) => s.tier === 'neighbour');
  return [
    ...withActions(block, { ...actionPlan, bans: blockBans }, settings.blockDurationMs),
    ...withActions(neighbours, { ...actionPlan, bans: actionPlan.bans.filter(isNeighbour) }, settings.blockDurationMs),
  ];
}

/** Sightings by the list each belongs to, in one pass (each list's in the order given). */
function byList(sightings: readonly Sighting[]): Record<ListKey, Sighting[]> {
  const lists = perList((): Sighting[] => []);
  for (let i = 0; i < sightings.length; i++) {
    const sighting = sightings[i] as Sighting;
    // listOf(sighting) written out (docs/blocker.md, "Fewer functions on the path"): keep the two alike.
    (sighting.tier === 'neighbour' ? lists[`neighbour#${sighting.family}`] : lists[sighting.family]).push(sighting);
  }
  return lists;
}

function withoutTier(sighting: Sighting): Sighting {
  if (sighting.tier === undefined) return sighting;
  const copy: { -readonly [K in keyof Sighting]: Sighting[K] } = { ...sighting };
  delete copy.tier;
  return copy;
}

/**
 * How keys become ranges: `offender` for the block tier (the widened prefix itself without a
 * neighbour tier), `widened` for the neighbour tier and for bans; `neighbours` unset without a tier.
 */
export interface Policies {
  readonly offender: NormalizePolicy;
  readonly widened: NormalizePolicy;
  readonly neighbours: NormalizePolicy | undefined;
}

function policiesOf(settings: BlockerSettings, allowlist: Allowlist): Policies {
  const widened = createNormalizePolicy({
    ipv4Prefix: settings.ipv4Prefix,
    ipv6Prefix: settings.ipv6Prefix,
    allowlist,
  });
  const tier = settings.neighbours;
  if (tier === undefined) return { offender: widened, widened, neighbours: undefined };
  const offender = createNormalizePolicy({
    ipv4Prefix: tier.offenderPrefix.ipv4,
    ipv6Prefix: tier.offenderPrefix.ipv6,
    allowlist,
  });
  return { offender, widened, neighbours: widened };
}

/**
 * The rules' keys as sightings (only when the gate is open), with what was rejected and why. The
 * rejections are the block tier's: a key whose widened range is refused (say, it overlaps the
 * allowlist) while its exact address is not still has its offender blocked.
 */
function collectSightings(
  deps: BlockerDeps,
  settings: BlockerSettings,
  inputs: KeyInputs,
  policies: Policies,
  collected: boolean,
  parsed: ParsedRanges,
): RuleSightings {
  const unreadableRules: string[] = [];
  const rejectedByReason: Record<string, number> = {};
  const perRule: Sighting[][] = [];
  const neighboursPerRule: Sighting[][] = [];
  let keysSeen = 0;
  inputs.keyResults.forEach((result, index) => {
    const ruleName = settings.rateRules[index] ?? `rule ${index}`;
    if (result.status === 'rejected') {
      // One unreadable rule must not stop the others, nor expiry.
      unreadableRules.push(ruleName);
      deps.logger.warn('managed keys unreadable; going on with the other rules', {
        rule: ruleName,
        error: message(result.reason),
      });
      return;
    }
    if (!collected) return;
    const keys = [...result.value.ipv4, ...result.value.ipv6];
    keysSeen += keys.length;
    const { sightings, rejected } = normalizeKeys(keys, ruleName, policies.offender, parsed);
    perRule.push(sightings);
    if (policies.neighbours) {
      neighboursPerRule.push(normalizeKeys(keys, ruleName, policies.neighbours, parsed).sightings);
    }
    for (const { key, reason } of rejected) {
      rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + 1;
      if (reason === 'unparsable')
        deps.logger.warn('malformed key skipped', { rule: ruleName, key: key.slice(0, 100) });
    }
  });
  return { unreadableRules, rejectedByReason, perRule, neighboursPerRule, keysSeen };
}

/**
 * The rules' sightings less the new ranges that an entry of the blocklists that is not ours already
 * blocks from a wider prefix (lambdas/core/foreign-cover.ts says why recording them would, once they
 * expire, remove that entry). Ranges the ledger holds are kept: their rows are refreshed as usual.
 * Bans are not filtered: an operator's ban is recorded whatever covers it.
 */
function outsideForeignEntries(
  deps: BlockerDeps,
  sightings: readonly Sighting[],
  inputs: RunInputs,
  known: Readonly<Record<ListKey, LedgerEntry[]>>,
): { readonly sightings: readonly Sighting[]; readonly inside: number } {
  // Empty sets cover nothing: a deployment's first attack is not checked range by range.
  if (LISTS.every((key) => inputs.blocklists[key].every((set) => set.addresses.length === 0))) {
    return { sightings, inside: 0 };
  }
  // The cover is built only for a list with a new range to check: a steady run's sightings are all
  // in the ledger, and classifying 50,000 entries for nothing would slow every run of an attack.
  const covers = perList((key) => {
    const rows = known[key];
    let cover: ForeignCover | undefined;
    const coverOf = (): ForeignCover => {
      if (cover !== undefined) return cover;
      const owned = rows.filter((row) => row.preexisting !== true).map((row) => row.range);
      cover = new ForeignCover(
        inputs.blocklists[key].map((set) => set.addresses),
        owned,
      );
      return cover;
    };
    return { coverOf, ledger: new Set(rows.map((row) => row.range)) };
  });
  const inside: { readonly range: string; readonly entry: string; readonly keys: number }[] = [];
  const kept = sightings.filter((sighting) => {
    const { coverOf, ledger } = covers[listOf(sighting)];
    if (ledger.has(sighting.range)) return true;
    const entry = coverOf().coveringEntry(sighting.range);
    if (entry === undefined) return true;
    inside.push({ range: sighting.range, entry, keys: sighting.hits });
    return false;
  });
  if (inside.length > 0) {
    deps.logger.info('sighted ranges already blocked by a blocklist entry not ours; not recorded', {
      count: inside.length,
      ranges: inside.slice(0, OVERFLOW_SAMPLE),
    });
  }
  // Counted in keys, as the other reasons are.
  return { sightings: kept, inside: inside.reduce((sum, item) => sum + item.keys, 0) };
}

/**
 * The ledger rows, completed from the table itself for ranges the index may not list yet.
 *
 * The active index is eventually consistent: a range another run recorded a moment ago may be
 * missing from it and would look foreign. Sighted ranges that are in the set but not in the index
 * (normally none, so normally no extra round trip) are looked up; so are unbanned ranges missing
 * from the index: unbanning a range that was banned a moment ago must not answer "not blocked".
 */
async function confirmedRows(
  deps: BlockerDeps,
  known: Readonly<Record<ListKey, LedgerEntry[]>>,
  present: Readonly<Record<ListKey, IpSetIndex>>,
  sightings: Readonly<Record<ListKey, readonly Sighting[]>>,
  actionPlan: ActionPlan,
): Promise<Record<ListKey, LedgerEntry[]>> {
  const confirm = async (key: ListKey): Promise<LedgerEntry[]> => {
    const rows = known[key];
    const family = familyOfList(key);
    const ranges = new Set(rows.map((row) => row.range));
    // An empty list holds no sighted range: a first attack's sightings are not looked up one by one.
    const unsure =
      present[key].addresses.length === 0
        ? []
        : sightings[key].filter((s) => present[key].has(s.range) && !ranges.has(s.range)).map((s) => s.range);
    // An unban ends its range in every tier; without a tier the neighbour lists are never asked.
    const tier: Tier = tierOfList(key);
    const asked = tier === 'block' || present[key].addresses.length > 0 || rows.length > 0;
    for (const [range, unbanFamily] of actionPlan.unbans) {
      if (asked && unbanFamily === family && !ranges.has(range)) unsure.push(range);
    }
    return unsure.length === 0 ? rows : [...rows, ...(await deps.ledger.activeEntriesOf(family, unsure, tier))];
  };
  return awaitLists(perList(confirm));
}

/**
 * An unban ends the block now: the entry becomes due, and the same path as an expiry removes it.
 * A range allowlisted after it was blocked ends the same way: the allowlist wins over any block,
 * in the blocklists and, above all, in shared sets whose web ACLs have no allow rule of ours.
 */
function endBlocks(
  deps: BlockerDeps,
  rows: Readonly<Record<ListKey, LedgerEntry[]>>,
  actionPlan: ActionPlan,
  allowlist: Allowlist,
  now: number,
) {
  const ending: LedgerEntry[] = [];
  const unbanned = new Map<string, LedgerEntry>();
  const unbannedRows: LedgerEntry[] = [];
  const checkAllowlist = allowlist.entries.length > 0;
  const allowlisted: string[] = [];
  const end = (key: ListKey): LedgerEntry[] =>
    rows[key].map((row) => {
      const unban = isUnbanned(actionPlan, row.range);
      if (unban) {
        // The block tier's row names the outcome when the range is in both tiers.
        if (!unbanned.has(row.range) || tierOfList(key) === 'block') unbanned.set(row.range, row);
        unbannedRows.push(row);
      } else if (!(checkAllowlist && row.expiresAt > now && allowlist.overlaps(row.range))) return row;
      else allowlisted.push(row.range);
      if (row.expiresAt <= now) return row;
      ending.push(row);
      return { ...row, expiresAt: now };
    });
  const after = perList(end);
  if (allowlisted.length > 0) {
    deps.logger.warn('blocked ranges now overlap the allowlist; ending their blocks', {
      count: allowlisted.length,
      ranges: allowlisted.slice(0, OVERFLOW_SAMPLE),
    });
  }
  return { ending, unbanned, unbannedRows, rows: after };
}

/** `presentInSet` for a list whose sets hold no address (see {@link stepFamily}). */
function holdsNothing(): boolean {
  return false;
}

/** One list's ledger step from that list's `sightings`. Shared sets take the block tier only. */
function stepFamily(
  key: ListKey,
  settings: BlockerSettings,
  inputs: RunInputs,
  present: IpSetIndex,
  storedRows: readonly LedgerEntry[],
  rows: readonly LedgerEntry[],
  sightings: readonly Sighting[],
  shared: readonly SharedTarget[],
  now: number,
): FamilyStep {
  const family = familyOfList(key);
  const sharedOfFamily = tierOfList(key) === 'block' ? shared.filter((target) => target.family === family) : [];
  // A set that could not be read is not compared with any range until it can be (see SharedSetsView).
  const step = advanceLedger(
    rows,
    sightings,
    now,
    settings.blockDurationMs,
    // An empty list holds nothing: a first attack's 10,000 new ranges are not each asked.
    present.addresses.length === 0 ? holdsNothing : (range) => present.has(range),
    sharedOfFamily.length === 0
      ? undefined
      : {
          readable: sharedOfFamily.map((target) => target.ref.arn),
          holding: (range) =>
            sharedOfFamily.filter((target) => target.index.has(range)).map((target) => target.ref.arn),
        },
  );
  const snapshots = inputs.blocklists[key];
  return {
    family,
    list: key,
    snapshot: { addresses: present.addresses, lockToken: snapshots[0]?.lockToken ?? '' },
    present,
    step,
    writes: planLedgerWrites(indexByRange(storedRows), step.upserts),
  };
}

/**
 * Plans every list's IP sets from the ledger decision: pure CPU, which the run does while its
 * write-ahead is in flight (lambdas/blocker/run.ts).
 * @throws RangeError when a ledger range does not parse (core/shard-plan).
 */
export function planSets(inputs: RunInputs, decision: LedgerDecision): RunDecision {
  const plans = perListBiggestLast(
    (key) => planSize(decision.steps[key], inputs.blocklists[key]),
    (key): FamilyPlan => planList(key, inputs, decision),
  );
  return { ...decision, plans };
}

/** How many ranges and entries a list's plan goes through: its ledger step's rows and its sets' entries. */
function planSize(stepped: FamilyStep, snapshots: readonly IpSetSnapshot[]): number {
  let entries = 0;
  for (const set of snapshots) entries += set.addresses.length;
  return stepped.step.active.length + stepped.step.expired.length + entries;
}

/** One list's IP set plans (see {@link planSets}). */
function planList(key: ListKey, inputs: RunInputs, decision: LedgerDecision): FamilyPlan {
  const stepped = decision.steps[key];
  const snapshots = inputs.blocklists[key];
  // A neighbour list without a neighbour tier has no sets (and, never read nor sighted, no rows).
  const sharded =
    snapshots.length === 0
      ? { shards: [], overflow: stepped.step.active }
      : planShards({
          shards: snapshots.map((set) => set.addresses),
          active: stepped.step.active,
          expired: stepped.step.expired,
          capacity: IP_SET_CAPACITY,
          parsed: decision.parsed,
        });
  return {
    ...stepped,
    plan: combinedPlan(
      sharded.shards.map((shard) => shard.plan),
      sharded.overflow,
    ),
    shards: sharded.shards.map((planned, index) => ({ planned, snapshot: snapshots[index] as IpSetSnapshot })),
  };
}

/** Every set the run read, as indexes: each list's sets together, and each shared set. */
interface SetsRead {
  readonly lists: Readonly<Record<ListKey, IpSetIndex>>;
  readonly shared: readonly IpSetIndex[];
}

/** What became of each action, from the plans of this run (before any write). */
function actionOutcomes(
  plan: ActionPlan,
  plans: Readonly<Record<ListKey, FamilyStep>>,
  unbanned: ReadonlyMap<string, LedgerEntry>,
  sets: SetsRead,
  now: number,
): ActionOutcome[] {
  if (plan.resolved.length === 0) return [];
  // By list and range: a ban went to the tier it asked for (the same CIDR may be in both).
  const upserts = new Map(
    LISTS.flatMap((key) => plans[key].step.upserts.map((entry) => [`${key} ${entry.range}`, entry] as const)),
  );
  return plan.resolved.map((item): ActionOutcome => {
    if (item.kind === 'refused') {
      return { status: 'refused', action: item.action, reason: item.reason, detail: item.detail };
    }
    const range = item.kind === 'ban' ? item.sighting.range : item.range;
    // The last action on a range decides its fate; earlier ones on the same range report that fate.
    const decided = plan.decisive.get(range) ?? item;
    if (decided.kind === 'ban') {
      // Every ban has its upsert; the fallback only keeps the outcome a valid time whatever happens.
      // A neighbour ban in a deployment without a neighbour tier went to the block tier.
      const upsert =
        upserts.get(`${listOf(decided.sighting)} ${range}`) ?? upserts.get(`${decided.sighting.family} ${range}`);
      const expiresAt = upsert?.expiresAt ?? now + (decided.sighting.durationMs ?? 0);
      return {
        status: 'banned',
        action: item.action,
        range,
        expiresAt,
        ...(upsert?.tier === 'neighbour' ? { tier: upsert.tier } : {}),
      };
    }
    // The range as written first: it is the one the operator named; then the address's own offender
    // range, then what the range written with its prefix held inside it.
    const candidates =
      item.kind === 'unban'
        ? [item.exact, item.offender, range, ...endedWithin(item.within, unbanned)].filter(
            (c): c is Cidr => c !== undefined,
          )
        : [range];
    const ended = candidates.filter((candidate) => unbanned.has(candidate));
    const [first, ...rest] = ended;
    const row = first === undefined ? undefined : unbanned.get(first);
    // The other ranges that left the sets: a range someone else put there first stays, and is not said to have left.
    const others = rest.filter((range) => unbanned.get(range)?.preexisting !== true);
    const also = others.length > 0 ? { alsoEnded: others } : {};
    if (first !== undefined && row !== undefined) {
      if (row.preexisting === true) {
        return {
          status: 'released',
          action: item.action,
          range: first,
          ...(row.tier === 'neighbour' ? { tier: row.tier } : {}),
          ...also,
        };
      }
      return { status: 'unbanned', action: item.action, range: first, ...also };
    }
    const held = heldBy(candidates, sets);
    return held === undefined
      ? { status: 'not-blocked', action: item.action, range }
      : { status: 'foreign', action: item.action, ...held };
  });
}

/** The ranges ended this run that lie strictly inside `within` (an unban's range as written), in address order. */
function endedWithin(within: Cidr | undefined, unbanned: ReadonlyMap<string, LedgerEntry>): Cidr[] {
  if (within === undefined) return [];
  const cover = new RangeCover([within]);
  const inside = [...unbanned.keys()]
    .filter((range) => cover.covering(range) !== undefined)
    .map((range) => ({ range, parsed: parseRange(range) }));
  inside.sort((a, b) =>
    a.parsed === undefined || b.parsed === undefined
      ? a.range.localeCompare(b.range)
      : compareRanges(a.parsed, b.parsed),
  );
  return inside.map(({ range }) => range);
}

/**
 * The first of `candidates` that a set holds, and the tier of the set that holds it: the Block
 * lists are asked first (a range in both tiers is named by its Block entry, as an unban's outcome
 * is), then the neighbour lists, then the shared sets (which take the block tier only).
 */
function heldBy(
  candidates: readonly Cidr[],
  sets: SetsRead,
): { readonly range: Cidr; readonly tier?: Tier } | undefined {
  for (const candidate of candidates) {
    const key = LISTS.find((list) => sets.lists[list].has(candidate));
    if (key !== undefined) {
      return { range: candidate, ...(tierOfList(key) === 'neighbour' ? { tier: 'neighbour' } : {}) };
    }
    if (sets.shared.some((set) => set.has(candidate))) return { range: candidate };
  }
  return undefined;
}
