/**
 * The most attacked hosts for a block report, from the rate rules' sampled requests. Only a
 * report needs them, so a rule whose samples cannot be read costs the report a detail and
 * nothing else; the run says so when it sends that report.
 */
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { readSampledHosts, type HostCount } from '#adapters/waf';
import type { BlockerSettings } from '#contracts/blocker-environment';

/** Sampled requests cover the last few minutes: the hosts under attack now, not this morning's. */
const SAMPLE_WINDOW_MS = 10 * 60_000;
/** How many hosts a report names. */
const TOP_HOSTS = 5;

/** The most attacked hosts, and the rules whose sampled requests could not be read. */
export interface SampledHosts {
  /** At most five, most requests first (then by name). */
  readonly hosts: HostCount[];
  /** Each rate rule whose samples could not be read, with the error. */
  readonly unreadable: { readonly rule: string; readonly error: unknown }[];
}

/**
 * Reads the last ten minutes of sampled requests of every rate rule and adds up their hosts.
 * Never rejects: a rule that cannot be read is listed in `unreadable`.
 */
export async function sampledHosts(waf: WAFV2Client, settings: BlockerSettings, now: number): Promise<SampledHosts> {
  const results = await Promise.allSettled(
    settings.rateRules.map((ruleMetricName) =>
      readSampledHosts(waf, {
        webAclArn: settings.webAclArn,
        ruleMetricName,
        scope: settings.scope,
        windowMs: SAMPLE_WINDOW_MS,
        now,
      }),
    ),
  );
  const totals = new Map<string, number>();
  const unreadable: { rule: string; error: unknown }[] = [];
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      unreadable.push({ rule: settings.rateRules[index] ?? `rule ${index}`, error: result.reason });
      return;
    }
    for (const { host, count } of result.value) totals.set(host, (totals.get(host) ?? 0) + count);
  });
  const hosts = [...totals.entries()]
    .map(([host, count]) => ({ host, count }))
    .sort((a, b) => b.count - a.count || a.host.localeCompare(b.host))
    .slice(0, TOP_HOSTS);
  return { hosts, unreadable };
}
