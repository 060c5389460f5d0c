/**
 * The CLI and the neighbour tier (issue 12), against the WAF emulator and dynalite: `list` shows
 * the tier of each range of a deployment that has one, and lists only what pf can block with
 * `--format plain`; `ban --tier neighbour` challenges a range instead of blocking it; `status` and
 * `diff` compare the neighbour sets with the neighbour rows and name the tier. A deployment
 * without a tier lists as before and refuses `--tier neighbour`.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { ATTACKER, FOREIGN, MINUTE, NOW, RANGE, SETTINGS, ledgerEntry } from '../support/blocker-fixtures';
import { refuseBeforeLookup } from '../../cli/actions';
import { banCommand } from '../../cli/commands/ban';
import { cloudwatch, deploy, logs, OPERATOR, reports, type TestDeployment, useServers } from './support';

const servers = useServers();
const OFFENDER = `${ATTACKER.linode}/32`;
let tieredDeployments = 0;

/** A deployment with a neighbour tier (CHALLENGE by default), its neighbour sets' ids, and a ledger of one range per tier. */
async function tiered(
  action: 'CHALLENGE' | 'CAPTCHA' = 'CHALLENGE',
): Promise<{ deployment: TestDeployment; neighbours: { IPV4: string; IPV6: string } }> {
  const waf = servers().waf;
  tieredDeployments += 1;
  const v4 = waf.createIpSet({ name: `neighbours-v4-${tieredDeployments}`, scope: 'CLOUDFRONT', version: 'IPV4' });
  const v6 = waf.createIpSet({ name: `neighbours-v6-${tieredDeployments}`, scope: 'CLOUDFRONT', version: 'IPV6' });
  const deployment = await deploy(servers(), {
    environment: {
      NEIGHBOUR_ACTION: action,
      NEIGHBOURS_IPV4: `${v4.name}|${v4.id}`,
      NEIGHBOURS_IPV6: `${v6.name}|${v6.id}`,
      OFFENDER_PREFIX_IPV4: '32',
      OFFENDER_PREFIX_IPV6: '128',
    },
  });
  await deployment.ledger.upsert([
    ledgerEntry(OFFENDER, { lastSeen: NOW - 5 * MINUTE }),
    { ...ledgerEntry(RANGE.linode, { lastSeen: NOW - 5 * MINUTE, expiresAt: NOW + 60 * MINUTE }), tier: 'neighbour' },
  ]);
  return { deployment, neighbours: { IPV4: v4.id, IPV6: v6.id } };
}

describe('waf-autoblock list with a neighbour tier', () => {
  it('shows each range with its tier, and counts blocked and challenged apart', async () => {
    const { deployment } = await tiered();
    const { code, stdout, stderr } = await deployment.run('list');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^TIER\s+RANGE\s+SOURCE\s+/);
    expect(lines.slice(1, 3).map((line) => line.split(/\s+/).slice(0, 2))).toEqual([
      ['neighbour', RANGE.linode],
      ['block', OFFENDER],
    ]);
    expect(stdout).toContain('1 range blocked, 1 range challenged (neighbour): 2 IPv4, 0 IPv6.');
  });

  it('says the tier of each range in JSON', async () => {
    const { deployment } = await tiered();
    const { stdout } = await deployment.run('list', '--format', 'json');
    const rows = JSON.parse(stdout) as { range: string; tier: string }[];
    expect(rows.map(({ range, tier }) => [range, tier])).toEqual([
      [RANGE.linode, 'neighbour'],
      [OFFENDER, 'block'],
    ]);
  });

  it('lists only the blocked ranges with --format plain, for pf, unless --tier asks for the neighbours', async () => {
    const { deployment } = await tiered();
    expect((await deployment.run('list', '--format', 'plain')).stdout).toBe(`${OFFENDER}\n`);
    expect((await deployment.run('list', '--format', 'plain', '--tier', 'neighbour')).stdout).toBe(`${RANGE.linode}\n`);
  });
});

