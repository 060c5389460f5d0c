/**
 * The run's public shapes (deps, trigger, summary) and the state its phases hand to each other.
 * Per-list state is a `Record<ListKey, …>`, never arrays indexed by position. A list is one tier
 * of one family with IP sets of its own: the block tier's lists are keyed by the family alone
 * (`IPV4`), as the run's only lists were before tiers, so a `Record<ListKey, …>` is read by family
 * wherever only the block tier matters (shared sets, metrics); the neighbour tier's are
 * `neighbour#IPV4` and `neighbour#IPV6`, empty (no sets, no rows, no sightings) without a tier.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { AlarmState } from '#adapters/alarm';
import type { Ledger } from '#adapters/ledger';
import type { PendingReports } from '#adapters/pending-report';
import type { BlockerSettings, IpSetAddress, IpSetArnAddress } from '#contracts/blocker-environment';
import type { LedgerStep } from '#core/ledger';
import type { LedgerWrites } from '#core/ledger-writes';
import type { IpSetIndex, ReconcilePlan } from '#core/reconcile';
import type { PlannedShard } from '#core/shard-plan';
import { tierOf, type Cidr, type Family, type IpSetSnapshot, type Tier } from '#core/types';
import { WriteError } from '#shared/errors';
import type { ActionOutcome, OperatorAction } from '#blocker/actions';
import type { RangeRemoval } from '#blocker/removals';

/** Both address families, in the order the run reports them. */
export const FAMILIES: readonly Family[] = ['IPV4', 'IPV6'];

/** One tier of one family: `IPV4` (the block tier) or `neighbour#IPV4`. */
export type ListKey = Family | `neighbour#${Family}`;
/** Every list, in the order the run reports them: the block tier's first, as before tiers. */
export const LISTS: readonly ListKey[] = ['IPV4', 'IPV6', 'neighbour#IPV4', 'neighbour#IPV6'];

/** The list of `family` in `tier`. */
export function listKey(family: Family, tier: Tier = 'block'): ListKey {
  return tier === 'block' ? family : `neighbour#${family}`;
}

/** The list an entry or a sighting belongs to. */
export function listOf(item: { readonly family: Family; readonly tier?: Tier }): ListKey {
  return listKey(item.family, tierOf(item));
}

/** The family of a list. */
export function familyOfList(key: ListKey): Family {
  return key === 'IPV4' || key === 'neighbour#IPV4' ? 'IPV4' : 'IPV6';
}

/** The tier of a list. */
export function tierOfList(key: ListKey): Tier {
  return key === 'IPV4' || key === 'IPV6' ? 'block' : 'neighbour';
}

/** The IP sets of a list, in shard order; none for a neighbour list without a neighbour tier. */
export function setsOf(settings: BlockerSettings, key: ListKey): readonly IpSetAddress[] {
  const family = familyOfList(key);
  if (tierOfList(key) === 'block') return settings.blocklist[family];
  return settings.neighbours?.sets[family] ?? [];
}

/** Waits for every list's promise; the first failure rejects, as `Promise.all` does. */
export async function awaitLists<T>(pending: Readonly<Record<ListKey, Promise<T>>>): Promise<Record<ListKey, T>> {
  const [IPV4, IPV6, n4, n6] = await Promise.all(LISTS.map((key) => pending[key]));
  return { IPV4, IPV6, 'neighbour#IPV4': n4, 'neighbour#IPV6': n6 } as Record<ListKey, T>;
}

/** A record with `make(key)` for every list. */
export function perList<T>(make: (key: ListKey) => T): Record<ListKey, T> {
  return {
    IPV4: make('IPV4'),
    IPV6: make('IPV6'),
    'neighbour#IPV4': make('neighbour#IPV4'),
    'neighbour#IPV6': make('neighbour#IPV6'),
  };
}

/**
 * As {@link perList}, but `make` is called for the lists in ascending order of `size` (how many
 * ranges it will go through; equal sizes in {@link LISTS} order), the biggest list last. The
 * record is the same whatever the order: `make` must not depend on what it made for another list.
 * Why: so that the functions a big list makes hot are not compiled again for the lists after it
 * before the first IP set write (docs/blocker.md, "The biggest list last").
 */
export function perListBiggestLast<T>(size: (key: ListKey) => number, make: (key: ListKey) => T): Record<ListKey, T> {
  const sizes = new Map(LISTS.map((key) => [key, size(key)] as const));
  // Array sort is stable: equal sizes keep LISTS order.
  const order = [...LISTS].sort((a, b) => (sizes.get(a) as number) - (sizes.get(b) as number));
  const made = new Map<ListKey, T>();
  for (const key of order) made.set(key, make(key));
  return perList((key) => made.get(key) as T);
}

