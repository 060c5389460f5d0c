/**
 * Address space that is never written to a blocklist, whoever asks: private, loopback, link-local,
 * documentation, multicast, reserved, and IPv6 outside global unicast.
 */
import { parseRange } from './ip-parse';
import { networkRange, type NetworkRange } from './network-range';
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
 * and the IANA IPv4 and IPv6 Special-Purpose Address Registries, rows whose "Globally Reachable"
 * is False or N/A (https://www.iana.org/assignments/iana-ipv4-special-registry;
 * https://www.iana.org/assignments/iana-ipv6-special-registry, compared with its copy "Last
 * Updated 2024-10-22" on 2026-12-01: a copy dated 2025-10-09 exists and was not read in full; its
 * additions outside 2000::/3, if any, are refused by the complements below anyway), plus
 * multicast, and everything outside IPv6 global unicast 2000::/3 (RFC 4291 section 2.4), written
 * as its three complements. A range that
 * overlaps any of these, in either direction, is refused, except where a more specific row of
 * {@link GLOBALLY_REACHABLE_ROWS} says that part is globally reachable: the most specific row wins.
 *
 * Where the registries and this table differ on purpose: 64:ff9b::/96 (RFC 6052) is "Globally
 * Reachable: True" there but lies outside 2000::/3 and stands for IPv4 hosts, so it stays refused;
 * 192.88.99.0/24 (deprecated 6to4 relay anycast) and 2002::/16 (6to4) are N/A there and refused here.
 */
export const SPECIAL_PURPOSE_BLOCKS: readonly SpecialPurposeBlock[] = [
  { cidr: '0.0.0.0/8', name: 'this network', rfc: 'RFC 791' },
  { cidr: '10.0.0.0/8', name: 'private use', rfc: 'RFC 1918' },
  { cidr: '100.64.0.0/10', name: 'shared address space (carrier-grade NAT)', rfc: 'RFC 6598' },
  { cidr: '127.0.0.0/8', name: 'loopback', rfc: 'RFC 1122' },
  { cidr: '169.254.0.0/16', name: 'link local', rfc: 'RFC 3927' },
  { cidr: '172.16.0.0/12', name: 'private use', rfc: 'RFC 1918' },
  // Two rows inside it are globally reachable: see GLOBALLY_REACHABLE_ROWS.
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments (incl. NAT64/DNS64 discovery)', rfc: 'RFC 6890' },
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
  // Seven rows inside it are globally reachable: see GLOBALLY_REACHABLE_ROWS.
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

/**
 * Rows of the same registries marked "Globally Reachable: True" that lie inside a block of
 * {@link SPECIAL_PURPOSE_BLOCKS}: being more specific, they win, and ranges inside them may be
 * blocked. A range that holds one of them and more of its block (the /64 of 2001:1::1, the /24 of
 * 192.0.0.9) is still refused: the rest of it is not globally reachable.
 */
export const GLOBALLY_REACHABLE_ROWS: readonly SpecialPurposeBlock[] = [
  { cidr: '192.0.0.9/32', name: 'Port Control Protocol anycast', rfc: 'RFC 7723' },
  { cidr: '192.0.0.10/32', name: 'Traversal Using Relays around NAT anycast', rfc: 'RFC 8155' },
  { cidr: '2001:1::1/128', name: 'Port Control Protocol anycast', rfc: 'RFC 7723' },
  { cidr: '2001:1::2/128', name: 'Traversal Using Relays around NAT anycast', rfc: 'RFC 8155' },
  { cidr: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol anycast', rfc: 'RFC 9665' },
  { cidr: '2001:3::/32', name: 'AMT', rfc: 'RFC 7450' },
  { cidr: '2001:4:112::/48', name: 'AS112-v6', rfc: 'RFC 7535' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2', rfc: 'RFC 7343' },
  { cidr: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) prefix', rfc: 'RFC 9374' },
];

function mustParse(cidr: string): NetworkRange {
  const range = parseRange(cidr);
  if (range === undefined) throw new Error(`special-purpose block ${cidr} does not parse`);
  return range;
}

/** True when `outer` contains `inner` (same family, at least as long a prefix, same network). */
function contains(outer: NetworkRange, inner: NetworkRange): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    networkRange(inner, outer.prefix).cidr === outer.cidr
  );
}

/** The two halves of `range` (one bit longer prefix). */
function halves(range: NetworkRange): [NetworkRange, NetworkRange] {
  const prefix = range.prefix + 1;
  const words = [range.w0, range.w1, range.w2, range.w3];
  const index = range.prefix >>> 5;
  words[index] = ((words[index] ?? 0) | (0x80000000 >>> (range.prefix & 31))) >>> 0;
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = words;
  return [networkRange(range, prefix), networkRange({ family: range.family, prefix, w0, w1, w2, w3 }, prefix)];
}

/** `range` without the parts `holes` cover, as disjoint CIDR ranges. */
function subtract(range: NetworkRange, holes: readonly NetworkRange[]): NetworkRange[] {
  const inside = holes.filter((hole) => contains(range, hole) || contains(hole, range));
  if (inside.length === 0) return [range];
  if (inside.some((hole) => contains(hole, range))) return [];
  return halves(range).flatMap((half) => subtract(half, inside));
}

// Mapped addresses parse as IPv4, so ::ffff:0:0/96 would read as 0.0.0.0/0 and flag every IPv4
// range. It is listed for the record; ranges that hold it with a prefix below 96 are refused
// before this table is asked (`mapped-prefix`, see address-verdict), and ::/3 covers them too.
const GLOBAL_ROWS = GLOBALLY_REACHABLE_ROWS.map((row) => mustParse(row.cidr));
const SPECIAL_PURPOSE_INDEX = new IntervalIndex(
  SPECIAL_PURPOSE_BLOCKS.filter((block) => block.cidr !== '::ffff:0:0/96').flatMap((block) =>
    subtract(mustParse(block.cidr), GLOBAL_ROWS),
  ),
);

/**
 * True when `range` overlaps a special-purpose block (see {@link SPECIAL_PURPOSE_BLOCKS}) outside
 * its globally reachable rows ({@link GLOBALLY_REACHABLE_ROWS}), i.e. is not entirely globally
 * reachable unicast space.
 */
export function isNonGlobal(range: NetworkRange): boolean {
  return SPECIAL_PURPOSE_INDEX.intersects(range);
}

/**
 * The IPv4 space {@link isNonGlobal} refuses, as disjoint intervals in address order (see
 * `IntervalIndex.ipv4Bounds` in ./range-index): for a caller that takes many ranges in address order.
 */
export function nonGlobalIpv4Bounds(): readonly number[] {
  return SPECIAL_PURPOSE_INDEX.ipv4Bounds();
}
