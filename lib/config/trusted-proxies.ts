/**
 * `forwardedIp.trustedProxies`: the addresses your own proxy connects to WAF from. A header is the
 * proxy's word only on a request that came from the proxy; nothing limits a CloudFront
 * distribution to one proxy (its *.cloudfront.net name and its alternate domains answer everybody),
 * and an ALB's security group is often open to the internet. So an ALLOW decision reads the header
 * only together with the source IP: the header rule of the allowlist is
 * `AND(source IP in the trusted proxies, header address in the allowlist)`. A request that skips
 * the proxy and writes an allowlisted address into the header is not allowed; it meets the
 * blocklist and the rate rules like any other (whose header reads can at worst get the sender's
 * own requests blocked).
 *
 * Which addresses may be trusted: with scope CLOUDFRONT, the proxy reaches CloudFront over the
 * internet, so only global addresses; with scope REGIONAL also private-use space (RFC 1918,
 * shared 100.64.0.0/10, unique-local fc00::/7), where a proxy in the VPC (nginx on EC2 in front
 * of an internal ALB) connects from. Never loopback, link-local, documentation or other reserved
 * space, which no proxy connects from, and never a range that overlaps the allowlist: its
 * source-IP rule would then allow every request through the proxy.
 */
import { aggregateRanges } from '#core/aggregate';
import { Allowlist, allowlistByFamily } from '#core/allowlist';
import { describeAddressProblem, readRange } from '#core/address-verdict';
import { isNonGlobal } from '#core/special-purpose';
import type { NetworkRange } from '#core/network-range';
import type { Family } from '#core/types';
import type { WafScope } from '#contracts/ip-set';
import { quoteConfigValue, type ConfigProblem } from './config-error';

/** The private-use blocks a proxy inside a VPC (or behind carrier-grade NAT) may connect from. */
const PRIVATE_USE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((cidr) => ({
  prefix: Number(cidr.split('/')[1]),
  block: new Allowlist([cidr]),
}));

/** Whether `range` lies inside one private-use block: CIDRs that overlap are nested, so a block no longer than it holds it. */
function inPrivateUse(range: NetworkRange): boolean {
  return PRIVATE_USE.some(({ prefix, block }) => prefix <= range.prefix && block.overlaps(range));
}

/**
 * Reads one trusted proxy entry with the parser the allowlist uses (the same refusals: host bits,
 * /0, unreadable text).
 * @returns the canonical CIDR, or the problem as one sentence that quotes the entry.
 */
export function readTrustedProxy(value: string): { readonly cidr: string } | { readonly problem: string } {
  const reading = readRange(value);
  if (reading.problem !== undefined)
    return { problem: `${quoteConfigValue(value)} ${describeAddressProblem(reading)}` };
  return { cidr: reading.range.cidr };
}

/** The trusted proxies split by address family (canonical, no duplicates). */
export function trustedProxiesByFamily(trustedProxies: readonly string[] | undefined): Record<Family, string[]> {
  return allowlistByFamily(trustedProxies ?? []);
}

/** The families that hold trusted proxies: the IP sets the allowlist's header rule checks the source IP against. */
export function trustedProxyFamilies(trustedProxies: readonly string[] | undefined): Family[] {
  const byFamily = trustedProxiesByFamily(trustedProxies);
  return (['IPV4', 'IPV6'] as const).filter((family) => byFamily[family].length > 0);
}

const KEY = ['forwardedIp', 'trustedProxies'];

/**
 * Where `forwardedIp.trustedProxies` is missing or wrong, each problem naming the key:
 * - missing with scope CLOUDFRONT (a distribution answers everybody, not only your proxy), and
 *   with scope REGIONAL and a non-empty allowlist (an ALB's security group is easily left open);
 * - an entry no proxy connects from, for the scope;
 * - an entry that overlaps the allowlist.
 * @param config.allowlist canonical CIDRs, as the schema reads them.
 */
