/**
 * `flush` and `unban` on a deployment whose IPv4 blocklist is two IP sets, one of them holding an
 * aggregate, against the WAF emulator and dynalite: each range is named with the set it really
 * left (the second set too, and the set whose aggregate held it), "already absent" names only
 * ranges no set held, and the block report counts as expired only ranges that left a set.
 */
import { describe, expect, it } from 'vitest';
import { FOREIGN, RANGE, expiredEntry, ledgerEntry } from '../support/blocker-fixtures';
import { deploy, reports, useServers } from './support';

const servers = useServers();

/** Both /24s of 70.1.0.0/23, held in the second set as the one aggregate entry. */
const HALVES = ['70.1.0.0/24', '70.1.1.0/24'] as const;
const AGGREGATE = '70.1.0.0/23';
/** A managed range in the ledger only: in neither set (taken out by hand, or it never fitted). */
const LEDGER_ONLY = '67.0.0.0/24';
/** A foreign entry of the second set. */
const FOREIGN_TOO = '198.51.100.0/24';

/** `count` /24s, none next to another (so none aggregate): 45.<first>.0.0/24, 45.<first>.2.0/24, ... */
function ranges(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `45.${first}.${2 * i}.0/24`);
}

/** A deployment whose IPv4 blocklist is two sets holding `first` and `second`, each beside a foreign entry. */
async function twoSets(first: readonly string[], second: readonly string[]) {
  const waf = servers().waf;
  const n = Math.floor(Math.random() * 1e6);
  const sets = [
    [FOREIGN.IPV4, ...first],
    [...second, FOREIGN_TOO],
  ].map((addresses, index) =>
    waf.createIpSet({ name: `tryout-v4-${n}-${index + 1}`, scope: 'CLOUDFRONT', version: 'IPV4', addresses }),
  );
  const deployment = await deploy(servers(), {
    environment: { BLOCKLIST_IPV4: JSON.stringify(sets.map((set) => `${set.name}|${set.id}`)) },
  });
  const [one, two] = sets.map((set) => ({ id: set.id, name: set.name }));
  if (one === undefined || two === undefined) throw new Error('two sets were created');
  return { deployment, one, two };
}

describe('removals over a blocklist of two IPv4 sets', () => {
  it('flush names both sets it removed from and, as already absent, only the range that was in neither', async () => {
    const first = ranges(1, 30);
    const second = ranges(2, 20);
    const { deployment, one, two } = await twoSets(first, [...second, AGGREGATE]);
    await deployment.ledger.upsert([...first, ...second, ...HALVES, LEDGER_ONLY].map((range) => ledgerEntry(range)));

    const { code, stdout, stderr } = await deployment.run('flush', '--yes');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    // 30 from the first set, 20 and both halves of the aggregate from the second.
    expect(stdout).toBe(
      `Flushed: 52 ranges removed from ${one.name}, ${two.name}; foreign entries kept.\n` +
        '  1 range already absent from a set waf-autoblock had put it in (removed by hand or by another tool), ' +
        `so nothing was removed there: ${LEDGER_ONLY} (${one.name}, ${two.name}).\n`,
    );
    expect(servers().waf.getAddresses(one.id)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(two.id)).toEqual([FOREIGN_TOO]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    // The report's expired ranges are those that left a set: not the one that was in none.
    const [report] = reports();
    expect(report?.version === 2 ? report.expiredCount : report?.expired.length).toBe(52);
    expect(report?.expired.map((entry) => entry.range)).not.toContain(LEDGER_ONLY);
  });

  it('unban names the second set for a range it held, and the set whose aggregate it split', async () => {
    const { deployment, one, two } = await twoSets([RANGE.linode], [RANGE.tor, AGGREGATE]);
    await deployment.ledger.upsert([RANGE.linode, RANGE.tor, ...HALVES].map((range) => ledgerEntry(range)));

    const tor = await deployment.run('unban', RANGE.tor);
    const half = await deployment.run('unban', HALVES[1]);

    expect(tor).toMatchObject({ code: 0, stderr: '' });
    expect(tor.stdout).toBe(`Unbanned ${RANGE.tor}: removed from IP set ${two.name}.\n`);
    expect(half).toMatchObject({ code: 0, stderr: '' });
    expect(half.stdout).toBe(`Unbanned ${HALVES[1]}: removed from IP set ${two.name}.\n`);
    // The aggregate split: its other half stays blocked, in the same set.
    expect(servers().waf.getAddresses(two.id)).toEqual([FOREIGN_TOO, HALVES[0]]);
    expect(servers().waf.getAddresses(one.id)).toEqual([FOREIGN.IPV4, RANGE.linode]);
  });

  it('unban of a range in neither set says it was already absent from both, and reports no expiry', async () => {
    const { deployment, one, two } = await twoSets([RANGE.linode], [RANGE.tor]);
    await deployment.ledger.upsert([RANGE.linode, RANGE.tor, LEDGER_ONLY].map((range) => ledgerEntry(range)));

    const { code, stdout, stderr } = await deployment.run('unban', LEDGER_ONLY);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      `Unbanned ${LEDGER_ONLY}: already absent from IP sets ${one.name} and ${two.name} ` +
        '(removed by hand or by another tool), so nothing was removed there.\n',
    );
    expect(await deployment.ledger.activeEntries('IPV4')).toHaveLength(2);
    // Nothing left a set: no block report.
    expect(reports()).toEqual([]);
  });

  it('counts as expired only the ranges that left a set, not those that ended in overflow', async () => {
    // Both sets full: the ledger's third range never found room (overflow) until its block ended.
    const filler = (first: number, count: number) =>
      Array.from({ length: count }, (_, i) => `${first + Math.floor(i / 256)}.${i % 256}.0.0/16`);
    const waf = servers().waf;
    const { deployment, one, two } = await twoSets([], []);
    waf.setAddresses(one.id, [...filler(1, 9_999), RANGE.linode]);
    waf.setAddresses(two.id, [...filler(101, 9_999), RANGE.tor]);
    await deployment.ledger.upsert([expiredEntry(RANGE.linode), ledgerEntry(RANGE.tor), expiredEntry(LEDGER_ONLY)]);

    const { code, stderr } = await deployment.run('unban', RANGE.tor);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [report] = reports();
    expect(report?.expired.map((entry) => entry.range).sort()).toEqual([RANGE.tor, RANGE.linode].sort());
    expect(report?.version === 2 ? report.expiredCount : undefined).toBe(2);
    expect(report?.overflow.count).toBe(0);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });
});
