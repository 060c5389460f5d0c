/**
 * The blocker's pure core at full scale: 20,000 keys from two rate rules (10,000 IPv4 /32 and
 * 10,000 IPv6 /128), normalized, merged, applied to the ledger and reconciled against a full
 * 10,000-entry IP set. Input is generated from a fixed seed so that figures compare across runs.
 */
import { Allowlist } from '#core/allowlist';
import { parseAddress, parseRange } from '#core/ip-parse';
import { mergeSightings } from '#core/merge';
import { collapseToPrefix } from '#core/network-range';
import { createNormalizePolicy, normalizeKeys } from '#core/normalize';
import { advanceLedger } from '#core/ledger';
import { IpSetIndex, planReconcile } from '#core/reconcile';
import type { LedgerEntry } from '#core/types';
import { prng } from '../examples/generate-waf-log';
import { report, time } from './measure';

const KEYS_PER_FAMILY = 10_000;
const CAPACITY = 10_000;
const NOW = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function generate() {
  const random = prng(0x5eed);
  const int = (n: number) => Math.floor(random() * n);
  // Public-looking space only: 45.x, 81.x, 185.x, 5.x (none of them special-purpose).
  const firstOctets = [5, 31, 45, 46, 62, 77, 81, 91, 95, 103, 109, 141, 176, 185, 193, 212];
  const v4Networks = Array.from({ length: 2_500 }, () => [
    firstOctets[int(firstOctets.length)] ?? 45,
    int(256),
    int(256),
  ]);
  const v4Keys = Array.from({ length: KEYS_PER_FAMILY }, () => {
    const [a, b, c] = v4Networks[int(v4Networks.length)] ?? [45, 33, 12];
    return `${a}.${b}.${c}.${int(256)}/32`;
  });
  const hex = (n: number) => int(n).toString(16);
  const v6Networks = Array.from(
    { length: 2_500 },
    () => `2a0${hex(16)}:${hex(0x10000)}:${hex(0x10000)}:${hex(0x10000)}`,
  );
  const v6Keys = Array.from(
    { length: KEYS_PER_FAMILY },
    () =>
      `${v6Networks[int(v6Networks.length)] ?? '2a01:4f8:1:2'}:${hex(0x10000)}:${hex(0x10000)}:${hex(0x10000)}:${hex(0x10000)}/128`,
  );

  // The ledger knows every other sighted range, plus 3,000 ranges not seen in this run; rows were
  // last seen up to 48 hours ago and block for 24 hours, so about half of the unseen ones expired.
  const canonical = (text: string) => {
    const parsed = parseAddress(text);
    if (parsed === undefined) throw new Error(`bench generated an unparsable key ${text}`);
    return collapseToPrefix(parsed, parsed.family === 'IPV4' ? 24 : 64).cidr;
  };
  const sighted = [...new Set([...v4Keys, ...v6Keys].map(canonical))];
  const unseen = Array.from({ length: 3_000 }, (_, i) =>
    i % 2 === 0
      ? `${firstOctets[int(firstOctets.length)] ?? 45}.${int(256)}.${int(256)}.0/24`
      : `2a0${hex(16)}:${hex(0x10000)}:${hex(0x10000)}:${hex(0x10000)}::/64`,
  );
  const ledger = [...new Set([...sighted.filter((_, i) => i % 2 === 0), ...unseen])].map((range, i): LedgerEntry => {
    const lastSeen = NOW - int(48) * HOUR;
    return {
      range,
      family: range.includes(':') ? 'IPV6' : 'IPV4',
      firstSeen: lastSeen - int(24) * HOUR,
      lastSeen,
      expiresAt: lastSeen + DAY,
      hits: 1 + int(50),
      source: i % 3 === 0 ? 'rate-ip' : 'rate-login',
      preexisting: i % 50 === 0,
    };
  });

  // A full set: every ledger range (WAF echoing some IPv6 in upper case), topped up with foreign entries.
  const managed = ledger.map(({ range }, i) => (i % 20 === 0 ? range.toUpperCase() : range));
  const foreign = Array.from({ length: CAPACITY - managed.length }, (_, i) =>
    i % 2 === 0
      ? `${firstOctets[int(firstOctets.length)] ?? 45}.${int(256)}.${int(256)}.0/24`
      : `2a0${hex(16)}:${hex(0x10000)}::/48`,
  );
  // Through JSON, as the SDK delivers them: flat strings, not the concatenations built above.
  const flat = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  return { v4Keys: flat(v4Keys), v6Keys: flat(v6Keys), ledger: flat(ledger), current: flat([...managed, ...foreign]) };
}

