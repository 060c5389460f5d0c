/**
 * `status` on a blocklist that holds aggregates (lossless aggregation, docs/blocker.md): the family's
 * line counts entries, as WAF does, and a line below says how many managed ranges they hold.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { FOREIGN, RANGE, ledgerEntry } from '../support/blocker-fixtures';
import { cloudwatch, deploy, logs, useServers } from './support';

const servers = useServers();

async function deploymentHolding(addresses: string[]) {
  const set = servers().waf.createIpSet({
    name: `aggregates-v4-${Math.floor(Math.random() * 1e6)}`,
    scope: 'CLOUDFRONT',
    version: 'IPV4',
    addresses,
  });
  const deployment = await deploy(servers(), { environment: { BLOCKLIST_IPV4: `${set.name}|${set.id}` } });
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
  return deployment;
}

describe('status with aggregates in a blocklist', () => {
  it('says how many managed ranges the entries hold when aggregates make them differ', async () => {
    // 46.5.0.0/22 stands for its four /24s: 3 entries, 2 of them managed, holding 5 ranges.
    const quarters = ['46.5.0.0/24', '46.5.1.0/24', '46.5.2.0/24', '46.5.3.0/24'];
    const deployment = await deploymentHolding([FOREIGN.IPV4, '46.5.0.0/22', RANGE.linode]);
    await deployment.ledger.upsert([...quarters, RANGE.linode].map((range) => ledgerEntry(range)));

    const { stdout } = await deployment.run('status');

    expect(stdout).toContain(
      '  IPv4 blocklist: 3 / 10,000 in 1 set (0% full)\n    2 managed entries hold 5 managed ranges (aggregates)\n',
    );
  });

  it('adds nothing when every managed entry is one range', async () => {
    const deployment = await deploymentHolding([FOREIGN.IPV4, RANGE.linode]);
    await deployment.ledger.upsert([ledgerEntry(RANGE.linode)]);

    const { stdout } = await deployment.run('status');

    expect(stdout).toContain('  IPv4 blocklist: 2 / 10,000 in 1 set (0% full)\n');
    expect(stdout).not.toContain('(aggregates)');
  });
});
