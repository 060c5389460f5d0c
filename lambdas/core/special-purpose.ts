/**
 * Address space that is never written to a blocklist, whoever asks: private, loopback, link-local,
 * documentation, multicast, reserved, and IPv6 outside global unicast.
 */
import { parseRange } from './ip-parse';
import type { NetworkRange } from './network-range';
import { IntervalIndex } from './range-index';
import type { Cidr } from './types';

/** One special-purpose block that is never written to a blocklist. */
export interface SpecialPurposeBlock {
  readonly cidr: Cidr;
  /** What the block is for, as the registry names it. */
  readonly name: string;
  /** Where it is defined. */
  readonly rfc: string;
}

/**
 * Ranges that are not globally reachable unicast space: blocking them protects nothing and risks
 * cutting off the site's own infrastructure (health checks, NAT, VPC peers). Sources: RFC 6890
 * and the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry), plus everything outside IPv6
 * global unicast 2000::/3 (RFC 4291 section 2.4), written as its three complements. A range that
 * overlaps any of these, in either direction, is refused.
 */
export const SPECIAL_PURPOSE_BLOCKS: readonly SpecialPurposeBlock[] = [
  { cidr: '0.0.0.0/8', name: 'this network', rfc: 'RFC 791' },
  { cidr: '10.0.0.0/8', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '100.64.0.0/10', name: 'shared address space (carrier-grade NAT)', rfc: 'RFC 6598' },
  { cidr: '127.0.0.0/8', name: 'loopback', rfc: 'RFC 1122' },
  { cidr: '169.254.0.0/16', name: 'link local', rfc: 'RFC 3927' },
  { cidr: '172.16.0.0/12', name: 'private use', rfc: 'RFC 1918' },
  // IETF protocol assignments 192.0.0.0/24 except the two globally reachable rows of the IANA IPv4
  // registry: 192.0.0.9/32 (Port Control Protocol anycast, RFC 7723) and 192.0.0.10/32 (TURN
  // anycast, RFC 8155), both "Globally Reachable: True". The rest of the /24 is listed as blocks
  // that exactly leave those two out.
  { cidr: '192.0.0.0/29', name: 'IETF protocol assignments (IPv4 service continuity prefix)', rfc: 'RFC 7335' },
  { cidr: '192.0.0.8/32', name: 'IETF protocol assignments (IPv4 dummy address)', rfc: 'RFC 7600' },
  { cidr: '192.0.0.11/32', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.0.12/30', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.0.16/28', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.0.32/27', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.0.64/26', name: 'IETF protocol assignments', rfc: 'RFC 6890' },
  { cidr: '192.0.0.128/25', name: 'IETF protocol assignments (incl. NAT64/DNS64 discovery)', rfc: 'RFC 6890' },
  { cidr: '192.0.2.0/24', name: 'documentation (TEST-NET-1)', rfc: 'RFC 5737' },
  { cidr: '192.88.99.0/24', name: '6to4 relay anycast', rfc: 'RFC 7526' },
  { cidr: '192.168.0.0/16', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '198.18.0.0/15', name: 'benchmarking', rfc: 'RFC 2544' },
  { cidr: '198.51.100.0/24', name: 'documentation (TEST-NET-2)', rfc: 'RFC 5737' },
  { cidr: '203.0.113.0/24', name: 'documentation (TEST-NET-3)', rfc: 'RFC 5737' },
  { cidr: '224.0.0.0/4', name: 'multicast', rfc: 'RFC 5771' },
  { cidr: '240.0.0.0/4', name: 'reserved', rfc: 'RFC 1112' },
  { cidr: '255.255.255.255/32', name: 'limited broadcast', rfc: 'RFC 919' },
  { cidr: '::/128', name: 'unspecified address', rfc: 'RFC 4291' },
  { cidr: '::1/128', name: 'loopback', rfc: 'RFC 4291' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped (only when written with a prefix below 96)', rfc: 'RFC 4291' },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 translation', rfc: 'RFC 6052' },
  { cidr: '64:ff9b:1::/48', name: 'local-use IPv4-IPv6 translation', rfc: 'RFC 8215' },
  { cidr: '100::/64', name: 'discard only', rfc: 'RFC 6666' },
  { cidr: '2001::/23', name: 'IETF protocol assignments (incl. Teredo 2001::/32)', rfc: 'RFC 2928' },
  { cidr: '2001:db8::/32', name: 'documentation', rfc: 'RFC 3849' },
  { cidr: '2002::/16', name: '6to4', rfc: 'RFC 3056' },
  { cidr: '3fff::/20', name: 'documentation', rfc: 'RFC 9637' },
  { cidr: 'fc00::/7', name: 'unique local', rfc: 'RFC 4193' },
  { cidr: 'fe80::/10', name: 'link-local unicast', rfc: 'RFC 4291' },
  { cidr: 'ff00::/8', name: 'multicast', rfc: 'RFC 4291' },
  { cidr: '::/3', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
  { cidr: '4000::/2', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
  { cidr: '8000::/1', name: 'outside global unicast 2000::/3', rfc: 'RFC 4291' },
];

// Mapped addresses parse as IPv4, so ::ffff:0:0/96 would read as 0.0.0.0/0 and flag every IPv4
// range. It is listed for the record; ranges that hold it with a prefix below 96 are refused
// before this table is asked (`mapped-prefix`, see address-verdict), and ::/3 covers them too.
const SPECIAL_PURPOSE_INDEX = new IntervalIndex(
  SPECIAL_PURPOSE_BLOCKS.filter((block) => block.cidr !== '::ffff:0:0/96').map((block) => {
    const range = parseRange(block.cidr);
    if (range === undefined) throw new Error(`special-purpose block ${block.cidr} does not parse`);
    return range;
  }),
);

/**
 * True when `range` overlaps a special-purpose block (see {@link SPECIAL_PURPOSE_BLOCKS}), i.e.
 * is not entirely globally reachable unicast space.
 */
export function isNonGlobal(range: NetworkRange): boolean {
  return SPECIAL_PURPOSE_INDEX.intersects(range);
}
