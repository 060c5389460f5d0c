/**
 * Replays requests through rate-based rules the way WAF evaluates them: per rule and aggregation
 * key, the requests of the trailing `windowSeconds` are counted, and a key whose count exceeds
 * `limit` is limited from that request on. WAF checks its counters every few seconds rather than
 * on every request, so it can start limiting a little later than this model; the model answers
 * "would this key have crossed the limit, and when first", which is what the blocker acts on.
 *
 * Records come out of time order: WAF writes to up to 35 log streams per web ACL and to many S3
 * objects, and an export interleaves them. Each request is counted at its own time as long as it
 * comes at most the reorder window (default {@link DEFAULT_REORDER_WINDOW_SECONDS} s) after the
 * latest record seen: per key, the times of that window stay pending, sorted, and are counted only
 * once the latest record is a reorder window past them, when nothing earlier can still come. A
 * record later than that is late: it is counted at the earliest time still open (the latest
 * record's time minus the reorder window), which can count wrong in either direction (a late
 * record moved out of its burst can hide an attacker), and {@link RateSimulator.ordering} reports
 * how many were late and by how much, so that a replay can say so.
 *
 * Pure: no I/O, no AWS. Memory is bounded by the keys active within one reorder window plus one
 * rate window, plus the keys that were ever limited: per key, the pending times of the reorder
 * window (8 bytes per counted request) and at most `limit + 1` counted ones; idle keys are dropped.
 * A reorder window of `Infinity` keeps every time until the end: exact for any order, 8 bytes per
 * counted request per rule.
 */
import { cidrOfKey, rangeKey, type RangeKey } from '#core/range-key';
import { scopeDownMatcher, type ScopeDownMatcher } from './scope-down-match';
import type { LoggedRequest } from './waf-log';

/** A rate-based rule as the simulator needs it; the config's `RateRuleConfig` is one. */
export interface SimulatedRule {
  readonly name: string;
  /** Requests per window a key may make; one more and it is limited. */
  readonly limit: number;
  readonly windowSeconds: number;
  /**
   * Scope-down: only requests whose URI path, URL-decoded, normalized and lower-cased as the web
   * ACL does, starts with this prefix lower-cased (see ./scope-down-match).
   */
  readonly uriPathPrefix?: string;
  /** Scope-down: only requests whose lower-cased Host header is this name, with or without a trailing dot or a port. */
  readonly host?: string;
  readonly aggregateKey: 'IP' | 'FORWARDED_IP';
  /**
   * Scope-down: only requests whose record carries one of these labels (`labels[].name`), as the
   * rule's label match statements count only requests an earlier rule labelled.
   */
  readonly labels?: readonly string[];
  /** Header whose first address is the key when `aggregateKey` is `FORWARDED_IP`. */
  readonly forwardedIpHeader: string;
  /**
   * FORWARDED_IP only: what WAF does with a request whose header holds no valid first address
   * (the rule's `ForwardedIPConfig.FallbackBehavior`): `MATCH` applies the rule's action to it,
   * `NO_MATCH` lets it pass; either way no key counts it. Reported, never counted.
   * @default 'MATCH', what the stack sets (lib/config/forwarded-ip.ts)
   */
  readonly forwardedIpFallback?: 'MATCH' | 'NO_MATCH';
}

/** A key that crossed a rule's limit. */
export interface LimitedKey {
  readonly rule: string;
  /** The address, as `a.b.c.d/32` or `x::y/128`. */
  readonly key: string;
  /** Epoch milliseconds of the request that first took the key over the limit. */
  readonly firstLimited: number;
  /** Requests from this key that the rule counted, over the whole log. */
  readonly requests: number;
  /** Of those, the ones that arrived while the key was over the limit: what WAF would have blocked. */
  readonly overLimit: number;
}

/** What one rule saw. */
export interface RuleTally {
  readonly rule: string;
  /** Requests inside the rule's scope-down that had a key. */
  counted: number;
  /**
   * Requests in scope that no key counted: for IP, a `clientIp` that is not an address; for
   * FORWARDED_IP, {@link RuleTally.withoutHeader} plus {@link RuleTally.noHeaderAddress}.
   */
  unkeyed: number;
  /** FORWARDED_IP only: requests in scope without the header, which WAF does not apply the rule to at all. */
  withoutHeader: number;
  /**
   * FORWARDED_IP only: requests in scope whose header's first entry is not a valid address; WAF
   * applies the rule's FallbackBehavior to them (see {@link SimulatedRule.forwardedIpFallback}).
   */
  noHeaderAddress: number;
  /**
   * FORWARDED_IP only: requests in scope whose header held more than one address. WAF keys them by
   * the first, which the client wrote unless a proxy overwrote the header: a sign that it did not.
   */
  multiValued: number;
  /**
   * Label-scoped rules only: records in the path and host scope that carry no labels at all (no
   * `labels`, or an empty list), so that nothing tells whether the labelling group would have
   * flagged them: a rule before it ended them (the blocklist), or the log does not keep labels.
   */
  unlabelled?: number;
  /**
   * Label-scoped rules only: records in the path and host scope whose `labels` is present but no
   * list of `{ name: string }`, so that their labels cannot be read; not counted.
   */
  malformedLabels?: number;
}

