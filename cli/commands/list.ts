/**
 * `waf-autoblock list`: the ranges waf-autoblock blocks right now, from the ledger. `plain` prints
 * nothing but one CIDR per line, for pf, ipset or nftables to load.
 */
import { tierOf, type LedgerEntry } from '#core/types';
import { parseCommandLine, positionalArguments } from '../arguments';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment, operatorFailure } from '../deployment';
import { CommandError, UsageError } from '../errors';
import { fromNow, plural, printable, table, utc } from '../format';
import { tierWords } from '../outcomes';
import { activeEntries } from '../targets';

const FORMATS = ['table', 'json', 'plain'] as const;
type Format = (typeof FORMATS)[number];

const TIERS = ['block', 'neighbour', 'all'] as const;
type TierFilter = (typeof TIERS)[number];

const HELP = `Usage: waf-autoblock list [--format table|json|plain] [--tier block|neighbour|all] [options]

Lists the ranges waf-autoblock blocks now (the ledger's active entries, IPv4 and
IPv6), earliest expiry first, with their source (the rate rule, cli:<user>, or the
host that pushed the ban), when they were first and last seen, when the block
ends, and why. With blocker.neighbourAction CHALLENGE or CAPTCHA it also lists
the neighbour ranges (challenged, or shown a CAPTCHA, not blocked), with a TIER column.

Options:
  --format <f>       table (default); json: an array of objects, times in ISO 8601
                     (with a neighbour tier each has "tier": "block" or "neighbour");
                     plain: one CIDR per line and nothing else, for pf, ipset or nftables
                     (the blocked ranges only, unless --tier says otherwise)
  --tier <t>         block, neighbour or all: which tier to list (default: all, or
                     block with --format plain: pf and nftables cannot challenge)
${DEPLOYMENT_HELP}
  -h, --help         show this help

Examples:
  waf-autoblock list
  waf-autoblock list --format plain > /etc/pf.waf-autoblock
  waf-autoblock list --format json | jq -r '.[] | select(.source | startswith("cli:")) | .range'
`;

export const listCommand: Command = {
  name: 'list',
  summary: 'the ranges blocked now, with source, first and last seen, expiry and reason',
  help: HELP,
  run: runList,
};

async function runList(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    ...DEPLOYMENT_OPTIONS,
    format: { type: 'string' },
    tier: { type: 'string' },
  });
  positionalArguments(positionals, []);
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be table, json or plain, got "${format}"`);
  }
  const tier = values.tier ?? (format === 'plain' ? 'block' : 'all');
  if (!(TIERS as readonly string[]).includes(tier)) {
    throw new UsageError(`--tier must be block, neighbour or all, got "${printable(tier)}"`);
  }
  const deployment = await openDeployment(values, io);
  const tiered = deployment.settings.neighbours !== undefined;
  if (tier === 'neighbour' && !tiered) {
    throw new CommandError(
      `--tier neighbour: stack ${deployment.stackName} has no neighbour sets (blocker.neighbourAction is BLOCK)`,
    );
  }
  let entries: LedgerEntry[];
  try {
    entries = await activeEntries(deployment, { neighbours: tier !== 'block' });
  } catch (error) {
    throw operatorFailure(error);
  }
  const listed = entries.filter((entry) => tier === 'all' || tierOf(entry) === tier);
  const view: TableView = {
    showTier: tiered && (tier as TierFilter) === 'all',
    // The footer says what the listed tier does: a neighbour range is challenged (or shown a CAPTCHA), not blocked.
    done: tierWords(tier === 'neighbour' ? 'neighbour' : 'block', deployment.settings).done,
    neighboursDone: tierWords('neighbour', deployment.settings).done,
  };
  io.stdout.write(render(listed, format as Format, io.now?.() ?? Date.now(), view));
  return 0;
}

/** How the table is drawn: with a TIER column (every tier listed), and the words for what each tier does. */
interface TableView {
  readonly showTier: boolean;
  /** What the listed ranges get, when one tier is listed: `blocked`, `challenged`, `shown a CAPTCHA`. */
  readonly done: string;
  /** What the neighbour tier's ranges get, for the footer of a list of both tiers. */
  readonly neighboursDone: string;
}

function render(entries: readonly LedgerEntry[], format: Format, now: number, view: TableView): string {
  const { showTier } = view;
  if (format === 'plain') return entries.map((entry) => `${entry.range}\n`).join('');
  if (format === 'json') {
    const rows = entries.map((entry) => ({
      range: entry.range,
      family: entry.family,
      source: entry.source,
      firstSeen: new Date(entry.firstSeen).toISOString(),
      lastSeen: new Date(entry.lastSeen).toISOString(),
      expiresAt: new Date(entry.expiresAt).toISOString(),
      hits: entry.hits,
      reason: entry.reason ?? null,
      preexisting: entry.preexisting === true,
      sharedPreexisting: entry.sharedPreexisting ?? [],
      ...(showTier ? { tier: tierOf(entry) } : {}),
    }));
    return `${JSON.stringify(rows, null, 2)}\n`;
  }
  if (entries.length === 0) return `No range is ${view.done} by waf-autoblock.\n`;
  const rows = entries.map((entry) => [
    ...(showTier ? [tierOf(entry)] : []),
    entry.range,
    `${printable(entry.source)}${entry.preexisting === true ? ' *' : ''}`,
    utc(entry.firstSeen),
    utc(entry.lastSeen),
    `${utc(entry.expiresAt)} (${entry.expiresAt <= now ? 'due' : fromNow(entry.expiresAt, now)})`,
    entry.reason === undefined ? '-' : printable(entry.reason),
  ]);
  const v4 = entries.filter((entry) => entry.family === 'IPV4').length;
  const headers = ['RANGE', 'SOURCE', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'EXPIRES (UTC)', 'REASON'];
  const neighbours = entries.filter((entry) => tierOf(entry) === 'neighbour').length;
  const lines = [
    table(showTier ? ['TIER', ...headers] : headers, rows),
    '',
    showTier
      ? `${plural(entries.length - neighbours, 'range')} blocked, ${plural(neighbours, 'range')} ${view.neighboursDone} (neighbour): ${v4} IPv4, ${entries.length - v4} IPv6.`
      : `${plural(entries.length, 'range')} ${view.done}: ${v4} IPv4, ${entries.length - v4} IPv6.`,
  ];
  if (entries.some((entry) => entry.preexisting === true)) {
    lines.push('* was in the blocklist before waf-autoblock blocked it: the entry stays when the block ends.');
  }
  if (entries.some((entry) => entry.expiresAt <= now)) {
    lines.push('due: the block has ended; the next blocker run removes the range.');
  }
  return `${lines.join('\n')}\n`;
}
