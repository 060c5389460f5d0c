/**
 * `status` and `diff` on a deployment whose IPv4 blocklist is two IP sets (blocker.ipSetsPerFamily
 * 2): totals across the sets, each set's own fill, and a family compared as a whole, so that a range
 * in either set counts as present and an aggregate of managed ranges counts as theirs.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { FOREIGN, RANGE, expiredEntry, ledgerEntry } from '../support/blocker-fixtures';
import { cloudwatch, deploy, logs, useServers } from './support';

const servers = useServers();

/** Both /24s of 62.0.0.0/23, held in the second set as the one aggregate entry. */
const HALVES = ['62.0.0.0/24', '62.0.1.0/24'] as const;
const AGGREGATE = '62.0.0.0/23';

/** A deployment whose IPv4 blocklist is two sets: `first` and `second` hold these addresses. */
async function twoSetDeployment(first: string[], second: string[]) {
  const waf = servers().waf;
  const n = Math.floor(Math.random() * 1e6);
  const sets = [first, second].map((addresses, index) =>
    waf.createIpSet({ name: `shard-v4-${n}-${index + 1}`, scope: 'CLOUDFRONT', version: 'IPV4', addresses }),
  );
  const deployment = await deploy(servers(), {
    environment: { BLOCKLIST_IPV4: JSON.stringify(sets.map((set) => `${set.name}|${set.id}`)) },
  });
  return { deployment, names: sets.map((set) => set.name) };
}

describe('a blocklist of two IPv4 sets', () => {
  it('status shows the family against the capacity of both sets, and each set on its own row', async () => {
    const { deployment, names } = await twoSetDeployment(
      [FOREIGN.IPV4, RANGE.linode, RANGE.scanner],
      [RANGE.tor, AGGREGATE],
    );
    await deployment.ledger.upsert([
      ledgerEntry(RANGE.linode),
      ledgerEntry(RANGE.scanner),
      ledgerEntry(RANGE.tor),
      ...HALVES.map((range) => ledgerEntry(range)),
    ]);
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });

    const { stdout } = await deployment.run('status');

    expect(stdout).toContain('  IPv4 blocklist: 5 / 20,000 in 2 sets (0% full)\n');
    expect(stdout).toContain('  IPv6 blocklist: 1 / 10,000 in 1 set (0% full)\n');
    // The aggregate stands for two managed ranges: an entry waf-autoblock manages, not a foreign one.
    expect(stdout).toMatch(new RegExp(`  ${names[0]}\\s+IPv4\\s+3 / 10,000\\s+0%\\s+2\\s+1\\n`));
    expect(stdout).toMatch(new RegExp(`  ${names[1]}\\s+IPv4\\s+2 / 10,000\\s+0%\\s+2\\s+0\\n`));
  });

  it('diff compares the two sets together: a range in either is present, an aggregate is managed, the rest is listed once', async () => {
    const { deployment, names } = await twoSetDeployment([FOREIGN.IPV4, RANGE.linode], [AGGREGATE, RANGE.tor]);
    await deployment.ledger.upsert([
      ledgerEntry(RANGE.linode),
      ledgerEntry(RANGE.scanner),
      expiredEntry(RANGE.tor),
      ...HALVES.map((range) => ledgerEntry(range)),
    ]);

    const { code, stdout, stderr } = await deployment.run('diff');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [v4] = stdout.split(/\n(?=\S)/);
    expect(v4).toMatch(
      new RegExp(
        `^IPv4 blocklist \\(IP sets ${names[0]}, ${names[1]}\\), 4 entries: 1 missing, 1 extra managed, 1 foreign\\n`,
      ),
    );
    expect(v4).toContain(`  entries per set: ${names[0]} 2, ${names[1]} 2 (of 10,000 each)\n`);
    expect(v4).toContain(`  missing (the next run adds them):\n    ${RANGE.scanner}\n`);
    expect(v4).toContain(`  extra managed (the next run removes them):\n    ${RANGE.tor}\n`);
    expect(v4).toContain(`  foreign (not added by waf-autoblock; never removed by it):\n    ${FOREIGN.IPV4}`);
    expect(v4).not.toContain(HALVES[0]);
    expect(stdout).toContain(
      'Summary: 3 IP sets compared with 5 managed ranges: 1 missing, 1 extra managed; 2 foreign.',
    );
  });

  it('diff calls an aggregate foreign when one range it covers is not managed', async () => {
    const { deployment } = await twoSetDeployment([], [AGGREGATE]);
    await deployment.ledger.upsert([ledgerEntry(HALVES[0])]);

    const { stdout } = await deployment.run('diff');

    const [v4] = stdout.split(/\n(?=\S)/);
    expect(v4).toContain(`  missing (the next run adds them):\n    ${HALVES[0]}\n`);
    expect(v4).toContain(`  foreign (not added by waf-autoblock; never removed by it):\n    ${AGGREGATE}`);
  });
});