/** How far out of time order the records came. */
export interface RecordOrdering {
  /** Seconds a record may come after a later one and still be counted at its own time. */
  readonly reorderWindowSeconds: number;
  /** Records that came later than that, counted at the earliest time still open instead of their own. */
  readonly late: number;
  /** Milliseconds by which the latest record came after a later one, over all records; 0 when in order. */
  readonly maxLatenessMs: number;
}

/** @see RateSimulator */
export interface SimulatorOptions {
  /**
   * Seconds a record may come after a later one and still be counted at its own time; `Infinity`
   * counts every record at its own time, keeping 8 bytes per counted request until the end.
   * @default DEFAULT_REORDER_WINDOW_SECONDS
   */
  readonly reorderWindowSeconds?: number;
}

/**
 * The default reorder window: S3 receives a web ACL's log in files of 5 minutes, and interleaved
 * CloudWatch log streams are much closer together than that.
 */
export const DEFAULT_REORDER_WINDOW_SECONDS = 300;

/** The widest reorder window a replay of JSON lines can be given: one day. */
export const MAX_REORDER_WINDOW_SECONDS = 86_400;

/** Requests that a rule keyed by client IP had in scope but could not key: their `clientIp` is not an address. */
export interface UnaddressedClients {
  /** Requests, each counted once however many rules had it in scope. */
  readonly requests: number;
  /** The first such `clientIp`, as logged. */
  readonly first: string | undefined;
}

/**
 * A key's times, ascending, in one array: `[head, split)` are counted times still inside the
 * window (at most `limit + 1`), `[split, length)` are pending times not yet counted. Pending times
 * far out of order wait unsorted in `extra` until they are needed, so that a few of them never cost
 * a shift of the whole pending region.
 */
interface KeyState {
  times: number[];
  head: number;
  split: number;
  extra: number[];
  extraMin: number;
  /** Latest time of the key, pending or counted. */
  last: number;
  requests: number;
  overLimit: number;
  firstLimited: number | undefined;
}

interface RuleState {
  readonly rule: SimulatedRule;
  readonly windowMs: number;
  readonly scope: ScopeDownMatcher;
  readonly forwardedHeader: string;
  readonly keys: Map<RangeKey, KeyState>;
  readonly tally: RuleTally;
}

/** How often keys are finalized and idle keys swept, in observed requests. */
const SWEEP_EVERY = 65_536;
/** A pending time this close to the end of the sorted region is inserted in place; further back it waits in `extra`. */
const INSERT_IN_PLACE_WITHIN = 64;
/** Counted times are dropped from the front of a key's array once this many have piled up. */
const COMPACT_AFTER = 1024;

/**
 * Feed with {@link RateSimulator.observe} in file order, then read {@link RateSimulator.limitedKeys},
 * {@link RateSimulator.tallies}, {@link RateSimulator.ordering} and
 * {@link RateSimulator.unaddressedClients}; see the module header.
 */
export class RateSimulator {
  private readonly rules: RuleState[];
  private readonly reorderMs: number;
  private observed = 0;
  private latest = Number.NEGATIVE_INFINITY;
  /** Every time up to this one is counted already (after {@link limitedKeys}); nothing may come before it. */
  private flushedUpTo = Number.NEGATIVE_INFINITY;
  private late = 0;
  private maxLatenessMs = 0;
  /** The request whose client key was parsed last, so that rules keyed by IP parse it once. */
  private keyedRequest: LoggedRequest | undefined;
  private clientKey: RangeKey | undefined;
  private unaddressed = 0;
  private firstUnaddressed: string | undefined;

  /** @throws RangeError when the reorder window is negative or not a number. */
  constructor(rules: readonly SimulatedRule[], options: SimulatorOptions = {}) {
    const reorderSeconds = options.reorderWindowSeconds ?? DEFAULT_REORDER_WINDOW_SECONDS;
    if (!(reorderSeconds >= 0)) throw new RangeError(`reorder window must be 0 or more seconds, got ${reorderSeconds}`);
    this.reorderMs = reorderSeconds * 1000;
    this.rules = rules.map((rule) => ({
      rule,
      windowMs: rule.windowSeconds * 1000,
      scope: scopeDownMatcher(rule),
      forwardedHeader: rule.forwardedIpHeader.toLowerCase(),
      keys: new Map(),
      tally: {
        rule: rule.name,
        counted: 0,
        unkeyed: 0,
        withoutHeader: 0,
        noHeaderAddress: 0,
        multiValued: 0,
        ...(rule.labels === undefined ? {} : { unlabelled: 0, malformedLabels: 0 }),
      },
    }));
  }

