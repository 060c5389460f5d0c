/** What an operator reads about the outcome of a ban or an unban. */
import type { ActionOutcome } from '../lambdas/blocker/actions';
import type { BlockerSettings } from '../lambdas/blocker/environment';
import type { Cidr } from '../lambdas/core/types';
import { CommandError } from './errors';
import { plural } from './format';

/** `IP set <name>`: the blocklist of the range's family. */
export function blocklistOf(range: Cidr, settings: BlockerSettings): string {
  return `IP set ${settings.blocklist[range.includes(':') ? 'IPV6' : 'IPV4'].name}`;
}

/** The IP sets a range is written to: its family's blocklist and every shared set. */
export function setsOf(range: Cidr, settings: BlockerSettings): string {
  const shared = settings.sharedIpSets.length;
  return `${blocklistOf(range, settings)}${shared === 0 ? '' : ` and ${plural(shared, 'shared IP set')}`}`;
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
