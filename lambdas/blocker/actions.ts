/**
 * Bans and unbans asked for by a person (the `waf-autoblock` CLI) or another host (the ban feed),
 * and what became of each. A run applies them with the same normalization, allowlist, ledger and
 * lock-safe reconcile as the ranges it takes from the rate rules. No AWS imports.
 */
import { describeAddressProblem, readRange } from '#core/address-verdict';
import { parseAddress, parseRange } from '#core/ip-parse';
import { collapseToPrefix } from '#core/network-range';
import { RangeCover } from '#core/range-cover';
import { otherSpaceIn } from '#core/value-space';
import {
  MIN_IPV4_PREFIX,
  MIN_IPV6_PREFIX,
  normalizeKeys,
  type NormalizePolicy,
  type RejectReason,
} from '#core/normalize';
import type { Cidr, Family, Sighting, Tier } from '#core/types';

/** The longest ban, from the CLI or the feed: one year, the deployment's own `blockDurationMinutes` bound. */
export const MAX_BAN_MINUTES = 525_600;
/**
 * The longest reason a ban or unban may give, in Unicode code points: the limit is waf-autoblock's
 * own, for people reading `list` and the report, who see an emoji as one character.
 */
export const MAX_REASON_LENGTH = 256;

/**
 * C0 and C1 controls and DEL (a newline would split a line of `list`, an escape sequence would
 * drive the operator's terminal), and the bidirectional overrides and isolates that make text read
 * otherwise than it is stored.
 */
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

/**
 * What is wrong with a ban's or unban's reason, the one rule for the CLI's `--reason` and the ban
 * feed's `reason`: at most {@link MAX_REASON_LENGTH} code points (not grapheme clusters: a family
 * emoji counts as the several characters it stores), none of them a control or bidi formatting
 * character.
 *
 * @returns e.g. `must be one line of printable text, got U+202E (a control or bidi formatting
 *   character) at character 5`, or undefined when the reason is acceptable (an empty one is).
 */
export function reasonProblem(reason: string): string | undefined {
  const characters = Array.from(reason);
  const at = characters.findIndex((character) => UNPRINTABLE.test(character));
  if (at !== -1) {
    const code = (characters[at] ?? '').codePointAt(0) ?? 0;
    return (
      `must be one line of printable text, got U+${code.toString(16).toUpperCase().padStart(4, '0')} ` +
      `(a control or bidi formatting character) at character ${at + 1}`
    );
  }
  if (characters.length > MAX_REASON_LENGTH) {
    return `must be at most ${MAX_REASON_LENGTH} characters (Unicode code points), got ${characters.length}`;
  }
  return undefined;
}

/** Block a range: the address is widened to the configured prefix, as rate rule keys are. */
export interface BanAction {
  readonly action: 'ban';
  /** An IPv4 or IPv6 address or CIDR range. */
  readonly address: string;
  /** How long the block lasts; unset: the deployment's blockDurationMinutes. A block is extended, never shortened. */
  readonly durationMinutes?: number;
  /** Why, for people reading `list` or a report. */
  readonly reason?: string;
  /** Who asked, e.g. `cli:alice` or `fail2ban@web1`; recorded as the ledger entry's source. */
  readonly source: string;
  /**
   * The list: `neighbour` challenges the range (a deployment with a neighbour tier only; the CLI's
   * `ban --tier neighbour`); unset or `block`: blocks it, as every ban did before tiers.
   */
  readonly tier?: Tier;
}

/** End a block now: the range leaves every blocklist it was put in by waf-autoblock. */
export interface UnbanAction {
  readonly action: 'unban';
  readonly address: string;
  readonly reason?: string;
  readonly source: string;
}

export type OperatorAction = BanAction | UnbanAction;

