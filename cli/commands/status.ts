/**
 * `waf-autoblock status`: is the deployment under attack, is it healthy, how full are its IP sets,
 * what expires next, and what did the blocker's last run do? Reads only. Every part is read on its
 * own: one that cannot be read is shown as unreadable, the others are still shown, and the exit
 * code is 1. Alarm states (attack or health) do not change the exit code.
 */
import { readAlarmState } from '#adapters/alarm';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { tierOf, type LedgerEntry } from '#core/types';
import { HEALTH_ALARM_INFIX } from '#contracts/health';
import { parseCommandLine, positionalArguments } from '../arguments';
import type { CliIo, Command } from '../command';
import { DEPLOYMENT_HELP, DEPLOYMENT_OPTIONS, OUTPUT, openDeployment, type Deployment } from '../deployment';
import { count, fromNow, plural, printable, span, table, utc } from '../format';
import { DEAD_LETTER_QUEUE_OUTPUT, readDeadLetterDepth, type DeadLetterDepth } from '../dead-letters';
import { namePrefixOfWebAcl, readHealthAlarms, type HealthAlarmState } from '../health-alarms';
import { LAST_RUN_WINDOW_MS, readLastRun, type LastRun } from '../last-run';
import {
  activeEntries,
  compareTarget,
  familyName,
  IP_SET_CAPACITY,
  listName,
  targetGroups,
  type SetComparison,
  type SetFill,
} from '../targets';

/** How many of the next expiries are shown. */
const NEXT_EXPIRIES = 5;

const HELP = `Usage: waf-autoblock status [options]

Shows the alarm's state, the health alarms' states (healthy, or which are in
ALARM), how many events wait in the dead-letter queue, each family's blocklist against its capacity across its IP sets, each
blocklist IP set (and shared IP set) against its capacity of
${count.format(IP_SET_CAPACITY)} entries with how many entries waf-autoblock manages there, the next
${NEXT_EXPIRIES} blocks to expire, and the blocker's last run in the past ${LAST_RUN_WINDOW_MS / 60_000} minutes (from its
log). With blocker.neighbourAction CHALLENGE or CAPTCHA the neighbour sets are
shown too (each family's against its capacity, each set with a TIER column) and
the next expiries are of both tiers. Reads only. A part that cannot be read is
shown as unreadable, with the reason; the other parts are still shown, and the
exit code is then 1. Alarms in ALARM do not change the exit code.

Options:
${DEPLOYMENT_HELP}
  -h, --help         show this help

Examples:
  waf-autoblock status
  waf-autoblock status --stack ShopWaf --region eu-west-1
`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'alarm state, health alarms, dead letters, IP sets against capacity, next expiries, the last run',
  help: HELP,
  run: runStatus,
};

/** A part of the report: its lines, or why it could not be read. */
type Part = { readonly lines: string[]; readonly unreadable: boolean };

