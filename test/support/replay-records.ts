/**
 * WAF log records for the tests of `waf-autoblock replay`: a small flood, the row replay prints
 * for it, and a config whose one rule it crosses. Records come from the builder that writes the
 * shipped sample log (examples/generate-waf-log.ts), so every test reads the shape WAF writes.
 */
import { wafLogRecord, type WafLogHeader } from '../../examples/generate-waf-log';

/** 2025-03-14T02:00:00Z, the start of every fixture log. */
export const T0 = Date.UTC(2025, 2, 14, 2, 0, 0);

/** A POST to `uri` (default `/login`) from `clientIp` at `timestamp` (epoch ms), from Germany. */
export function loginRecord(
  clientIp: string,
  timestamp: number,
  options: { readonly headers?: readonly WafLogHeader[]; readonly uri?: string } = {},
): ReturnType<typeof wafLogRecord> {
  const { headers = [], uri = '/login' } = options;
  return wafLogRecord({ timestamp, clientIp, country: 'DE', headers, uri, method: 'POST' });
}

/** Twelve requests of 45.33.12.7 in 1.1 s: limited at the eleventh by {@link TEN_PER_MINUTE_CONFIG}, 2 over the limit. */
export const FLOOD = Array.from({ length: 12 }, (_, i) => loginRecord('45.33.12.7', T0 + i * 100));

/** The row of the replay table that blocks {@link FLOOD}'s /24. */
export const BLOCKED_ROW = /^45\.33\.12\.0\/24\s+2025-03-14T02:00:01\.000Z\s+rate-all\s+1\s+12\s+2$/m;

/** A configuration with one rate rule of 10 requests per 60 s, to keep fixtures small. */
export const TEN_PER_MINUTE_CONFIG = { rateRules: [{ name: 'rate-all', limit: 10, windowSeconds: 60 }] };

/** `records` as JSON lines, one per line, with a final newline. */
export function jsonLines(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
