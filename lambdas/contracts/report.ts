/**
 * The block report: what one blocker run changed, published as JSON to the reports topic and read by
 * the notifier. Bump `version` on any incompatible change.
 */
import type { Cidr, Family } from './ranges';

export const BLOCK_REPORT_KIND = 'waf-autoblock.block-report';

export interface BlockReport {
  readonly kind: typeof BLOCK_REPORT_KIND;
  readonly version: 1;
  /** ISO 8601 time of the run. */
  readonly at: string;
  readonly webAclName: string;
  /** True when nothing was written: the report says what would have been done. */
  readonly dryRun: boolean;
  /** Whether new attackers were collected this run (the gate was open). */
  readonly collected: boolean;
  readonly added: readonly { readonly range: Cidr; readonly source: string; readonly hits: number }[];
  readonly expired: readonly { readonly range: Cidr; readonly source: string; readonly lastSeen: string }[];
  /** Ranges that should be blocked but did not fit into their IP set (most recent and most active kept). */
  readonly overflow: { readonly count: number; readonly sample: readonly Cidr[] };
  readonly ipSets: readonly {
    readonly name: string;
    readonly family: Family;
    readonly size: number;
    readonly capacity: number;
  }[];
  /** Most common Host header values among the rate rules' sampled requests. */
  readonly topHosts: readonly { readonly host: string; readonly count: number }[];
  /** Keys the rate rules returned that were not blocked (unparsable, non-global, allowlisted, ...), by reason. */
  readonly rejectedKeys: Readonly<Record<string, number>>;
  /** Rate rules whose managed keys could not be read this run. */
  readonly unreadableRules: readonly string[];
}

/** True when a parsed SNS message is a block report this notifier understands. */
export function isBlockReport(value: unknown): value is BlockReport {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === BLOCK_REPORT_KIND &&
    (value as { version?: unknown }).version === 1
  );
}
