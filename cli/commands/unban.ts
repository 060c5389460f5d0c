/**
 * `waf-autoblock unban <ip|cidr>`: end a block now. Only what waf-autoblock put into an IP set is
 * removed; an entry added by a person or another tool is left alone and named as such.
 */
import { parseCommandLine, positionalArguments } from '../arguments';
import { refusal, type UnbanAction } from '#blocker/actions';
import { isNonGlobal } from '#core/special-purpose';
import { trimSurroundingSpace } from '#core/value-space';
import { applyActions, operatorSource, refuseBeforeLookup } from '../actions';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, openDeployment } from '../deployment';
import { CommandError, UsageError } from '../errors';
import { DRY_RUN_NOTE, onlyOutcome, refusedError, removalSentence, tierSetsOf, tierWords } from '../outcomes';
import { readTargetRange } from '../targets';

const HELP = `Usage: waf-autoblock unban <ip|cidr> [options]

Ends a block now: the range leaves the deployment's blocklist and every shared IP
set waf-autoblock put it in, and its ledger entry is closed; the output names the
sets it was removed from, and any set that no longer held it (removed by hand or by
another tool: nothing to remove there). An address is widened
to the deployment's prefix first, as "ban" does. Entries waf-autoblock did not add
(by hand, by another tool) are never removed: for such a range unban fails and says
where it is. A range that was in the blocklist before waf-autoblock blocked it is
released: no longer managed, but its entry stays. The allowlist does not apply: a
range blocked before it was allowlisted can still be unbanned.

Arguments:
  <ip|cidr>          an IPv4 or IPv6 address or CIDR range

Options:
${DEPLOYMENT_HELP}
  -h, --help         show this help

Exit codes: 0 unbanned, released, or not blocked (nothing to do); 1 the entry is
not waf-autoblock's (foreign), or a failure; 2 usage, or an address waf-autoblock
never blocks (not an address, not globally routable), said before any AWS call.

Examples:
  waf-autoblock unban 45.33.12.7
  waf-autoblock unban 2a01:4f8:1:2::/64 --stack ShopWaf --region eu-west-1
`;

export const unbanCommand: Command = {
  name: 'unban',
  summary: 'end a block now (only ranges waf-autoblock added)',
  help: HELP,
  run: runUnban,
};

async function runUnban(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, DEPLOYMENT_OPTIONS);
  const [address = ''] = positionalArguments(positionals, ['<ip|cidr>']);
  const range = readTargetRange(address); // a wrong address is a usage error, said before any AWS call
  // The blocker never blocks a range that touches non-global space, nor the wider one it widens to:
  // there is nothing to look up. Said in ban's words, before any AWS call.
  if (isNonGlobal(range))
    throw new UsageError(`${refusal('non-global', trimSurroundingSpace(address))}, so there is nothing to unban`);
  const action: UnbanAction = { action: 'unban', address, source: operatorSource(io) };
  refuseBeforeLookup(action);
  const deployment = await openDeployment(values, io);
  const { settings } = deployment;
  const summary = await applyActions(deployment, [action], io, 'unban');
  const outcome = onlyOutcome(summary.actions, 'unban');
  const lines: string[] = [];
  switch (outcome.status) {
    case 'refused':
      throw refusedError(outcome);
    case 'foreign': {
      // Shared sets take the block tier only: a neighbour set's entry is in that set alone.
      const where =
        outcome.tier === 'neighbour'
          ? tierSetsOf(outcome.range, settings, 'neighbour')
          : `${tierSetsOf(outcome.range, settings)}${settings.sharedIpSets.length > 0 ? ' or a shared IP set' : ''}`;
      throw new CommandError(
        `${outcome.range} is in ${where} but was not added by waf-autoblock, ` +
          'so it is left alone; remove it where it was added (the AWS WAF console, "aws wafv2 update-ip-set", or the tool that manages it)',
      );
    }
    case 'not-blocked':
      lines.push(`${outcome.range} is not blocked by waf-autoblock: nothing to unban.`);
      break;
    case 'unbanned': {
      // What the run's writes did, set by set: a set someone had already emptied of it is named as such.
      const done = removalSentence(summary.removals, outcome.range);
      lines.push(`Unbanned ${outcome.range}${done === undefined ? '' : `: ${done}`}.`);
      // With a neighbour tier one unban ends the address's own range and the one around it: each is said.
      for (const range of outcome.alsoEnded ?? []) {
        const also = removalSentence(summary.removals, range);
        lines.push(`Also unbanned ${range}${also === undefined ? '' : `: ${also}`}.`);
      }
      break;
    }
    case 'released': {
      const tier = outcome.tier ?? 'block';
      const words = tierWords(tier, settings);
      lines.push(
        `Released ${outcome.range}: waf-autoblock no longer ${words.does} it, but the entry stays in ${tierSetsOf(outcome.range, settings, tier)}: ` +
          `it was there before waf-autoblock ${words.did} it. Remove it where it was added if it should go.`,
      );
      // A shared set, or the other tier, may have held it as waf-autoblock's own: there it goes.
      const done = removalSentence(summary.removals, outcome.range);
      if (done !== undefined) lines.push(`  Where it was waf-autoblock's own: ${done}.`);
      for (const range of outcome.alsoEnded ?? []) {
        const also = removalSentence(summary.removals, range);
        lines.push(`Also unbanned ${range}${also === undefined ? '' : `: ${also}`}.`);
      }
      break;
    }
    case 'banned':
      throw new CommandError(`the blocker run answered "banned" to an unban of ${address}`);
  }
  if (settings.dryRun) lines.push(DRY_RUN_NOTE);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
