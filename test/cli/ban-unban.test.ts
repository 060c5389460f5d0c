/**
 * `ban` and `unban` against the WAF emulator and dynalite: what the operator reads, the exit code,
 * and what the IP sets and the ledger hold afterwards.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ALLOWED, BLOCK_MINUTES, FOREIGN, MINUTE, NOW, RANGE, ledgerEntry } from '../support/blocker-fixtures';
import { deploy, OPERATOR, reports, type TestDeployment, useServers } from './support';

const servers = useServers();

/** A blocklist's name, as the CLI names it. */
function blocklistName(deployment: TestDeployment, family: 'IPV4' | 'IPV6'): string {
  return deployment.environment[`BLOCKLIST_${family}`]?.split('|')[0] ?? '';
}

/** A shared set as the CLI names it: `name (region)`, both read from its ARN. */
function sharedName(deployment: TestDeployment, index: number): string {
  const arn = deployment.sharedArns[index] ?? '';
  return `${arn.split('/').at(-2)} (${arn.split(':')[3]})`;
}

async function item(table: string, range: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await servers().doc.send(new GetCommand({ TableName: table, Key: { range } }));
  return Item;
}

describe('waf-autoblock ban', () => {
  it('blocks the address widened to the deployment prefix, for --for, with the reason and the operator as source', async () => {
    const deployment = await deploy(servers());

    const { code, stdout, stderr } = await deployment.run(
      ...['ban', '45.33.12.7', '--for', '2h', '--reason', 'credential stuffing, ticket 4711'],
    );

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `Banned ${RANGE.linode} (45.33.12.7 widened) until ${new Date(NOW + 120 * MINUTE).toISOString().replace('.123', '')} (in 2h).`,
    );
    expect(stdout).toContain(`Source cli:${OPERATOR}; reason: credential stuffing, ticket 4711.`);
    expect(stdout).toContain(`In IP set blocklist-v4-`);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV6)).toEqual([FOREIGN.IPV6]);
    expect(await item(deployment.ledgerTable, RANGE.linode)).toMatchObject({
      source: `cli:${OPERATOR}`,
      reason: 'credential stuffing, ticket 4711',
      expiresAt: NOW + 120 * MINUTE,
      activeFamily: 'IPV4',
    });
    expect(reports()).toEqual([expect.objectContaining({ added: [expect.objectContaining({ range: RANGE.linode })] })]);
  });

  it("blocks for the deployment's duration without --for, and pushes the range to shared IP sets too", async () => {
    const deployment = await deploy(servers(), { shared: [{ family: 'IPV6' }, { family: 'IPV4' }] });

    const { code, stdout } = await deployment.run('ban', '2a01:4f8:1:2::5');

    expect(code).toBe(0);
    expect(stdout).toContain(`Banned ${RANGE.hetzner6} (2a01:4f8:1:2::5 widened) until`);
    expect(stdout).toContain('(in 4h)');
    expect(stdout).toContain('and 2 shared IP sets.');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV6)).toEqual([FOREIGN.IPV6, RANGE.hetzner6]);
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual([RANGE.hetzner6]);
    expect(servers().waf.getAddresses(deployment.shared[1]!)).toEqual([]);
    expect(await item(deployment.ledgerTable, RANGE.hetzner6)).toMatchObject({
      expiresAt: NOW + BLOCK_MINUTES * MINUTE,
    });
  });

  it('never shortens a block: a shorter --for keeps the later expiry and says so', async () => {
    const deployment = await deploy(servers());
    await deployment.run('ban', RANGE.tor, '--for', '1d');

    const { code, stdout } = await deployment.run('ban', RANGE.tor, '--for', '30m');

    expect(code).toBe(0);
    expect(stdout).toContain(`Banned ${RANGE.tor} until`);
    expect(stdout).toContain('(in 1d)');
    expect(stdout).toContain('already blocked until later than the 30m asked for');
    expect(await item(deployment.ledgerTable, RANGE.tor)).toMatchObject({ expiresAt: NOW + 1440 * MINUTE });
  });

  it("refuses an allowlisted address with exit 1, saying why, and writes nothing (the allowlist is the deployment's)", async () => {
    const deployment = await deploy(servers());

    const { code, stdout, stderr } = await deployment.run('ban', ALLOWED.officeKey);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `waf-autoblock ban: refused: ${ALLOWED.officeKey} (range 80.80.80.0/24) overlaps the allowlist: never blocked\n`,
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(reports()).toEqual([]);
  });

  it('says that a dry-run deployment wrote nothing', async () => {
    const deployment = await deploy(servers(), { environment: { DRY_RUN: 'true' } });

    const { code, stdout } = await deployment.run('ban', RANGE.tor);

    expect(code).toBe(0);
    expect(stdout).toContain(`Banned ${RANGE.tor}`);
    expect(stdout).toContain('Dry run: this deployment runs with blocker.dryRun, so nothing was written');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await item(deployment.ledgerTable, RANGE.tor)).toBeUndefined();
  });

  it.each([
    [['ban'], 'missing the <ip|cidr> argument'],
    [['ban', '1.2.3.4', '5.6.7.8'], 'expected <ip|cidr>, got also 5.6.7.8'],
    [['ban', '45.33.12'], '<ip|cidr> "45.33.12" is not an IPv4 or IPv6 address or CIDR range'],
    [['ban', 'notanip'], '<ip|cidr> "notanip" is not an IPv4 or IPv6 address or CIDR range'],
    [['ban', '0.0.0.0/0'], '<ip|cidr> "0.0.0.0/0" is a /0'],
    [['unban', 'fe80::1%eth0'], '<ip|cidr> "fe80::1%eth0" has an IPv6 zone id'],
    // Refused by every deployment whatever its prefixes: said before the deployment is looked up.
    [['ban', '10.1.2.3'], '10.1.2.3 is not globally routable (private, loopback, link-local, documentation'],
    [['ban', '2001:db8::1', '--for', '1h'], '2001:db8::1 is not globally routable'],
    [['ban', '44.0.0.0/6'], '44.0.0.0/6 is wider than /16, the widest IPv4 range a ban may name: never blocked'],
    [['ban', '45.32.0.0/12'], '45.32.0.0/12 is wider than /16, the widest IPv4 range a ban may name'],
    [['ban', '2a01:4f8::/31'], '2a01:4f8::/31 is wider than /32, the widest IPv6 range a ban may name: never blocked'],
    [
      ['unban', '44.0.0.0/7'],
      '44.0.0.0/7 is wider than /8, the widest IPv4 range waf-autoblock blocks: nothing to unban',
    ],
    [
      ['unban', '2a00::/16'],
      '2a00::/16 is wider than /32, the widest IPv6 range waf-autoblock blocks: nothing to unban',
    ],
    [['ban', '45.33.12.7', '--for', '0m'], '--for must be a duration such as 90m, 24h, 7d or 2w'],
    [['ban', '45.33.12.7', '--for', '366d'], 'got "366d"'],
    [['ban', '45.33.12.7', '--for', '2 days'], 'got "2 days"'],
    [['ban', '45.33.12.7', '--reason', '  '], '--reason must not be empty'],
    [
      ['ban', '45.33.12.7', '--reason', 'x'.repeat(257)],
      '--reason must be at most 256 characters (Unicode code points), got 257',
    ],
    [
      ['ban', '45.33.12.7', '--forever'],
      'unknown option --forever; this command takes --stack, --region, --config, --for, --reason',
    ],
    // A value may start with a dash: the option's own check names what is wrong with it.
    [
      ['ban', '45.33.12.7', '--for', '-5'],
      '--for must be a duration such as 90m, 24h, 7d or 2w (a plain number is minutes), from 1 minute to 365 days; got "-5"',
    ],
    [['ban', '45.33.12.7', '--for', '2\nd'], 'got "2?d"'],
    [['ban', '45.33.12.7', '--for'], '--for needs a value, as in "--for <value>"'],
    [['ban', '45.33.12.7', '--for', '--reason', 'ssh'], '--for needs a value'],
    [['ban', '45.33.12.7', '--stack', 'bad name!'], '--stack must be a CloudFormation stack name: a letter, then'],
    [['ban', '45.33.12.7', '--stack', '1abc'], 'letters, digits and "-"; got "1abc"'],
    [['ban', '45.33.12.7', '--stack', 'W'.repeat(200)], '--stack must be a CloudFormation stack name of at most 128'],
    [
      ['unban', '45.33.12.7', '--region', 'eu-west-1a'],
      '--region must be an AWS region such as eu-west-1, got "eu-west-1a"',
    ],
  ])('exits 2 on %j with one line, before any AWS client exists', async (argv, message) => {
    const deployment = await deploy(servers());

    const { code, stdout, stderr } = await deployment.run(...argv);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toMatch(
      new RegExp(`^waf-autoblock ${argv[0]}: [^\n]+ \\(see "waf-autoblock ${argv[0]} --help"\\)\n$`),
    );
    expect(deployment.regions).toEqual([]);
  });
});

