/**
 * Whom the web ACL believes about a client's address. The connecting source IP of a request is
 * set by the network and cannot be forged; a header is text the sender writes, unless the user's
 * own proxy (a CDN or load balancer that every request passes before WAF) writes it. So:
 *
 * - without `forwardedIp` no header is read: allowlist and blocklist match the source IP, and a
 *   rate rule may only count by `IP`;
 * - with `forwardedIp` the user states which header their proxy writes and how. An ALLOW decision
 *   reads only the one address that proxy wrote (FIRST when it overwrites the header, LAST when it
 *   appends to it), and only on a request whose source IP is one of `trustedProxies`
 *   (lib/config/trusted-proxies.ts); a BLOCK decision reads that address too when the proxy overwrites (the header
 *   then holds one address), and ANY address when it appends, because whatever a sender puts in
 *   its own header can only get that sender blocked;
 * - behind that proxy every request's source IP is the proxy, so a rate rule keyed by `IP` would
 *   count the proxy, and the blocker would block the proxy's range for everybody: every rate rule
 *   must be keyed by `FORWARDED_IP`. WAF counts that key by the header's FIRST address (it offers
 *   no other position for rate keys), which only an overwriting proxy makes trustworthy. So with a
 *   proxy that appends no rate key reads the client safely, and the configuration refuses it.
 *
 * Pure: the positions and fallbacks below are plain data in the shapes of the web ACL's
 * `IPSetForwardedIPConfig` and `ForwardedIPConfig`, so the construct only places them.
 */
import { z } from 'zod';
import type { WafScope } from '#contracts/ip-set';
import type { RateRuleConfig } from './schema';
import { readTrustedProxy } from './trusted-proxies';

/** How the user's own proxy writes the header: replaces it with one address, or appends to a list. */
export const FORWARDED_IP_SETTERS = ['overwrites', 'appends'] as const;
export type ForwardedIpSetter = (typeof FORWARDED_IP_SETTERS)[number];

/** The header rules as WAF accepts them (`HeaderName` of ForwardedIPConfig: 1 to 255 of these characters). */
const HEADER_NAME = /^[A-Za-z0-9-]{1,255}$/;

/**
 * Request headers that HTTP or browsers define to hold something else than one client address, so
 * that no proxy writes a bare address into them. WAF finds no address there, and its fallback then
 * decides for every request: the rate rules' MATCH would block everybody, and a forged value could
 * decide the IP set rules. A denylist rather than a list of known client-IP headers, because a
 * proxy of your own may write any header name you choose (`X-Shop-Client`); these are the names
 * that are certainly wrong. `Forwarded` (RFC 7239) is among them: its value is
 * `for=192.0.2.60;proto=https`, which WAF does not read as an address.
 */
export const NON_ADDRESS_HEADERS: readonly string[] = [
  'Forwarded',
  'Host',
  'Cookie',
  'User-Agent',
  'Referer',
  'Origin',
  'Authorization',
  'Proxy-Authorization',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Cache-Control',
  'Connection',
  'Content-Length',
  'Content-Type',
  'Content-Encoding',
  'Cookie2',
  'Date',
  'Expect',
  'From',
  'If-Match',
  'If-Modified-Since',
  'If-None-Match',
  'If-Range',
  'If-Unmodified-Since',
  'Keep-Alive',
  'Max-Forwards',
  'Pragma',
  'Range',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
  'Upgrade-Insecure-Requests',
  'Via',
  'Warning',
  'DNT',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'X-Forwarded-Port',
  'X-Requested-With',
  'X-Amzn-Trace-Id',
];
const NON_ADDRESS = new Set(NON_ADDRESS_HEADERS.map((name) => name.toLowerCase()));

/** Why `name` cannot be the header that holds the client's address, or undefined when it may be. */
export function headerNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'forwarded')
    return `is "${name}", whose value is "for=<address>;proto=…" (RFC 7239), not an address WAF can read: name a header that holds the bare address, e.g. "X-Real-IP"`;
  if (lower === 'cloudfront-viewer-address')
    return `is "${name}", whose value is "<address>:<port>", not an address WAF can read (with the rate rules' fallback MATCH every request would be blocked): let a CloudFront viewer-request function set True-Client-IP to event.viewer.ip, allow that header in the origin request policy, and name "True-Client-IP" here`;
  if (lower.startsWith('cloudfront-'))
    return `is "${name}", a header CloudFront writes with something else than the viewer's bare address: WAF would find none in it and its fallback would decide for every request; let a CloudFront viewer-request function set True-Client-IP to event.viewer.ip, allow that header in the origin request policy, and name "True-Client-IP" here`;
  if (NON_ADDRESS.has(lower) || lower.startsWith('sec-') || lower.startsWith('access-control-'))
    return `is "${name}", a standard header that never holds the client's address: WAF would find none in it and its fallback would decide for every request; name the header your proxy writes the address into, e.g. "X-Real-IP", "X-Forwarded-For", "True-Client-IP" or "CF-Connecting-IP"`;
  return undefined;
}