/** What a run did with one action. */
export type ActionOutcome =
  /** Blocked (or already blocked) until `expiresAt`, epoch ms. */
  | {
      readonly status: 'banned';
      readonly action: OperatorAction;
      readonly range: Cidr;
      readonly expiresAt: number;
      /** `neighbour`: challenged in the neighbour sets (`ban --tier neighbour`); unset: blocked. */
      readonly tier?: Tier;
    }
  /** Not blocked: the address is allowlisted, non-global, too wide, or its text is refused (see `AddressProblem`). */
  | {
      readonly status: 'refused';
      readonly action: OperatorAction;
      readonly reason: RejectReason;
      /** One sentence naming the address and why, for a person. */
      readonly detail: string;
    }
  /**
   * The block ended and the range left the blocklists; `alsoEnded`: the other ranges the unban
   * ended (with a neighbour tier, the offender's range and the widened one around it).
   */
  | {
      readonly status: 'unbanned';
      readonly action: OperatorAction;
      readonly range: Cidr;
      readonly alsoEnded?: readonly Cidr[];
    }
  /**
   * Our claim ended, but the entry stays: it was in the blocklist before waf-autoblock saw the
   * range, put there by a person or another tool. `tier`: `neighbour` when the claim was on a
   * neighbour set's entry; unset: a Block set's.
   */
  | {
      readonly status: 'released';
      readonly action: OperatorAction;
      readonly range: Cidr;
      readonly tier?: Tier;
      /** The other ranges of ours the unban ended (as for `unbanned`): these left the sets. */
      readonly alsoEnded?: readonly Cidr[];
    }
  /**
   * In a blocklist, but not put there by waf-autoblock: left alone (remove it where it was added).
   * `tier`: `neighbour` when only a neighbour set holds it; unset: a Block set or a shared set.
   */
  | { readonly status: 'foreign'; readonly action: OperatorAction; readonly range: Cidr; readonly tier?: Tier }
  /** Nothing to unban: waf-autoblock does not block this range. */
  | { readonly status: 'not-blocked'; readonly action: OperatorAction; readonly range: Cidr };

/**
 * Widest IPv4 range a ban (CLI or feed) may name. Rate rule keys are single addresses and never
 * come near it; only a person or a host can ask for a /8.
 */
export const MIN_BAN_IPV4_PREFIX = 16;

/**
 * The widest range (smallest prefix length) each action may name, per family. An unban may name
 * any range a block can have; a ban is held to /16 for IPv4 (see {@link MIN_BAN_IPV4_PREFIX}).
 */
export const WIDEST_PREFIX: Readonly<Record<OperatorAction['action'], Readonly<Record<Family, number>>>> = {
  ban: { IPV4: MIN_BAN_IPV4_PREFIX, IPV6: MIN_IPV6_PREFIX },
  unban: { IPV4: MIN_IPV4_PREFIX, IPV6: MIN_IPV6_PREFIX },
};

function prefixOf(range: Cidr): number {
  return Number(range.slice(range.lastIndexOf('/') + 1));
}

function writtenPrefix(address: string): number {
  return parseAddress(address)?.prefix ?? 0;
}

/** One action, read: the range it is about, or why it is refused before anything is looked up. */
export type ResolvedAction =
  | { readonly kind: 'ban'; readonly action: BanAction; readonly sighting: Sighting }
  | {
      readonly kind: 'unban';
      readonly action: UnbanAction;
      /** The range the address widens to, as a ban of it would block. */
      readonly range: Cidr;
      readonly family: Family;
      /**
       * The range exactly as written, when narrower than `range`: a block recorded before the
       * prefix was changed (a /24 under a /16 setting) must still be removable by its own name.
       */
      readonly exact?: Cidr;
      /**
       * With a neighbour tier, the address's own offender range (its /32, /128, or
       * `blocker.offenderPrefixLength`), when other than `range` and `exact`: unbanning an address
       * frees the address itself, not only its neighbours.
       */
      readonly offender?: Cidr;
      /**
       * The range as written, when written with its prefix and no wider than the widened prefix
       * (`unban 45.33.12.0/24` with the default /24): every block of ours strictly inside it ends
       * too (with a neighbour tier, the offenders inside the /24 with the /24), so that nothing the
       * operator named stays blocked. Not for wider ranges: one unban of a /8 must not end every
       * block in it, fed by any host that may publish to the ban feed.
       */
      readonly within?: Cidr;
    }
  | {
      readonly kind: 'refused';
      readonly action: OperatorAction;
      readonly reason: RejectReason;
      readonly detail: string;
    };

/** The actions of one run, read and reduced to the last word on each range. */
export interface ActionPlan {
  /** One per action, in order. */
  readonly resolved: ResolvedAction[];
  /** Ranges to block, with their own duration and reason: the last action on each range was a ban. */
  readonly bans: Sighting[];
  /** Ranges to unblock (an unban's widened range, and the range as written): the last action on each was an unban. */
  readonly unbans: Map<Cidr, Family>;
  /** The last action on each range: it decides the range's fate, and what earlier actions on it report. */
  readonly decisive: ReadonlyMap<Cidr, ResolvedAction>;
  /** The ranges unbans named with their prefix, the last action on each an unban: what is inside them ends too. */
  readonly unbansWithin: RangeCover;
}

/**
 * Whether the plan ends the block of `range`: an unban named it (or widened to it), or named a
 * wider range with its prefix and no later ban names `range` itself.
 */
