/**
 * Phase 1, read: every source at once, so that all reads together cost one round trip. A target
 * that cannot be read (a blocklist, the allowlist, the ledger) throws before anything is written;
 * an unreadable alarm, rule or shared set is a result, decided on later.
 */
import { readAlarmState, type AlarmState } from '#adapters/alarm';
import type { LedgerIntent } from '#adapters/ledger';
import type { PendingReport } from '#adapters/pending-report';
import { readIpSet, readManagedKeys, type ManagedKeys } from '#adapters/waf';
import type { BlockerSettings } from '#contracts/blocker-environment';
import type { Family, IpSetSnapshot, LedgerEntry } from '#core/types';
import { awaitLists, FAMILIES, message, perList, setsOf, type BlockerDeps, type ListKey, type Trigger } from './types';

/** What judging the rules' keys needs: the part of the reads the run can start deciding on. */
export interface KeyInputs {
  readonly alarmState: AlarmState | 'UNKNOWN';
  /** One per rate rule of the settings, in order (none read when the gate is known closed). */
  readonly keyResults: readonly PromiseSettledResult<ManagedKeys>[];
  readonly allowlists: Readonly<Record<Family, IpSetSnapshot>>;
}

/** Everything a run reads before it decides. */
export interface RunInputs extends KeyInputs {
  /** Every set of each list, in shard order (`setsOf`): none for the neighbour lists without a tier. */
  readonly blocklists: Readonly<Record<ListKey, readonly IpSetSnapshot[]>>;
  /** The ledger's active rows of each list (from the eventually consistent index). */
  readonly ledgerRows: Readonly<Record<ListKey, LedgerEntry[]>>;
  /** One per shared IP set of the settings, in order. */
  readonly sharedResults: readonly PromiseSettledResult<IpSetSnapshot>[];
  /** Write-ahead intents left by runs that did not finish (normally none). */
  readonly intents: readonly LedgerIntent[];
  /**
   * The report an earlier run could not publish, as read in this same wave, so that the report
   * phase costs no round trip of its own. Settled, not thrown: an unreadable pending report fails
   * the run only after its writes (lambdas/blocker/report-delivery.ts). Unset on a dry run, which
   * neither publishes nor clears it.
   */
  readonly pending: PromiseSettledResult<PendingReport | undefined> | undefined;
}

/** The reads of one run, all in flight at once. */
export interface Reads {
  /**
   * The alarm, the rules' keys and the allowlists, as soon as those are in: the run judges the keys
   * while the other reads are in flight.
   * @throws {ReadError} when an allowlist cannot be read.
   */
  readonly forKeys: Promise<KeyInputs>;
  /**
   * Everything.
   * @throws {ReadError} when a blocklist, an allowlist or the ledger (rows or intents) cannot be read.
   */
  readonly all: Promise<RunInputs>;
}

/**
 * Starts reading the alarm, the rules' keys, the IP sets, the ledger and the pending report, all in
 * parallel: one round trip.
 */
export function startReads(deps: BlockerDeps, settings: BlockerSettings, trigger: Trigger): Reads {
  const { waf } = deps;
  const takesKeys = trigger.collectKeys !== false;
  // When our own alarm message says the gate is closed, the rules' keys would be thrown away: save
  // the WAF read quota.
  const gateKnownClosed =
    settings.gate === 'alarm' && trigger.alarmState !== undefined && trigger.alarmState !== 'ALARM';
  const keyReads = Promise.allSettled(
    (gateKnownClosed || !takesKeys ? [] : settings.rateRules).map((ruleName) =>
      readManagedKeys(waf, {
        webAclName: settings.webAclName,
        webAclId: settings.webAclId,
        scope: settings.scope,
        ruleName,
      }),
    ),
  );
  // A shared set that cannot be read gets nothing written this run; it must not stop the blocklists.
  const sharedReads = Promise.allSettled(
    settings.sharedIpSets.map((ref) => readIpSet(deps.wafIn?.(ref.region) ?? waf, ref)),
  );
  const pendingRead = settings.dryRun
    ? Promise.resolve(undefined)
    : Promise.allSettled([deps.pending.read()]).then(([settled]) => settled);
  // Every shard of every list in this same wave: sharding and the neighbour tier cost no round trip.
  const setReads = perList((key) => Promise.all(setsOf(settings, key).map((ref) => readIpSet(waf, ref))));
  const forKeys = Promise.all([
    readGate(deps, settings, trigger),
    keyReads,
    perFamily((family) => readIpSet(waf, settings.allowlist[family])),
  ]).then(([alarmState, keyResults, allowlists]): KeyInputs => ({ alarmState, keyResults, allowlists }));
  const rest = { sharedReads, pendingRead, setReads };
  return { forKeys, all: readAll(deps, settings, trigger, forKeys, rest) };
}