/**
 * The `forwardedIp` configuration key: the user's statement that their own proxy writes a header
 * with the client's address. Absent by default: no header is trusted.
 */
export const forwardedIpSchema = z.strictObject(
  {
    /**
     * HTTP header that the proxy in front of WAF writes the client's address into, e.g.
     * `X-Real-IP`, `True-Client-IP` or `X-Forwarded-For`.
     */
    headerName: z
      .string({ error: 'must be an HTTP header name such as "X-Real-IP"' })
      .regex(HEADER_NAME, 'must be an HTTP header name such as "X-Real-IP" (letters, digits and "-", up to 255)')
      .superRefine((name, ctx) => {
        const problem = headerNameProblem(name);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /**
     * `overwrites`: the proxy sets the header to exactly one address, the one it received the
     * request from, replacing whatever the client sent (nginx `proxy_set_header X-Real-IP
     * $remote_addr`). `appends`: the proxy appends that address to a list the client may have
     * started (nginx `$proxy_add_x_forwarded_for`), so only the LAST entry is its own; this trusts
     * exactly one proxy hop. No rate rule can then count per client (WAF keys `FORWARDED_IP` by the
     * first entry, and `IP` counts the proxy), so the configuration refuses `appends` at each rate
     * rule's `aggregateKey`, saying what to do instead. Behind one proxy or several, let the
     * outermost one overwrite a single-valued header and name that header here.
     */
    setByOwnProxy: z.enum(FORWARDED_IP_SETTERS, { error: 'must be overwrites or appends' }),
    /**
     * With scope `CLOUDFRONT` only, and required there: `true` states that a proxy of your own
     * sits in front of CloudFront, every request passes it, and it writes the header. CloudFront
     * gives WAF the viewer's address as the source IP and writes no header that WAF sees, so
     * without such a proxy the header is the client's text, and an allowlisted address written
     * into it would be allowed.
     * @default false
     */
    proxyInFrontOfCloudFront: z.boolean({ error: 'must be true or false' }).optional(),
    /**
     * The addresses (CIDRs) your proxy connects to WAF from: its egress addresses, e.g. a CDN's
     * published ranges. The allowlist reads the header only on a request whose source IP is one
     * of them (lib/config/trusted-proxies.ts). Required with scope `CLOUDFRONT`, and with scope
     * `REGIONAL` when the allowlist is not empty.
     * @default none: no ALLOW decision reads the header
     */
    trustedProxies: z
      .array(
        z.string({ error: 'must be a CIDR such as "173.245.48.0/20"' }).transform((value, ctx) => {
          const entry = readTrustedProxy(value);
          if ('cidr' in entry) return entry.cidr;
          ctx.addIssue({ code: 'custom', message: entry.problem });
          return z.NEVER;
        }),
        { error: 'must be a list of CIDRs such as ["173.245.48.0/20"]' },
      )
      .max(10_000, 'may hold at most 10,000 entries')
      .transform((cidrs) => [...new Set(cidrs)])
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'must be an object such as { "headerName": "X-Real-IP", "setByOwnProxy": "overwrites" }'
        : undefined,
  },
);

/** The validated `forwardedIp` key. */
export type ForwardedIpConfig = z.output<typeof forwardedIpSchema>;

/**
 * The name of the web ACL rule that matches an IP set against the trusted header, beside the rule
 * `ipSetRuleName` that matches it against the source IP (e.g. `allowlist-ipv4-forwarded`).
 */
export function forwardedRuleName(ipSetRuleName: string): string {
  return `${ipSetRuleName}-forwarded`;
}

/** What an IP set rule does with a match. */
export type IpSetRuleAction = 'allow' | 'block';

/** An IP set reference's forwarded-address settings, in the web ACL's `IPSetForwardedIPConfig` shape. */
export interface IpSetForwardedIp {
  readonly headerName: string;
  /** `FIRST` / `LAST`: the one address the proxy wrote; `ANY`: any of the header's last 10 addresses. */
  readonly position: 'FIRST' | 'LAST' | 'ANY';
  /** A header without a valid address at that position never matches. */
  readonly fallbackBehavior: 'NO_MATCH';
}

/** A rate rule's forwarded-address settings, in the web ACL's `ForwardedIPConfig` shape. */
export interface RateRuleForwardedIp {
  readonly headerName: string;
  readonly fallbackBehavior: 'MATCH';
}

/**
 * Where an IP set rule with this action may look in the header, besides the source IP.
 *
 * ALLOW reads only the address the user's own proxy wrote: FIRST when it overwrites the header
 * (then there is only one), LAST when it appends. BLOCK reads FIRST too when the proxy overwrites:
 * the header holds that one address, so ANY would read the same thing for 4 WCUs more per rule.
 * When the proxy appends, BLOCK reads ANY address (WAF inspects the last 10 of a longer list,
 * which always include the one the proxy appended): a sender that writes a blocked address into
 * its own header only gets its own request blocked.
 *
 * @returns undefined without `forwardedIp`: then the rule matches the source IP only.
 */
export function ipSetForwardedIp(
  forwardedIp: ForwardedIpConfig | undefined,
  action: IpSetRuleAction,
): IpSetForwardedIp | undefined {
  if (forwardedIp === undefined) return undefined;
  const position = forwardedIp.setByOwnProxy === 'overwrites' ? 'FIRST' : action === 'block' ? 'ANY' : 'LAST';
  return { headerName: forwardedIp.headerName, position, fallbackBehavior: 'NO_MATCH' };
}

/**
 * The settings of a rate rule keyed by `FORWARDED_IP`. WAF counts by the header's first address.
 *
 * Fallback MATCH: behind a proxy that overwrites the header with the address it received the
 * request from, a header without a valid address cannot have come through that proxy, so WAF
 * blocks the request (loudly, in the rule's BlockedRequests) rather than let it pass uncounted. A
 * request without the header at all is not evaluated by the rule whatever the fallback (WAF's
 * rule): it cannot have passed the proxy, so the protected resource should admit the proxy alone.
 *
 * @throws {ForwardedIpTrustError} when `forwardedIp` is absent or the proxy appends: the header's
 *   first address would then be the client's choice. The configuration refuses both earlier.
 */
export function rateRuleForwardedIp(forwardedIp: ForwardedIpConfig | undefined): RateRuleForwardedIp {
  if (forwardedIp?.setByOwnProxy !== 'overwrites') {
    throw new ForwardedIpTrustError('a FORWARDED_IP rate rule needs forwardedIp with setByOwnProxy "overwrites"');
  }
  return { headerName: forwardedIp.headerName, fallbackBehavior: 'MATCH' };
}

/** A rate rule would count by an address that the client chooses. */
export class ForwardedIpTrustError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForwardedIpTrustError';
  }
}

