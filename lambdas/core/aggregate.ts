/**
 * Lossless aggregation of blocked ranges, and its inverse: which entries of an IP set stand for
 * ranges the ledger owns.
 *
 * An IP set holds 10,000 entries, and an attack from a provider's whole block fills it with
 * neighbouring /24s. When every child of a prefix is blocked (both /24s of a /23, all four /24s of
 * a /22, ...), the set may hold the parent instead: the same addresses, fewer entries. The ledger
 * keeps one row per range with its own expiry; when one child expires, the next aggregation of
 * the remaining ranges simply no longer yields the parent, and the set gets the pieces back.
 *
 * The floor (default /16 for IPv4, /48 for IPv6) is the widest prefix aggregation produces. Below
 * it, a single expiry splits an aggregate into at most (24 − 16 =) 8 entries for IPv4 /24s and
 * (64 − 48 =) 16 for IPv6 /64s, so a set's size can never jump by more than that per expiry; and
 * an entry wider than the floor is never one that aggregation made, so it can only be ours when
 * the ledger owns exactly that range (an operator's wide ban).
 *
 * Pure: no AWS imports, no clock. Ranges are in the core's canonical text (`Cidr`).
 */
import { formatCidr } from './cidr-format';
import { parseWith, type ParsedRanges } from './parsed-ranges';
import { compareRanges, lastAddress, maskWord, type NetworkRange, type ParsedAddress } from './network-range';
import type { Cidr, Family } from './types';

/** The widest prefix aggregation produces, per family. */
export type AggregationFloor = Readonly<Record<Family, number>>;

/**
 * The default floor: a /16 for IPv4 (256 /24s) and a /48 for IPv6 (65,536 /64s, a typical site
 * assignment). See the module comment for why there is a floor at all.
 */
export const DEFAULT_AGGREGATION_FLOOR: AggregationFloor = { IPV4: 16, IPV6: 48 };

/** A range as words; its canonical text when parsed (a parent made by merging has none yet). */
type Block = Pick<ParsedAddress, 'family' | 'prefix' | 'w0' | 'w1' | 'w2' | 'w3'> & { readonly cidr?: Cidr };

/** One set entry that stands for ranges the ledger owns. */
export interface OwnedSetEntry {
  /** The entry as the set holds it. */
  readonly entry: string;
  /** The owned ranges inside it, in address order: the entry itself, or the ranges an aggregate covers. */
  readonly covers: readonly Cidr[];
}

/** A set's entries split into those that stand for owned ranges and the rest. */
export interface SetEntryOwnership {
  readonly ours: readonly OwnedSetEntry[];
  /** Entries that are not ours (by hand, another tool, or only partly covered): never removed. */
  readonly foreign: readonly string[];
}

/**
 * The fewest CIDRs that cover exactly the addresses of `ranges`: ranges inside another are
 * dropped, and two sibling blocks (the halves of one prefix) become their parent, recursively,
 * as long as the parent is no wider than `floor`. A range wider than the floor is kept as it is
 * and never merged. Families are kept apart; IPv4-mapped IPv6 text counts as IPv4 (as the core
 * parser reads it).
 *
 * @param ranges - CIDRs or addresses in any order, duplicates allowed; or ranges parsed already
 *   (a plan's claims carry theirs), taken as they are.
 * @param floor - Widest prefix to aggregate to, per family. Default {@link DEFAULT_AGGREGATION_FLOOR}.
 * @param parsed - The plan's parsed ranges, if it keeps them (./parsed-ranges).
 * @returns canonical CIDRs in the core's range order (IPv4 first, then by address).
 * @throws {RangeError} naming the first text that is not an address or range.
 */
export function aggregateRanges(
  ranges: Iterable<string | NetworkRange>,
  floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR,
  parsed?: ParsedRanges,
): Cidr[] {
  return mergeSiblings(parseAll(ranges, parsed).sort(compareRanges), floor).map(cidrOf);
}

/** No aggregation at all: a floor no range is wider than, so no two siblings ever merge. */
export const NO_AGGREGATION: AggregationFloor = { IPV4: 32, IPV6: 128 };

/**
 * {@link aggregateRanges}, but never into a parent that equals or overlaps one of `foreign`: an
 * entry someone else put in the set must not be merged into, covered by or taken for one of our
 * aggregates, so that it survives every later split and removal of ours. The ranges themselves
 * are kept whatever they overlap (blocking a range inside someone's wider entry is harmless, and
 * was always done); only the parents are refused. Unparsable `foreign` text overlaps nothing.
 *
 * @param ranges - Owned ranges to hold, any order, duplicates allowed; text or parsed already.
 * @param foreign - Entries of the set that are not ours.
 * @param parsed - The plan's parsed ranges, if it keeps them (./parsed-ranges).
 * @throws {RangeError} naming the first of `ranges` that is not an address or range.
 */
