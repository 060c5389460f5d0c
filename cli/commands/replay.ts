/**
 * `waf-autoblock replay <log>`: what would the configured rate rules, and then the blocker, have
 * blocked in this WAF log? Offline: reads a file, needs no AWS account.
 */
import { resolve } from 'node:path';
import { createNormalizePolicy, type NormalizePolicy } from '#core/normalize';
import { ANTI_DDOS_GROUP } from '#config/anti-ddos';
import { rateRuleForwardedIp } from '#config/forwarded-ip';
import { CONTEXT_KEY, FILE_CONTEXT_KEY } from '#config/load';
import type { WafAutoblockConfig } from '#config/schema';
import { parseCommandLine } from '../arguments';
import type { CliIo, Command } from '../command';
import { readConfig } from '../config';
import { CommandError, UsageError } from '../errors';
import { plural } from '../format';
import { formatJson, formatTable, summaryLine, warningLines } from '../replay/format';
import { noRecordsMessage } from '../replay/log-shape';
import { replayLog } from '../replay/replay';
import { MAX_REORDER_WINDOW_SECONDS, type SimulatedRule } from '../replay/simulator';
import { logName } from '../replay/log-text';
import { damageMessage, LogReadError, STDIN_PATH, type ReadStats } from '../replay/waf-log';

const WINDOWS = [60, 120, 300, 600] as const;

const HELP = `Usage: waf-autoblock replay <log file> [options]

Replays an AWS WAF log through the configured rate-based rules, and prints the
ranges the blocker would have blocked, from when, by which rule, and with how
many requests. Offline: no AWS account needed.

The log must hold every request, not only blocked ones: with the default
logging filter (actions: ["BLOCK"]) WAF keeps only what it already blocked.

Arguments:
  <log file>         a file, a pipe (/dev/stdin, a FIFO), or - for stdin; plain or
                     gzipped, told by content, not by name:
                     - JSON lines as WAF writes them to S3, Firehose or CloudWatch
                       Logs, also after a timestamp (aws logs tail, S3 exports)
                     - a CloudWatch Logs Insights export (Download table (JSON))
                     - aws logs filter-log-events output (pages may follow each other)
                     A file with no WAF record at all is an error (exit 1). Lines
                     that are no WAF record, records whose timestamp is not epoch
                     milliseconds from 2015 to 2099 (a number, or digits in a
                     string; an ISO time is refused), and entries over 16 MiB are
                     skipped, counted and reported on stderr by line number. A
                     record whose httpRequest.requestId was read within the
                     reorder window is a duplicate: dropped, counted, reported.
                     A damaged gzip file (cut short, followed by other bytes,
                     corrupt) is replayed up to the damage, which is reported
                     on stderr (exit 3).

Options:
  --config <file>    JSON config merged over cdk.json's "${CONTEXT_KEY}" context, as
                     "cdk deploy -c ${FILE_CONTEXT_KEY}=<file>" does (cdk.json is read from the
                     current directory, else the one shipped with waf-autoblock)
  --limit <n>        simulate only the first rate rule, with this limit (10 to 2000000000)
  --window <s>       simulate only the first rate rule, with this window: 60, 120, 300 or 600
  --prefix <n>       widen IPv4 keys to this prefix, 8 to 32 (default: blocker.ipv4Prefix)
  --prefix6 <n>      widen IPv6 keys to this prefix, 32 to 128 (default: blocker.ipv6Prefix)
  --reorder-window <s>
                     count a record at its own time if it comes at most this many
                     seconds after a later one, 0 to 86400 (default: 300 for JSON
                     lines, the whole file for a JSON document); later ones are
                     counted earlier than they were made, and reported
  --format <f>       table (default) or json
  --progress         report progress on stderr (default: only when stderr is a terminal)
  -h, --help         show this help

Examples:
  waf-autoblock replay examples/waf-log-sample.jsonl.gz
  waf-autoblock replay examples/waf-log-sample.jsonl.gz --config examples/replay-config.json
  waf-autoblock replay waf.log.gz --limit 500 --window 60 --format json
  aws s3 cp s3://my-waf-logs/2025/03/14/02/log.gz - | waf-autoblock replay -
`;

const OPTIONS = {
  config: { type: 'string' },
  limit: { type: 'string' },
  window: { type: 'string' },
  prefix: { type: 'string' },
  prefix6: { type: 'string' },
  format: { type: 'string' },
  'reorder-window': { type: 'string' },
  progress: { type: 'boolean' },
} as const;

/** What starts every line replay writes to stderr, as it starts the errors that main prints. */
const PREFIX = 'waf-autoblock replay: ';

/** The exit code of a replay that read a damaged gzip file: what it printed holds for the lines read only. */
const EXIT_DAMAGED = 3;

/** How often progress is printed at most, in milliseconds. */
const PROGRESS_INTERVAL_MS = 1000;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a WAF log through the rate rules: what would have been blocked',
  help: HELP,
  run: runReplay,
};