async function runStatus(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, DEPLOYMENT_OPTIONS);
  positionalArguments(positionals, []);
  const deployment = await openDeployment(values, io);
  const now = io.now?.() ?? Date.now();
  const { settings } = deployment;

  // With a neighbour tier its rows too: its sets are compared with them, and they expire as well.
  const entriesRead = activeEntries(deployment, { neighbours: true });
  const namePrefix = namePrefixOfWebAcl(settings.webAclName) ?? deployment.stackName;
  const [alarm, health, deadLetters, entries, sets, lastRun] = await Promise.allSettled([
    readAlarmState(deployment.clients.cloudwatch, settings.alarmName),
    readHealthAlarms(deployment.clients.cloudwatch, namePrefix),
    deadLettersOf(deployment),
    entriesRead,
    Promise.allSettled(
      targetGroups(deployment).map(async (group) => compareTarget(group, await entriesRead.catch(() => []), now)),
    ),
    lastRunOf(deployment, now),
  ]);

  const parts: Part[] = [
    {
      lines: [
        `Stack ${deployment.stackName} in ${deployment.region}: web ACL ${settings.webAclName} (${settings.scope}), ` +
          `gate ${settings.gate}, blocks last ${span(settings.blockDurationMs)} after a range was last seen` +
          (settings.dryRun ? '; DRY RUN: the blocker writes nothing' : ''),
      ],
      unreadable: false,
    },
    alarm.status === 'fulfilled'
      ? { lines: [`Alarm ${settings.alarmName}: ${alarm.value}`], unreadable: false }
      : unreadable(`Alarm ${settings.alarmName}`, alarm.reason),
    health.status === 'fulfilled' ? healthPart(health.value, namePrefix, now) : unreadable('Health', health.reason),
    deadLetters.status === 'fulfilled'
      ? deadLettersPart(deadLetters.value)
      : unreadable('Dead-letter queue', deadLetters.reason),
    ipSetsPart(sets.status === 'fulfilled' ? sets.value : [], entries.status === 'fulfilled', settings),
    entries.status === 'fulfilled'
      ? expiriesPart(entries.value, now, settings.neighbours !== undefined)
      : unreadable(`Ledger table ${settings.ledgerTable}`, entries.reason),
    lastRun.status === 'fulfilled'
      ? lastRunPart(lastRun.value, now, settings.dryRun)
      : unreadable('Last run', lastRun.reason),
  ];
  io.stdout.write(`${parts.flatMap((part) => part.lines).join('\n')}\n`);
  const failed = parts.filter((part) => part.unreadable).length;
  if (failed > 0) {
    io.stderr.write(`waf-autoblock status: ${plural(failed, 'part')} could not be read (see above)\n`);
    return 1;
  }
  return 0;
}

/** The log group output is only needed here: a missing one makes this part unreadable, not the command. */
async function lastRunOf(deployment: Deployment, now: number): Promise<LastRun | undefined> {
  return readLastRun(deployment.clients.logs, deployment.output(OUTPUT.blockerLogGroup), now);
}

/** The queue output is only needed here: a missing one makes this part unreadable, not the command. */
async function deadLettersOf(deployment: Deployment): Promise<DeadLetterDepth> {
  return readDeadLetterDepth(deployment.clients.sqs, deployment.output(DEAD_LETTER_QUEUE_OUTPUT));
}

/** How many events wait in the dead-letter queue: each one failed for good and needs a person. */
function deadLettersPart({ queueName, waiting, inFlight }: DeadLetterDepth): Part {
  const name = printable(queueName);
  if (waiting === 0 && inFlight === 0) return { lines: [`Dead-letter queue ${name}: empty`], unreadable: false };
  const said = [
    ...(waiting > 0 ? [`${plural(waiting, 'event')} that failed for good ${waiting === 1 ? 'waits' : 'wait'}`] : []),
    ...(inFlight > 0 ? [`${count.format(inFlight)} being read (received, not deleted)`] : []),
  ];
  return {
    lines: [
      `Dead-letter queue ${name}: ${said.join(', ')}; ` +
        'read them with aws sqs receive-message (docs/operations.md, "The dead-letter queue")',
    ],
    unreadable: false,
  };
}

function unreadable(what: string, reason: unknown): Part {
  return {
    lines: [`${what}: unreadable: ${reason instanceof Error ? reason.message : String(reason)}`],
    unreadable: true,
  };
}

/** What INSUFFICIENT_DATA means, under the table when an alarm is in it. */
const INSUFFICIENT_DATA_NOTE =
  'INSUFFICIENT_DATA: too few data points to decide; normal for a few minutes after a deploy, ' +
  'later the function or queue the alarm watches may be gone';
/** Longest alarm reason shown. */
const REASON_SHOWN = 200;

/**
 * The health alarms: a summary line ("healthy", or which are in ALARM, without data, or missing),
 * then one line per alarm with its state and since when, the reason of each in ALARM, and what
 * INSUFFICIENT_DATA means when one is in it.
 */