/**
 * Starts the ledger's reads, awaits them with the reads `started` and `forKeys`, then migrates a
 * 0.1.0 table in a quiet run: {@link Reads.all}.
 */
async function readAll(
  deps: BlockerDeps,
  settings: BlockerSettings,
  trigger: Trigger,
  forKeys: Promise<KeyInputs>,
  started: {
    readonly sharedReads: Promise<PromiseSettledResult<IpSetSnapshot>[]>;
    readonly pendingRead: Promise<PromiseSettledResult<PendingReport | undefined> | undefined>;
    readonly setReads: Record<ListKey, Promise<IpSetSnapshot[]>>;
  },
): Promise<RunInputs> {
  const { ledger } = deps;
  const [keyInputs, blocklists, active, neighbours, sharedResults, intents, pending] = await Promise.all([
    forKeys,
    awaitLists(started.setReads),
    ledger.readActive(),
    // Without a neighbour tier its partitions are not even queried.
    settings.neighbours === undefined ? undefined : ledger.readActive(FAMILIES, 'neighbour'),
    started.sharedReads,
    ledger.readIntents(),
    started.pendingRead,
  ]);
  const { keyResults } = keyInputs;
  // The migration's writes would stand between an attack and its first block: only in a quiet run.
  const quiet = intents.length === 0 && (trigger.actions ?? []).length === 0 && keyResults.every(limitsNothing);
  if (!active.sharded && quiet && !settings.dryRun) await shardLegacyRows(deps, active.unsharded);
  const ledgerRows = {
    IPV4: active.rows.IPV4 ?? [],
    IPV6: active.rows.IPV6 ?? [],
    'neighbour#IPV4': neighbours?.rows.IPV4 ?? [],
    'neighbour#IPV6': neighbours?.rows.IPV6 ?? [],
  };
  return { ...keyInputs, blocklists, ledgerRows, sharedResults, intents, pending };
}

/**
 * Migrates a table that a 0.1.0 blocker wrote (or a new one), a slice a quiet run
 * (lambdas/adapters/ledger.ts shardRows).
 * A failure is logged, not thrown: this run read every active row anyway, and the next one retries.
 */
async function shardLegacyRows(deps: BlockerDeps, unsharded: readonly LedgerEntry[]): Promise<void> {
  try {
    const result = await deps.ledger.shardRows(unsharded);
    deps.logger.info('ledger rows of 0.1.0 moved into the sharded index', {
      ...result,
      left: unsharded.length - result.sharded - result.inactive,
    });
  } catch (error) {
    deps.logger.error('could not move ledger rows of 0.1.0 into the sharded index; the next run retries', {
      error: message(error),
    });
  }
}

function limitsNothing(result: PromiseSettledResult<ManagedKeys>): boolean {
  return result.status === 'fulfilled' && result.value.ipv4.length === 0 && result.value.ipv6.length === 0;
}

/** The alarm state, when it decides anything; read only when the trigger did not say it. */
function readGate(deps: BlockerDeps, settings: BlockerSettings, trigger: Trigger): Promise<AlarmState | 'UNKNOWN'> {
  // With gate `always` the alarm decides nothing, so it is not read (nor warned about when unreadable).
  if (trigger.collectKeys === false) return Promise.resolve('UNKNOWN');
  if (trigger.alarmState !== undefined) return Promise.resolve(trigger.alarmState);
  if (settings.gate === 'always') return Promise.resolve('UNKNOWN');
  return readAlarmState(deps.cloudwatch, settings.alarmName).catch((error: unknown) => {
    // The gate is a source: unreadable means no new attackers this run; expiry goes on.
    deps.logger.warn('alarm state unreadable; collecting no new attackers this run', { error: message(error) });
    return 'UNKNOWN' as const;
  });
}

/** Runs `read` for both families at once. */
export async function perFamily<T>(read: (family: Family) => Promise<T>): Promise<Record<Family, T>> {
  const [IPV4, IPV6] = await Promise.all(FAMILIES.map(read));
  return { IPV4: IPV4 as T, IPV6: IPV6 as T };
}
