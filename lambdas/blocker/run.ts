/**
 * One blocker run: read everything in parallel, decide with the pure core, then write in the one
 * order that is safe when a write fails half-way:
 *
 * 1. ledger upserts first: a range must be known as ours before it enters an IP set, or a failure
 *    between the two writes would leave an entry nobody would ever expire;
 * 2. the IP sets (lock-safe: a conflict re-reads the set and plans again);
 * 3. expired ledger entries are closed only after their set no longer holds them;
 * 4. the report, when something changed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { readAlarmState, type AlarmState } from '#adapters/alarm';
import type { Ledger } from '#adapters/ledger';
import { publishReport } from '#adapters/reports';
import { describeIpSet, readIpSet, readManagedKeys, updateIpSet } from '#adapters/waf';
import { Allowlist } from '#core/allowlist';
import { mergeSightings } from '#core/merge';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { advanceLedger, indexByRange, type LedgerStep } from '#core/ledger';
import { planLedgerWrites, type LedgerWrites } from '#core/ledger-writes';
import { IP_SET_CAPACITY } from '#contracts/ip-set';
import { asSeenBySet, IpSetIndex, planReconcile, type ReconcilePlan } from '#core/reconcile';
import type { Cidr, Family, IpSetSnapshot, LedgerEntry, Sighting } from '#core/types';
import { IpSetWriteError, ReadError, WriteError } from '#shared/errors';
import { BLOCK_REPORT_KIND, type BlockReport } from '#contracts/report';
import { planActions, withActions, type ActionOutcome, type ActionPlan, type OperatorAction } from './actions';
import type { BlockerSettings, IpSetArnAddress } from '#contracts/blocker-environment';
import { removalsOf, type RangeRemoval, type WrittenSet } from './removals';
import { sampledHosts, type SampledHosts } from './sampled-hosts';

const FAMILIES: readonly Family[] = ['IPV4', 'IPV6'];
/** How many overflowing ranges a report names; the rest are counted. */
const OVERFLOW_SAMPLE = 20;