export default async function (): Promise<void> {
  const { v4Keys, v6Keys, ledger, current } = generate();
  const policy = createNormalizePolicy({
    allowlist: Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? `81.${i}.0.0/16` : `2a0${(i % 16).toString(16)}:${i}::/32`,
    ),
  });
  const currentIndex = new IpSetIndex(current);
  const presentInSet = (range: string) => currentIndex.has(range);

  const normalize = () => [
    normalizeKeys(v4Keys, 'rate-ip', policy).sightings,
    normalizeKeys(v6Keys, 'rate-login', policy).sightings,
  ];
  // What one blocker run computes, from the rate rules' keys to the list to send to WAF.
  const full = () => {
    const sightings = mergeSightings(normalize());
    const set = new IpSetIndex(current);
    const { active, expired } = advanceLedger(ledger, sightings, NOW, DAY, (range) => set.has(range));
    return planReconcile({ current: set, active, expired, capacity: CAPACITY });
  };

  const lists = normalize();
  const sightings = mergeSightings(lists);
  const { active, expired } = advanceLedger(ledger, sightings, NOW, DAY, presentInSet);
  const plan = planReconcile({ current, active, expired, capacity: CAPACITY });
  console.log(
    `core input: ${v4Keys.length + v6Keys.length} keys -> ${sightings.length} ranges; ledger ${ledger.length} rows -> ` +
      `${active.length} active, ${expired.length} expired; set ${current.length} entries -> +${plan.added.length} ` +
      `-${plan.removed.length}, ${plan.overflow.length} overflow, ${plan.foreign} foreign`,
  );

  const total = await time(full, 30, 5);
  report(
    'core: normalize 20k keys + merge + ledger + reconcile 10k set',
    `${total.medianMs.toFixed(2)} ms`,
    '<= 20 ms',
  );
  const normalizeOnly = await time(normalize, 30, 5);
  report('core: normalize 20k keys', `${normalizeOnly.medianMs.toFixed(2)} ms`);
  const mergeOnly = await time(() => mergeSightings(lists), 30, 5);
  report('core: merge sightings', `${mergeOnly.medianMs.toFixed(2)} ms`);
  const ledgerOnly = await time(() => advanceLedger(ledger, sightings, NOW, DAY, presentInSet), 30, 5);
  report('core: ledger merge + expiry', `${ledgerOnly.medianMs.toFixed(2)} ms`);
  const reconcileOnly = await time(() => planReconcile({ current, active, expired, capacity: CAPACITY }), 30, 5);
  report('core: reconcile against a full 10k set', `${reconcileOnly.medianMs.toFixed(2)} ms`);

  // The blocker's memory setting rests on this: the process's peak resident size after all of the
  // above (the 20k-key pipeline run 35 times over), next to a bare Node.js process's.
  report(
    'core: peak RSS of this bench process (maxRSS)',
    `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    '< 256 MB Lambda',
  );

  const allowlist = new Allowlist(Array.from({ length: 50 }, (_, i) => `${40 + i}.${i}.0.0/16`));
  const probes = v4Keys.concat(v6Keys).map((key) => {
    const range = parseRange(key);
    if (range === undefined) throw new Error(`bench generated an unparsable key ${key}`);
    return range;
  });
  const lookups = await time(() => probes.filter((range) => allowlist.overlaps(range)).length, 30, 5);
  report('core: 20k allowlist lookups, 50 entries', `${lookups.medianMs.toFixed(2)} ms`, 'a few ms');
}