async function runReplay(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [logFile, ...extra] = positionals;
  if (logFile === undefined) throw new UsageError('missing the <log file> argument');
  // An empty path would resolve to the working directory.
  // parseCommandLine has trimmed it (lambdas/core/value-space).
  if (logFile === '') throw new UsageError('the <log file> argument is empty');
  if (extra.length > 0)
    throw new UsageError(`expected one <log file>, got ${positionals.length}: ${positionals.join(' ')}`);
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, got "${format}"`);
  const limit = integerFlag('--limit', values.limit, 10, 2_000_000_000);
  const window = integerFlag('--window', values.window, 60, 600);
  if (window !== undefined && !(WINDOWS as readonly number[]).includes(window)) {
    throw new UsageError(`--window must be one of ${WINDOWS.join(', ')}, got ${window}`);
  }
  const prefix = integerFlag('--prefix', values.prefix, 8, 32);
  const prefix6 = integerFlag('--prefix6', values.prefix6, 32, 128);
  const reorderWindowSeconds = integerFlag('--reorder-window', values['reorder-window'], 0, MAX_REORDER_WINDOW_SECONDS);

  const config = await readConfig(io.cwd, values.config);
  const rules = simulatedRules(config, limit, window);
  const policy: NormalizePolicy = createNormalizePolicy({
    ipv4Prefix: prefix ?? config.blocker.ipv4Prefix,
    ipv6Prefix: prefix6 ?? config.blocker.ipv6Prefix,
    allowlist: config.allowlist,
  });

  const showProgress = values.progress === true || io.stderr.isTTY === true;
  let lastProgress = Date.now();
  const onProgress = showProgress
    ? (stats: Readonly<ReadStats>) => {
        const now = Date.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        // A pipe or stdin has no size to measure progress against.
        const share =
          stats.fileBytes > 0 ? ` (${Math.floor((100 * stats.bytesRead) / stats.fileBytes)}% of the file)` : '';
        io.stderr.write(`${PREFIX}${plural(stats.records, 'record')} read${share}\n`);
      }
    : undefined;

  let result;
  try {
    result = await replayLog(logFile === STDIN_PATH ? STDIN_PATH : resolve(io.cwd, logFile), rules, policy, {
      onProgress,
      progressEvery: 10_000,
      reorderWindowSeconds,
      // The group runs before the rate rules: what it ended never reached them (lib/blocklist-web-acl).
      ...(config.managedRuleGroups.includes(ANTI_DDOS_GROUP) ? { labellingGroup: ANTI_DDOS_GROUP } : {}),
    });
  } catch (error) {
    if (error instanceof LogReadError) throw new CommandError(error.message, { cause: error });
    throw error;
  }
  const { damage } = result.read;
  // A file damaged before its first whole line is damaged, not empty: one line saying so (exit 1).
  if (damage !== undefined && damage.lines === 0)
    throw new CommandError(
      `${logName(logFile)}: the gzip data is ${damage.gzip.kind === 'trailing' ? 'followed by bytes that are not gzip' : damage.gzip.kind}` +
        `${damage.gzip.reason === '' ? '' : ` (${damage.gzip.reason})`} before its first whole line: no WAF record could be read`,
    );
  if (damage !== undefined) io.stderr.write(`${PREFIX}${damageMessage(logName(logFile), damage)}\n`);
  // Nothing to replay is not "nothing would have been blocked": say what the file is instead.
  if (result.read.records === 0) {
    throw new CommandError(noRecordsMessage(logName(logFile), result.read));
  }
  for (const warning of warningLines(result, logName(logFile))) io.stderr.write(`${PREFIX}warning: ${warning}\n`);
  if (format === 'json') {
    io.stdout.write(formatJson(result));
    io.stderr.write(`${PREFIX}${summaryLine(result)}\n`);
  } else {
    io.stdout.write(formatTable(result));
  }
  return damage === undefined ? 0 : EXIT_DAMAGED;
}

function integerFlag(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** The configured rate rules, or the first one alone with --limit / --window applied. */
function simulatedRules(config: WafAutoblockConfig, limit?: number, window?: number): SimulatedRule[] {
  // Only FORWARDED_IP rules read the header, and the configuration refuses them without forwardedIp.
  const forwardedIpHeader = config.forwardedIp?.headerName ?? '';
  // The fallback the stack writes into the rule's ForwardedIPConfig, from the same function.
  const rules: SimulatedRule[] = config.rateRules.map((rule) =>
    rule.aggregateKey === 'FORWARDED_IP'
      ? { ...rule, forwardedIpHeader, forwardedIpFallback: rateRuleForwardedIp(config.forwardedIp).fallbackBehavior }
      : { ...rule, forwardedIpHeader },
  );
  if (limit === undefined && window === undefined) return rules;
  const [first] = rules;
  if (first === undefined) throw new CommandError('the configuration has no rate rule to simulate');
  return [{ ...first, limit: limit ?? first.limit, windowSeconds: window ?? first.windowSeconds }];
}
