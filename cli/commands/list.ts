/**
 * `waf-autoblock list`: the ranges waf-autoblock blocks right now, from the ledger. `plain` prints
 * nothing but one CIDR per line, for pf, ipset or nftables to load.
 */
import type { LedgerEntry } from '#core/types';
import { parseCommandLine, positionalArguments } from '../arguments';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment, operatorFailure } from '../deployment';
import { UsageError } from '../errors';
import { fromNow, plural, printable, table, utc } from '../format';
import { activeEntries } from '../targets';

const FORMATS = ['table', 'json', 'plain'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: waf-autoblock list [--format table|json|plain] [options]

Lists the ranges waf-autoblock blocks now (the ledger's active entries, IPv4 and
IPv6), earliest expiry first, with their source (the rate rule, cli:<user>, or the
host that pushed the ban), when they were first and last seen, when the block
ends, and why.

Options:
  --format <f>       table (default); json: an array of objects, times in ISO 8601;
                     plain: one CIDR per line and nothing else, for pf, ipset or nftables
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
  const { values, positionals } = parseCommandLine(args, { ...DEPLOYMENT_OPTIONS, format: { type: 'string' } });
  positionalArguments(positionals, []);
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be table, json or plain, got "${format}"`);
  }
  const deployment = await openDeployment(values, io);
  let entries: LedgerEntry[];
  try {
    entries = await activeEntries(deployment);
  } catch (error) {
    throw operatorFailure(error);
  }
  io.stdout.write(render(entries, format as Format, io.now?.() ?? Date.now()));
  return 0;
}

function render(entries: readonly LedgerEntry[], format: Format, now: number): string {
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
    }));
    return `${JSON.stringify(rows, null, 2)}\n`;
  }
  if (entries.length === 0) return 'No range is blocked by waf-autoblock.\n';
  const rows = entries.map((entry) => [
    entry.range,
    `${printable(entry.source)}${entry.preexisting === true ? ' *' : ''}`,
    utc(entry.firstSeen),
    utc(entry.lastSeen),
    `${utc(entry.expiresAt)} (${entry.expiresAt <= now ? 'due' : fromNow(entry.expiresAt, now)})`,
    entry.reason === undefined ? '-' : printable(entry.reason),
  ]);
  const v4 = entries.filter((entry) => entry.family === 'IPV4').length;
  const lines = [
    table(['RANGE', 'SOURCE', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'EXPIRES (UTC)', 'REASON'], rows),
    '',
    `${plural(entries.length, 'range')} blocked: ${v4} IPv4, ${entries.length - v4} IPv6.`,
  ];
  if (entries.some((entry) => entry.preexisting === true)) {
    lines.push('* was in the blocklist before waf-autoblock blocked it: the entry stays when the block ends.');
  }
  if (entries.some((entry) => entry.expiresAt <= now)) {
    lines.push('due: the block has ended; the next blocker run removes the range.');
  }
  return `${lines.join('\n')}\n`;
}