export function aggregateAround(
  ranges: Iterable<string | NetworkRange>,
  foreign: readonly string[] | ForeignEntries,
  floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR,
  parsed?: ParsedRanges,
): Cidr[] {
  const taint = foreign instanceof ForeignEntries ? foreign : new ForeignEntries(foreign, floor, parsed);
  return aggregateBlocks(parseAll(ranges, parsed), taint, floor);
}

/**
 * {@link aggregateAround} of ranges parsed already (a plan's claims carry theirs), or
 * {@link aggregateRanges} when `taint` is undefined: for the shard plan's placement, which
 * aggregates a first run's 10,000 new ranges one floor block at a time, without a pass that
 * checks and copies each range on the way.
 *
 * @param ranges - Any order, duplicates allowed; not changed.
 * @param taint - The set's foreign entries, which no aggregate may overlap.
 * @returns canonical CIDRs in the core's range order.
 */
export function aggregateParsed(
  ranges: readonly NetworkRange[],
  taint: ForeignEntries | undefined,
  floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR,
): Cidr[] {
  return aggregateBlocks([...ranges], taint, floor);
}

/** The aggregates of `blocks` (sorted here, in place), around `taint` when given. */
function aggregateBlocks(blocks: Block[], taint: ForeignEntries | undefined, floor: AggregationFloor): Cidr[] {
  blocks.sort(compareRanges);
  if (taint === undefined || taint.empty) return mergeSiblings(blocks, floor).map(cidrOf);
  return mergeSiblings(blocks, floor, (parent) => !taint.overlaps(parent)).map(cidrOf);
}

/**
 * A set's foreign entries, indexed once for {@link aggregateAround}: which parents overlap one of
 * them (equal to one, containing one, or inside one).
 */
export class ForeignEntries {
  /** The foreign entries and every prefix that contains one (equal or wider), by key. */
  private readonly overlapping = new Set<string>();
  /** The foreign entries themselves, by key, and their prefix lengths per family. */
  private readonly exact = new Set<string>();
  private readonly prefixes: Record<Family, Set<number>> = { IPV4: new Set(), IPV6: new Set() };

  /** Whether no entry parsed: nothing is refused. */
  readonly empty: boolean;

  /**
   * @param foreign - The entries, as the set holds them; text that does not parse overlaps nothing.
   * @param floor - The floor aggregation uses: no parent is wider.
   * @param parsed - The plan's parsed ranges, if it keeps them (./parsed-ranges).
   */
  constructor(foreign: readonly string[], floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR, parsed?: ParsedRanges) {
    let empty = true;
    for (const text of foreign) {
      const block = parseWith(parsed, text);
      if (block === undefined) continue;
      empty = false;
      this.exact.add(keyOf(block));
      this.prefixes[block.family].add(block.prefix);
      // No parent is wider than the floor, so wider prefixes need no key.
      for (let prefix = block.prefix; prefix >= floor[block.family]; prefix--) {
        this.overlapping.add(keyOf(truncate(block, prefix)));
      }
    }
    this.empty = empty;
  }

  /** @internal Whether `block` equals, contains or lies inside a foreign entry. */
  overlaps(block: Block): boolean {
    if (this.overlapping.has(keyOf(block))) return true;
    for (const prefix of this.prefixes[block.family]) {
      if (prefix < block.prefix && this.exact.has(keyOf(truncate(block, prefix)))) return true;
    }
    return false;
  }
}

/**
 * Which entries of an IP set are ours: an entry is ours when it is an owned range, or when it is
 * an aggregate of owned ranges, no wider than `floor`, that they tile exactly (every address in
 * it is in an owned range inside it). An owned range wider than the entry does not make it ours:
 * a narrower entry inside an operator's wide ban was put there by someone else. The inverse of
 * {@link aggregateRanges}: every entry of `aggregateRanges(owned, floor)` is ours, and covers
 * exactly the owned ranges it replaced.
 *
 * @param entries - The set's entries as read; text that does not parse is foreign.
 * @param owned - The ledger's active owned ranges of any family (canonical CIDRs).
 * @param floor - The floor that aggregation used. Default {@link DEFAULT_AGGREGATION_FLOOR}.
 * @param parsed - The plan's parsed ranges, if it keeps them (./parsed-ranges).
 * @throws {RangeError} naming the first owned range that is not a range.
 */
