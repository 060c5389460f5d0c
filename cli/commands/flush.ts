/**
 * `waf-autoblock flush`: end every block waf-autoblock holds, at once, and keep every entry it did
 * not add. One blocker run with an unban for each managed range.
 */
import type { OperatorAction } from '#blocker/actions';
import type { LedgerEntry } from '#core/types';
import { parseCommandLine, positionalArguments } from '../arguments';
import type { RunSummary } from '#blocker/run';
import { applyActions, operatorSource } from '../actions';
import type { CliIo, Command } from '../command';
import { terminalConfirm } from '../confirm';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment, operatorFailure } from '../deployment';
import { CommandError, UsageError } from '../errors';
import { count, plural } from '../format';
import { DRY_RUN_NOTE } from '../outcomes';
import { activeEntries } from '../targets';

const HELP = `Usage: waf-autoblock flush [--yes] [options]

Ends every block waf-autoblock holds: each managed range leaves the blocklists and
the shared IP sets, and its ledger entry is closed, in one blocker run. Entries
waf-autoblock did not add are kept; so are entries that were in a set before it
blocked them (they are released). Asks first unless --yes; without a terminal to
ask on, --yes is required. Ranges still attacking come back on the blocker's next
run while the alarm is in ALARM.

Options:
  --yes              do not ask
${DEPLOYMENT_HELP}
  -h, --help         show this help

Exit codes: 0 flushed (or nothing to flush); 1 not confirmed, or a failure; 2 usage
(including no terminal to ask on without --yes).

Examples:
  waf-autoblock flush
  waf-autoblock flush --yes --stack ShopWaf --region eu-west-1
`;

export const flushCommand: Command = {
  name: 'flush',
  summary: 'remove every managed range, keep foreign ones (asks first)',
  help: HELP,
  run: runFlush,
};

async function runFlush(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { ...DEPLOYMENT_OPTIONS, yes: { type: 'boolean' } });
  positionalArguments(positionals, []);
  // The question needs the count, so it comes after the lookup; that nobody can answer it is known now.
  if (values.yes !== true && io.confirm === undefined && !process.stdin.isTTY) {
    throw new UsageError(
      'stdin is not a terminal, so nobody can confirm removing every managed range: pass --yes to go ahead',
    );
  }
  const deployment = await openDeployment(values, io);
  const { settings } = deployment;
  let entries: LedgerEntry[];
  try {
    // Both tiers: an unban ends the range it names in each (a challenged /24 whose offender is a /32 included).
    entries = await activeEntries(deployment, { neighbours: true });
  } catch (error) {
    throw operatorFailure(error);
  }
  if (entries.length === 0) {
    io.stdout.write('Nothing to flush: waf-autoblock blocks no range.\n');
    return 0;
  }

  // Named as the run's removals name them: a blocklist by its name, a shared set with its region.
  const setLabels = [
    ...(['IPV4', 'IPV6'] as const).flatMap((family) => settings.blocklist[family].map((ref) => ref.name)),
    ...(['IPV4', 'IPV6'] as const).flatMap((family) => settings.neighbours?.sets[family].map((ref) => ref.name) ?? []),
    ...settings.sharedIpSets.map((shared) => `${shared.name} (${shared.region})`),
  ];
  const sets = setLabels.join(', ');
  if (values.yes !== true) {
    const confirm = io.confirm ?? terminalConfirm(process.stdin, process.stderr, '--yes');
    const question = `Remove ${plural(entries.length, 'managed range')} from ${sets}? Foreign entries are kept. [y/N]`;
    if (!(await confirm(question))) throw new CommandError('not confirmed: nothing was removed');
  }

  const source = operatorSource(io);
  // One unban per range: the same CIDR in both tiers is ended in both by one.
  const actions: OperatorAction[] = [...new Set(entries.map((entry) => entry.range))].map((range) => ({
    action: 'unban',
    address: range,
    source,
    reason: 'flush',
  }));
  const summary = await applyActions(deployment, actions, io, 'flush');
  const { lines, odd } = flushReport(summary, setLabels);
  if (settings.dryRun) lines.push(DRY_RUN_NOTE);
  io.stdout.write(`${lines.join('\n')}\n`);
  if (odd.length > 0) {
    throw new CommandError(
      `not every range was flushed: ${odd.map(([status, ranges]) => `${ranges.length} ${status}`).join(', ')} (see above)`,
    );
  }
  return 0;
}

