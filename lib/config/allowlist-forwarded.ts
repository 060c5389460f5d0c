/**
 * An allowlist that would allow the proxy. With `forwardedIp` the ALLOW rule still matches the
 * source IP (beside the header's address), and behind the user's proxy every request's source IP
 * is that proxy: a load balancer or nginx in a VPC (10/8, 172.16/12, 192.168/16), behind
 * carrier-grade NAT (100.64/10), or in IPv6 unique-local space (fc00::/7). An allowlist entry that
 * covers the proxy would allow every request that comes through it, past the blocklist, the rate
 * rules and the managed groups. Which entry covers the proxy cannot be known at synth, so the safe
 * rule is: with `forwardedIp`, no allowlist entry may touch non-global space (the core's
 * special-purpose table, the same the blocker never blocks). Global entries stay: a client's
 * address there is the one the proxy wrote, or a source IP that did not come through the proxy.
 */
import { isNonGlobal } from '#core/special-purpose';
import { readRange } from '#core/address-verdict';
import type { ConfigProblem } from './config-error';
import type { ForwardedIpConfig } from './forwarded-ip';

/**
 * The allowlist entries that are not global address space when a header is trusted, each one
 * problem naming `allowlist[N]`.
 * @param config.allowlist canonical CIDRs, as the schema reads them.
 */
export function allowlistBehindProxyProblems(config: {
  readonly allowlist: readonly string[];
  readonly forwardedIp?: ForwardedIpConfig | undefined;
}): ConfigProblem[] {
  if (config.forwardedIp === undefined) return [];
  return config.allowlist.flatMap((cidr, index) => {
    const { range } = readRange(cidr);
    if (range === undefined || !isNonGlobal(range)) return [];
    return [
      {
        path: ['allowlist', index],
        message: `"${cidr}" covers non-global space (private, shared, loopback, link-local or reserved), and with forwardedIp the ALLOW rule also matches the source IP, which for every request through your proxy is the proxy's own address, often in that space: everybody behind the proxy would be allowed past the blocklist and the rate rules; remove it, and allowlist your clients by their global addresses`,
      },
    ];
  });
}
