/**
 * Turns the keys the simulator limited into what the blocker would have done with them: the same
 * {@link normalizeKeys} the blocker runs on `GetRateBasedStatementManagedKeys`, so a replay shows
 * the ranges that would really have reached the IP sets, and refuses what the blocker refuses.
 */
import { normalizeKeys, type NormalizePolicy, type RejectReason } from '#core/normalize';
import type { Cidr } from '#core/types';
import type { LimitedKey } from './simulator';

/** One range a rule would have had blocked. */
export interface BlockedRange {
  readonly range: Cidr;
  readonly rule: string;
  /** Epoch milliseconds: the earliest time a key in the range was limited by the rule. */
  readonly firstLimited: number;
  /** Limited keys (addresses) in the range. */
  readonly keys: number;
  /** Requests the rule counted from those keys. */
  readonly requests: number;
  /** Of those, the ones made while over the limit. */
  readonly overLimit: number;
}

/** A limited key the blocker would have refused to block, and why. */
export interface RefusedKey extends LimitedKey {
  readonly reason: RejectReason;
}

export interface ReplayVerdict {
  /** By first limited time, then range, then rule. */
  readonly blocked: BlockedRange[];
  /** By first limited time. */
  readonly refused: RefusedKey[];
  /** Distinct ranges across all rules. */
  readonly rangeCount: number;
  readonly refusedByReason: Partial<Record<RejectReason, number>>;
}

/** Normalizes limited keys as the blocker does and groups them per range and rule. */
export function judgeLimitedKeys(limited: readonly LimitedKey[], policy: NormalizePolicy): ReplayVerdict {
  const byRangeAndRule = new Map<string, BlockedRange>();
  const refused: RefusedKey[] = [];
  const refusedByReason: Partial<Record<RejectReason, number>> = {};
  for (const key of limited) {
    // One key at a time, so that each verdict maps back to its key; limited keys are few.
    const { sightings, rejected } = normalizeKeys([key.key], key.rule, policy);
    const sighting = sightings[0];
    if (sighting === undefined) {
      const reason = rejected[0]?.reason ?? 'unparsable';
      refused.push({ ...key, reason });
      refusedByReason[reason] = (refusedByReason[reason] ?? 0) + 1;
      continue;
    }
    const id = `${sighting.range} ${key.rule}`;
    const previous = byRangeAndRule.get(id);
    byRangeAndRule.set(id, {
      range: sighting.range,
      rule: key.rule,
      firstLimited: Math.min(previous?.firstLimited ?? key.firstLimited, key.firstLimited),
      keys: (previous?.keys ?? 0) + 1,
      requests: (previous?.requests ?? 0) + key.requests,
      overLimit: (previous?.overLimit ?? 0) + key.overLimit,
    });
  }
  const blocked = [...byRangeAndRule.values()].sort(
    (a, b) => a.firstLimited - b.firstLimited || compareText(a.range, b.range) || compareText(a.rule, b.rule),
  );
  refused.sort((a, b) => a.firstLimited - b.firstLimited || compareText(a.key, b.key));
  return { blocked, refused, rangeCount: new Set(blocked.map((b) => b.range)).size, refusedByReason };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