/**
 * `forwardedIp` where the scope makes it unsafe or meaningless, one problem naming the key:
 * - scope `CLOUDFRONT` without `proxyInFrontOfCloudFront: true`: nothing but a proxy of the
 *   user's in front of CloudFront can have written the header, so without the user's word for
 *   that proxy every header is the client's, and the allowlist could be forged;
 * - `proxyInFrontOfCloudFront` with scope `REGIONAL`: it says nothing there, and would hide a
 *   copy of a CloudFront configuration.
 */
export function forwardedIpScopeProblems(config: {
  readonly scope: WafScope;
  readonly forwardedIp?: ForwardedIpConfig | undefined;
}): ForwardedIpProblem[] {
  const { forwardedIp } = config;
  if (forwardedIp === undefined) return [];
  if (config.scope === 'CLOUDFRONT' && !forwardedIp.proxyInFrontOfCloudFront)
    return [
      {
        path: ['forwardedIp', 'proxyInFrontOfCloudFront'],
        message: `must be true to trust ${forwardedIp.headerName} with scope CLOUDFRONT: CloudFront gives WAF the viewer's address as the source IP, so unless a proxy of yours in front of CloudFront writes the header (and every request passes it) the client writes it, and an allowlisted address in it would be allowed; remove forwardedIp (rate rules keyed by IP count viewers), or set proxyInFrontOfCloudFront: true if such a proxy overwrites it`,
      },
    ];
  if (config.scope === 'REGIONAL' && forwardedIp.proxyInFrontOfCloudFront)
    return [
      {
        path: ['forwardedIp', 'proxyInFrontOfCloudFront'],
        message: 'applies only to scope CLOUDFRONT: remove it (a REGIONAL web ACL sees your proxy directly)',
      },
    ];
  return [];
}

