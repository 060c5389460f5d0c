/**
 * Whom the web ACL believes about a client's address. The connecting source IP of a request is
 * set by the network and cannot be forged; a header is text the sender writes, unless the user's
 * own proxy (a CDN or load balancer that every request passes before WAF) writes it. So:
 *
 * - without `forwardedIp` no header is read: allowlist and blocklist match the source IP, and a
 *   rate rule may only count by `IP`;
 * - with `forwardedIp` the user states which header their proxy writes and how. An ALLOW decision
 *   reads only the one address that proxy wrote (FIRST when it overwrites the header, LAST when it
 *   appends to it); a BLOCK decision may read ANY address, because whatever a sender puts in its
 *   own header can only get that sender blocked;
 * - a rate rule keyed by `FORWARDED_IP` counts by the header's FIRST address (WAF offers no other
 *   position for rate keys), which only an overwriting proxy makes trustworthy. Anything else
 *   would let a client pick whose range the blocker blocks, so the configuration refuses it.
 *
 * Pure: the positions and fallbacks below are plain data in the shapes of the web ACL's
 * `IPSetForwardedIPConfig` and `ForwardedIPConfig`, so the construct only places them.
 */
import { z } from 'zod';
import type { RateRuleConfig } from './schema';

/** How the user's own proxy writes the header: replaces it with one address, or appends to a list. */
export const FORWARDED_IP_SETTERS = ['overwrites', 'appends'] as const;
export type ForwardedIpSetter = (typeof FORWARDED_IP_SETTERS)[number];

/** The header rules as WAF accepts them (`HeaderName` of ForwardedIPConfig: 1 to 255 of these characters). */
const HEADER_NAME = /^[A-Za-z0-9-]{1,255}$/;

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
      .regex(HEADER_NAME, 'must be an HTTP header name such as "X-Real-IP" (letters, digits and "-", up to 255)'),
    /**
     * `overwrites`: the proxy sets the header to exactly one address, the one it received the
     * request from, replacing whatever the client sent (nginx `proxy_set_header X-Real-IP
     * $remote_addr`). `appends`: the proxy appends that address to a list the client may have
     * started (nginx `$proxy_add_x_forwarded_for`), so only the LAST entry is its own; this trusts
     * exactly one proxy hop. Behind several proxies, let the outermost one overwrite a
     * single-valued header and name that header here.
     */
    setByOwnProxy: z.enum(FORWARDED_IP_SETTERS, { error: 'must be overwrites or appends' }),
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
 * (then there is only one), LAST when it appends. BLOCK reads ANY address (WAF inspects the last
 * 10 of a longer list, which always include the one the proxy appended): a sender that writes a
 * blocked address into its own header only gets its own request blocked, and a range the blocker
 * took from a FORWARDED_IP rule is matched wherever the proxy puts it.
 *
 * @returns undefined without `forwardedIp`: then the rule matches the source IP only.
 */
export function ipSetForwardedIp(
  forwardedIp: ForwardedIpConfig | undefined,
  action: IpSetRuleAction,
): IpSetForwardedIp | undefined {
  if (forwardedIp === undefined) return undefined;
  const position = action === 'block' ? 'ANY' : forwardedIp.setByOwnProxy === 'overwrites' ? 'FIRST' : 'LAST';
  return { headerName: forwardedIp.headerName, position, fallbackBehavior: 'NO_MATCH' };
}

/**
 * The settings of a rate rule keyed by `FORWARDED_IP`. WAF counts by the header's first address.
 *
 * Fallback MATCH: behind a proxy that overwrites the header with the address it received the
 * request from, a header without a valid address cannot have come through that proxy, so WAF
 * blocks the request (loudly, in the rule's BlockedRequests) rather than let it pass uncounted. A
 * request without the header at all is not evaluated by the rule whatever the fallback (WAF's
 * rule); rate rules keyed by `IP` still count it, and the origin should accept only the proxy.
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

/** One refused combination: where in the configuration, and why. */
export interface ForwardedIpProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * The rate rules that would hand the choice of their key to the client: `FORWARDED_IP` without
 * `forwardedIp`, or with a proxy that appends (WAF keys by the header's first address, which the
 * client writes). Each problem names the rule's `aggregateKey`.
 */
export function forwardedIpProblems(config: {
  readonly rateRules: readonly Pick<RateRuleConfig, 'aggregateKey'>[];
  readonly forwardedIp?: ForwardedIpConfig | undefined;
}): ForwardedIpProblem[] {
  const { forwardedIp } = config;
  const problems: ForwardedIpProblem[] = [];
  config.rateRules.forEach((rule, index) => {
    if (rule.aggregateKey !== 'FORWARDED_IP' || forwardedIp?.setByOwnProxy === 'overwrites') return;
    const path = ['rateRules', index, 'aggregateKey'];
    problems.push(
      forwardedIp === undefined
        ? {
            path,
            message:
              'FORWARDED_IP needs forwardedIp: without it the client chooses X-Forwarded-For\'s first address; set forwardedIp to say your own proxy sets the header (see README, "Forwarded client addresses"), or use IP',
          }
        : {
            path,
            message: `FORWARDED_IP cannot be used when forwardedIp.setByOwnProxy is appends: WAF keys a rate rule by ${forwardedIp.headerName}'s FIRST address, which the client writes; name a header your proxy overwrites, or use IP`,
          },
    );
  });
  return problems;
}
