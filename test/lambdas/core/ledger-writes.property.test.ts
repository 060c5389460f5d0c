/**
 * "Never early" over any history: sightings (rate rule or ban) at arbitrary times, runs at arbitrary
 * later times no more than one schedule period apart, through the core as a run uses it (see
 * test/support/ledger-runs.ts), with only what the runs wrote carried from one run to the next.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expiryMargin } from '#core/ledger';
import type { Sighting } from '#core/types';
import { banSighting, LedgerRuns, rateSighting } from '../../support/ledger-runs';

const MINUTE = 60_000;
const T0 = Date.UTC(2025, 0, 1);
const RANGE = '45.33.12.0/24';

/** One run: milliseconds since the previous one, and what it saw of the range. */
interface RunInput {
  readonly gapMs: number;
  /** Empty: not seen. A number: a ban of that many minutes; `rate`: a rate rule sighting. */
  readonly sightings: readonly ('rate' | number)[];
}

const runInput = (periodMs: number): fc.Arbitrary<RunInput> =>
  fc.record({
    gapMs: fc.integer({ min: 1, max: periodMs }),
    sightings: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      {
        weight: 2,
        arbitrary: fc.array(fc.oneof(fc.constant('rate' as const), fc.integer({ min: 1, max: 600 })), {
          minLength: 1,
          maxLength: 2,
        }),
      },
    ),
  });

const history = fc
  .record({
    durationMinutes: fc.integer({ min: 1, max: 600 }),
    periodMinutes: fc.integer({ min: 1, max: 60 }),
  })
  .chain(({ durationMinutes, periodMinutes }) =>
    fc.record({
      durationMs: fc.constant(durationMinutes * MINUTE),
      periodMs: fc.constant(periodMinutes * MINUTE),
      // Long enough for blocks to run out and ranges to come back.
      runs: fc.array(runInput(periodMinutes * MINUTE), { minLength: 1, maxLength: 150 }),
    }),
  );

describe('a block over any history of sightings and runs', () => {
  it('is never lifted before the last sighting + its duration, and always by the last sighting + duration + margin + one period', () => {
    fc.assert(
      fc.property(history, ({ durationMs, runs }) => {
        const ledger = new LedgerRuns(durationMs);
        const margin = expiryMargin(durationMs);
        // The promise (blocked at least until) and the bound (lifted from then on), over every sighting so far.
        let promisedUntil = Number.NEGATIVE_INFINITY;
        let allowedUntil = Number.NEGATIVE_INFINITY;
        let now = T0;
        for (const { gapMs, sightings } of runs) {
          now += gapMs;
          const seen: Sighting[] = sightings.map((s) =>
            s === 'rate' ? rateSighting(RANGE) : banSighting(RANGE, s, 'fail2ban@web1'),
          );
          for (const s of seen) {
            const until = now + (s.durationMs ?? durationMs);
            promisedUntil = Math.max(promisedUntil, until);
            // A ban ends exactly when it asked; only a rate rule sighting may run into the margin.
            allowedUntil = Math.max(allowedUntil, s.durationMs === undefined ? until + margin : until);
          }
          ledger.run(now, seen);
          if (now < promisedUntil) expect(ledger.isBlocked(RANGE), `blocked at +${now - T0} ms`).toBe(true);
          // Runs come at most one period apart, so the run that lifts it comes by allowedUntil + period.
          if (now >= allowedUntil) expect(ledger.isBlocked(RANGE), `lifted at +${now - T0} ms`).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('costs a range seen on every run at most one ledger write per margin and period, after its first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 30 }),
        (durationMinutes, periodMinutes) => {
          const durationMs = durationMinutes * MINUTE;
          const periodMs = periodMinutes * MINUTE;
          const ledger = new LedgerRuns(durationMs);
          const spanMs = 24 * 60 * MINUTE;
          for (let now = T0; now <= T0 + spanMs; now += periodMs) ledger.run(now, [rateSighting(RANGE)]);
          // A write leaves the expiry a margin ahead; the next comes at the first run past that margin.
          const writesAfterFirst = ledger.writes - 1;
          const perWrite = (Math.floor(expiryMargin(durationMs) / periodMs) + 1) * periodMs;
          expect(writesAfterFirst).toBeLessThanOrEqual(Math.ceil(spanMs / perWrite));
        },
      ),
    );
  });
});
