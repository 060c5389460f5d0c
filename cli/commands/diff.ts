/**
 * `waf-autoblock diff`: the ledger against each IP set, as the blocker's own reconcile plan sees it:
 * what the next run would add (missing), what it would remove (extra managed), and what it never
 * touches (foreign). Reads only.
 */
import type { BlockerSettings } from '#contracts/blocker-environment';
import { tierOf, type LedgerEntry } from '#core/types';
import { parseCommandLine, positionalArguments } from '../arguments';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment, operatorFailure } from '../deployment';
import { count, plural } from '../format';
import {
  activeEntries,
  compareTarget,
  IP_SET_CAPACITY,
  targetGroups,
  tierName,
  type SetComparison,
  type TargetGroup,
} from '../targets';

const HELP = `Usage: waf-autoblock diff [--exit-code] [options]

Compares the ledger with the IP sets the deployment writes (each family's blocklist
sets together, since a range may be in any of them, and each shared IP set), with the
blocker's own reconcile plan, and lists per family or shared set:

  missing         managed ranges the set does not hold: the next run adds them
  extra managed   entries the next run removes: blocks that have ended, and ranges
                  that give way to more recent ones in a full set
  does not fit    managed ranges for which full sets (${count.format(IP_SET_CAPACITY)} entries each) have no room
  foreign         entries waf-autoblock did not add (by hand, another tool, or there
                  before it blocked the range): never removed by it

With blocker.neighbourAction CHALLENGE or CAPTCHA each family's neighbour sets are
compared with the ledger's neighbour rows too, and every set's line names its tier
("tier block" or "tier neighbour (CHALLENGE)").

Reads only; the next blocker run (or a ban, unban or flush) brings the sets in step.

Options:
  --exit-code        exit 1 when a set is not in step (like "git diff --exit-code");
                     without it, differences alone leave the exit code at 0
${DEPLOYMENT_HELP}
  -h, --help         show this help

Exit codes: 0 read (in step, or not without --exit-code); 1 not in step with
--exit-code, or a set or the ledger could not be read; 2 usage.

Examples:
  waf-autoblock diff
  waf-autoblock diff --exit-code >/dev/null || echo "IP sets not in step"
`;

export const diffCommand: Command = {
  name: 'diff',
  summary: 'the ledger against the IP sets: missing, extra managed, foreign',
  help: HELP,
  run: runDiff,
};

async function runDiff(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    ...DEPLOYMENT_OPTIONS,
    'exit-code': { type: 'boolean' },
  });
  positionalArguments(positionals, []);
  const deployment = await openDeployment(values, io);
  const now = io.now?.() ?? Date.now();
  let entries: LedgerEntry[];
  try {
    // With a neighbour tier its rows too, which its sets are compared with.
    entries = await activeEntries(deployment, { neighbours: true });
  } catch (error) {
    // Without the ledger every entry would look foreign: no comparison is better than a wrong one.
    throw operatorFailure(error);
  }
  // A family's blocklist (or neighbour) sets are compared together: a range may be in any of them.
  const targets = targetGroups(deployment);
  const { settings } = deployment;
  const results = await Promise.allSettled(targets.map((target) => compareTarget(target, entries, now)));

  const lines: string[] = [];
  const totals = { missing: 0, extra: 0, overflow: 0, foreign: 0, sets: 0, unreadable: 0 };
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      totals.unreadable += 1;
      const target = targets[index];
      const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
      lines.push(`${target === undefined ? 'IP set' : titleOf(target, settings)}: unreadable: ${reason}`);
      return;
    }
    const set = result.value;
    totals.sets += set.sets.length;
    totals.missing += set.missing.length;
    totals.extra += set.extra.length;
    totals.overflow += set.overflow.length;
    totals.foreign += set.foreign.length;
    lines.push(...describeSet(set, titleOf(set.target, settings)));
  });
  const differences = totals.missing + totals.extra + totals.overflow;
  lines.push(
    `Summary: ${plural(totals.sets, 'IP set')} compared with ${rangesCompared(entries, settings)}: ` +
      (differences === 0
        ? 'in step'
        : `${count.format(totals.missing)} missing, ${count.format(totals.extra)} extra managed` +
          (totals.overflow > 0 ? `, ${count.format(totals.overflow)} do not fit` : '')) +
      `; ${count.format(totals.foreign)} foreign.`,
  );
  io.stdout.write(`${lines.join('\n')}\n`);
  if (totals.unreadable > 0) {
    io.stderr.write(`waf-autoblock diff: ${plural(totals.unreadable, 'IP set')} could not be read (see above)\n`);
    return 1;
  }
  return values['exit-code'] === true && differences > 0 ? 1 : 0;
}

/**
 * A group's name on its lines: its label, and with a neighbour tier its tier, so that drift in
 * the neighbour sets is never read as drift in the blocklists (`…, tier neighbour (CHALLENGE)`).
 */
function titleOf(group: TargetGroup, settings: BlockerSettings): string {
  return settings.neighbours === undefined ? group.label : `${group.label}, tier ${tierName(group.tier, settings)}`;
}

/** `3 managed ranges`; with a neighbour tier `3 managed ranges (2 block, 1 neighbour)`. */
function rangesCompared(entries: readonly LedgerEntry[], settings: BlockerSettings): string {
  const ranges = plural(entries.length, 'managed range');
  if (settings.neighbours === undefined) return ranges;
  const neighbours = entries.filter((entry) => tierOf(entry) === 'neighbour').length;
  return `${ranges} (${count.format(entries.length - neighbours)} block, ${count.format(neighbours)} neighbour)`;
}

function describeSet(set: SetComparison, title: string): string[] {
  const inStep = set.missing.length + set.extra.length + set.overflow.length === 0;
  const counts = inStep
    ? `in step, ${count.format(set.managed)} managed, ${count.format(set.foreign.length)} foreign`
    : `${count.format(set.missing.length)} missing, ${count.format(set.extra.length)} extra managed, ` +
      `${set.overflow.length > 0 ? `${count.format(set.overflow.length)} do not fit, ` : ''}${count.format(set.foreign.length)} foreign`;
  const lines = [`${title}, ${plural(set.size, 'entry', 'entries')}: ${counts}`];
  if (set.sets.length > 1) {
    const fills = set.sets.map((fill) => `${fill.target.ref.name} ${count.format(fill.size)}`);
    lines.push(`  entries per set: ${fills.join(', ')} (of ${count.format(IP_SET_CAPACITY)} each)`);
  }
  const section = (title: string, ranges: readonly string[]) => {
    if (ranges.length === 0) return;
    lines.push(`  ${title}:`, ...ranges.map((range) => `    ${range}`));
  };
  section('missing (the next run adds them)', set.missing);
  section('extra managed (the next run removes them)', set.extra);
  section('do not fit (the set is full)', set.overflow);
  section('foreign (not added by waf-autoblock; never removed by it)', set.foreign);
  return lines;
}
