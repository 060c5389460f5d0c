/**
 * Drops a WAF record delivered twice: overlapping S3 or Logs exports, a log group exported twice
 * into one file. WAF gives every request an `httpRequest.requestId`; a second record with an id
 * already seen is the same request and must not be counted again.
 *
 * Bounded: an id is remembered at least while its record is within the window of the latest
 * record read (the replay's reorder window: a copy older than that could not be counted at its own
 * time anyway), and longer until a sweep (every {@link SWEEP_EVERY} new ids) forgets it; memory is
 * bounded by count: at most {@link MAX_REMEMBERED_IDS} ids are held, the oldest forgotten first. A
 * duplicate whose first copy was forgotten is counted again, as before this filter.
 *
 * Pure: no I/O.
 */

/** The most request ids held at once: about 100 MB at WAF's 50-character ids. */
export const MAX_REMEMBERED_IDS = 1_000_000;

/** How often forgotten ids are swept out, in remembered ids. */
const SWEEP_EVERY = 65_536;

/** Feed each record's id and time to {@link DuplicateFilter.isDuplicate} in file order; see the module header. */
export class DuplicateFilter {
  /** Request id → time of its record, in the order first seen. */
  private readonly seen = new Map<string, number>();
  private readonly windowMs: number;
  private latest = Number.NEGATIVE_INFINITY;
  private added = 0;
  /** Records dropped as copies of one already read. */
  dropped = 0;

  /**
   * @param windowSeconds how long after the latest record an id is remembered; `Infinity`: until
   *   {@link MAX_REMEMBERED_IDS} ids are held.
   * @throws RangeError when the window is negative or not a number.
   */
  constructor(windowSeconds: number) {
    if (!(windowSeconds >= 0)) throw new RangeError(`duplicate window must be 0 or more seconds, got ${windowSeconds}`);
    this.windowMs = windowSeconds * 1000;
  }

  /**
   * Whether a record with this `requestId` was read already (and so is dropped and counted in
   * {@link DuplicateFilter.dropped}). A record without an id is never a duplicate.
   */
  isDuplicate(requestId: string | undefined, timestamp: number): boolean {
    if (requestId === undefined) return false;
    if (this.seen.has(requestId)) {
      this.dropped++;
      return true;
    }
    if (timestamp > this.latest) this.latest = timestamp;
    this.seen.set(requestId, timestamp);
    if (this.seen.size > MAX_REMEMBERED_IDS) {
      const oldest = this.seen.keys().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
    if (++this.added % SWEEP_EVERY === 0) this.sweep();
    return false;
  }

  /** Forgets the ids of records older than the window before the latest one. */
  private sweep(): void {
    const before = this.latest - this.windowMs;
    for (const [id, at] of this.seen) if (at < before) this.seen.delete(id);
  }
}
