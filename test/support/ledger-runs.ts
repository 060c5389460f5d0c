/**
 * Blocker runs on an explicit clock through the pure core alone: the ledger table as a map of the
 * rows the runs wrote, the blocklist as a set. Each run does what `runBlocker` does with the core:
 * read every row, `advanceLedger`, `planLedgerWrites`, write `first` and `refresh`, put the active
 * ranges in the set, then remove and close the expired ones. No AWS, no mocks.
 */
import { advanceLedger, indexByRange } from '#core/ledger';
import { planLedgerWrites } from '#core/ledger-writes';
import type { Cidr, LedgerEntry, Sighting } from '#core/types';

/** What one simulated run did. */
export interface SimulatedRun {
  /** Rows written to the ledger (first + refresh). */
  readonly written: number;
  /** Ranges removed from the blocklist because their block ran out. */
  readonly expired: readonly Cidr[];
}

/** A deployment's ledger and blocklist, advanced one run at a time. */
export class LedgerRuns {
  /** Active rows as the table stores them: only what a run wrote. */
  readonly stored = new Map<Cidr, LedgerEntry>();
  /** The blocklist IP set. */
  readonly blocklist = new Set<Cidr>();
  /** Ledger rows written over every run so far. */
  writes = 0;

  constructor(private readonly blockDurationMs: number) {}

  /** One run at `now` (epoch ms) with this run's sightings. */
  run(now: number, sightings: readonly Sighting[] = []): SimulatedRun {
    const rows = [...this.stored.values()];
    const step = advanceLedger(rows, sightings, now, this.blockDurationMs, (range) => this.blocklist.has(range));
    const { first, refresh } = planLedgerWrites(indexByRange(rows), step.upserts);
    for (const entry of [...first, ...refresh]) this.stored.set(entry.range, entry);
    this.writes += first.length + refresh.length;
    for (const entry of step.active) this.blocklist.add(entry.range);
    for (const entry of step.expired) {
      this.blocklist.delete(entry.range);
      this.stored.delete(entry.range);
    }
    return { written: first.length + refresh.length, expired: step.expired.map((entry) => entry.range) };
  }

  isBlocked(range: Cidr): boolean {
    return this.blocklist.has(range);
  }
}

/** A rate rule's sighting of `range` (one key): it blocks for the deployment's duration. */
export function rateSighting(range: Cidr, source = 'RateLimitPerIp'): Sighting {
  return { range, family: range.includes(':') ? 'IPV6' : 'IPV4', source, hits: 1 };
}

/** A ban from the CLI or the feed: it blocks for exactly `minutes`. */
export function banSighting(range: Cidr, minutes: number, source = 'cli:alice'): Sighting {
  return { ...rateSighting(range, source), durationMs: minutes * 60_000 };
}
