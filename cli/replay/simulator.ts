/**
 * Replays requests through rate-based rules the way WAF evaluates them: per rule and aggregation
 * key, the requests of the trailing `windowSeconds` are counted, and a key whose count exceeds
 * `limit` is limited from that request on. WAF checks its counters every few seconds rather than
 * on every request, so it can start limiting a little later than this model; the model answers
 * "would this key have crossed the limit, and when first", which is what the blocker acts on.
 *
 * Pure: no I/O, no AWS. Memory is bounded by the keys active within one window plus the keys that
 * were ever limited: per key at most `limit + 1` timestamps are kept, and idle keys are dropped.
 */
import { cidrOfKey, rangeKey, type RangeKey } from '../../lambdas/core/address';
import type { LoggedRequest } from './waf-log';

/** A rate-based rule as the simulator needs it; the config's `RateRuleConfig` is one. */
export interface SimulatedRule {
  readonly name: string;
  /** Requests per window a key may make; one more and it is limited. */
  readonly limit: number;
  readonly windowSeconds: number;
  /** Scope-down: only requests whose URI path starts with this (case-sensitive, as the web ACL's byte match). */
  readonly uriPathPrefix?: string;
  /** Scope-down: only requests whose Host header equals this, ignoring case. */
  readonly host?: string;
  readonly aggregateKey: 'IP' | 'FORWARDED_IP';
  /** Header whose first address is the key when `aggregateKey` is `FORWARDED_IP`. */
  readonly forwardedIpHeader: string;
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
  /** FORWARDED_IP only: requests in scope without the header (WAF skips them) or with no valid first address. */
  unkeyed: number;
}

interface KeyState {
  /** Timestamps of the key's counted requests, oldest first, from `head` on; at most `limit + 1`. */
  times: number[];
  head: number;
  /** Latest timestamp seen; out-of-order records are counted at this time, never in the past. */
  last: number;
  requests: number;
  overLimit: number;
  firstLimited: number | undefined;
}

interface RuleState {
  readonly rule: SimulatedRule;
  readonly windowMs: number;
  readonly host: string | undefined;
  readonly forwardedHeader: string;
  readonly keys: Map<RangeKey, KeyState>;
  readonly tally: RuleTally;
}

/** How often idle keys are swept, in observed requests. */
const SWEEP_EVERY = 65_536;

export class RateSimulator {
  private readonly rules: RuleState[];
  private observed = 0;
  private latest = Number.NEGATIVE_INFINITY;

  constructor(rules: readonly SimulatedRule[]) {
    this.rules = rules.map((rule) => ({
      rule,
      windowMs: rule.windowSeconds * 1000,
      host: rule.host?.toLowerCase(),
      forwardedHeader: rule.forwardedIpHeader.toLowerCase(),
      keys: new Map(),
      tally: { rule: rule.name, counted: 0, unkeyed: 0 },
    }));
  }

  /** Counts one request against every rule whose scope-down it matches. */
  observe(request: LoggedRequest): void {
    if (request.timestamp > this.latest) this.latest = request.timestamp;
    for (const state of this.rules) this.observeRule(state, request);
    if (++this.observed % SWEEP_EVERY === 0) this.sweep();
  }

  private observeRule(state: RuleState, request: LoggedRequest): void {
    const { rule } = state;
    if (rule.uriPathPrefix !== undefined && !request.uri.startsWith(rule.uriPathPrefix)) return;
    if (state.host !== undefined && headerValue(request, 'host')?.toLowerCase() !== state.host) return;
    let key: RangeKey | undefined;
    if (rule.aggregateKey === 'IP') {
      key = addressKey(request.clientIp);
    } else {
      const header = headerValue(request, state.forwardedHeader);
      // WAF's FIRST position: the left-most address, which the client's own proxy wrote.
      key = header === undefined ? undefined : addressKey(firstAddress(header));
    }
    if (key === undefined) {
      state.tally.unkeyed++;
      return;
    }
    state.tally.counted++;

    let entry = state.keys.get(key);
    if (entry === undefined) {
      entry = { times: [], head: 0, last: request.timestamp, requests: 0, overLimit: 0, firstLimited: undefined };
      state.keys.set(key, entry);
    }
    const now = Math.max(request.timestamp, entry.last);
    entry.last = now;
    entry.requests++;
    const { times } = entry;
    // The window is (now - window, now]: a request exactly one window old no longer counts.
    const oldest = now - state.windowMs;
    while (entry.head < times.length && (times[entry.head] ?? now) <= oldest) entry.head++;
    times.push(now);
    // Only "more than limit?" matters, so older timestamps beyond limit + 1 can go.
    if (times.length - entry.head > rule.limit + 1) entry.head++;
    if (entry.head > 1024 && entry.head * 2 > times.length) {
      times.splice(0, entry.head);
      entry.head = 0;
    }
    if (times.length - entry.head > rule.limit) {
      entry.overLimit++;
      entry.firstLimited ??= now;
    }
  }

  /** Drops keys that were never limited and have nothing left in their window. */
  private sweep(): void {
    for (const state of this.rules) {
      const idleBefore = this.latest - state.windowMs;
      for (const [key, entry] of state.keys) {
        if (entry.firstLimited === undefined && entry.last <= idleBefore) state.keys.delete(key);
      }
    }
  }

  /** The keys that crossed a limit so far, by rule (in rule order), then by first limited time. */
  limitedKeys(): LimitedKey[] {
    const limited: LimitedKey[] = [];
    for (const state of this.rules) {
      const ofRule: LimitedKey[] = [];
      for (const [key, entry] of state.keys) {
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
}

function headerValue(request: LoggedRequest, lowerName: string): string | undefined {
  for (const header of request.headers) if (header.name.toLowerCase() === lowerName) return header.value;
  return undefined;
}

function firstAddress(header: string): string {
  const comma = header.indexOf(',');
  return comma === -1 ? header : header.slice(0, comma);
}

/** The key of a single address; a range (`a.b.c.0/24`) or anything else is not an address WAF accepts. */
function addressKey(text: string): RangeKey | undefined {
  return text.includes('/') ? undefined : rangeKey(text);
}