describe('waf-autoblock list --tier neighbour', () => {
  it('says the listed ranges are challenged, not blocked', async () => {
    const { deployment } = await tiered();
    const { code, stdout } = await deployment.run('list', '--tier', 'neighbour');
    expect(code).toBe(0);
    expect(stdout).toContain(RANGE.linode);
    expect(stdout).not.toContain(OFFENDER);
    expect(stdout).toContain('1 range challenged: 1 IPv4, 0 IPv6.');
    expect(stdout).not.toContain('blocked');
  });

  it('with CAPTCHA, says the ranges are shown a CAPTCHA, in this list and in the list of both tiers', async () => {
    const { deployment } = await tiered('CAPTCHA');
    const neighbours = await deployment.run('list', '--tier', 'neighbour');
    expect(neighbours.stdout).toContain('1 range shown a CAPTCHA: 1 IPv4, 0 IPv6.');
    const all = await deployment.run('list');
    expect(all.stdout).toContain('1 range blocked, 1 range shown a CAPTCHA (neighbour): 2 IPv4, 0 IPv6.');
  });

  it('says no range is challenged when the neighbour tier is empty', async () => {
    const { deployment } = await tiered();
    expect((await deployment.run('unban', RANGE.linode)).code).toBe(0);
    const { stdout } = await deployment.run('list', '--tier', 'neighbour');
    expect(stdout).toBe('No range is challenged by waf-autoblock.\n');
  });
});

describe('waf-autoblock ban --tier neighbour', () => {
  it('challenges the widened range in the neighbour set, records it in the neighbour tier, and blocks nothing', async () => {
    const { deployment, neighbours } = await tiered();
    const { code, stdout, stderr } = await deployment.run('ban', ATTACKER.tor, '--tier', 'neighbour', '--for', '2h');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Challenged 185\.220\.101\.0\/24 \(185\.220\.101\.4 widened\) until /);
    expect(stdout).toContain(
      `In neighbour IP set neighbours-v4-${tieredDeployments}, whose rule's action is CHALLENGE.`,
    );
    expect(stdout).not.toMatch(/blocked|Block sets/);
    // The seeded rows' ranges are put into their sets by the same run, each in its own tier.
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([RANGE.linode, RANGE.tor]);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).not.toContain(RANGE.tor);
    const rows = await deployment.ledger.activeEntries('IPV4', 'neighbour');
    expect(rows.find((row) => row.range === RANGE.tor)).toMatchObject({
      source: `cli:${OPERATOR}`,
      expiresAt: NOW + 120 * MINUTE,
      tier: 'neighbour',
    });
    expect(reports().at(-1)?.added).toContainEqual({
      range: RANGE.tor,
      source: `cli:${OPERATOR}`,
      hits: 1,
      tier: 'neighbour',
    });
  });

  it('with CAPTCHA, says the range is shown a CAPTCHA, not challenged, and names the neighbour set', async () => {
    // A tester's finding: the line began "Challenged" on a CAPTCHA stack and named no set.
    const { deployment } = await tiered('CAPTCHA');
    const { code, stdout } = await deployment.run('ban', ATTACKER.tor, '--tier', 'neighbour');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Showing a CAPTCHA to 185\.220\.101\.0\/24 \(185\.220\.101\.4 widened\) until /);
    expect(stdout).toContain(`In neighbour IP set neighbours-v4-${tieredDeployments}, whose rule's action is CAPTCHA.`);
    expect(stdout).not.toMatch(/[Cc]hallenged/);
  });

  it('a range already in the neighbour tier for longer: says it stays challenged, not blocked, that long', async () => {
    const { deployment } = await tiered();
    // The seeded neighbour row of 45.33.12.0/24 runs for an hour.
    const { code, stdout } = await deployment.run('ban', ATTACKER.linode, '--tier', 'neighbour', '--for', '30m');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /It was already challenged until later than the .+ asked for: its time in the neighbour tier is extended, never shortened\./,
    );
    expect(stdout).not.toContain('blocked');
  });

  it('a range the Block sets hold too: says it stays blocked, and how to only challenge it', async () => {
    // A tester's finding: "Challenged 45.33.12.0/24" although the Block rule, evaluated first, still blocked it.
    const { deployment } = await tiered();
    expect((await deployment.run('ban', ATTACKER.linode)).code).toBe(0);
    const { code, stdout } = await deployment.run('ban', ATTACKER.linode, '--tier', 'neighbour');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Challenged 45\.33\.12\.0\/24 /);
    expect(stdout).toMatch(
      /It stays blocked too: 45\.33\.12\.0\/24 is also in IP set blocklist-v4-\d+, whose rule comes before the neighbour rule; to have it only challenged, unban 45\.33\.12\.0\/24 \(an unban ends both tiers\) and ban it again with --tier neighbour\./,
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toContain(RANGE.linode);
  });

  it("says nothing of the Block sets when they hold only the offender's own address inside the range", async () => {
    const { deployment } = await tiered(); // the block tier holds 45.33.12.7/32, inside 45.33.12.0/24
    const { stdout } = await deployment.run('ban', ATTACKER.linode, '--tier', 'neighbour', '--for', '2h');
    expect(stdout).toMatch(/^Challenged 45\.33\.12\.0\/24 /);
    expect(stdout).not.toContain('stays blocked');
  });

  it("help's examples name addresses a ban accepts (a neighbour-tier example in carrier NAT space was refused)", () => {
    const examples = banCommand.help.split('\n').flatMap((line) => /^\s+waf-autoblock ban (\S+)/.exec(line)?.[1] ?? []);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const address of examples) {
      expect(() => {
        refuseBeforeLookup({ action: 'ban', address, source: 'cli:test', tier: 'neighbour' });
      }).not.toThrow();
    }
  });

  it('without --tier, blocks as before, in the Block set', async () => {
    const { deployment, neighbours } = await tiered();
    const { code, stdout } = await deployment.run('ban', ATTACKER.tor);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Banned 185\.220\.101\.0\/24/);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4, OFFENDER, RANGE.tor]);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([RANGE.linode]);
  });
});

