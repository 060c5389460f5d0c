/**
 * `waf-autoblock ban <ip|cidr>`: block a range now, the way the blocker blocks an attacker, with a
 * duration and a reason of the operator's choosing.
 */
import { MAX_REASON_LENGTH, reasonProblem, WIDEST_PREFIX, type ActionOutcome, type BanAction } from '#blocker/actions';
import { planActions } from '#blocker/actions';
import { readRange } from '#core/address-verdict';
import { Allowlist } from '#core/allowlist';
import { parseRange } from '#core/ip-parse';
import { collapseToPrefix } from '#core/network-range';
import type { Cidr } from '#core/types';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { ReadError } from '#shared/errors';
import { trimSurroundingSpace } from '#core/value-space';
import { createNormalizePolicy } from '#core/normalize';
import { readConfig } from '../config';
import { parseCommandLine, positionalArguments } from '../arguments';
import { applyActions, operatorSource, refuseBeforeLookup } from '../actions';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment, type Deployment } from '../deployment';
import { MAX_BAN_MINUTES, parseDuration } from '../duration';
import { CommandError, UsageError } from '../errors';
import { count, fromNow, plural, printable, span, utc } from '../format';
import { blocklistOf, DRY_RUN_NOTE, onlyOutcome, refusedError, setsOf, tierSetsOf, tierWords } from '../outcomes';
import { readTargetRange } from '../targets';

const HELP = `Usage: waf-autoblock ban <ip|cidr> [--for <duration>] [--reason <text>] [options]

Blocks an address or range now, in the deployment's blocklist and every shared IP
set, exactly as the blocker blocks an attacker: an address is widened to the
deployment's prefix (blocker.ipv4Prefix, ipv6Prefix: /24 and /64 by default), and
an allowlisted, non-global (private, loopback, documentation, ...), /0 or too wide
range is refused. The ledger records the range with the source cli:<user>; the
block ends --for after now, or later if the range was already blocked for longer.
The run also does what every blocker run does: blocks that ran out are lifted and
a report goes to the reports topic when something changed.

Arguments:
  <ip|cidr>          an IPv4 or IPv6 address or CIDR range, e.g. 45.33.12.7 or 2a01:4f8:1:2::/64

Options:
  --for <duration>   how long: 90m, 24h, 7d, 2w, or a plain number of minutes; 1 minute
                     to ${count.format(MAX_BAN_MINUTES / 1440)} days (default: the deployment's blocker.blockDurationMinutes)
  --reason <text>    why, shown by "list" and in the report: one line of at most
                     ${MAX_REASON_LENGTH} characters (code points; no control characters)
  --tier <t>         block (default): the Block sets; neighbour: the neighbour sets, whose
                     rule challenges (or shows a CAPTCHA to) the range instead of blocking it;
                     only for a deployment with blocker.neighbourAction CHALLENGE or CAPTCHA
${DEPLOYMENT_HELP}
  -h, --help         show this help

Exit codes: 0 blocked; 1 allowlisted (by the local config, said before any AWS
call, or by the deployment; the message names why) or failed; 2 usage, or an
address no deployment blocks (not an address, a /0, host bits set, too wide, not
globally routable), said before any AWS call.

Examples:
  waf-autoblock ban 45.33.12.7 --for 24h --reason "credential stuffing, ticket 4711"
  waf-autoblock ban 2a01:4f8:1:2::/64 --for 7d
  waf-autoblock ban 85.255.232.0/24 --tier neighbour --reason "mobile carrier, challenge only"
`;

/** `--tier`, read. @throws {UsageError} for anything but block or neighbour. */
function readTier(text: string | undefined): 'block' | 'neighbour' {
  if (text === undefined || text === 'block' || text === 'neighbour') return text ?? 'block';
  throw new UsageError(`--tier must be block or neighbour, got "${printable(text)}"`);
}

/**
 * The `--reason` text, trimmed by the whitespace rule of every value (lambdas/core/value-space):
 * the rule is the feed's too ({@link reasonProblem}).
 *
 * @throws {UsageError} when it is empty, too long, or holds a control or bidi formatting character.
 */
function readReason(text: string): string {
  const reason = trimSurroundingSpace(text);
  if (reason === '') throw new UsageError('--reason must not be empty');
  const problem = reasonProblem(reason);
  if (problem !== undefined) throw new UsageError(`--reason ${problem}`);
  return reason;
}

/**
 * A range with host bits set whose network a ban would refuse as too wide (`1.2.3.4/8`): both
 * problems in one line, so that the network is not suggested only to be refused next.
 *
 * @throws {UsageError} when the text has host bits set and its network is wider than a ban may name.
 */
