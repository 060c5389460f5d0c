/**
 * The blocker's report phase: publishes a run's block report so that it always fits one SNS message
 * and is never lost silently. A report SNS does not take is kept in the ledger table (the pending
 * report) and the run still fails; the next run publishes it, merged into its own.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import type { PendingReport, PendingReports } from '#adapters/pending-report';
import { publishReport } from '#adapters/reports';
import { fitReport, mergeReports, type BlockReport, type BlockReportV2 } from '#contracts/report';
import { WriteError } from '#shared/errors';

/** What {@link deliverReport} talks to; the handler creates them once per module. */
export interface ReportDeliveryDeps {
  readonly sns: SNSClient;
  /** The reports topic the notifier subscribes to. */
  readonly topicArn: string;
  /** The pending report in the ledger table (`new PendingReports(ledgerDocumentClient, ledgerTable)`). */
  readonly pending: PendingReports;
}

/** What {@link deliverReport} did. */
export interface ReportDelivery {
  /** A report went out. False only when there was nothing to say: no report given and none pending. */
  readonly published: boolean;
  /** Size of the published message in UTF-8 bytes (at most 245,760); 0 when none went out. */
  readonly bytes: number;
  /** How many earlier runs' reports went out with this one (0: none was pending). */
  readonly merged: number;
}

/**
 * Publishes the run's report, fitted to SNS's limit, together with any report earlier runs could
 * not publish (merged into one: totals summed, the state after this run).
 *
 * - Published: the pending report, if there was one, is cleared.
 * - SNS refused: the merged, fitted report is kept as the pending report in the ledger table, and
 *   the call throws, so that the run fails loudly (the health alarms see it) while the next run
 *   publishes what this one would have said.
 * - A dry run's report is published on its own and never kept: a dry run writes nothing.
 *
 * Call it in every run that is not a dry run, with `undefined` when the run changed nothing: a
 * pending report then goes out without waiting for the next change. It costs one strongly
 * consistent GetItem when nothing is pending.
 *
 * @param report - The run's report; any version (a version 1 report is one run, fully listed).
 * @param now - The run's time, stored with a pending report.
 * @param pendingRead - The pending report as the run already read it (the blocker reads it with its
 *   other reads, so that it costs no round trip of its own); unset: read it now.
 * @throws {WriteError} naming the reports topic when the publish failed (the message says whether
 *   the report was kept for the next run), or naming the pending item when it could not be cleared
 *   after the publish (the next run then publishes it again: a repeat, never a loss).
 * @throws {ReadError} naming the pending item when it could not be read; this run's report has then
 *   been published on its own, and the pending one stays for a later run.
 */
export async function deliverReport(
  deps: ReportDeliveryDeps,
  report: BlockReport | undefined,
  now: Date,
  pendingRead?: () => Promise<PendingReport | undefined>,
): Promise<ReportDelivery> {
  if (report?.dryRun === true) {
    return { published: true, bytes: await publishReport(deps.sns, deps.topicArn, fitReport(report)), merged: 0 };
  }
  const pending = await readPending(deps, report, pendingRead);
  const whole = pending && report ? mergeReports(pending.report, report) : (report ?? pending?.report);
  if (whole === undefined) return { published: false, bytes: 0, merged: 0 };

  const fitted = fitReport(whole);
  let bytes: number;
  try {
    bytes = await publishReport(deps.sns, deps.topicArn, fitted);
  } catch (error) {
    throw await keepForNextRun(deps, fitted, pending, now, error);
  }
  if (pending) await deps.pending.clear(pending.revision);
  return { published: true, bytes, merged: pending?.report.runs ?? 0 };
}

/**
 * The pending report; when it cannot be read, publishes `report` alone and rethrows, so that the
 * notifier still hears of this run and the unread one is neither overwritten nor deleted.
 */
async function readPending(
  deps: ReportDeliveryDeps,
  report: BlockReport | undefined,
  pendingRead: (() => Promise<PendingReport | undefined>) | undefined,
): Promise<PendingReport | undefined> {
  try {
    return await (pendingRead ?? (() => deps.pending.read()))();
  } catch (readError) {
    if (report !== undefined) {
      await publishReport(deps.sns, deps.topicArn, fitReport(report)).catch((error: unknown) => {
        throw new WriteError(
          `reports topic ${deps.topicArn}`,
          `publish failed, and the pending report could not be read to keep this one with it (${messageOf(readError)})`,
          { cause: causeOf(error) },
        );
      });
    }
    throw readError;
  }
}

/** Stores the report SNS refused as the pending one; returns the error the run fails with. */
async function keepForNextRun(
  deps: ReportDeliveryDeps,
  fitted: BlockReportV2,
  pending: PendingReport | undefined,
  now: Date,
  publishError: unknown,
): Promise<WriteError> {
  const resource = `reports topic ${deps.topicArn}`;
  const runs = fitted.runs === 1 ? 'this run' : `${fitted.runs} runs`;
  try {
    await deps.pending.store(fitted, pending?.revision, now);
  } catch (storeError) {
    return new WriteError(
      resource,
      `publish failed, and the report of ${runs} could not be kept (${messageOf(storeError)})`,
      {
        cause: causeOf(publishError),
      },
    );
  }
  return new WriteError(
    resource,
    `publish failed; the report of ${runs} is kept in the ledger table and the next run publishes it`,
    { cause: causeOf(publishError) },
  );
}

/** The SDK's error under publishReport's WriteError, so that the topic is named once. */
function causeOf(error: unknown): unknown {
  return error instanceof WriteError && error.cause !== undefined ? error.cause : error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