export function isUnbanned(plan: ActionPlan, range: Cidr): boolean {
  if (plan.unbans.has(range)) return true;
  return plan.unbansWithin.covering(range) !== undefined && plan.decisive.get(range)?.kind !== 'ban';
}

/**
 * Reads bans and unbans the way the blocker reads rate rule keys: an address is widened to the
 * configured prefix (a wider range keeps its own), and a ban of a range that is /0, too wide,
 * non-global or allowlisted is refused with the reason. An unban is not checked against the
 * allowlist: a range blocked before it was allowlisted must still be removable.
 *
 * When several actions name one range, the last one wins.
 *
 * @param blockDurationMs - The deployment's duration, for bans that give none.
 * @param offender - With a neighbour tier, how keys become offender ranges: an unban also ends
 *   the address's own offender range. @default none (no neighbour tier)
 */
export function planActions(
  actions: readonly OperatorAction[],
  policy: NormalizePolicy,
  blockDurationMs: number,
  offender?: NormalizePolicy,
): ActionPlan {
  const resolved: ResolvedAction[] = [];
  const last = new Map<Cidr, ResolvedAction>();
  for (const action of actions) {
    const widened = widen(action, policy);
    if ('reason' in widened) {
      resolved.push({ kind: 'refused', action, reason: widened.reason, detail: widened.detail });
      continue;
    }
    if (action.action === 'unban') {
      // Only a range written with its prefix names a block of its own; a bare address is widened.
      const exact = action.address.includes('/') ? parseRange(action.address)?.cidr : undefined;
      const own = offender === undefined ? undefined : widen(action, offender);
      const offenderRange = own !== undefined && 'range' in own ? own.range : undefined;
      const item: ResolvedAction = {
        kind: 'unban',
        action,
        range: widened.range,
        family: widened.family,
        ...(exact !== undefined && exact !== widened.range ? { exact } : {}),
        ...withinOf(action.address, policy),
        ...(offenderRange !== undefined && offenderRange !== widened.range && offenderRange !== exact
          ? { offender: offenderRange }
          : {}),
      };
      resolved.push(item);
      last.set(widened.range, item);
      if (item.exact !== undefined) last.set(item.exact, item);
      if (item.offender !== undefined) last.set(item.offender, item);
      continue;
    }
    const { sightings, rejected } = normalizeKeys([action.address], action.source, policy);
    const [sighting] = sightings;
    if (sighting === undefined) {
      const reason = rejected[0]?.reason ?? 'unparsable';
      const detail = refusal(reason, action.address, widened.range, { action: action.action, family: widened.family });
      resolved.push({ kind: 'refused', action, reason, detail });
      continue;
    }
    // One typo in a ban (`45.0.0.0/8`) must not block 16 million addresses at every site.
    // The range as written counts, not as widened: a deployment may widen every key to a /12.
    if (
      sighting.family === 'IPV4' &&
      Math.max(prefixOf(sighting.range), writtenPrefix(action.address)) < WIDEST_PREFIX.ban.IPV4
    ) {
      const detail = refusal('too-wide', action.address, undefined, { action: 'ban', family: 'IPV4' });
      resolved.push({ kind: 'refused', action, reason: 'too-wide', detail });
      continue;
    }
    const durationMs = action.durationMinutes === undefined ? blockDurationMs : action.durationMinutes * 60_000;
    const item: ResolvedAction = {
      kind: 'ban',
      action,
      sighting: {
        ...sighting,
        durationMs,
        ...(action.reason === undefined ? {} : { reason: action.reason }),
        ...(action.tier === 'neighbour' ? { tier: action.tier } : {}),
      },
    };
    resolved.push(item);
    last.set(sighting.range, item);
  }
  const bans: Sighting[] = [];
  const unbans = new Map<Cidr, Family>();
  const within: Cidr[] = [];
  for (const [range, item] of last) {
    if (item.kind === 'ban') bans.push(item.sighting);
    else if (item.kind === 'unban') {
      unbans.set(range, item.family);
      if (item.within === range) within.push(range);
    }
  }
  return { resolved, bans, unbans, decisive: last, unbansWithin: new RangeCover(within) };
}

/**
 * Combines this run's rate rule sightings with the bans: a banned range keeps the rule's hits but
 * takes the ban's source, reason and the longer of the two durations; unbanned ranges are dropped,
 * so that an unban is not undone by the same run.
 */
