/**
 * Phase: report. Counts only what reached its set (a family whose write failed changed nothing),
 * delivers the block report when ranges entered or left a set (fitted to SNS's limit, merged with
 * a report an earlier run could not publish: lambdas/blocker/report-delivery.ts), and builds the
 * run's summary.
 */
import type { PendingReport } from '#adapters/pending-report';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { ReadError, WriteError } from '#shared/errors';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { BLOCK_REPORT_KIND, type BlockReport } from '#contracts/report';
import { indexByRange } from '#core/ledger';
import { IpSetIndex } from '#core/reconcile';
import type { LedgerEntry, Tier } from '#core/types';
import { deliverReport } from '#blocker/report-delivery';
import type { SampledHosts } from '#blocker/sampled-hosts';
import type { WrittenSet } from '#blocker/removals';
import type { RunDecision } from './decide';
import type { SetWrites } from './write-sets';
import {
  asWriteError,
  LISTS,
  message,
  NO_WRITES,
  OVERFLOW_SAMPLE,
  perList,
  setsOf,
  tierOfList,
  type BlockerDeps,
  type ListKey,
  type WriteTally,
} from './types';

/** What reached the sets this run, as the report and the summary count it. */
export interface RunChanges {
  readonly added: readonly {
    readonly range: string;
    readonly entry: LedgerEntry | undefined;
    readonly tier: Tier;
  }[];
  /** Expired ranges that left a set (not those that were in the set before we first saw them, nor overflow). */
  readonly removedExpired: readonly LedgerEntry[];
  /**
   * Our ranges whose block ended while they were in no set: overflow that never found room (or an
   * entry someone took out by hand). Not expired, since nothing left a set; counted in the summary only.
   */
  readonly overflowEnded: number;
  readonly overflow: readonly LedgerEntry[];
  /** Ranges entered or left a set: a report goes out. A set that stays full is a metric, not a message. */
  readonly changed: boolean;
  /** Entries in each list's sets after the run (as read, for a set whose write failed). */
  readonly sizes: Readonly<Record<ListKey, number>>;
  /** The sets whose writes succeeded (or would have, on a dry run), with the plans they carried out. */
  readonly written: readonly WrittenSet[];
}

/** What the set writes changed. */
export function changesOf(settings: BlockerSettings, decision: RunDecision, writes: SetWrites): RunChanges {
  const applied = LISTS.flatMap((key) => {
    const write = writes.blocklists[key];
    const { family, step } = decision.plans[key];
    return write === undefined ? [] : [{ key, family, step, plan: write.plan }];
  });
  // By range, not find() per added range: a full set adds thousands against thousands of rows.
  const added = applied.flatMap(({ key, step, plan }) => {
    const activeByRange = indexByRange(step.active);
    return plan.added.map((range) => ({ range, entry: activeByRange.get(range), tier: tierOfList(key) }));
  });
  // Expired: left a set, itself or inside an aggregate the write split or removed. A range that
  // ends while in no set (overflow, or taken out by hand) never blocked anything at its end.
  const ended = applied.map(({ step, plan }) => {
    const left = new IpSetIndex([...plan.removed, ...(plan.released ?? [])]);
    const ours = step.expired.filter((entry) => entry.preexisting !== true);
    return { removed: ours.filter((entry) => left.has(entry.range)), outside: ours.filter((e) => !left.has(e.range)) };
  });
  const removedExpired = ended.flatMap(({ removed }) => removed);
  const sizeOf = (key: ListKey) =>
    writes.blocklists[key]?.update.addresses.length ?? decision.plans[key].snapshot.addresses.length;
  return {
    added,
    removedExpired,
    overflowEnded: ended.reduce((sum, { outside }) => sum + outside.length, 0),
    overflow: applied.flatMap(({ plan }) => plan.overflow),
    changed: added.length > 0 || removedExpired.length > 0 || applied.some(({ plan }) => plan.removed.length > 0),
    sizes: perList(sizeOf),
    written: [
      // Set by set, each with its own plan: a range is reported with the set it really left.
      ...applied.flatMap(({ key, family }) =>
        setsOf(settings, key).flatMap((ref, index) => {
          const write = writes.blocklistShards[key][index];
          const tier = tierOfList(key) === 'neighbour' ? { tier: 'neighbour' as const } : {};
          return write === undefined ? [] : [{ label: ref.name, family, ...tier, plan: write.plan }];
        }),
      ),
      ...decision.shared.flatMap((target, index) => {
        const write = writes.shared[index];
        return write === undefined
          ? []
          : [{ label: sharedLabel(target.ref), family: target.family, sharedArn: target.ref.arn, plan: write.plan }];
      }),
    ],
  };
}

