/**
 * The words for address ranges that travel between the functions and the stack (block reports,
 * the ledger, IP sets); lambdas/core builds its vocabulary on them. A contract: imports nothing
 * outside lambdas/contracts, no AWS SDK, no CDK.
 */

/** The address family of a range; matches WAF's `IPAddressVersion`. */
export type Family = 'IPV4' | 'IPV6';

/**
 * A CIDR range in canonical form: network address with host bits cleared, IPv6 in RFC 5952 short
 * lower-case form. Examples: `203.0.113.0/24`, `2001:db8:1:2::/64`.
 */
export type Cidr = string;

/**
 * Which list of the blocker a range is in: `block`, the Block IP sets (the only list before issue
 * 12: the exact offenders, or with `neighbourAction` BLOCK the whole widened range), or
 * `neighbour`, the sets whose rule challenges (the widened range around an offender).
 */
export type Tier = 'block' | 'neighbour';

/** Both tiers, in the order the run reports them. */
export const TIERS: readonly Tier[] = ['block', 'neighbour'];