export function withActions(sightings: readonly Sighting[], plan: ActionPlan, blockDurationMs: number): Sighting[] {
  // Nearly every run has no action: a first big run's 10,000 sightings are not looked up one by one.
  if (plan.bans.length === 0 && plan.unbans.size === 0 && plan.unbansWithin.empty) return [...sightings];
  const bans = new Map(plan.bans.map((ban) => [ban.range, ban]));
  const merged: Sighting[] = [];
  for (const sighting of sightings) {
    if (isUnbanned(plan, sighting.range)) continue;
    const ban = bans.get(sighting.range);
    if (ban === undefined) {
      merged.push(sighting);
      continue;
    }
    bans.delete(sighting.range);
    merged.push({
      ...ban,
      hits: sighting.hits + ban.hits,
      durationMs: Math.max(ban.durationMs ?? blockDurationMs, sighting.durationMs ?? blockDurationMs),
    });
  }
  return [...merged, ...bans.values()];
}

/** An unban's {@link ResolvedAction} `within`: the range as written with its prefix, when no wider than the widened prefix. */
function withinOf(address: string, policy: NormalizePolicy): { readonly within?: Cidr } {
  if (!address.includes('/')) return {};
  const written = parseRange(address);
  if (written === undefined) return {};
  const widest = written.family === 'IPV4' ? policy.ipv4Prefix : policy.ipv6Prefix;
  return written.prefix >= widest ? { within: written.cidr } : {};
}

/** The range an action names, widened as a rate rule key would be, or why it names none. */
function widen(
  action: OperatorAction,
  policy: NormalizePolicy,
): { readonly range: Cidr; readonly family: Family } | { readonly reason: RejectReason; readonly detail: string } {
  const { address } = action;
  // Read as config, CLI and feed read it: the same text is the same range, or refused for the same reason.
  const reading = readRange(address);
  if (reading.problem !== undefined) {
    return { reason: reading.problem, detail: refusal(reading.problem, address, reading.network) };
  }
  const parsed = reading.range;
  const isV4 = parsed.family === 'IPV4';
  const prefix = Math.min(parsed.prefix, isV4 ? policy.ipv4Prefix : policy.ipv6Prefix);
  if (prefix < (isV4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX)) {
    return {
      reason: 'too-wide',
      detail: refusal('too-wide', address, undefined, { action: action.action, family: parsed.family }),
    };
  }
  return { range: collapseToPrefix(parsed, prefix).cidr, family: parsed.family };
}

/**
 * One sentence for a person: what was refused and why.
 *
 * @param range - The range the address widens to; for `host-bits`, the network the text may have meant.
 * @param asked - The action and the address's family: a `too-wide` sentence names the limit that
 *   applies to them ({@link WIDEST_PREFIX}); without it, the limits of every range a block can have.
 */
export function refusal(
  reason: RejectReason,
  address: string,
  range?: Cidr,
  asked?: { readonly action: OperatorAction['action']; readonly family: Family },
): string {
  const shown = address.length > 100 ? `${address.slice(0, 100)}…` : address;
  const what = range === undefined || range === shown ? shown : `${shown} (range ${range})`;
  switch (reason) {
    case 'zero-prefix':
      // Worded as config and CLI word it: `::ffff:0:0/96` is the IPv4-mapped form of 0.0.0.0/0.
      return `${shown} ${describeAddressProblem(range === undefined ? { problem: reason } : { problem: reason, network: range })}: never blocked`;
    case 'too-wide':
      return asked === undefined
        ? `${what} is wider than /${MIN_IPV4_PREFIX} (IPv4) or /${MIN_IPV6_PREFIX} (IPv6): never blocked`
        : tooWide(what, asked.action, asked.family);
    case 'non-global':
      return `${what} is not globally routable (private, loopback, link-local, documentation, multicast or reserved): never blocked`;
    case 'allowlisted':
      return `${what} overlaps the allowlist: never blocked`;
    default: {
      // `unicode-space` names the space, which the text itself holds.
      const space = otherSpaceIn(address);
      return `"${shown}" ${describeAddressProblem({ problem: reason, ...(range === undefined ? {} : { network: range }), ...(space === undefined ? {} : { space }) })}`;
    }
  }
}

/** `too-wide`, naming the limit of the family for the action, e.g. "wider than /16, the widest IPv4 range a ban may name". */
function tooWide(what: string, action: OperatorAction['action'], family: Family): string {
  const limit = `/${WIDEST_PREFIX[action][family]}, the widest ${family === 'IPV4' ? 'IPv4' : 'IPv6'} range`;
  return action === 'ban'
    ? `${what} is wider than ${limit} a ban may name: never blocked`
    : `${what} is wider than ${limit} waf-autoblock blocks: nothing to unban`;
}