describe('ban and unban on a blocklist of two IPv4 sets (blocker.ipSetsPerFamily 2)', () => {
  /** A deployment whose IPv4 blocklist is two sets, the first holding a foreign entry. */
  async function twoSetDeployment() {
    const waf = servers().waf;
    const n = Math.floor(Math.random() * 1e6);
    const sets = [[FOREIGN.IPV4], []].map((addresses, index) =>
      waf.createIpSet({ name: `shard-v4-${n}-${index + 1}`, scope: 'CLOUDFRONT', version: 'IPV4', addresses }),
    );
    const deployment = await deploy(servers(), {
      environment: { BLOCKLIST_IPV4: JSON.stringify(sets.map((set) => `${set.name}|${set.id}`)) },
    });
    return { deployment, ids: sets.map((set) => set.id) };
  }

  it("names the family's blocklist with its number of sets, not one set the range may not be in", async () => {
    const { deployment, ids } = await twoSetDeployment();

    const ban = await deployment.run('ban', '45.33.12.7');

    expect(ban.code).toBe(0);
    expect(ban.stdout).toContain('  In the IPv4 blocklist (2 sets).\n');
    expect(ids.flatMap((id) => servers().waf.getAddresses(id))).toContain(RANGE.linode);

    const foreign = await deployment.run('unban', FOREIGN.IPV4);

    expect(foreign.code).toBe(1);
    // Word for word what docs/operations.md's example shows for a foreign range.
    expect(foreign.stderr).toBe(
      `waf-autoblock unban: ${FOREIGN.IPV4} is in the IPv4 blocklist (2 sets) but was not added by waf-autoblock, ` +
        'so it is left alone; remove it where it was added ' +
        '(the AWS WAF console, "aws wafv2 update-ip-set", or the tool that manages it)\n',
    );
    // The IPv6 blocklist is still one set: named as before.
    const ban6 = await deployment.run('ban', '2a01:4f8:1:2::5');
    expect(ban6.stdout).toContain(`  In IP set ${blocklistName(deployment, 'IPV6')}.\n`);
  });
});