/** One refused combination: where in the configuration, and why. */
export interface ForwardedIpProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * The rate rules whose key would not be the client's own address, each naming the rule's
 * `aggregateKey` with why and what to do instead:
 * - `FORWARDED_IP` without `forwardedIp`: the client writes the header;
 * - `IP` with `forwardedIp`: the source IP is the proxy, so the rule counts the proxy and the
 *   blocker would block the proxy's range, which the blocklist then matches for every request;
 * - any key with a proxy that appends: `FORWARDED_IP` is keyed by the header's first address,
 *   which the client writes, and `IP` counts the proxy.
 */
export function forwardedIpProblems(config: {
  readonly rateRules: readonly Pick<RateRuleConfig, 'aggregateKey'>[];
  readonly forwardedIp?: ForwardedIpConfig | undefined;
}): ForwardedIpProblem[] {
  const { forwardedIp } = config;
  return config.rateRules.flatMap((rule, index) => {
    const message = rateKeyProblem(rule.aggregateKey, forwardedIp);
    return message === undefined ? [] : [{ path: ['rateRules', index, 'aggregateKey'], message }];
  });
}

/** Why a rate rule keyed by `key` would not count the client behind `forwardedIp`, in one line. */
function rateKeyProblem(
  key: RateRuleConfig['aggregateKey'],
  forwardedIp: ForwardedIpConfig | undefined,
): string | undefined {
  if (forwardedIp === undefined) {
    return key === 'IP'
      ? undefined
      : "FORWARDED_IP needs forwardedIp: without it the client chooses X-Forwarded-For's first address; set forwardedIp to say your own proxy sets the header (see docs/forwarded-ip.md), or use IP";
  }
  const header = forwardedIp.headerName;
  const countsProxy =
    'IP counts the connecting source IP, which behind the proxy that forwardedIp declares is that proxy for every request';
  if (forwardedIp.setByOwnProxy === 'overwrites') {
    if (key === 'FORWARDED_IP') return undefined;
    return `${countsProxy}: the rule would limit the proxy, and the blocker would block the proxy's /24, which the blocklist then matches as the source IP of everybody; use FORWARDED_IP to count by ${header}`;
  }
  const firstIsClients = `WAF keys FORWARDED_IP by ${header}'s FIRST address, which the client writes`;
  const instead = `if your proxy in fact replaces ${header}'s value with the one client address it saw, declare setByOwnProxy overwrites and use FORWARDED_IP; if it appends, make it write the client address into a header, replacing what the client sent (nginx: proxy_set_header X-Real-IP $remote_addr), and declare that header as overwritten`;
  return key === 'IP'
    ? `${countsProxy} (the blocker would block the proxy's /24, and so everybody), and with setByOwnProxy appends no rate key is safe: ${firstIsClients}; ${instead}`
    : `FORWARDED_IP cannot be used when forwardedIp.setByOwnProxy is appends: ${firstIsClients} (and IP would count the proxy, so no rate key is safe); ${instead}`;
}

/** A configuration that synthesizes but may not be what the user meant: a CDK warning at synth. */
export interface ForwardedIpWarning {
  /** Id for `Annotations.addWarningV2`, by which a user can acknowledge the warning. */
  readonly id: string;
  /** One line: what was declared, why it is doubtful, what to check. */
  readonly message: string;
}

/**
 * The `forwardedIp` declarations worth a second look (scope `CLOUDFRONT` without a proxy in front
 * is refused, by {@link forwardedIpScopeProblems}):
 * - `X-Forwarded-For` declared as overwritten: most proxies append to it, and then the client
 *   writes the first address, which keys the `FORWARDED_IP` rate rules.
 */
export function forwardedIpWarnings(config: {
  readonly scope: WafScope;
  readonly forwardedIp?: ForwardedIpConfig | undefined;
}): ForwardedIpWarning[] {
  const { forwardedIp } = config;
  if (forwardedIp === undefined) return [];
  const warnings: ForwardedIpWarning[] = [];
  if (forwardedIp.setByOwnProxy === 'overwrites' && forwardedIp.headerName.toLowerCase() === 'x-forwarded-for') {
    warnings.push({
      id: 'waf-autoblock:forwardedForOverwritten',
      message: `forwardedIp declares that your proxy overwrites ${forwardedIp.headerName}, a header most proxies append to (nginx $proxy_add_x_forwarded_for, load balancers, CDNs): double-check that yours replaces it with the one address it received the request from; if it appends, the client chooses the FORWARDED_IP rate key, so let the proxy set a single-valued header such as X-Real-IP and declare that instead`,
    });
  }
  return warnings;
}
