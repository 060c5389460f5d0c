/**
 * Phase: report. Counts only what reached its set (a family whose write failed changed nothing),
 * publishes the block report when ranges entered or left a set, and builds the run's summary.
 */
import { publishReport } from '#adapters/reports';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { BLOCK_REPORT_KIND, type BlockReport } from '#contracts/report';
import { indexByRange } from '#core/ledger';
import type { Family, LedgerEntry } from '#core/types';
import type { SampledHosts } from '#blocker/sampled-hosts';
import type { WrittenSet } from '#blocker/removals';
import type { RunDecision } from './decide';
import type { SetWrites } from './write-sets';
import {
  asWriteError,
  FAMILIES,
  message,
  NO_WRITES,
  OVERFLOW_SAMPLE,
  type BlockerDeps,
  type WriteTally,
} from './types';

/** What reached the sets this run, as the report and the summary count it. */
export interface RunChanges {
  readonly added: readonly { readonly range: string; readonly entry: LedgerEntry | undefined }[];
  /** Expired ranges that left a set (not those that were in the set before we first saw them). */
  readonly removedExpired: readonly LedgerEntry[];
  readonly overflow: readonly LedgerEntry[];
  /** Ranges entered or left a set: a report goes out. A set that stays full is a metric, not a message. */
  readonly changed: boolean;
  /** Entries in each blocklist after the run (as read, for a set whose write failed). */
  readonly sizes: Readonly<Record<Family, number>>;
  /** The sets whose writes succeeded (or would have, on a dry run), with the plans they carried out. */
  readonly written: readonly WrittenSet[];
}

/** What the set writes changed. */
export function changesOf(settings: BlockerSettings, decision: RunDecision, writes: SetWrites): RunChanges {
  const applied = FAMILIES.flatMap((family) => {
    const write = writes.blocklists[family];
    return write === undefined ? [] : [{ family, step: decision.plans[family].step, plan: write.plan }];
  });
  // By range, not find() per added range: a full set adds thousands against thousands of rows.
  const added = applied.flatMap(({ step, plan }) => {
    const activeByRange = indexByRange(step.active);
    return plan.added.map((range) => ({ range, entry: activeByRange.get(range) }));
  });
  const removedExpired = applied.flatMap(({ step }) => step.expired.filter((entry) => entry.preexisting !== true));
  const sizeOf = (family: Family) =>
    writes.blocklists[family]?.update.addresses.length ?? decision.plans[family].snapshot.addresses.length;
  return {
    added,
    removedExpired,
    overflow: applied.flatMap(({ plan }) => plan.overflow),
    changed: added.length > 0 || removedExpired.length > 0 || applied.some(({ plan }) => plan.removed.length > 0),
    sizes: { IPV4: sizeOf('IPV4'), IPV6: sizeOf('IPV6') },
    written: [
      ...applied.map(({ family, plan }) => ({ label: settings.blocklist[family][0].name, family, plan })),
      ...decision.shared.flatMap((target, index) => {
        const write = writes.shared[index];
        return write === undefined
          ? []
          : [{ label: sharedLabel(target.ref), family: target.family, sharedArn: target.ref.arn, plan: write.plan }];
      }),
    ],
  };
}

/** Publishes the block report when something changed; never throws (a failure is in the tally). */
export async function publishChanges(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  writes: SetWrites,
  changes: RunChanges,
  hostsRead: Promise<SampledHosts>,
  now: number,
): Promise<{ readonly reported: boolean; readonly tally: WriteTally }> {
  if (!changes.changed) return { reported: false, tally: NO_WRITES };
  try {
    const { hosts: topHosts, unreadable: unsampled } = await hostsRead;
    const report: BlockReport = {
      kind: BLOCK_REPORT_KIND,
      version: 1,
      at: new Date(now).toISOString(),
      webAclName: settings.webAclName,
      dryRun: settings.dryRun,
      collected: decision.collected,
      added: changes.added.map(({ range, entry }) => ({
        range,
        source: entry?.source ?? 'unknown',
        hits: entry?.hits ?? 0,
      })),
      expired: changes.removedExpired.map((entry) => ({
        range: entry.range,
        source: entry.source,
        lastSeen: new Date(entry.lastSeen).toISOString(),
      })),
      overflow: {
        count: changes.overflow.length,
        sample: changes.overflow.slice(0, OVERFLOW_SAMPLE).map((entry) => entry.range),
      },
      ipSets: [
        ...FAMILIES.map((family) => ({
          name: settings.blocklist[family][0].name,
          family,
          size: changes.sizes[family],
          capacity: IP_SET_CAPACITY,
        })),
        ...decision.shared.flatMap((target, index) => {
          const write = writes.shared[index];
          return write === undefined
            ? []
            : [
                {
                  name: sharedLabel(target.ref),
                  family: target.family,
                  size: write.update.addresses.length,
                  capacity: IP_SET_CAPACITY,
                },
              ];
        }),
      ],
      topHosts,
      rejectedKeys: decision.rejectedByReason,
      unreadableRules: decision.unreadableRules,
    };
    await publishReport(deps.sns, settings.reportsTopicArn, report);
    // Said only of a report that went out: without one, nobody misses the hosts.
    for (const { rule, error } of unsampled) {
      deps.logger.warn('sampled requests unreadable; the report lists fewer hosts', { rule, error: message(error) });
    }
    return { reported: true, tally: NO_WRITES };
  } catch (error) {
    return {
      reported: false,
      tally: { ...NO_WRITES, failures: [asWriteError(error, `reports topic ${settings.reportsTopicArn}`)] },
    };
  }
}

function sharedLabel(ref: { readonly name: string; readonly region: string }): string {
  return `${ref.name} (${ref.region})`;
}
