/**
 * Bans and unbans from the command line, applied by one blocker run (`runBlocker` with an
 * `operator` trigger): the same normalization, allowlist, ledger and lock-safe reconcile as the
 * deployed blocker, with its settings. The run collects no new attackers (no rights on the web
 * ACL's rules needed) but does everything else a run does, expiry and the report included.
 */
import { hostname, userInfo } from 'node:os';
import type { OperatorAction } from '../lambdas/blocker/actions';
import { runBlocker, type RunLogger, type RunSummary } from '../lambdas/blocker/run';
import { withRunLock } from '../lambdas/blocker/run-lock';
import type { CliIo } from './command';
import type { Deployment } from './deployment';
import { operatorFailure } from './deployment';

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