export function ownedSetEntries(
  entries: readonly string[],
  owned: Iterable<Cidr> | OwnedRanges,
  floor: AggregationFloor = DEFAULT_AGGREGATION_FLOOR,
  parsed?: ParsedRanges,
): SetEntryOwnership {
  const ranges = owned instanceof OwnedRanges ? owned : new OwnedRanges(owned, parsed);
  // An empty set has nothing to classify: the owned ranges are not indexed for it (a first run's sets).
  if (entries.length === 0) return { ours: [], foreign: [] };
  const { ownedKeys } = ranges;
  const ours: OwnedSetEntry[] = [];
  const foreign: string[] = [];
  for (const entry of entries) {
    const block = parseWith(parsed, entry);
    const inside = block === undefined ? [] : blocksInside(ranges.sortedOwned, block);
    const exact = block !== undefined && ownedKeys.has(block.cidr);
    const tiled = block !== undefined && !exact && block.prefix >= floor[block.family] && tilesExactly(inside, block);
    if (exact || tiled) ours.push({ entry, covers: dedupe(inside.map(cidrOf)) });
    else foreign.push(entry);
  }
  return { ours, foreign };
}

/**
 * Owned ranges parsed and sorted once, for {@link ownedSetEntries} over several sets (every shard
 * of a family, and each re-plan after a lock conflict) without parsing them again each time.
 */
export class OwnedRanges {
  private blocks: readonly Block[];
  private keys: ReadonlySet<Cidr> | undefined;
  private sorted = false;

  /**
   * @param owned - Canonical CIDRs of the ranges we own, or those ranges parsed already (a plan's
   *   claims carry theirs), taken as they are.
   * @param parsed - The plan's parsed ranges, if it keeps them (./parsed-ranges).
   * @throws {RangeError} naming the first that is not a range.
   */
  constructor(owned: Iterable<Cidr | NetworkRange>, parsed?: ParsedRanges) {
    this.blocks = parseAll(owned, parsed);
  }

  /**
   * Owned ranges parsed already (a plan's claims carry theirs), taken as they are: no pass checks
   * and copies each, as the constructor's does (a first run's empty sets never ask for them). They
   * are copied when first sorted; the caller must not change `ranges` before.
   */
  static ofRanges(ranges: readonly NetworkRange[]): OwnedRanges {
    const owned = new OwnedRanges([]);
    owned.blocks = ranges;
    return owned;
  }

  /**
   * @internal The owned ranges' canonical text, indexed when first asked for: a first run's sets
   * hold no entry to classify, and indexing 10,000 new ranges for nothing delayed its first block.
   */
  get ownedKeys(): ReadonlySet<Cidr> {
    this.keys ??= new Set(this.blocks.map(cidrOf));
    return this.keys;
  }

  /** @internal The owned ranges in address order, sorted when first asked for (as {@link ownedKeys}). */
  get sortedOwned(): readonly Block[] {
    if (!this.sorted) {
      // A copy: the ranges may be the caller's (ofRanges).
      this.blocks = [...this.blocks].sort(compareRanges);
      this.sorted = true;
    }
    return this.blocks;
  }

  /** Whether `range` (canonical) is one of the owned ranges itself. */
  has(range: Cidr): boolean {
    return this.ownedKeys.has(range);
  }
}

/** Texts parsed (through `parsed` when given), and ranges parsed already as they are. */
function parseAll(ranges: Iterable<string | NetworkRange>, parsed: ParsedRanges | undefined): Block[] {
  const blocks: Block[] = [];
  // Indexed, as mergeSiblings is.
  const list = Array.isArray(ranges) ? (ranges as readonly (string | NetworkRange)[]) : [...ranges];
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as string | NetworkRange;
    if (typeof item !== 'string') {
      blocks.push(item);
      continue;
    }
    const block = parseWith(parsed, item);
    if (block === undefined) throw new RangeError(`not an address or CIDR range: ${JSON.stringify(item)}`);
    blocks.push(block);
  }
  return blocks;
}

/**
 * Merges sorted blocks: a block inside the top of the stack (the last block kept, or a parent it
 * was merged into) is dropped, then each block goes on a stack, and while the top two are the
 * halves of a parent no wider than the floor, they become that parent. CIDRs are nested or
 * disjoint, so in address order (wider first at one address) a block lies either inside the top
 * of the stack (which ends where the last block kept ends) or after it; and the left half of any
 * parent is complete (merged as far as it goes) by the time its right half arrives.
 */
