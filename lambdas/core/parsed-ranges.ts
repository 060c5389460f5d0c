/**
 * Ranges parsed once per plan.
 *
 * Planning one family's sets reads every ledger range and set entry in several steps: ownership
 * of each set's entries, placement, aggregation while placing, each set's own plan, the order of
 * what it adds. Parsing the text in each step made the address parser (and the formatting of the
 * canonical text it returns) run about eight times over every range: most of the CPU of a first
 * run with 10,000 new ranges, and most of its garbage. A plan now makes one {@link ParsedRanges}
 * and hands it to each step; the steps ask it instead of the parser.
 *
 * It lives as long as the plan that made it (a re-plan after a lock conflict reuses it), or the run
 * that made it (normalization records the ranges it widened keys to, so that the plans of the same
 * run find them parsed), never in module state: nothing one run parsed is held, or trusted, by the next.
 */
import { parseRange } from './ip-parse';
import type { NetworkRange } from './network-range';
import type { Cidr, Family } from './types';

/** The ranges one plan has parsed, by the text they were written as. */
export class ParsedRanges {
  /** `null` remembers a text that does not parse. */
  private readonly byText = new Map<string, NetworkRange | null>();
  /**
   * Ranges recorded by {@link remember} and not yet in `byText`: one queue per family and prefix
   * length (one per list's prefix, and one per wider key: a few), each in the order recorded.
   */
  private readonly queues: RecordedQueue[] = [];

  /**
   * `parseRange(text)`, parsed the first time `text` is asked for only: the range recorded or
   * parsed first for that text (but for a text recorded twice and asked for twice in the order
   * recorded among its family's ranges of its prefix length, which gets each recorded range in
   * turn: equal in content).
   */
  range(text: string): NetworkRange | undefined {
    // Asked for in the order recorded: no index needed (see remember). Each queue's next range is
    // compared, not the text's family and prefix parsed: the plans ask with the very string recorded.
    const queues = this.queues;
    for (let q = 0; q < queues.length; q++) {
      const queue = queues[q] as RecordedQueue;
      const next = queue.ranges[queue.served];
      if (next !== undefined && next.cidr === text && !this.byText.has(text)) {
        queue.served++;
        return next;
      }
    }
    let range = this.byText.get(text);
    if (range === undefined) {
      const parsed = parseRange(text);
      // A range recorded for this text, if any, is in the queue of its family and prefix length:
      // that queue is indexed first, so that the range recorded first keeps the text. (A steady
      // run records nothing: its 50,000 look-ups skip this.)
      if (parsed !== undefined && queues.length > 0) this.drain(parsed.family, parsed.prefix);
      range = this.byText.get(text);
      if (range === undefined) {
        range = parsed ?? null;
        this.byText.set(text, range);
        // The canonical text is what later steps ask for: found without a second parse.
        if (range !== null && range.cidr !== text && !this.byText.has(range.cidr)) this.byText.set(range.cidr, range);
      }
    }
    return range ?? undefined;
  }

  /**
   * Records a range parsed elsewhere (normalization widens keys to ranges it has in hand): the
   * plan then finds its canonical text parsed. A text already recorded keeps its range.
   *
   * Not indexed while the look-ups ask for the recorded ranges of each family and prefix length
   * in the order they were recorded, as a first run's IP set plans do: normalization records each
   * rule's ranges in range order (with a neighbour tier, its offenders' and then its neighbours',
   * of another prefix length), the ledger step keeps that order for the new ranges, and the run
   * plans its lists one after the other, in whatever order. A map of 10,000 ranges, built and read
   * in code V8 has not compiled yet, was one of the steps between the intent leaving and the first
   * set write (lambdas/blocker/run.ts). A look-up out of that order (a range asked for again, or
   * any text not recorded, such as a set's entry) indexes the queue of its family and prefix
   * length, and leaves the others as they are.
   */
  remember(range: NetworkRange): void {
    const queues = this.queues;
    for (let q = 0; q < queues.length; q++) {
      const queue = queues[q] as RecordedQueue;
      if (queue.family === range.family && queue.prefix === range.prefix) {
        queue.ranges.push(range);
        return;
      }
    }
    queues.push({ family: range.family, prefix: range.prefix, ranges: [range], served: 0 });
  }

  /** Indexes the queue of `family` and `prefix`, its ranges already asked for included, in the order recorded. */
  private drain(family: Family, prefix: number): void {
    const at = this.queues.findIndex((queue) => queue.family === family && queue.prefix === prefix);
    if (at === -1) return;
    const { ranges } = this.queues[at] as RecordedQueue;
    this.queues.splice(at, 1);
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i] as NetworkRange;
      if (!this.byText.has(range.cidr)) this.byText.set(range.cidr, range);
    }
  }

  /** `canonicalCidr(text)`, parsed the first time only. */
  cidr(text: string): Cidr | undefined {
    return this.range(text)?.cidr;
  }
}

/** `parseRange(text)` through `parsed` when there is one. */
export function parseWith(parsed: ParsedRanges | undefined, text: string): NetworkRange | undefined {
  return parsed === undefined ? parseRange(text) : parsed.range(text);
}

/** Ranges recorded by {@link ParsedRanges.remember} of one family and prefix length. */
interface RecordedQueue {
  readonly family: Family;
  readonly prefix: number;
  readonly ranges: NetworkRange[];
  /** How many of `ranges` were asked for, one after another in the order recorded. */
  served: number;
}
