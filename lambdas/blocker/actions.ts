/**
 * Bans and unbans asked for by a person (the `waf-autoblock` CLI) or another host (the ban feed),
 * and what became of each. A run applies them with the same normalization, allowlist, ledger and
 * lock-safe reconcile as the ranges it takes from the rate rules. No AWS imports.
 */
import type { RejectReason } from '../core/address';
import type { Cidr } from '../core/types';

/** Block a range: the address is widened to the configured prefix, as rate rule keys are. */
export interface BanAction {
  readonly action: 'ban';
  /** An IPv4 or IPv6 address or CIDR range. */
  readonly address: string;
  /** How long the block lasts; unset: the deployment's blockDurationMinutes. A block is extended, never shortened. */
  readonly durationMinutes?: number;
  /** Why, for people reading `list` or a report. */
  readonly reason?: string;
  /** Who asked, e.g. `cli:alice` or `fail2ban@web1`; recorded as the ledger entry's source. */
  readonly source: string;
}

/** End a block now: the range leaves every blocklist it was put in by waf-autoblock. */
export interface UnbanAction {
  readonly action: 'unban';
  readonly address: string;
  readonly reason?: string;
  readonly source: string;
}

export type OperatorAction = BanAction | UnbanAction;

/** What a run did with one action. */
export type ActionOutcome =
  /** Blocked (or already blocked) until `expiresAt`, epoch ms. */
  | { readonly status: 'banned'; readonly action: OperatorAction; readonly range: Cidr; readonly expiresAt: number }
  /** Not blocked: the address is allowlisted, non-global, too wide or unparsable. */
  | {
      readonly status: 'refused';
      readonly action: OperatorAction;
      readonly reason: RejectReason;
      /** One sentence naming the address and why, for a person. */
      readonly detail: string;
    }
  /** The block ended and the range left the blocklists. */
  | { readonly status: 'unbanned'; readonly action: OperatorAction; readonly range: Cidr }
  /**
   * Our claim ended, but the entry stays: it was in the blocklist before waf-autoblock saw the
   * range, put there by a person or another tool.
   */
  | { readonly status: 'released'; readonly action: OperatorAction; readonly range: Cidr }
  /** In a blocklist, but not put there by waf-autoblock: left alone (remove it where it was added). */
  | { readonly status: 'foreign'; readonly action: OperatorAction; readonly range: Cidr }
  /** Nothing to unban: waf-autoblock does not block this range. */
  | { readonly status: 'not-blocked'; readonly action: OperatorAction; readonly range: Cidr };
