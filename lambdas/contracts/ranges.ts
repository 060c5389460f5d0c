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