/** How many ranges a log line or report names; the rest are counted. */
export const OVERFLOW_SAMPLE = 20;

/** The narrow logger the run needs: the Powertools Logger's leveled methods. */
export type RunLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** The clients and collaborators of a run, created once per module by the handler. */
export interface BlockerDeps {
  readonly waf: WAFV2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  readonly ledger: Ledger;
  /**
   * The report an earlier run could not publish, kept in the ledger table:
   * `new PendingReports(<the ledger's document client>, settings.ledgerTable)`.
   */
  readonly pending: PendingReports;
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
  /** Ranges in a set now, of every list (a range in both tiers counts twice). */
  readonly rangesActive: number;
  /** Entries in each family's blocklist IP sets together after this run (as read, for a set whose write failed). */
  readonly blocklistSizes: Readonly<Record<Family, number>>;
  /** Entries each family's blocklist sets may hold together: sets × IP_SET_CAPACITY. */
  readonly blocklistCapacity: Readonly<Record<Family, number>>;
  /** With a neighbour tier: entries in each family's neighbour sets together after this run. */
  readonly neighbourSizes?: Readonly<Record<Family, number>>;
  /** With a neighbour tier: entries each family's neighbour sets may hold together. */
  readonly neighbourCapacity?: Readonly<Record<Family, number>>;
  readonly rangesAdded: number;
  /** Ranges whose block ended and that left a set this run (itself, or inside an aggregate). */
  readonly rangesExpired: number;
  /** Ranges whose block ended while in no set (overflow, or taken out by hand): not in `rangesExpired`. */
  readonly overflowEnded: number;
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
  /**
   * Milliseconds: `read` until every read was in (the keys are judged meanwhile, so it includes
   * that CPU when the keys come in first), `write` from then to the end, and `total`.
   */
  readonly durationsMs: { readonly read: number; readonly write: number; readonly total: number };
}

/** One blocklist set of a family as read, and its part of the family's plan. */
export interface BlocklistShard {
  readonly snapshot: IpSetSnapshot;
  readonly planned: PlannedShard;
}

/** One list's ledger decision: the step and the rows to write (the plan of its IP sets is in {@link FamilyPlan}). */
export interface FamilyStep {
  readonly family: Family;
  readonly list: ListKey;
  /** Every set of the family taken together: their addresses in shard order (`lockToken` is the first set's). */
  readonly snapshot: IpSetSnapshot;
  /** Every set of the family taken together: a range in any of them is present. */
  readonly present: IpSetIndex;
  readonly step: LedgerStep;
  readonly writes: LedgerWrites;
}

/** One list's ledger step and the plan of its IP sets. */
export interface FamilyPlan extends FamilyStep {
  /** Every set's plan taken together (core/shard-plan combinedPlan). */
  readonly plan: ReconcilePlan;
  /** Per set, in the order of `setsOf(settings, list)`. */
  readonly shards: readonly BlocklistShard[];
}

/** A shared IP set as read this run. */
export interface SharedTarget {
  readonly ref: IpSetArnAddress;
  readonly family: Family;
  readonly snapshot: IpSetSnapshot;
  readonly index: IpSetIndex;
}

/**
 * What a write phase did: the counts it adds to the summary, a line per applied write (for the
 * failure log), and the writes that failed (the run throws after the report).
 */
export interface WriteTally {
  readonly ledgerWrites: number;
  readonly ipSetWrites: number;
  readonly lockConflicts: number;
  readonly applied: readonly string[];
  readonly failures: readonly WriteError[];
}

/** A tally with nothing in it. */
export const NO_WRITES: WriteTally = { ledgerWrites: 0, ipSetWrites: 0, lockConflicts: 0, applied: [], failures: [] };

/** Adds tallies up, keeping the order of their lines and failures. */
export function sumTallies(tallies: readonly WriteTally[]): WriteTally {
  return {
    ledgerWrites: tallies.reduce((sum, t) => sum + t.ledgerWrites, 0),
    ipSetWrites: tallies.reduce((sum, t) => sum + t.ipSetWrites, 0),
    lockConflicts: tallies.reduce((sum, t) => sum + t.lockConflicts, 0),
    applied: tallies.flatMap((t) => t.applied),
    failures: tallies.flatMap((t) => t.failures),
  };
}

/** Active ranges another run ended while this one was writing (found after a lock conflict): not put back. */
export type Withdrawn = Set<Cidr>;

/** `Name: message` of an error, for a log line. */
export function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A failure as the run reports it: a WriteError naming the resource, keeping the cause. */
export function asWriteError(error: unknown, resource: string): WriteError {
  return error instanceof WriteError ? error : new WriteError(resource, 'write failed', { cause: error });
}