  /** Counts one request against every rule whose scope-down it matches, at its own time unless it is late. */
  observe(request: LoggedRequest): void {
    let at = request.timestamp;
    if (at > this.latest) this.latest = at;
    else if (this.latest - at > this.maxLatenessMs) this.maxLatenessMs = this.latest - at;
    const openFrom = this.openFrom();
    if (at < openFrom) {
      this.late++;
      at = openFrom;
    }
    for (const state of this.rules) this.observeRule(state, request, at, openFrom);
    if (++this.observed % SWEEP_EVERY === 0) this.sweep();
  }

  /** The earliest time a record can still be counted at: times before it may be counted already. */
  private openFrom(): number {
    return Math.max(this.latest - this.reorderMs, this.flushedUpTo);
  }

  private observeRule(state: RuleState, request: LoggedRequest, at: number, openFrom: number): void {
    const { rule } = state;
    if (!state.scope.pathMatches(request.uri)) return;
    if (rule.host !== undefined && !state.scope.hostMatches(headerValue(request, 'host'))) return;
    if (rule.labels !== undefined && !carriesLabel(request, rule.labels, state.tally)) return;
    let key: RangeKey | undefined;
    if (rule.aggregateKey === 'IP') {
      key = this.clientKeyOf(request);
    } else {
      const header = headerValue(request, state.forwardedHeader);
      // Two fields of the header say the same as one field of two addresses: a client wrote one of them.
      if (header?.includes(',') === true || headerFields(request, state.forwardedHeader) > 1) state.tally.multiValued++;
      // WAF's rate-based keys take the first address only: FIRST is the sole position it offers.
      key = header === undefined ? undefined : addressKey(firstAddress(header));
      if (key === undefined) state.tally[header === undefined ? 'withoutHeader' : 'noHeaderAddress']++;
    }
    if (key === undefined) {
      state.tally.unkeyed++;
      return;
    }
    state.tally.counted++;

    let entry = state.keys.get(key);
    if (entry === undefined) {
      entry = newKeyState(at);
      state.keys.set(key, entry);
    }
    entry.requests++;
    if (at > entry.last) entry.last = at;
    addPending(entry, at);
    if (entry.split < entry.times.length && (entry.times[entry.split] ?? openFrom) <= openFrom) {
      countUpTo(entry, openFrom, state);
    }
  }

  /** The key of the request's `clientIp`, parsed once per request; counts requests it is not an address of. */
  private clientKeyOf(request: LoggedRequest): RangeKey | undefined {
    if (this.keyedRequest === request) return this.clientKey;
    this.keyedRequest = request;
    this.clientKey = addressKey(request.clientIp);
    if (this.clientKey === undefined) {
      this.unaddressed++;
      this.firstUnaddressed ??= request.clientIp;
    }
    return this.clientKey;
  }

  /** Counts what nothing earlier can precede any more, and drops keys that can no longer matter. */
  private sweep(): void {
    const openFrom = this.openFrom();
    for (const state of this.rules) {
      const idleBefore = openFrom - state.windowMs;
      for (const [key, entry] of state.keys) {
        countUpTo(entry, openFrom, state);
        // All its times are counted, and its window is empty for every time still to come.
        if (entry.last > idleBefore) continue;
        if (entry.firstLimited === undefined) {
          state.keys.delete(key);
        } else if (entry.times.length > 0) {
          // A limited key keeps only its figures.
          entry.times = [];
          entry.head = 0;
          entry.split = 0;
        }
      }
    }
  }