/** How many ranges a line names before it only counts the rest. */
const NAMED_RANGES = 10;

/**
 * What the flush did, from the run's outcomes and removals: the ranges its writes removed (and
 * from which sets), those released, those a set no longer held, those already gone from the
 * ledger, and anything else (`odd`), which a flush should never meet.
 *
 * @param setLabels - Every set of the deployment, in the order to name them.
 */
function flushReport(
  summary: RunSummary,
  setLabels: readonly string[],
): { lines: string[]; odd: [string, string[]][] } {
  const byStatus = new Map<string, string[]>();
  for (const outcome of summary.actions) {
    const range = 'range' in outcome ? outcome.range : outcome.action.address;
    byStatus.set(outcome.status, [...(byStatus.get(outcome.status) ?? []), range]);
  }
  const removalOf = new Map(summary.removals.map((removal) => [removal.range, removal]));
  const removedFrom = (ranges: readonly string[]) => {
    const labels = new Set(ranges.flatMap((range) => removalOf.get(range)?.removedFrom ?? []));
    return setLabels.filter((label) => labels.has(label));
  };
  const unbanned = byStatus.get('unbanned') ?? [];
  const released = byStatus.get('released') ?? [];
  const removed = unbanned.filter((range) => (removalOf.get(range)?.removedFrom.length ?? 0) > 0);
  const lines = [
    removed.length > 0
      ? `Flushed: ${plural(removed.length, 'range')} removed from ${removedFrom(removed).join(', ')}; foreign entries kept.`
      : 'Flushed: no range was removed from an IP set; foreign entries kept.',
  ];
  if (released.length > 0) {
    const sharedCopies = removedFrom(released);
    lines.push(
      `  ${plural(released.length, 'range')} released: no longer managed, but the entries stay where they were before waf-autoblock blocked them` +
        `${sharedCopies.length > 0 ? `; removed from ${sharedCopies.join(', ')}, where waf-autoblock had put them` : ''}.`,
    );
  }
  const absent = [...unbanned, ...released].flatMap((range) => {
    const sets = removalOf.get(range)?.alreadyAbsentFrom ?? [];
    return sets.length > 0 ? [`${range} (${sets.join(', ')})`] : [];
  });
  if (absent.length > 0) {
    const named = absent.slice(0, NAMED_RANGES).join(', ');
    const more = absent.length > NAMED_RANGES ? ` and ${count.format(absent.length - NAMED_RANGES)} more` : '';
    lines.push(
      `  ${plural(absent.length, 'range')} already absent from a set waf-autoblock had put ${absent.length === 1 ? 'it' : 'them'} in ` +
        `(removed by hand or by another tool), so nothing was removed there: ${named}${more}.`,
    );
  }
  const notBlocked = byStatus.get('not-blocked')?.length ?? 0;
  if (notBlocked > 0) {
    lines.push(`  ${plural(notBlocked, 'range')} had already left the ledger (a blocker run ended them meanwhile).`);
  }
  // A flush names only ranges from the ledger: anything else is a contract break worth seeing.
  const odd = [...byStatus].filter(([status]) => !['unbanned', 'released', 'not-blocked'].includes(status));
  for (const [status, ranges] of odd) {
    lines.push(`  ${count.format(ranges.length)} ${status}: ${ranges.join(', ')}`);
  }
  return { lines, odd };
}