describe('waf-autoblock unban', () => {
  it('removes a range waf-autoblock blocked, from the blocklist and the shared sets, and closes its ledger entry', async () => {
    const deployment = await deploy(servers(), { shared: [{ family: 'IPV4' }] });
    await deployment.run('ban', RANGE.linode);
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual([RANGE.linode]);

    const { code, stdout, stderr } = await deployment.run('unban', '45.33.12.200');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      `Unbanned ${RANGE.linode}: removed from IP sets ${blocklistName(deployment, 'IPV4')} and ${sharedName(deployment, 0)}.\n`,
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(await item(deployment.ledgerTable, RANGE.linode)).toMatchObject({ removedAt: NOW });
  });

  it('says nothing of shared sets without any', async () => {
    const deployment = await deploy(servers());
    await deployment.run('ban', RANGE.linode);

    const { code, stdout } = await deployment.run('unban', RANGE.linode);

    expect(code).toBe(0);
    expect(stdout).toBe(
      `Unbanned ${RANGE.linode}: removed from IP set ${deployment.environment.BLOCKLIST_IPV4?.split('|')[0]}.\n`,
    );
  });

  it('leaves the range in a shared set that held it before waf-autoblock blocked it, and claims no more', async () => {
    const partnerOwn = RANGE.tor;
    const deployment = await deploy(servers(), {
      shared: [{ family: 'IPV4', addresses: [partnerOwn] }, { family: 'IPV4' }],
    });
    await deployment.run('ban', RANGE.tor);
    expect(await item(deployment.ledgerTable, RANGE.tor)).toMatchObject({
      sharedPreexisting: [deployment.sharedArns[0]],
    });
    expect(servers().waf.getAddresses(deployment.shared[1]!)).toEqual([RANGE.tor]);

    const { code, stdout } = await deployment.run('unban', RANGE.tor);

    expect(code).toBe(0);
    // Not from the first shared set: it held the range before waf-autoblock, and keeps it.
    expect(stdout).toBe(
      `Unbanned ${RANGE.tor}: removed from IP sets ${blocklistName(deployment, 'IPV4')} and ${sharedName(deployment, 1)}.\n`,
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual([partnerOwn]);
    expect(servers().waf.getAddresses(deployment.shared[1]!)).toEqual([]);
  });

  it('says which set no longer held the range, when someone removed it by hand before the unban', async () => {
    const deployment = await deploy(servers(), { shared: [{ family: 'IPV6' }] });
    await deployment.run('ban', RANGE.hetzner6);
    await deployment.run('ban', RANGE.tor);
    // Taken out by hand just before each unban (any run in between would put it back): the IPv6
    // range from our blocklist but not from the shared set, the IPv4 one from the only set it is in.
    servers().waf.setAddresses(deployment.blocklist.IPV6, [FOREIGN.IPV6]);
    const both = await deployment.run('unban', RANGE.hetzner6);
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4]);
    const callsBefore = servers().waf.calls.length;
    const none = await deployment.run('unban', RANGE.tor);

    expect(both.code).toBe(0);
    expect(both.stdout).toBe(
      `Unbanned ${RANGE.hetzner6}: removed from IP set ${sharedName(deployment, 0)}; ` +
        `already absent from IP set ${blocklistName(deployment, 'IPV6')} (removed by hand or by another tool), ` +
        'so nothing was removed there.\n',
    );
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(
      `Unbanned ${RANGE.tor}: already absent from IP set ${blocklistName(deployment, 'IPV4')} ` +
        '(removed by hand or by another tool), so nothing was removed there.\n',
    );
    // Nothing to remove anywhere: no IP set was written.
    expect(
      servers()
        .waf.calls.slice(callsBefore)
        .map((call) => call.operation),
    ).not.toContain('UpdateIPSet');
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([]);
  });

  it('leaves a foreign entry alone: exit 1, saying it was not added by waf-autoblock and where to remove it', async () => {
    const deployment = await deploy(servers());

    const { code, stdout, stderr } = await deployment.run('unban', FOREIGN.IPV4);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    // A one-set family names its set (docs/operations.md shows the default two-set wording, tested above).
    expect(stderr).toBe(
      `waf-autoblock unban: ${FOREIGN.IPV4} is in IP set ${deployment.environment.BLOCKLIST_IPV4?.split('|')[0]} ` +
        'but was not added by waf-autoblock, so it is left alone; remove it where it was added ' +
        '(the AWS WAF console, "aws wafv2 update-ip-set", or the tool that manages it)\n',
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
  });

  it('releases a range that was in the blocklist before waf-autoblock blocked it: the entry stays', async () => {
    const deployment = await deploy(servers());
    await deployment.ledger.upsert([ledgerEntry(FOREIGN.IPV4, { preexisting: true })]);

    const { code, stdout } = await deployment.run('unban', FOREIGN.IPV4);

    expect(code).toBe(0);
    expect(stdout).toContain(`Released ${FOREIGN.IPV4}: waf-autoblock no longer blocks it, but the entry stays`);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
  });

  it('says there is nothing to unban when the range is not blocked, with exit 0', async () => {
    const deployment = await deploy(servers());

    const { code, stdout } = await deployment.run('unban', RANGE.scanner6);

    expect(code).toBe(0);
    expect(stdout).toBe(`${RANGE.scanner6} is not blocked by waf-autoblock: nothing to unban.\n`);
    expect(reports()).toEqual([]);
  });

  it('exits 2 naming an address that is not one, before touching AWS', async () => {
    const deployment = await deploy(servers());

    const { code, stderr } = await deployment.run('unban', 'example.com');

    expect(code).toBe(2);
    expect(deployment.regions).toEqual([]);
    expect(stderr).toContain('"example.com" is not an IPv4 or IPv6 address or CIDR range');
  });

  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['fd00::/64', 'fd00::/64'],
  ])(
    'exits 2 for %s, which waf-autoblock never blocks, in the words of ban, before touching AWS',
    async (address, shown) => {
      const deployment = await deploy(servers());

      const { code, stdout, stderr } = await deployment.run('unban', address);

      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(deployment.regions).toEqual([]);
      expect(stderr).toBe(
        `waf-autoblock unban: ${shown} is not globally routable (private, loopback, link-local, documentation, ` +
          'multicast or reserved): never blocked, so there is nothing to unban (see "waf-autoblock unban --help")\n',
      );
    },
  );
});

describe('ban of a range with host bits set (issue 10, second round, finding 10)', () => {
  it('says both problems of 1.2.3.4/8 at once, instead of suggesting 1.0.0.0/8 only to refuse it', async () => {
    const deployment = await deploy(servers());

    const { code, stderr } = await deployment.run('ban', '1.2.3.4/8');

    expect(code).toBe(2);
    expect(deployment.regions).toEqual([]);
    expect(stderr).toBe(
      'waf-autoblock ban: <ip|cidr> "1.2.3.4/8" has host bits set, and its network 1.0.0.0/8 is wider than /16, ' +
        'the widest IPv4 range a ban may name: never blocked (see "waf-autoblock ban --help")\n',
    );
  });

  it('still suggests the network when a ban may name it (1.2.3.4/16)', async () => {
    const deployment = await deploy(servers());

    const { code, stderr } = await deployment.run('ban', '1.2.3.4/16');

    expect(code).toBe(2);
    expect(stderr).toContain('"1.2.3.4/16" has host bits set; did you mean 1.2.0.0/16?');
  });
});