export function trustedProxyProblems(config: {
  readonly scope: WafScope;
  readonly allowlist: readonly string[];
  readonly forwardedIp?: { readonly headerName: string; readonly trustedProxies?: readonly string[] | undefined };
}): ConfigProblem[] {
  const { forwardedIp } = config;
  if (forwardedIp === undefined) return [];
  const proxies = forwardedIp.trustedProxies ?? [];
  if (proxies.length === 0) return missingProblems(config.scope, config.allowlist, forwardedIp.headerName);
  const allowlist = new Allowlist(config.allowlist);
  const entryProblems = proxies.flatMap((cidr, index) => {
    const message = entryProblem(cidr, config.scope, allowlist);
    return message === undefined ? [] : [{ path: [...KEY, index], message }];
  });
  return entryProblems.length > 0 ? entryProblems : sizeProblems(proxies);
}

/**
 * Most addresses the trusted proxies of one family may cover together: a /8's worth for IPv4
 * (16,777,216) and a /28's worth for IPv6 (2^100). A proxy's egress addresses are a few ranges
 * (Cloudflare publishes about 1.5 million IPv4 addresses and 14 × 2^96 IPv6 ones, within both);
 * a list that trusts much of the internet, however it is cut into entries, lets any client there
 * write an allowlisted address into the header and be allowed (a tester listed all global space
 * but the one allowlisted /32, which no entry check refused).
 */
const MOST_TRUSTED_ADDRESSES: Readonly<Record<Family, { readonly count: bigint; readonly worth: string }>> = {
  IPV4: { count: 1n << 24n, worth: "a /8's worth, 16,777,216" },
  IPV6: { count: 1n << 100n, worth: "a /28's worth, 2^100" },
};

function sizeProblems(proxies: readonly string[]): ConfigProblem[] {
  const byFamily = trustedProxiesByFamily(proxies);
  return (['IPV4', 'IPV6'] as const).flatMap((family) => {
    const bits = family === 'IPV4' ? 32n : 128n;
    const covered = aggregateRanges(byFamily[family], { IPV4: 0, IPV6: 0 }).reduce(
      (sum, cidr) => sum + (1n << (bits - BigInt(cidr.slice(cidr.lastIndexOf('/') + 1)))),
      0n,
    );
    const most = MOST_TRUSTED_ADDRESSES[family];
    if (covered <= most.count) return [];
    return [
      {
        path: KEY,
        message: `trusts ${family === 'IPV4' ? covered.toLocaleString('en-US') : `about 2^${covered.toString(2).length - 1}`} ${family === 'IPV4' ? 'IPv4' : 'IPv6'} addresses together, more than any proxy connects from (at most ${most.worth}): every client in them could write an allowlisted address into the header and be allowed; list only your proxy's egress addresses`,
      },
    ];
  });
}

function missingProblems(scope: WafScope, allowlist: readonly string[], header: string): ConfigProblem[] {
  const what = `must list your proxy's egress addresses (CIDRs) so that the allowlist reads ${header} only on requests that come from the proxy`;
  if (scope === 'CLOUDFRONT')
    return [
      {
        path: KEY,
        message: `${what}: a CloudFront distribution answers anybody at its *.cloudfront.net name, so a client that skips your proxy could write an allowlisted address into ${header} and pass the blocklist and every rate rule (see docs/forwarded-ip.md)`,
      },
    ];
  if (allowlist.length === 0) return [];
  return [
    {
      path: KEY,
      message: `${what}, as the allowlist is not empty: a client that reaches the protected resource without your proxy could write an allowlisted address into ${header} and pass the blocklist and every rate rule (see docs/forwarded-ip.md)`,
    },
  ];
}

function entryProblem(cidr: string, scope: WafScope, allowlist: Allowlist): string | undefined {
  const { range } = readRange(cidr);
  if (range === undefined) return undefined;
  if (isNonGlobal(range) && (scope === 'CLOUDFRONT' || !inPrivateUse(range)))
    return scope === 'CLOUDFRONT'
      ? `"${cidr}" is not global address space, which a proxy in front of CloudFront connects from: list the proxy's public egress addresses`
      : `"${cidr}" is neither global address space nor inside one private-use block (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7), and no proxy connects from loopback, link-local, documentation or other reserved space: list the proxy's egress addresses`;
  if (allowlist.overlaps(range))
    return `"${cidr}" overlaps the allowlist, whose source-IP rule would then allow every request that comes through your proxy: remove the proxy's addresses from the allowlist`;
  return undefined;
}