function refuseTooWideNetwork(text: string): void {
  const reading = readRange(text);
  if (reading.problem !== 'host-bits' || reading.network === undefined) return;
  const network = reading.network;
  const family = network.includes(':') ? 'IPV6' : 'IPV4';
  const widest = WIDEST_PREFIX.ban[family];
  if (Number(network.slice(network.lastIndexOf('/') + 1)) >= widest) return;
  throw new UsageError(
    `<ip|cidr> "${printable(text)}" has host bits set, and its network ${network} is wider than /${widest}, ` +
      `the widest ${family === 'IPV4' ? 'IPv4' : 'IPv6'} range a ban may name: never blocked`,
  );
}

/**
 * Refuses, before any AWS call (credentials included), a ban of a range that the local config's
 * `allowlist` (cdk.json's context, then `--config`) holds: widened to the config's
 * `blocker.ipv4Prefix` / `ipv6Prefix` and judged as the blocker judges it. The deployed allowlist
 * is still applied by the run: it may hold entries added by hand.
 *
 * @throws {CommandError} (exit 1) naming the range and the allowlist entry it overlaps.
 */
async function refuseLocallyAllowlisted(action: BanAction, cwd: string, configFile: string | undefined): Promise<void> {
  const config = await readConfig(cwd, configFile);
  const policy = createNormalizePolicy({
    ipv4Prefix: config.blocker.ipv4Prefix,
    ipv6Prefix: config.blocker.ipv6Prefix,
    allowlist: config.allowlist,
  });
  const [resolved] = planActions([action], policy, 0).resolved;
  if (resolved?.kind !== 'refused' || resolved.reason !== 'allowlisted') return;
  // The range the ban widens to, as a deployment without an allowlist would block it.
  const widening = createNormalizePolicy({ ipv4Prefix: policy.ipv4Prefix, ipv6Prefix: policy.ipv6Prefix });
  const range = planActions([action], widening, 0).bans[0]?.range;
  const entry = config.allowlist.find((cidr) => range !== undefined && new Allowlist([cidr]).overlaps(range));
  const written = trimSurroundingSpace(action.address);
  const what = range === undefined || range === written ? written : `${written} (range ${range})`;
  const source = configFile === undefined ? 'cdk.json' : `${configFile} over cdk.json`;
  throw new CommandError(
    `refused: ${what} overlaps allowlist entry ${entry ?? 'unknown'} of the config (${source}): never blocked`,
  );
}

export const banCommand: Command = {
  name: 'ban',
  summary: 'block an address or range now, as the blocker would',
  help: HELP,
  run: runBan,
};

/** What the operator asked for, beside the run's outcome: the lines of a ban are about both. */
interface BanRequest {
  /** The address or range as written, trimmed. */
  readonly written: string;
  readonly source: string;
  readonly reason: string | undefined;
  /** The duration asked for, in ms (the deployment's default when `--for` was not given). */
  readonly asked: number;
  readonly now: number;
}

/**
 * What a ban did, in the tier's words: `Banned ... In IP set blocklist-v4-1.` for the block tier;
 * `Challenged ...` or `Showing a CAPTCHA to ...` and the neighbour set for the neighbour tier, as
 * `list` says it; and whether the range was already in that tier for longer.
 */
function bannedLines(
  outcome: ActionOutcome & { status: 'banned' },
  request: BanRequest,
  settings: BlockerSettings,
): string[] {
  const { written, source, reason, asked, now } = request;
  const neighbours = outcome.tier === 'neighbour' ? settings.neighbours : undefined;
  const widened = outcome.range === written ? '' : ` (${printable(written)} widened)`;
  const headline =
    neighbours === undefined ? 'Banned' : neighbours.action === 'CAPTCHA' ? 'Showing a CAPTCHA to' : 'Challenged';
  const lines = [
    `${headline} ${outcome.range}${widened} until ${utc(outcome.expiresAt)} (${fromNow(outcome.expiresAt, now)}).`,
    `  Source ${printable(source)}${reason === undefined ? '' : `; reason: ${printable(reason)}`}.`,
    neighbours === undefined
      ? `  In ${setsOf(outcome.range, settings)}.`
      : `  In ${tierSetsOf(outcome.range, settings, 'neighbour')}, whose rule's action is ${neighbours.action}.`,
  ];
  if (outcome.expiresAt > now + asked) {
    const extended = neighbours === undefined ? 'a block is extended' : 'its time in the neighbour tier is extended';
    const done = tierWords(neighbours === undefined ? 'block' : 'neighbour', settings).done;
    lines.push(`  It was already ${done} until later than the ${span(asked)} asked for: ${extended}, never shortened.`);
  }
  return lines;
}