function healthPart(alarms: readonly HealthAlarmState[], namePrefix: string, now: number): Part {
  const kinds = (state: string | undefined): string[] =>
    alarms.filter((alarm) => alarm.state === state).map((alarm) => alarm.kind);
  const [alarming, insufficient, missing] = [kinds('ALARM'), kinds('INSUFFICIENT_DATA'), kinds(undefined)];
  if (missing.length === alarms.length) {
    return {
      lines: [
        `Health: no health alarms found (looked for ${printable(namePrefix)}${HEALTH_ALARM_INFIX}<kind>); ` +
          'the stack was deployed before they existed: redeploy it ("npx cdk deploy")',
      ],
      unreadable: false,
    };
  }
  const summary = [
    alarming.length > 0
      ? `${plural(alarming.length, 'health alarm')} in ALARM: ${alarming.join(', ')}`
      : 'no health alarm in ALARM',
    ...(insufficient.length > 0
      ? [`${count.format(insufficient.length)} without data: ${insufficient.join(', ')}`]
      : []),
    ...(missing.length > 0 ? [`${count.format(missing.length)} not found (redeploy): ${missing.join(', ')}`] : []),
  ];
  const healthy = alarming.length === 0 && insufficient.length === 0 && missing.length === 0;
  const rows = alarms.map((alarm) => [
    printable(alarm.alarmName),
    alarm.state === undefined ? 'not found' : printable(alarm.state),
    alarm.since === undefined ? '' : `${utc(alarm.since)} (${fromNow(alarm.since, now)})`,
  ]);
  const reasons = alarms
    .filter((alarm) => alarm.state === 'ALARM' && alarm.reason !== undefined)
    .map((alarm) => `  ${alarm.kind}: ${printable(cut(alarm.reason ?? '', REASON_SHOWN))}`);
  return {
    lines: [
      `Health: ${healthy ? `healthy (all ${count.format(alarms.length)} health alarms OK)` : summary.join('; ')}`,
      ...table(['HEALTH ALARM', 'STATE', 'SINCE (UTC)'], rows)
        .split('\n')
        .map((line) => `  ${line}`),
      ...reasons,
      ...(insufficient.length > 0 ? [`  ${INSUFFICIENT_DATA_NOTE}`] : []),
    ],
    unreadable: false,
  };
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Each family's blocklist against its capacity across its sets (`IPv4 blocklist: 12,345 / 20,000
 * in 2 sets`), with a neighbour tier each family's neighbour sets the same way (`IPv4 neighbour
 * sets (CHALLENGE): …`), then a table of every set, shared sets included, with a TIER column when
 * there is a neighbour tier.
 */
function ipSetsPart(
  results: readonly PromiseSettledResult<SetComparison>[],
  ledgerRead: boolean,
  settings: BlockerSettings,
): Part {
  const tiered = settings.neighbours !== undefined;
  const rows: string[][] = [];
  const totals: string[] = [];
  const failures: string[] = [];
  for (const result of results) {
    if (result.status === 'rejected') {
      failures.push(`  ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
      continue;
    }
    const comparison = result.value;
    if (comparison.target.sharedArn === undefined) totals.push(...listTotals(comparison, ledgerRead, settings));
    rows.push(...comparison.sets.map((set) => setRow(set, comparison, ledgerRead, tiered)));
  }
  const lines = ['IP sets:', ...totals];
  if (rows.length > 0) {
    const header = ['IP SET', ...(tiered ? ['TIER'] : []), 'FAMILY', 'ENTRIES', 'FULL', 'MANAGED', 'FOREIGN'];
    const numeric = header.map((title) => ['ENTRIES', 'FULL', 'MANAGED', 'FOREIGN'].includes(title));
    lines.push(
      ...table(header, rows, numeric)
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  if (failures.length > 0) lines.push('  unreadable:', ...failures.map((failure) => `  ${failure}`));
  return { lines, unreadable: failures.length > 0 };
}

/** One list's fill across its sets, and how many ranges its entries hold when aggregates make them differ. */
function listTotals(comparison: SetComparison, ledgerRead: boolean, settings: BlockerSettings): string[] {
  const { target, family, size, capacity, sets, managed, rangesHeld } = comparison;
  const action = target.tier === 'neighbour' && settings.neighbours ? ` (${settings.neighbours.action})` : '';
  const lines = [
    `  ${listName(family, target.tier)}${action}: ${count.format(size)} / ${count.format(capacity)} in ${plural(sets.length, 'set')} (${percent(size, capacity)} full)`,
  ];
  // Aggregates (lossless, docs/blocker.md): entries and the ledger's ranges differ.
  if (ledgerRead && rangesHeld !== managed) {
    lines.push(`    ${count.format(managed)} managed entries hold ${plural(rangesHeld, 'managed range')} (aggregates)`);
  }
  return lines;
}

/** One set's row of the table; the TIER cell only when the deployment has a neighbour tier. */
function setRow(set: SetFill, { family, target }: SetComparison, ledgerRead: boolean, tiered: boolean): string[] {
  const where = set.target.sharedRegion === undefined ? '' : ` (shared, ${set.target.sharedRegion})`;
  return [
    `${set.target.ref.name}${where}`,
    ...(tiered ? [target.tier] : []),
    familyName(family),
    `${count.format(set.size)} / ${count.format(IP_SET_CAPACITY)}`,
    percent(set.size, IP_SET_CAPACITY),
    ledgerRead ? count.format(set.managed) : '?',
    ledgerRead ? count.format(set.size - set.managed) : '?',
  ];
}

function percent(part: number, whole: number): string {
  return `${Math.floor((100 * part) / whole)}%`;
}

/** The next ranges to expire; with a neighbour tier, of both tiers, with a TIER column. */
function expiriesPart(entries: readonly LedgerEntry[], now: number, tiered: boolean): Part {
  if (entries.length === 0) return { lines: ['Next expiries: none: waf-autoblock blocks no range'], unreadable: false };
  const next = entries.slice(0, NEXT_EXPIRIES);
  const rows = next.map((entry) => [
    ...(tiered ? [tierOf(entry)] : []),
    entry.range,
    `${utc(entry.expiresAt)} (${entry.expiresAt <= now ? 'due: removed on the next run' : fromNow(entry.expiresAt, now)})`,
    printable(entry.source),
  ]);
  return {
    lines: [
      `Next expiries (${next.length} of ${plural(entries.length, 'managed range')}):`,
      ...table([...(tiered ? ['TIER'] : []), 'RANGE', 'EXPIRES (UTC)', 'SOURCE'], rows)
        .split('\n')
        .map((line) => `  ${line}`),
    ],
    unreadable: false,
  };
}

function lastRunPart(run: LastRun | undefined, now: number, dryRun: boolean): Part {
  if (run === undefined) {
    return { lines: [`Last run: no run in the last ${LAST_RUN_WINDOW_MS / 60_000} minutes`], unreadable: false };
  }
  const when = `${utc(run.at)} (${fromNow(run.at, now)})`;
  if (run.failed) return { lines: [`Last run: ${when} FAILED: ${printable(run.error)}`], unreadable: false };
  const s = run.summary;
  const n = (key: string): string => (typeof s[key] === 'number' ? count.format(s[key]) : '?');
  const list = (key: string): string[] => (Array.isArray(s[key]) ? s[key].map((item) => printable(String(item))) : []);
  const durations = s.durationsMs as { total?: unknown } | undefined;
  const word = (key: string): string => (typeof s[key] === 'string' ? printable(s[key]) : '?');
  const lines = [
    `Last run: ${when}, trigger ${word('trigger')}, alarm ${word('alarmState')}` +
      `${s.collected === true ? ', collected new attackers' : ''}${s.dryRun === true || dryRun ? ', dry run' : ''}`,
    `  ranges: ${n('rangesActive')} active, ${n('rangesAdded')} added, ${n('rangesExpired')} expired, ${n('overflow')} overflow`,
    `  keys: ${n('keysSeen')} seen, ${n('keysRejected')} refused; writes: ${n('ipSetWrites')} IP set, ${n('ledgerWrites')} ledger; ` +
      `lock conflicts: ${n('lockConflicts')}` +
      (typeof durations?.total === 'number' ? `; ${count.format(durations.total)} ms` : ''),
  ];
  const rules = list('unreadableRules');
  if (rules.length > 0) lines.push(`  unreadable rate rules: ${rules.join(', ')}`);
  const shared = list('sharedFailures');
  if (shared.length > 0) lines.push(`  shared IP sets not updated: ${shared.join(', ')}`);
  return { lines, unreadable: false };
}