  /**
   * The keys that crossed a limit so far, by rule (in rule order), then by first limited time.
   * Counts every pending time first: a record that comes after this call and before the latest
   * record seen so far is late.
   */
  limitedKeys(): LimitedKey[] {
    this.flushedUpTo = this.latest;
    const limited: LimitedKey[] = [];
    for (const state of this.rules) {
      const ofRule: LimitedKey[] = [];
      for (const [key, entry] of state.keys) {
        countUpTo(entry, Number.POSITIVE_INFINITY, state);
        if (entry.firstLimited === undefined) continue;
        ofRule.push({
          rule: state.rule.name,
          key: cidrOfKey(key),
          firstLimited: entry.firstLimited,
          requests: entry.requests,
          overLimit: entry.overLimit,
        });
      }
      ofRule.sort((a, b) => a.firstLimited - b.firstLimited || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      limited.push(...ofRule);
    }
    return limited;
  }

  /** What each rule counted, in rule order. */
  tallies(): RuleTally[] {
    return this.rules.map((state) => ({ ...state.tally }));
  }

  /** Requests in scope of a rule keyed by client IP whose `clientIp` is not an address, which no such rule counted. */
  unaddressedClients(): UnaddressedClients {
    return { requests: this.unaddressed, first: this.firstUnaddressed };
  }

  /** How far out of order the records came, and how many were too late to count at their own time. */
  ordering(): RecordOrdering {
    return { reorderWindowSeconds: this.reorderMs / 1000, late: this.late, maxLatenessMs: this.maxLatenessMs };
  }
}

function newKeyState(at: number): KeyState {
  return {
    times: [],
    head: 0,
    split: 0,
    extra: [],
    extraMin: Number.POSITIVE_INFINITY,
    last: at,
    requests: 0,
    overLimit: 0,
    firstLimited: undefined,
  };
}

/** Adds a pending time, keeping `[split, length)` sorted; `at` is never before a counted time. */
function addPending(entry: KeyState, at: number): void {
  const { times } = entry;
  const end = times.length;
  if (end === entry.split || (times[end - 1] ?? at) <= at) {
    times.push(at);
    return;
  }
  // The first pending time after `at`, searched from the end, where a slightly late record lands.
  const floor = Math.max(entry.split, end - INSERT_IN_PLACE_WITHIN);
  if ((times[floor] ?? at) > at && floor > entry.split) {
    entry.extra.push(at);
    if (at < entry.extraMin) entry.extraMin = at;
    return;
  }
  let low = floor;
  let high = end;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((times[mid] ?? at) <= at) low = mid + 1;
    else high = mid;
  }
  times.splice(low, 0, at);
}

/** Sorts the waiting out-of-order times into the pending region. */
function mergeExtra(entry: KeyState): void {
  const pending = entry.times.splice(entry.split).concat(entry.extra);
  pending.sort((a, b) => a - b);
  for (const at of pending) entry.times.push(at);
  entry.extra = [];
  entry.extraMin = Number.POSITIVE_INFINITY;
}

/**
 * Counts the key's pending times up to `upTo`, in time order: each one sees the counted times of
 * the window before it. The window is (time - window, time]: a request exactly one window old no
 * longer counts.
 */
function countUpTo(entry: KeyState, upTo: number, state: RuleState): void {
  if (entry.extraMin <= upTo) mergeExtra(entry);
  const { times } = entry;
  const { windowMs } = state;
  const keep = state.rule.limit + 1;
  let { head, split } = entry;
  while (split < times.length) {
    const at = times[split] ?? upTo;
    if (at > upTo) break;
    const oldest = at - windowMs;
    while (head < split && (times[head] ?? at) <= oldest) head++;
    split++;
    // Only "more than limit?" matters, so counted times beyond limit + 1 can go.
    if (split - head > keep) head = split - keep;
    if (split - head > state.rule.limit) {
      entry.overLimit++;
      entry.firstLimited ??= at;
    }
  }
  if (head > COMPACT_AFTER && head * 2 > times.length) {
    times.splice(0, head);
    split -= head;
    head = 0;
  }
  entry.head = head;
  entry.split = split;
}

function headerValue(request: LoggedRequest, lowerName: string): string | undefined {
  for (const header of request.headers) if (header.name.toLowerCase() === lowerName) return header.value;
  return undefined;
}

/** How many fields of the header named `lowerName` the request carried. */
function headerFields(request: LoggedRequest, lowerName: string): number {
  let fields = 0;
  for (const header of request.headers) if (header.name.toLowerCase() === lowerName) fields++;
  return fields;
}

function firstAddress(header: string): string {
  const comma = header.indexOf(',');
  return comma === -1 ? header : header.slice(0, comma);
}

/** The key of a single address; a range (`a.b.c.0/24`) or anything else is not an address WAF accepts. */
function addressKey(text: string): RangeKey | undefined {
  return text.includes('/') ? undefined : rangeKey(text);
}

/**
 * Whether the record carries one of `labels` (ORed, as the rule's label statements are); counts a
 * record whose labels cannot be read in `tally.malformedLabels`, and one without any label in
 * `tally.unlabelled`.
 */
function carriesLabel(request: LoggedRequest, labels: readonly string[], tally: RuleTally): boolean {
  if (request.labelsMalformed === true) {
    tally.malformedLabels = (tally.malformedLabels ?? 0) + 1;
    return false;
  }
  const carried = request.labels ?? [];
  if (carried.length === 0) {
    tally.unlabelled = (tally.unlabelled ?? 0) + 1;
    return false;
  }
  return carried.some((label) => labels.includes(label));
}
