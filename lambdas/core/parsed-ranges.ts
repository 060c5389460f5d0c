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
  /** Ranges recorded by {@link remember} and not yet in `byText`, each family's in the order recorded. */
  private remembered: Record<Family, NetworkRange[]> = { IPV4: [], IPV6: [] };
  /** How many of each family's `remembered` have been asked for, one after another in that order (not indexed). */
  private readonly served: Record<Family, number> = { IPV4: 0, IPV6: 0 };
  /** Whether anything is in `remembered`. */
  private pending = false;

  /**
   * `parseRange(text)`, parsed the first time `text` is asked for only: the range recorded or
   * parsed first for that text (but for a text recorded twice and asked for twice in the order
   * recorded, which gets each recorded range in turn: equal in content).
   */
  range(text: string): NetworkRange | undefined {
    if (this.pending) {
      // Asked for in the order recorded: no index needed (see remember). A canonical IPv6 text
      // has a colon and an IPv4 one none; any other text misses and indexes them all.
      const family: Family = text.includes(':') ? 'IPV6' : 'IPV4';
      const next = this.remembered[family][this.served[family]];
      if (next?.cidr === text && !this.byText.has(text)) {
        this.served[family]++;
        return next;
      }
      this.drain();
    }
    let range = this.byText.get(text);
    if (range === undefined) {
      range = parseRange(text) ?? null;
      this.byText.set(text, range);
      // The canonical text is what later steps ask for: found without a second parse.
      if (range !== null && range.cidr !== text && !this.byText.has(range.cidr)) this.byText.set(range.cidr, range);
    }
    return range ?? undefined;
  }

  /**
   * Records a range parsed elsewhere (normalization widens keys to ranges it has in hand): the
   * plan then finds its canonical text parsed. A text already recorded keeps its range.
   *
   * Not indexed while the look-ups ask for each family's recorded ranges in the order they were
   * recorded, as a first run's IP set plans do (normalization records each rule's ranges in range
   * order, and the ledger step keeps that order for the new ranges; the run plans one family's
   * sets after the other, the smaller first): a map of 10,000 ranges, built and read in code V8
   * has not compiled yet, was one of the steps between the intent leaving and the first set write
   * (lambdas/blocker/run.ts). The first look-up out of that order indexes them all.
   */
  remember(range: NetworkRange): void {
    this.remembered[range.family].push(range);
    this.pending = true;
  }

  /** Indexes the remembered ranges, those already asked for included, each family's in the order recorded. */
  private drain(): void {
    const { IPV4, IPV6 } = this.remembered;
    this.remembered = { IPV4: [], IPV6: [] };
    this.served.IPV4 = 0;
    this.served.IPV6 = 0;
    this.pending = false;
    this.index(IPV4);
    this.index(IPV6);
  }

  private index(ranges: readonly NetworkRange[]): void {
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