function mergeSiblings(
  sorted: readonly Block[],
  floor: AggregationFloor,
  mayMerge?: (parent: Block) => boolean,
): Block[] {
  const stack: Block[] = [];
  // One indexed loop with its tests written out, and no call for the default (docs/blocker.md,
  // "Fewer functions on the path").
  for (let i = 0; i < sorted.length; i++) {
    let top = sorted[i] as Block;
    const last = stack[stack.length - 1];
    if (
      last !== undefined &&
      last.family === top.family &&
      last.prefix <= top.prefix &&
      sameNetwork(last, top, last.prefix)
    ) {
      continue;
    }
    for (;;) {
      const below = stack[stack.length - 1];
      // Siblings: one family and prefix, in one block of a bit less.
      if (
        below === undefined ||
        below.family !== top.family ||
        below.prefix !== top.prefix ||
        top.prefix - 1 < floor[top.family] ||
        !sameNetwork(below, top, top.prefix - 1)
      ) {
        break;
      }
      const parent = parentOf(top);
      // A refused parent blocks every wider one too: each of those contains it, so overlaps the same entry.
      if (mayMerge !== undefined && !mayMerge(parent)) break;
      stack.pop();
      top = parent;
    }
    stack.push(top);
  }
  return stack;
}

/** The owned blocks inside `outer`, in order: those that start within it and are no wider. */
function blocksInside(sorted: readonly Block[], outer: Block): Block[] {
  const end = lastAddress(outer);
  const inside: Block[] = [];
  for (let index = firstAtOrAfter(sorted, outer); index < sorted.length; index++) {
    const block = sorted[index] as Block;
    if (block.family !== outer.family || compareWords(block, end) > 0) break;
    if (block.prefix >= outer.prefix) inside.push(block);
  }
  return inside;
}

/** Whether `blocks` (in range order, all inside `outer`) cover every address of it. */
function tilesExactly(blocks: readonly Block[], outer: Block): boolean {
  const merged = mergeSiblings(blocks, { IPV4: outer.prefix, IPV6: outer.prefix });
  const [only] = merged;
  return merged.length === 1 && only !== undefined && only.prefix === outer.prefix;
}

/** Index of the first block in `sorted` that is not before `target` in range order. */
function firstAtOrAfter(sorted: readonly Block[], target: Block): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareRanges(sorted[middle] as Block, target) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether `a` and `b` are in one block of `prefix` bits. */
function sameNetwork(a: Block, b: Block, prefix: number): boolean {
  // Masking commutes with XOR: the words agree on their first bits when their XOR has none set
  // there. Words past the prefix are not looked at (an IPv4 block, or a short prefix, needs one).
  if (maskWord((a.w0 ^ b.w0) >>> 0, prefix) !== 0) return false;
  if (prefix <= 32) return true;
  if (maskWord((a.w1 ^ b.w1) >>> 0, prefix - 32) !== 0) return false;
  if (prefix <= 64) return true;
  if (maskWord((a.w2 ^ b.w2) >>> 0, prefix - 64) !== 0) return false;
  return prefix <= 96 || maskWord((a.w3 ^ b.w3) >>> 0, prefix - 96) === 0;
}

function parentOf(block: Block): Block {
  return truncate(block, block.prefix - 1);
}

/** The block of `prefix` bits (no longer than the block's own) that holds `block`. */
function truncate(block: Block, prefix: number): Block {
  return {
    family: block.family,
    prefix,
    w0: maskWord(block.w0, prefix),
    w1: maskWord(block.w1, prefix - 32),
    w2: maskWord(block.w2, prefix - 64),
    w3: maskWord(block.w3, prefix - 96),
  };
}

/** Orders a block's network address against an address given as words. */
function compareWords(block: Block, words: readonly [number, number, number, number]): number {
  return block.w0 - words[0] || block.w1 - words[1] || block.w2 - words[2] || block.w3 - words[3];
}

function keyOf(block: Block): string {
  return `${block.family}/${block.prefix}/${block.w0}.${block.w1}.${block.w2}.${block.w3}`;
}

function cidrOf(block: Block): Cidr {
  return block.cidr ?? formatCidr(block.family, block.w0, block.w1, block.w2, block.w3, block.prefix);
}

function dedupe(cidrs: readonly Cidr[]): Cidr[] {
  return [...new Set(cidrs)];
}
