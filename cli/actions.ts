/**
 * Bans and unbans from the command line, applied by one blocker run (`runBlocker` with an
 * `operator` trigger): the same normalization, allowlist, ledger and lock-safe reconcile as the
 * deployed blocker, with its settings. The run collects no new attackers (no rights on the web
 * ACL's rules needed) but does everything else a run does, expiry and the report included.
 */
import { hostname, userInfo } from 'node:os';
import { PendingReports } from '#adapters/pending-report';
import { planActions, refusal, type OperatorAction } from '#blocker/actions';
import { runBlocker, type RunLogger, type RunSummary } from '#blocker/run';
import { withRunLock } from '#blocker/run-lock';
import { createNormalizePolicy } from '#core/normalize';
import type { CliIo } from './command';
import type { Deployment } from './deployment';
import { operatorFailure } from './deployment';
import { UsageError } from './errors';

/** The ledger source of an operator's action: `cli:<user>`. */
export function operatorSource(io: CliIo): string {
  return `cli:${io.user ?? osUser()}`;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment is the next best witness.
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

/**
 * A deployment that widens nothing and allowlists nothing: what it refuses, every deployment
 * refuses. Widening to a deployment's prefix only makes a range wider (so a non-global range stays
 * non-global, and a too-wide one too wide), and an allowlist only adds refusals.
 */
const ANY_DEPLOYMENT = createNormalizePolicy({ ipv4Prefix: 32, ipv6Prefix: 128 });

/**
 * Refuses, before any AWS call, an action that no deployment would carry out, with the blocker
 * run's own sentence: text that is not an address, a /0, a range too wide for a ban, non-global
 * space. Only the allowlist, which is read from the deployment, is left for the run to apply.
 *
 * @throws {UsageError} (exit code 2) naming the address and why.
 */
export function refuseBeforeLookup(action: OperatorAction): void {
  const [resolved] = planActions([action], ANY_DEPLOYMENT, 0).resolved;
  if (resolved?.kind !== 'refused') return;
  // The run names the range an address widens to; without a deployment there is none to name.
  throw new UsageError(resolved.reason === 'non-global' ? refusal(resolved.reason, action.address) : resolved.detail);
}

/**
 * Applies `actions` in one run.
 * @returns the run's summary: one outcome per action in `summary.actions`, in order.
 * @throws {CommandError} naming the resource when a read or a write fails (after printing the
 *   run's own account of what was and was not applied on stderr).
 */
export async function applyActions(
  deployment: Deployment,
  actions: readonly OperatorAction[],
  io: CliIo,
  command: string,
): Promise<RunSummary> {
  const { clients, settings, ledger } = deployment;
  const owner = `${operatorSource(io)}@${hostname()}:${process.pid}`;
  try {
    // One run at a time with the deployed blocker: an overlapping run could undo this one.
    return await withRunLock(
      ledger,
      owner,
      () =>
        runBlocker(
          {
            waf: clients.waf,
            wafIn: (region) => clients.wafIn(region),
            cloudwatch: clients.cloudwatch,
            sns: clients.sns,
            ledger,
            pending: new PendingReports(clients.dynamo, settings.ledgerTable),
            logger: stderrLogger(io, command),
          },
          settings,
          { kind: 'operator', actions, collectKeys: false },
          io.now?.() ?? Date.now(),
        ),
      {
        waitMs: 60_000,
        onWait: (heldBy, until) =>
          io.stderr.write(
            `waf-autoblock ${command}: waiting for another blocker run (${heldBy}, lease until ${new Date(until).toISOString()})\n`,
          ),
      },
    );
  } catch (error) {
    throw operatorFailure(error);
  }
}

/** The run's warnings and errors as lines on stderr; its info lines are for the Lambda's log only. */
function stderrLogger(io: CliIo, command: string): RunLogger {
  const line =
    (level: string) =>
    (input: unknown, ...extra: unknown[]): void => {
      const text = typeof input === 'string' ? input : (input as { message?: unknown } | null)?.message;
      const message = typeof text === 'string' ? text : '';
      const details = extra
        .flatMap((item) => (item !== null && typeof item === 'object' && !(item instanceof Error) ? [item] : []))
        .map((item) =>
          // The summary is the command's own output; repeating it here is noise.
          Object.fromEntries(Object.entries(item).filter(([key]) => key !== 'summary')),
        )
        .filter((item) => Object.keys(item).length > 0)
        .map((item) => JSON.stringify(item));
      io.stderr.write(`waf-autoblock ${command}: ${level}: ${[message, ...details].join(' ')}\n`);
    };
  return { info: () => undefined, warn: line('warning'), error: line('error') };
}
