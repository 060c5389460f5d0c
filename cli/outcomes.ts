/** What an operator reads about the outcome of a ban or an unban. */
import type { ActionOutcome } from '#blocker/actions';
import type { RangeRemoval } from '#blocker/removals';
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Cidr, Tier } from '#core/types';
import { CommandError } from './errors';
import { plural } from './format';

/**
 * The blocklist of the range's family: `IP set <name>` when the family has one set, else `the IPv4
 * blocklist (2 sets)`, since an outcome does not say which of the sets holds the range.
 */
export function blocklistOf(range: Cidr, settings: BlockerSettings): string {
  const family = range.includes(':') ? 'IPV6' : 'IPV4';
  const [first, ...more] = settings.blocklist[family];
  if (more.length === 0) return `IP set ${first.name}`;
  return `the ${family === 'IPV6' ? 'IPv6' : 'IPv4'} blocklist (${more.length + 1} sets)`;
}

/**
 * The sets of the range's family in `tier`: {@link blocklistOf} for the block tier; for the
 * neighbour tier `neighbour IP set <name>`, or `the IPv4 neighbour sets (2 sets)`. A deployment
 * without a neighbour tier has only its blocklists to name.
 */
export function tierSetsOf(range: Cidr, settings: BlockerSettings, tier: Tier = 'block'): string {
  const neighbours = settings.neighbours;
  if (tier === 'block' || neighbours === undefined) return blocklistOf(range, settings);
  const family = range.includes(':') ? 'IPV6' : 'IPV4';
  const [first, ...more] = neighbours.sets[family];
  if (more.length === 0) return `neighbour IP set ${first.name}`;
  return `the ${family === 'IPV6' ? 'IPv6' : 'IPv4'} neighbour sets (${more.length + 1} sets)`;
}

/** What a tier does to a range, in a sentence's words. */
export interface TierWords {
  /** `blocks`, `challenges`, `shows a CAPTCHA to`: "waf-autoblock no longer ... it". */
  readonly does: string;
  /** `blocked`, `challenged`, `showed a CAPTCHA to`: "before waf-autoblock ... it". */
  readonly did: string;
  /** `blocked`, `challenged`, `shown a CAPTCHA`: "3 ranges ...". */
  readonly done: string;
}

const BLOCK_WORDS: TierWords = { does: 'blocks', did: 'blocked', done: 'blocked' };

/**
 * What `tier` does in this deployment: the block tier blocks; the neighbour tier does what
 * `blocker.neighbourAction` says (CHALLENGE or CAPTCHA). A deployment without a neighbour tier blocks.
 */
export function tierWords(tier: Tier, settings: BlockerSettings): TierWords {
  if (tier === 'block' || settings.neighbours === undefined) return BLOCK_WORDS;
  return settings.neighbours.action === 'CAPTCHA'
    ? { does: 'shows a CAPTCHA to', did: 'showed a CAPTCHA to', done: 'shown a CAPTCHA' }
    : { does: 'challenges', did: 'challenged', done: 'challenged' };
}

/** The IP sets a range is written to: its family's blocklist and every shared set. */
export function setsOf(range: Cidr, settings: BlockerSettings): string {
  const shared = settings.sharedIpSets.length;
  return `${blocklistOf(range, settings)}${shared === 0 ? '' : ` and ${plural(shared, 'shared IP set')}`}`;
}

/** `IP set a`, `IP sets a and b`, `IP sets a, b and c (eu-west-1)`: sets as a run's removals name them. */
export function ipSetNames(labels: readonly string[]): string {
  const listed = labels.length <= 1 ? (labels[0] ?? '') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
  return `IP set${labels.length === 1 ? '' : 's'} ${listed}`;
}

/**
 * What an unban did to the sets of `range`: `removed from IP set a`, `already absent from IP set
 * b`, or both, as the run's removals say; undefined when neither (a set that held the range
 * before waf-autoblock keeps it).
 */
export function removalSentence(removals: readonly RangeRemoval[], range: Cidr): string | undefined {
  const removal = removals.find((candidate) => candidate.range === range);
  const removed = removal?.removedFrom ?? [];
  const absent = removal?.alreadyAbsentFrom ?? [];
  const absentText = `already absent from ${ipSetNames(absent)} (removed by hand or by another tool), so nothing was removed there`;
  if (removed.length > 0 && absent.length > 0) return `removed from ${ipSetNames(removed)}; ${absentText}`;
  if (removed.length > 0) return `removed from ${ipSetNames(removed)}`;
  if (absent.length > 0) return absentText;
  return undefined;
}

/** The one outcome of a one-action run; its absence is a bug, not an operator's mistake. */
export function onlyOutcome(outcomes: readonly ActionOutcome[], action: string): ActionOutcome {
  const [outcome] = outcomes;
  if (outcome === undefined) throw new Error(`the blocker run reported no outcome for the ${action}`);
  return outcome;
}

/** A refused action as the failure it is for the command: the run's own sentence says why. */
export function refusedError(outcome: ActionOutcome & { status: 'refused' }): CommandError {
  return new CommandError(`refused: ${outcome.detail}`);
}

/** Said after the outcome when the deployment only pretends. */
export const DRY_RUN_NOTE =
  'Dry run: this deployment runs with blocker.dryRun, so nothing was written; the lines above say what a run would do.';