/** The narrow logger the run needs: the Powertools Logger's leveled methods. */
export type RunLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** The clients and collaborators of a run, created once per module by the handler. */
export interface BlockerDeps {
  readonly waf: WAFV2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  readonly ledger: Ledger;
  readonly logger: RunLogger;
  /**
   * The WAF client for a shared IP set's region; unset: `waf` for every region (tests, one region).
   * The handler creates one client per region, once.
   */
  readonly wafIn?: (region: string) => WAFV2Client;
  /** Backoff between lock conflicts; tests inject a fast one. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** What started the run. */
export interface Trigger {
  /** `feed`: a ban feed message; `operator`: the CLI. */
  readonly kind: 'schedule' | 'alarm' | 'feed' | 'operator' | 'other';
  /** The alarm state the trigger itself told us (an SNS alarm message), so no read is needed. */
  readonly alarmState?: AlarmState;
  /** Bans and unbans to apply in this run, in order (the last one for a range wins). */
  readonly actions?: readonly OperatorAction[];
  /**
   * False: read neither the alarm nor the rate rules' keys; apply the actions and expiry only.
   * The CLI runs this way, so an operator needs no rights on the web ACL's rules.
   * @default true
   */
  readonly collectKeys?: boolean;
}

/** The per-run summary: logged as one line, turned into metrics, returned to the caller. */
export interface RunSummary {
  readonly trigger: Trigger['kind'];
  readonly dryRun: boolean;
  readonly collected: boolean;
  readonly alarmState: AlarmState | 'UNKNOWN';
  readonly keysSeen: number;
  readonly keysRejected: number;
  readonly rejectedByReason: Record<string, number>;
  readonly unreadableRules: string[];
  readonly rangesActive: number;
  /** Entries in each blocklist IP set after this run (as read, for a set whose write failed). */
  readonly blocklistSizes: Readonly<Record<Family, number>>;
  readonly rangesAdded: number;
  readonly rangesExpired: number;
  readonly overflow: number;
  readonly lockConflicts: number;
  readonly ipSetWrites: number;
  readonly ledgerWrites: number;
  /** Sighted ranges whose stored expiry already covered this sighting, so not rewritten (see expiryMargin). */
  readonly ledgerRefreshSkipped: number;
  readonly reported: boolean;
  /** One per action of the trigger, in order. */
  readonly actions: ActionOutcome[];
  /**
   * For each range an unban ended (outcome `unbanned` or `released`), in the order of `actions`:
   * the IP sets this run's writes removed it from, and those it was already absent from.
   */
  readonly removals: RangeRemoval[];
  /** Shared IP sets (by ARN) that could not be read or written this run; empty when all are in step. */
  readonly sharedFailures: string[];
  readonly durationsMs: { readonly read: number; readonly write: number; readonly total: number };
}

interface FamilyPlan {
  readonly family: Family;
  readonly snapshot: IpSetSnapshot;
  readonly step: LedgerStep;
  readonly writes: LedgerWrites;
  plan: ReconcilePlan;
  /** Active ranges another run ended while this one was writing (found after a lock conflict): not put back. */
  readonly withdrawn: Set<Cidr>;
}

/**
 * Runs the blocker once.
 * @throws {ReadError} when an IP set, the allowlist or the ledger cannot be read: nothing is written.
 * @throws {WriteError} when a write fails, after logging what was and was not applied.
 */
export async function runBlocker(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  now: number,
): Promise<RunSummary> {
  const { waf, ledger, logger } = deps;
  const started = Date.now();
  const collectKeys = trigger.collectKeys !== false;
  const wafIn = (region: string): WAFV2Client => deps.wafIn?.(region) ?? waf;

  // ---- Read: every source at once. A target that cannot be read throws before anything is written.
  // With gate `always` the alarm decides nothing, so it is not read (nor warned about when unreadable).
  const alarmRead: Promise<AlarmState | 'UNKNOWN'> = !collectKeys
    ? Promise.resolve('UNKNOWN')
    : trigger.alarmState !== undefined
      ? Promise.resolve(trigger.alarmState)
      : settings.gate === 'always'
        ? Promise.resolve('UNKNOWN')
        : readAlarmState(deps.cloudwatch, settings.alarmName).catch((error: unknown) => {
            // The gate is a source: unreadable means no new attackers this run; expiry goes on.
            logger.warn('alarm state unreadable; collecting no new attackers this run', { error: message(error) });
            return 'UNKNOWN' as const;
          });
  // When our own alarm message says the gate is closed, the rules' keys would be thrown away: save
  // the WAF read quota.
  const gateKnownClosed =
    settings.gate === 'alarm' && trigger.alarmState !== undefined && trigger.alarmState !== 'ALARM';
  const keyReads = Promise.allSettled(
    (gateKnownClosed || !collectKeys ? [] : settings.rateRules).map((ruleName) =>
      readManagedKeys(waf, {
        webAclName: settings.webAclName,
        webAclId: settings.webAclId,
        scope: settings.scope,
        ruleName,
      }),
    ),
  );
  // A shared set that cannot be read gets nothing written this run; it must not stop the blocklists.
  const sharedReads = Promise.allSettled(settings.sharedIpSets.map((ref) => readIpSet(wafIn(ref.region), ref)));
  const [alarmState, keyResults, blocklists, allowlists, ledgerRows, sharedResults] = await Promise.all([
    alarmRead,
    keyReads,
    Promise.all(FAMILIES.map((family) => readIpSet(waf, settings.blocklist[family][0]))),
    Promise.all(FAMILIES.map((family) => readIpSet(waf, settings.allowlist[family]))),
    Promise.all(FAMILIES.map((family) => ledger.activeEntries(family))),
    sharedReads,
  ]);
  const readDone = Date.now();

  // ---- Decide.
  const collected = collectKeys && (settings.gate === 'always' || alarmState === 'ALARM');
  const failures: WriteError[] = [];
  const sharedFailures: string[] = [];
  const shared: SharedTarget[] = [];
  sharedResults.forEach((result, index) => {
    const ref = settings.sharedIpSets[index] as IpSetArnAddress;
    const family = result.status === 'fulfilled' ? result.value.family : undefined;
    if (result.status === 'fulfilled' && family !== undefined) {
      shared.push({ ref, family, snapshot: result.value, index: new IpSetIndex(result.value.addresses) });
      return;
    }
    const cause: unknown =
      result.status === 'rejected' ? result.reason : new Error('GetIPSet returned no IPAddressVersion');
    sharedFailures.push(ref.arn);
    logger.error('shared IP set unreadable; nothing is written to it this run', {
      ipSet: ref.arn,
      error: message(cause),
    });
    failures.push(new WriteError(describeIpSet(ref), 'not updated: the set could not be read', { cause }));
  });
  // Closing an expired entry while a set we could not read may still hold its range would leave
  // that range there, unknown to the ledger, for ever: no expiry is closed in such a run.
  const allSharedRead = sharedFailures.length === 0;
  let allowlist: Allowlist;
  try {
    allowlist = new Allowlist(allowlists.flatMap((set) => set.addresses));
  } catch (cause) {
    throw new ReadError(
      `allowlist IP sets ${describeIpSet(settings.allowlist.IPV4)}, ${describeIpSet(settings.allowlist.IPV6)}`,
      { cause },
    );
  }
  const policy = createNormalizePolicy({ ipv4Prefix: settings.ipv4Prefix, ipv6Prefix: settings.ipv6Prefix, allowlist });

  const unreadableRules: string[] = [];
  const rejectedByReason: Record<string, number> = {};
  const perRule: Sighting[][] = [];
  let keysSeen = 0;
  keyResults.forEach((result, index) => {
    const ruleName = settings.rateRules[index] ?? `rule ${index}`;
    if (result.status === 'rejected') {
      // One unreadable rule must not stop the others, nor expiry.
      unreadableRules.push(ruleName);
      logger.warn('managed keys unreadable; going on with the other rules', {
        rule: ruleName,
        error: message(result.reason),
      });
      return;
    }
    if (!collected) return;
    const keys = [...result.value.ipv4, ...result.value.ipv6];
    keysSeen += keys.length;
    const { sightings, rejected } = normalizeKeys(keys, ruleName, policy);
    perRule.push(sightings);
    for (const { key, reason } of rejected) {
      rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + 1;
      if (reason === 'unparsable') logger.warn('malformed key skipped', { rule: ruleName, key: key.slice(0, 100) });
    }
  });
  const actionPlan = planActions(trigger.actions ?? [], policy, settings.blockDurationMs);
  const sightings = withActions(mergeSightings(perRule), actionPlan, settings.blockDurationMs);

  // The active index is eventually consistent: a range another run recorded a moment ago may be
  // missing from it and would look foreign. Ask the table itself about sighted ranges that are in
  // the set but not in the index (normally none, so normally no extra round trip).
  // Parsed once: for "is this range in the set?" and for the plan.
  const presentByFamily = blocklists.map((snapshot) => new IpSetIndex(snapshot.addresses));
  // Unbanned ranges missing from the index are looked up the same way: unbanning a range that was
  // banned a moment ago must not answer "not blocked".
  const rowsByFamily = await Promise.all(
    FAMILIES.map(async (family, index) => {
      const rows = ledgerRows[index] ?? [];
      const known = new Set(rows.map((row) => row.range));
      const present = presentByFamily[index] ?? new IpSetIndex([]);
      const unsure = sightings
        .filter((s) => s.family === family && present.has(s.range) && !known.has(s.range))
        .map((s) => s.range);
      for (const [range, unbanFamily] of actionPlan.unbans) {
        if (unbanFamily === family && !known.has(range)) unsure.push(range);
      }
      return unsure.length === 0 ? rows : [...rows, ...(await ledger.activeEntriesOf(family, unsure))];
    }),
  );

  // An unban ends the block now: the entry becomes due, and the same path as an expiry removes it.
  const ending: LedgerEntry[] = [];
  const unbanned = new Map<string, LedgerEntry>();
  // A range allowlisted after it was blocked ends the same way: the allowlist wins over any block,
  // in the blocklists and, above all, in shared sets whose web ACLs have no allow rule of ours.
  const checkAllowlist = allowlist.entries.length > 0;
  const allowlisted: string[] = [];
  const rowsAfterUnbans = rowsByFamily.map((rows) =>
    rows.map((row) => {
      const unban = actionPlan.unbans.has(row.range);
      if (unban) unbanned.set(row.range, row);
      else if (!(checkAllowlist && row.expiresAt > now && allowlist.overlaps(row.range))) return row;
      else allowlisted.push(row.range);
      if (row.expiresAt <= now) return row;
      ending.push(row);
      return { ...row, expiresAt: now };
    }),
  );
  if (allowlisted.length > 0) {
    logger.warn('blocked ranges now overlap the allowlist; ending their blocks', {
      count: allowlisted.length,
      ranges: allowlisted.slice(0, OVERFLOW_SAMPLE),
    });
  }

  const plans: FamilyPlan[] = FAMILIES.map((family, index) => {
    const snapshot = blocklists[index] as IpSetSnapshot;
    const present = presentByFamily[index] ?? new IpSetIndex(snapshot.addresses);
    const rows = rowsAfterUnbans[index] ?? [];
    const sharedOfFamily = shared.filter((target) => target.family === family);
    // A set that could not be read is not compared with any range until it can be (see SharedSetsView).
    const step = advanceLedger(
      rows,
      sightings.filter((sighting) => sighting.family === family),
      now,
      settings.blockDurationMs,
      (range) => present.has(range),
      sharedOfFamily.length === 0
        ? undefined
        : {
            readable: sharedOfFamily.map((target) => target.ref.arn),
            holding: (range) =>
              sharedOfFamily.filter((target) => target.index.has(range)).map((target) => target.ref.arn),
          },
    );
    const plan = planReconcile({
      current: present,
      active: step.active,
      expired: step.expired,
      capacity: IP_SET_CAPACITY,
    });
    return {
      family,
      snapshot,
      step,
      plan,
      withdrawn: new Set<Cidr>(),
      writes: planLedgerWrites(indexByRange(rowsByFamily[index] ?? []), step.upserts),
    };
  });
  const outcomes = actionOutcomes(
    actionPlan,
    plans,
    unbanned,
    [...presentByFamily, ...shared.map((t) => t.index)],
    now,
  );

  // Most attacked hosts are only needed for a report; start reading them now, off the critical path.
  const mayReport = plans.some((p) => p.plan.changed || p.step.expired.length > 0);
  const hostsRead: Promise<SampledHosts> = mayReport
    ? sampledHosts(waf, settings, now)
    : Promise.resolve({ hosts: [], unreadable: [] });

  // ---- Write, in the order explained at the top of this module.
  let lockConflicts = 0;
  let ipSetWrites = 0;
  let ledgerWrites = 0;
  const applied: string[] = [];
  // A set whose write fails keeps the size it was read with.
  const finalSizes = new Map<Family, number>(plans.map((p) => [p.family, p.snapshot.addresses.length]));

  // Ranges new to the ledger (or whose ownership changed) are recorded before any set holds them.
  // Unbanned entries are made due first as well: should a set write fail, the next run removes them.
  const firstWrites = plans.flatMap((p) => p.writes.first);
  if (!settings.dryRun && (firstWrites.length > 0 || ending.length > 0)) {
    try {
      const [recorded, ended] = await Promise.all([
        firstWrites.length > 0 ? ledger.upsert(firstWrites) : undefined,
        ending.length > 0 ? ledger.endBlocks(ending, now) : undefined,
      ]);
      if (recorded) {
        ledgerWrites += recorded.written;
        applied.push(`ledger: ${recorded.written} new ranges recorded`);
      }
      if (ended) {
        ledgerWrites += ended.ended;
        applied.push(`ledger: ${ended.ended} blocks ended by unban`);
      }
    } catch (error) {
      logger.error('ledger write failed; IP sets left untouched so that no range enters them unrecorded', {
        error: message(error),
        applied,
      });
      throw error;
    }
  }

  // Refreshing the last-seen time of ranges we already own can go beside the IP set writes.
  const refreshWrites = plans.flatMap((p) => p.writes.refresh);
  const refreshing =
    settings.dryRun || refreshWrites.length === 0
      ? Promise.resolve()
      : ledger.upsert(refreshWrites).then(
          (result) => {
            ledgerWrites += result.written;
            applied.push(`ledger: ${result.written} ranges refreshed`);
          },
          (error: unknown) => {
            failures.push(asWriteError(error, `ledger table ${settings.ledgerTable}`));
          },
        );

  const writeOptions = {
    dryRun: settings.dryRun,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  // A lock conflict means someone else wrote the set since it was read: possibly another run (the
  // CLI runs beside the Lambda) that has just unbanned or expired a range this run still holds as
  // active. Re-planning from the fresh set alone would put that range back, and with its ledger
  // entry closed it would then stay for ever. So the ranges a re-plan would add are first checked
  // against the table itself.
  const recheck =
    (familyPlan: FamilyPlan) =>
    async (current: readonly string[]): Promise<void> => {
      // Only what the re-plan would really add (a full set adds few of the ranges it lacks).
      const toAdd = planReconcile({
        current,
        active: activeNow(familyPlan),
        expired: familyPlan.step.expired,
        capacity: IP_SET_CAPACITY,
      }).added;
      if (toAdd.length === 0) return;
      const stored = await ledger.activeEntriesOf(familyPlan.family, toAdd);
      // Gone from the index, or its block shortened (an unban, on another machine's clock): a block
      // is otherwise only ever extended, so a stored expiry earlier than ours means it was ended.
      const held = indexByRange(activeNow(familyPlan));
      const stillActive = new Set(
        stored
          .filter((entry) => entry.expiresAt >= (held.get(entry.range)?.expiresAt ?? Number.POSITIVE_INFINITY))
          .map((entry) => entry.range),
      );
      const ended = toAdd.filter((range) => !stillActive.has(range));
      for (const range of ended) familyPlan.withdrawn.add(range);
      if (ended.length > 0) {
        logger.warn('ranges ended by another run meanwhile; not put back', { ranges: ended.slice(0, OVERFLOW_SAMPLE) });
      }
    };
  // The blocklists and the shared sets are written side by side: they are independent sets.
  const blocklistWrites = Promise.allSettled(
    plans.map(async (familyPlan) => {
      const ref = settings.blocklist[familyPlan.family][0];
      const update = await updateIpSet(
        waf,
        ref,
        familyPlan.snapshot,
        (current) => {
          // Plan again from whatever the set holds now: after a lock conflict that is a fresh copy.
          familyPlan.plan = planReconcile({
            current,
            active: activeNow(familyPlan),
            expired: familyPlan.step.expired,
            capacity: IP_SET_CAPACITY,
          });
          return familyPlan.plan;
        },
        { ...writeOptions, beforeReplan: recheck(familyPlan) },
      );
      lockConflicts += update.conflicts;
      if (update.written) {
        ipSetWrites += 1;
        applied.push(`${describeIpSet(ref)}: ${update.addresses.length} entries written`);
      }
      finalSizes.set(familyPlan.family, update.addresses.length);
      return familyPlan;
    }),
  );

  // The shared sets get the same ranges, each planned from its own content and ownership.
  const sharedWrites = Promise.allSettled(
    shared.map(async (target) => {
      const familyPlan = plans.find((p) => p.family === target.family) as FamilyPlan;
      const expired = asSeenBySet(familyPlan.step.expired, target.ref.arn);
      // The plan the write carries out: after a lock conflict, the one made from the fresh copy.
      let plan: ReconcilePlan | undefined;
      const update = await updateIpSet(
        wafIn(target.ref.region),
        target.ref,
        target.snapshot,
        (current) => {
          plan = planReconcile({
            current,
            active: asSeenBySet(activeNow(familyPlan), target.ref.arn),
            expired,
            capacity: IP_SET_CAPACITY,
          });
          return plan;
        },
        { ...writeOptions, beforeReplan: recheck(familyPlan) },
      );
      lockConflicts += update.conflicts;
      if (update.written) {
        ipSetWrites += 1;
        applied.push(`${describeIpSet(target.ref)}: ${update.addresses.length} entries written`);
      }
      return { update, plan: plan as ReconcilePlan };
    }),
  );
  const [setResults, sharedResultsWritten] = await Promise.all([blocklistWrites, sharedWrites]);
  const sharedWriteFailed = new Set<Family>();
  sharedResultsWritten.forEach((result, index) => {
    const target = shared[index] as SharedTarget;
    if (result.status === 'fulfilled') return;
    if (result.reason instanceof IpSetWriteError) lockConflicts += result.reason.conflicts;
    sharedFailures.push(target.ref.arn);
    sharedWriteFailed.add(target.family);
    failures.push(asWriteError(result.reason, describeIpSet(target.ref)));
  });

  const closing: Promise<void>[] = [refreshing];
  setResults.forEach((result, index) => {
    const familyPlan = plans[index] as FamilyPlan;
    if (result.status === 'rejected') {
      // Conflicts met before giving up count too: they are what the LockConflicts metric is for.
      if (result.reason instanceof IpSetWriteError) lockConflicts += result.reason.conflicts;
      failures.push(asWriteError(result.reason, describeIpSet(settings.blocklist[familyPlan.family][0])));
      return;
    }
    // Close expired entries only once no set holds them any more (or never held them as ours).
    const expired = familyPlan.step.expired;
    if (settings.dryRun || expired.length === 0) return;
    if (!allSharedRead || sharedWriteFailed.has(familyPlan.family)) return;
    closing.push(
      ledger.markExpired(expired, now).then(
        (result) => {
          ledgerWrites += result.expired;
          applied.push(`ledger: ${result.expired} ${familyPlan.family} ranges closed`);
        },
        (error: unknown) => {
          failures.push(asWriteError(error, `ledger table ${settings.ledgerTable}`));
        },
      ),
    );
  });

  // Report and count only what reached its set: a family whose write failed changed nothing. An
  // expired range that was in the set before we first saw it stays there, so it is not "unblocked".
  const appliedPlans = plans.filter((_, index) => setResults[index]?.status === 'fulfilled');
  // By range, not find() per added range: a full set adds thousands against thousands of rows.
  const added = appliedPlans.flatMap((p) => {
    const activeByRange = indexByRange(p.step.active);
    return p.plan.added.map((range) => ({ range, entry: activeByRange.get(range) }));
  });
  const removedExpired = appliedPlans.flatMap((p) => p.step.expired.filter((entry) => entry.preexisting !== true));
  const overflow = appliedPlans.flatMap((p) => p.plan.overflow);
  // A set that stays full is a metric (Overflow), not a message every five minutes; a report goes
  // out when ranges entered or left a set.
  const changed = added.length > 0 || removedExpired.length > 0 || appliedPlans.some((p) => p.plan.removed.length > 0);

  let reported = false;
  const reporting = changed
    ? (async () => {
        const { hosts: topHosts, unreadable: unsampled } = await hostsRead;
        const report: BlockReport = {
          kind: BLOCK_REPORT_KIND,
          version: 1,
          at: new Date(now).toISOString(),
          webAclName: settings.webAclName,
          dryRun: settings.dryRun,
          collected,
          added: added.map(({ range, entry }) => ({
            range,
            source: entry?.source ?? 'unknown',
            hits: entry?.hits ?? 0,
          })),
          expired: removedExpired.map((entry: LedgerEntry) => ({
            range: entry.range,
            source: entry.source,
            lastSeen: new Date(entry.lastSeen).toISOString(),
          })),
          overflow: { count: overflow.length, sample: overflow.slice(0, OVERFLOW_SAMPLE).map((entry) => entry.range) },
          ipSets: [
            ...plans.map((p) => ({
              name: settings.blocklist[p.family][0].name,
              family: p.family,
              size: finalSizes.get(p.family) ?? p.plan.addresses.length,
              capacity: IP_SET_CAPACITY,
            })),
            ...shared.flatMap((target, index) => {
              const result = sharedResultsWritten[index];
              return result?.status === 'fulfilled'
                ? [
                    {
                      name: `${target.ref.name} (${target.ref.region})`,
                      family: target.family,
                      size: result.value.update.addresses.length,
                      capacity: IP_SET_CAPACITY,
                    },
                  ]
                : [];
            }),
          ],
          topHosts,
          rejectedKeys: rejectedByReason,
          unreadableRules,
        };
        await publishReport(deps.sns, settings.reportsTopicArn, report);
        reported = true;
        // Said only of a report that went out: without one, nobody misses the hosts.
        for (const { rule, error } of unsampled) {
          logger.warn('sampled requests unreadable; the report lists fewer hosts', { rule, error: message(error) });
        }
      })().catch((error: unknown) => {
        failures.push(asWriteError(error, `reports topic ${settings.reportsTopicArn}`));
      })
    : Promise.resolve();

  // hostsRead too: no call may still be in flight when the Lambda freezes.
  await Promise.all([...closing, reporting, hostsRead]);
  const finished = Date.now();

  const summary: RunSummary = {
    trigger: trigger.kind,
    dryRun: settings.dryRun,
    collected,
    alarmState,
    keysSeen,
    keysRejected: Object.values(rejectedByReason).reduce((sum, count) => sum + count, 0),
    rejectedByReason,
    unreadableRules,
    rangesActive: plans.reduce((sum, p) => sum + p.step.active.length - p.plan.overflow.length, 0),
    blocklistSizes: { IPV4: finalSizes.get('IPV4') ?? 0, IPV6: finalSizes.get('IPV6') ?? 0 },
    rangesAdded: added.length,
    rangesExpired: removedExpired.length,
    overflow: overflow.length,
    lockConflicts,
    ipSetWrites,
    ledgerWrites,
    ledgerRefreshSkipped: plans.reduce((sum, p) => sum + p.writes.skipped, 0),
    reported,
    actions: outcomes,
    removals: removalsOf(outcomes, unbanned, writtenSets(settings, appliedPlans, shared, sharedResultsWritten)),
    sharedFailures,
    durationsMs: { read: readDone - started, write: finished - readDone, total: finished - started },
  };

  if (failures.length > 0) {
    logger.error('run failed: some writes were not applied', {
      applied,
      failed: failures.map((failure) => failure.message),
      summary,
    });
    const [first] = failures;
    throw new WriteError(
      failures.map((failure) => failure.resource).join(', '),
      `${failures.length} write(s) failed; applied: ${applied.join('; ') || 'nothing'}`,
      { cause: first },
    );
  }
  return summary;
}

/** The sets whose writes succeeded this run (or would have, on a dry run), with the plans they carried out. */
function writtenSets(
  settings: BlockerSettings,
  appliedPlans: readonly FamilyPlan[],
  shared: readonly SharedTarget[],
  sharedResults: readonly PromiseSettledResult<{ readonly plan: ReconcilePlan }>[],
): WrittenSet[] {
  return [
    ...appliedPlans.map((p) => ({ label: settings.blocklist[p.family][0].name, family: p.family, plan: p.plan })),
    ...shared.flatMap((target, index) => {
      const result = sharedResults[index];
      return result?.status === 'fulfilled'
        ? [
            {
              label: `${target.ref.name} (${target.ref.region})`,
              family: target.family,
              sharedArn: target.ref.arn,
              plan: result.value.plan,
            },
          ]
        : [];
    }),
  ];
}

/** The family's active entries, less those another run ended while this one was writing. */
function activeNow(familyPlan: FamilyPlan): readonly LedgerEntry[] {
  const { withdrawn, step } = familyPlan;
  return withdrawn.size === 0 ? step.active : step.active.filter((entry) => !withdrawn.has(entry.range));
}

/** A shared IP set as read this run. */
interface SharedTarget {
  readonly ref: IpSetArnAddress;
  readonly family: Family;
  readonly snapshot: IpSetSnapshot;
  readonly index: IpSetIndex;
}

/** What became of each action, from the plans of this run (before any write). */
function actionOutcomes(
  plan: ActionPlan,
  plans: readonly FamilyPlan[],
  unbanned: ReadonlyMap<string, LedgerEntry>,
  sets: readonly IpSetIndex[],
  now: number,
): ActionOutcome[] {
  if (plan.resolved.length === 0) return [];
  const upserts = new Map(plans.flatMap((p) => p.step.upserts.map((entry) => [entry.range, entry] as const)));
  return plan.resolved.map((item): ActionOutcome => {
    if (item.kind === 'refused') {
      return { status: 'refused', action: item.action, reason: item.reason, detail: item.detail };
    }
    const range = item.kind === 'ban' ? item.sighting.range : item.range;
    // The last action on a range decides its fate; earlier ones on the same range report that fate.
    const decided = plan.decisive.get(range) ?? item;
    if (decided.kind === 'ban') {
      // Every ban has its upsert; the fallback only keeps the outcome a valid time whatever happens.
      const expiresAt = upserts.get(range)?.expiresAt ?? now + (decided.sighting.durationMs ?? 0);
      return { status: 'banned', action: item.action, range, expiresAt };
    }
    // The range as written first: it is the one the operator named.
    const candidates = item.kind === 'unban' && item.exact !== undefined ? [item.exact, range] : [range];
    for (const candidate of candidates) {
      const row = unbanned.get(candidate);
      if (row !== undefined) {
        const status = row.preexisting === true ? 'released' : 'unbanned';
        return { status, action: item.action, range: candidate };
      }
    }
    const held = candidates.find((candidate) => sets.some((set) => set.has(candidate)));
    return held === undefined
      ? { status: 'not-blocked', action: item.action, range }
      : { status: 'foreign', action: item.action, range: held };
  });
}

function asWriteError(error: unknown, resource: string): WriteError {
  return error instanceof WriteError ? error : new WriteError(resource, 'write failed', { cause: error });
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