/**
 * The block tier's active range that holds all of `range` (the same range, or a wider one), if
 * any: the Block sets' rule comes before the neighbour rule, so such a range stays blocked whatever
 * the neighbour tier says. A narrower block-tier range inside it (the offender's own /32) is the
 * tier working as meant, and is not returned.
 */
async function blockTierRangeCovering(deployment: Deployment, range: Cidr): Promise<Cidr | undefined> {
  const inner = parseRange(range);
  if (inner === undefined) return undefined;
  const entries = await deployment.ledger.activeEntries(inner.family, 'block');
  return entries.find((entry) => {
    const outer = parseRange(entry.range);
    return (
      outer !== undefined &&
      outer.family === inner.family &&
      outer.prefix <= inner.prefix &&
      collapseToPrefix(inner, outer.prefix).cidr === outer.cidr
    );
  })?.range;
}

/**
 * After a neighbour-tier ban: a line when the block tier blocks all of `range` anyway, none when
 * it does not. The ban is done by then, so a ledger that cannot be read is said, not a failure.
 */
async function blockTierNote(deployment: Deployment, range: Cidr): Promise<string[]> {
  let blocking: Cidr | undefined;
  try {
    blocking = await blockTierRangeCovering(deployment, range);
  } catch (error) {
    if (!(error instanceof ReadError)) throw error;
    return [`  Could not check whether the Block sets block ${range} too: ${error.message}.`];
  }
  return blocking === undefined ? [] : [stillBlockedLine(range, blocking, deployment.settings)];
}

/** Said after a neighbour-tier ban of a range that the block tier blocks all of. */
function stillBlockedLine(range: Cidr, blocking: Cidr, settings: BlockerSettings): string {
  const held = blocking === range ? `${range} is also` : `${range} is inside ${blocking}, which is`;
  const sets = blocklistOf(blocking, settings);
  const done = tierWords('neighbour', settings).done;
  return (
    `  It stays blocked too: ${held} in ${sets}, whose rule comes before the neighbour rule; ` +
    `to have it only ${done}, unban ${blocking} (an unban ends both tiers) and ban it again with --tier neighbour.`
  );
}

async function runBan(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    ...DEPLOYMENT_OPTIONS,
    for: { type: 'string' },
    reason: { type: 'string' },
    tier: { type: 'string' },
  });
  const [address = ''] = positionalArguments(positionals, ['<ip|cidr>']);
  refuseTooWideNetwork(address);
  readTargetRange(address); // a wrong address is a usage error, said before any AWS call
  const durationMinutes = values.for === undefined ? undefined : parseDuration('--for', values.for);
  const reason = values.reason === undefined ? undefined : readReason(values.reason);
  const tier = readTier(values.tier);

  const source = operatorSource(io);
  const action: BanAction = {
    action: 'ban',
    address,
    source,
    ...(durationMinutes === undefined ? {} : { durationMinutes }),
    ...(reason === undefined ? {} : { reason }),
    ...(tier === 'neighbour' ? { tier } : {}),
  };
  refuseBeforeLookup(action);
  await refuseLocallyAllowlisted(action, io.cwd, values.config);

  const deployment = await openDeployment(values, io);
  const { settings } = deployment;
  if (tier === 'neighbour' && settings.neighbours === undefined) {
    throw new CommandError(
      `--tier neighbour: stack ${deployment.stackName} has no neighbour sets (blocker.neighbourAction is BLOCK); ban without --tier to block the range`,
    );
  }
  const now = io.now?.() ?? Date.now();
  const summary = await applyActions(deployment, [action], { ...io, now: () => now }, 'ban');
  const outcome = onlyOutcome(summary.actions, 'ban');
  if (outcome.status === 'refused') throw refusedError(outcome);
  if (outcome.status !== 'banned') {
    throw new CommandError(`the blocker run answered "${outcome.status}" to a ban of ${address}`);
  }

  const asked = durationMinutes === undefined ? settings.blockDurationMs : durationMinutes * 60_000;
  const lines = bannedLines(outcome, { written: trimSurroundingSpace(address), source, reason, asked, now }, settings);
  if (outcome.tier === 'neighbour') lines.push(...(await blockTierNote(deployment, outcome.range)));
  if (summary.overflow > 0) {
    lines.push(
      `  Warning: ${plural(summary.overflow, 'managed range')} did not fit into a full IP set; the most recently seen are kept.`,
    );
  }
  if (settings.dryRun) lines.push(DRY_RUN_NOTE);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