describe('waf-autoblock unban with a neighbour tier', () => {
  it('frees the address named: ends its own /32 and the challenged /24 around it, and says both', async () => {
    // A tester's finding: `unban 45.33.12.7` ended the /24 only; the address stayed blocked, and a second
    // unban then answered that it was not blocked.
    const { deployment, neighbours } = await tiered();
    const { code, stdout, stderr } = await deployment.run('unban', ATTACKER.linode);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Unbanned ${OFFENDER.replace(/\./g, '\\.')}`));
    expect(stdout).toContain(`Also unbanned ${RANGE.linode}`);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([]);
  });
});

describe('waf-autoblock unban of a range written with its prefix, with a neighbour tier', () => {
  /** Another offender of the same /24, blocked beside OFFENDER. */
  const NEIGHBOURING_OFFENDER = `${RANGE.linode.replace(/\.0\/24$/, '.9')}/32`;

  it('ends every block inside the range too: the offenders of the /24 with the challenged /24, and says each', async () => {
    // A tester's finding: `unban 45.33.12.0/24` answered "Unbanned 45.33.12.0/24" and left both offenders
    // inside it in the Block set.
    const { deployment, neighbours } = await tiered();
    await deployment.ledger.upsert([ledgerEntry(NEIGHBOURING_OFFENDER, { lastSeen: NOW - 5 * MINUTE })]);

    const { code, stdout, stderr } = await deployment.run('unban', RANGE.linode);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Unbanned ${RANGE.linode.replace(/[./]/g, (c) => `\\${c}`)}`));
    expect(stdout).toContain(OFFENDER);
    expect(stdout).toContain(NEIGHBOURING_OFFENDER);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('ends nothing inside a range wider than the widened prefix: one unban never lifts a whole network', async () => {
    const { deployment } = await tiered();

    const { code, stdout } = await deployment.run('unban', '45.33.0.0/16');

    expect(code).toBe(0);
    expect(stdout).toContain('45.33.0.0/16 is not blocked by waf-autoblock');
    expect((await deployment.ledger.activeEntries('IPV4')).map((entry) => entry.range)).toEqual([OFFENDER]);
  });

  it('after releasing a range that was in the set first, still says what else it ended, and never that the released entry left', async () => {
    // A tester's finding: the offender's /32 was someone else's entry first; unban printed "Released" alone and said
    // nothing of the challenged /24 it ended.
    const { deployment, neighbours } = await tiered();
    await deployment.ledger.upsert([{ ...ledgerEntry(OFFENDER, { lastSeen: NOW - 5 * MINUTE }), preexisting: true }]);
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, OFFENDER]);

    const { code, stdout } = await deployment.run('unban', ATTACKER.linode);

    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Released ${OFFENDER.replace(/[./]/g, (c) => `\\${c}`)}`));
    expect(stdout).toContain(`Also unbanned ${RANGE.linode}`);
    expect(stdout).not.toContain(`Also unbanned ${OFFENDER}`);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4, OFFENDER]);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([]);
  });

  it('unbanning an address still frees that address alone, not the other offenders of its /24', async () => {
    const { deployment } = await tiered();
    await deployment.ledger.upsert([ledgerEntry(NEIGHBOURING_OFFENDER, { lastSeen: NOW - 5 * MINUTE })]);

    const { code } = await deployment.run('unban', ATTACKER.linode);

    expect(code).toBe(0);
    expect((await deployment.ledger.activeEntries('IPV4')).map((entry) => entry.range)).toEqual([
      NEIGHBOURING_OFFENDER,
    ]);
  });
});

describe('waf-autoblock unban names the sets of the tier a range was in', () => {
  const escaped = (text: string) => text.replace(/[./]/g, (c) => `\\${c}`);

  it('says which neighbour set the challenged /24 left, and never names the Block set for it', async () => {
    const { deployment, neighbours } = await tiered();
    await deployment.run('ban', ATTACKER.tor); // the seeded rows' ranges reach their sets
    const v4 = `neighbours-v4-${tieredDeployments}`;
    // Another tool empties the neighbour set: the /24 is already gone from it, and only from it.
    servers().waf.setAddresses(neighbours.IPV4, []);
    const { code, stdout } = await deployment.run('unban', ATTACKER.linode);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      new RegExp(`^Unbanned ${escaped(OFFENDER)}: removed from IP set blocklist-v4-\\d+\\.$`, 'm'),
    );
    expect(stdout).toContain(
      `Also unbanned ${RANGE.linode}: already absent from IP set ${v4} (removed by hand or by another tool), so nothing was removed there.`,
    );
  });

  it('refuses to unban a foreign entry of a neighbour set, naming that set and not the blocklist', async () => {
    const { deployment, neighbours } = await tiered();
    servers().waf.setAddresses(neighbours.IPV4, [RANGE.tor]);
    const { code, stderr } = await deployment.run('unban', RANGE.tor);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `${RANGE.tor} is in neighbour IP set neighbours-v4-${tieredDeployments} but was not added by waf-autoblock`,
    );
    expect(stderr).not.toContain('blocklist');
    // The entry stays; the run put the seeded neighbour row's /24 beside it.
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([RANGE.tor, RANGE.linode]);
  });

  it('releases a neighbour range that was in its set before waf-autoblock challenged it, naming that set', async () => {
    const { deployment, neighbours } = await tiered();
    servers().waf.setAddresses(neighbours.IPV4, [RANGE.tor]);
    await deployment.ledger.upsert([{ ...ledgerEntry(RANGE.tor), tier: 'neighbour', preexisting: true }]);
    const { code, stdout } = await deployment.run('unban', RANGE.tor);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `Released ${RANGE.tor}: waf-autoblock no longer challenges it, but the entry stays in neighbour IP set ` +
        `neighbours-v4-${tieredDeployments}: it was there before waf-autoblock challenged it.`,
    );
    // The entry stays; the run put the seeded neighbour row's /24 beside it.
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([RANGE.tor, RANGE.linode]);
    expect(await deployment.ledger.activeEntries('IPV4', 'neighbour')).toEqual([
      expect.objectContaining({ range: RANGE.linode }),
    ]);
  });
});

describe('the CLI on a deployment without a neighbour tier', () => {
  it('refuses ban --tier neighbour and list --tier neighbour, naming the setting, and writes nothing', async () => {
    const deployment = await deploy(servers());
    const ban = await deployment.run('ban', ATTACKER.tor, '--tier', 'neighbour');
    expect(ban.code).toBe(1);
    expect(ban.stderr).toContain('has no neighbour sets (blocker.neighbourAction is BLOCK)');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    const list = await deployment.run('list', '--tier', 'neighbour');
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('has no neighbour sets');
  });

  it('refuses a tier that does not exist as a usage error', async () => {
    const deployment = await deploy(servers());
    expect((await deployment.run('ban', ATTACKER.tor, '--tier', 'captcha')).code).toBe(2);
    expect((await deployment.run('list', '--tier', 'both')).code).toBe(2);
  });
});

describe('waf-autoblock flush with a neighbour tier', () => {
  it('ends every managed range of both tiers and keeps nothing but foreign entries', async () => {
    const { deployment, neighbours } = await tiered();
    // The seeded rows' ranges reach their sets first.
    await deployment.run('ban', ATTACKER.tor);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([RANGE.linode]);

    const { code, stdout, stderr } = await deployment.run('flush', '--yes');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('neighbours-v4');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(neighbours.IPV4)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4', 'neighbour')).toEqual([]);
  });
});

/** An entry someone else put into a neighbour set: never waf-autoblock's to remove. */
const FOREIGN_NEIGHBOUR = '46.5.7.0/24';

describe('waf-autoblock status with a neighbour tier', () => {
  it("shows each family's neighbour sets against their capacity and each set with its tier, and both tiers' next expiries", async () => {
    const { deployment, neighbours } = await tiered();
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, OFFENDER]);
    servers().waf.setAddresses(neighbours.IPV4, [RANGE.linode, FOREIGN_NEIGHBOUR]);
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: 'OK' }] });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });

    const { code, stdout, stderr } = await deployment.run('status');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      [
        '  IPv4 blocklist: 2 / 10,000 in 1 set (0% full)',
        '  IPv6 blocklist: 1 / 10,000 in 1 set (0% full)',
        '  IPv4 neighbour sets (CHALLENGE): 2 / 10,000 in 1 set (0% full)',
        '  IPv6 neighbour sets (CHALLENGE): 0 / 10,000 in 1 set (0% full)',
      ].join('\n'),
    );
    expect(stdout).toMatch(/IP SET\s+TIER\s+FAMILY\s+ENTRIES\s+FULL\s+MANAGED\s+FOREIGN\n/);
    expect(stdout).toMatch(/blocklist-v4-\d+\s+block\s+IPv4\s+2 \/ 10,000\s+0%\s+1\s+1\n/);
    // The neighbour row's range counts as managed in its own set, and only there.
    expect(stdout).toMatch(/neighbours-v4-\d+\s+neighbour\s+IPv4\s+2 \/ 10,000\s+0%\s+1\s+1\n/);
    expect(stdout).toMatch(/neighbours-v6-\d+\s+neighbour\s+IPv6\s+0 \/ 10,000\s+0%\s+0\s+0\n/);
    expect(stdout).toContain('Next expiries (2 of 2 managed ranges):');
    expect(stdout).toMatch(/TIER\s+RANGE\s+EXPIRES \(UTC\)\s+SOURCE\n/);
    expect(stdout).toMatch(/neighbour\s+45\.33\.12\.0\/24\s+2025-05-17T04:00:00Z \(in 1h\)/);
    expect(stdout).toMatch(/block\s+45\.33\.12\.7\/32\s+/);
  });

  it('counts a full neighbour set against its capacity', async () => {
    const { deployment, neighbours } = await tiered();
    const full = Array.from({ length: 9_500 }, (_, i) => `23.1.${Math.floor(i / 256)}.${i % 256}/32`);
    servers().waf.setAddresses(neighbours.IPV4, full);
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });

    const { stdout } = await deployment.run('status');

    expect(stdout).toContain('  IPv4 neighbour sets (CHALLENGE): 9,500 / 10,000 in 1 set (95% full)\n');
    expect(stdout).toMatch(/neighbours-v4-\d+\s+neighbour\s+IPv4\s+9,500 \/ 10,000\s+95%\s+0\s+9,500\n/);
  });
});

describe('waf-autoblock diff with a neighbour tier', () => {
  it("compares the neighbour sets with the neighbour rows, names each set's tier, and exits 1 with --exit-code on drift there alone", async () => {
    const { deployment, neighbours } = await tiered();
    // The Block sets are in step; the IPv4 neighbour set lacks its managed /24 and holds another's entry.
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, OFFENDER]);
    servers().waf.setAddresses(neighbours.IPV4, [FOREIGN_NEIGHBOUR]);

    const { code, stdout, stderr } = await deployment.run('diff');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [v4, v6, n4, n6] = stdout.split(/\n(?=\S)/);
    expect(v4).toMatch(
      /^IP set blocklist-v4-\d+ \(CLOUDFRONT, id [\w-]+\), tier block, 2 entries: in step, 1 managed, 1 foreign\n/,
    );
    expect(v6).toMatch(/^IP set blocklist-v6-\d+ .*, tier block, 1 entry: in step, 0 managed, 1 foreign\n/);
    expect(n4).toMatch(
      /^IP set neighbours-v4-\d+ \(CLOUDFRONT, id [\w-]+\), tier neighbour \(CHALLENGE\), 1 entry: 1 missing, 0 extra managed, 1 foreign\n/,
    );
    expect(n4).toContain(`  missing (the next run adds them):\n    ${RANGE.linode}\n`);
    expect(n4).toContain(`  foreign (not added by waf-autoblock; never removed by it):\n    ${FOREIGN_NEIGHBOUR}`);
    expect(n6).toMatch(
      /^IP set neighbours-v6-\d+ .*, tier neighbour \(CHALLENGE\), 0 entries: in step, 0 managed, 0 foreign$/,
    );
    expect(stdout).toContain(
      'Summary: 4 IP sets compared with 2 managed ranges (1 block, 1 neighbour): 1 missing, 0 extra managed; 3 foreign.',
    );

    expect((await deployment.run('diff', '--exit-code')).code).toBe(1);
  });

  it('names the tier of a neighbour set that cannot be read, and exits 1', async () => {
    const { deployment } = await tiered();
    const gone = await deploy(servers(), {
      environment: {
        ...deployment.environment,
        NEIGHBOURS_IPV6: 'neighbours-v6-gone|00000000-0000-0000-0000-000000000000',
      },
    });

    const { code, stdout, stderr } = await gone.run('diff');

    expect(code).toBe(1);
    expect(stdout).toContain(
      'IP set neighbours-v6-gone (CLOUDFRONT, id 00000000-0000-0000-0000-000000000000), tier neighbour (CHALLENGE): unreadable: could not read IP set neighbours-v6-gone',
    );
    expect(stderr).toBe('waf-autoblock diff: 1 IP set could not be read (see above)\n');
  });
});