/**
 * Delivers the block report when something changed, and otherwise (not on a dry run) a report an
 * earlier run could not publish, so that it goes out without waiting for the next change. Never
 * throws: a failure is in the tally, and the run fails after the sets and the ledger are written.
 * @returns `reported`: a report went out (this run's, an earlier one's, or both merged).
 */
export async function publishChanges(
  deps: BlockerDeps,
  settings: BlockerSettings,
  decision: RunDecision,
  writes: SetWrites,
  changes: RunChanges,
  hostsRead: Promise<SampledHosts>,
  now: number,
  pendingRead?: PromiseSettledResult<PendingReport | undefined>,
): Promise<{ readonly reported: boolean; readonly tally: WriteTally }> {
  // A dry run writes nothing, so it neither publishes nor clears an earlier run's report.
  if (!changes.changed && settings.dryRun) return { reported: false, tally: NO_WRITES };
  try {
    const sampled = changes.changed ? await hostsRead : undefined;
    const report = sampled && blockReport(settings, decision, writes, changes, sampled.hosts, now);
    const topicArn = settings.reportsTopicArn;
    // The pending report as the read phase found it (no round trip here); unset: read it now.
    const readPending =
      pendingRead &&
      (() => {
        if (pendingRead.status === 'fulfilled') return Promise.resolve(pendingRead.value);
        const reason: unknown = pendingRead.reason;
        return Promise.reject(reason instanceof Error ? reason : new Error(String(reason)));
      });
    const delivery = await deliverReport(
      { sns: deps.sns, topicArn, pending: deps.pending },
      report,
      new Date(now),
      readPending,
    );
    // Said only of a report that went out: without one, nobody misses the hosts.
    for (const { rule, error } of sampled?.unreadable ?? []) {
      deps.logger.warn('sampled requests unreadable; the report lists fewer hosts', { rule, error: message(error) });
    }
    if (delivery.merged > 0) {
      deps.logger.info('published the report of earlier runs', { runs: delivery.merged, bytes: delivery.bytes });
    }
    return { reported: delivery.published, tally: NO_WRITES };
  } catch (error) {
    // A pending report that cannot be read is named as such, not as a failed publish.
    const failure =
      error instanceof ReadError
        ? new WriteError(error.resource, "unreadable, so an earlier run's report may not have gone out", {
            cause: error,
          })
        : asWriteError(error, `reports topic ${settings.reportsTopicArn}`);
    return { reported: false, tally: { ...NO_WRITES, failures: [failure] } };
  }
}

/** The run's block report (version 1: this run alone, fully listed; deliverReport fits it). */
function blockReport(
  settings: BlockerSettings,
  decision: RunDecision,
  writes: SetWrites,
  changes: RunChanges,
  topHosts: SampledHosts['hosts'],
  now: number,
): BlockReport {
  return {
    kind: BLOCK_REPORT_KIND,
    version: 1,
    at: new Date(now).toISOString(),
    webAclName: settings.webAclName,
    dryRun: settings.dryRun,
    collected: decision.collected,
    added: changes.added.map(({ range, entry, tier }) => ({
      range,
      source: entry?.source ?? 'unknown',
      hits: entry?.hits ?? 0,
      ...(tier === 'neighbour' ? { tier } : {}),
    })),
    expired: changes.removedExpired.map((entry) => ({
      range: entry.range,
      source: entry.source,
      lastSeen: new Date(entry.lastSeen).toISOString(),
      ...(entry.tier === 'neighbour' ? { tier: entry.tier } : {}),
    })),
    overflow: {
      count: changes.overflow.length,
      sample: changes.overflow.slice(0, OVERFLOW_SAMPLE).map((entry) => entry.range),
    },
    ipSets: [
      // Every set of each list, in shard order: the blocklists first, as before tiers.
      ...LISTS.flatMap((key) =>
        setsOf(settings, key).map((ref, index) => ({
          name: ref.name,
          family: decision.plans[key].family,
          size:
            writes.blocklistShards[key][index]?.update.addresses.length ??
            decision.plans[key].shards[index]?.snapshot.addresses.length ??
            0,
          capacity: IP_SET_CAPACITY,
          ...(tierOfList(key) === 'neighbour' ? { tier: 'neighbour' as const } : {}),
        })),
      ),
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
}

function sharedLabel(ref: { readonly name: string; readonly region: string }): string {
  return `${ref.name} (${ref.region})`;
}
