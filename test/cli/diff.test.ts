/** `diff`: the ledger (dynalite) against the blocklists and a shared set (WAF emulator). */
import { describe, expect, it } from 'vitest';
import { FOREIGN, NOW, RANGE, expiredEntry, ledgerEntry } from '../support/blocker-fixtures';
import { deploy, useServers } from './support';

const servers = useServers();

/** Was in the blocklist, put there by a person, before the blocker saw it attack. */
const PREEXISTING = '193.32.162.0/24';
/** Was in the shared set before waf-autoblock claimed it there. */
const SHARED_PREEXISTING = '5.188.206.0/24';

describe('waf-autoblock diff', () => {
  it('lists per IP set what is missing, what is extra managed and what is foreign, and exits 0 without --exit-code', async () => {
    const deployment = await deploy(servers(), { shared: [{ family: 'IPV4' }] });
    const [sharedArn] = deployment.sharedArns;
    // Every IPv4 range was compared with the shared set when it was first read (sharedSeen).
    const sharedSeen = [sharedArn!];
    await deployment.ledger.upsert([
      ledgerEntry(RANGE.linode, { sharedSeen }),
      ledgerEntry(RANGE.scanner, { sharedSeen }),
      expiredEntry(RANGE.tor),
      ledgerEntry(PREEXISTING, { preexisting: true, sharedSeen }),
      ledgerEntry(SHARED_PREEXISTING, { sharedPreexisting: [sharedArn!], sharedSeen }),
      ledgerEntry(RANGE.scanner6),
    ]);
    // The IPv4 blocklist lacks the scanner and still holds the tor range whose block ended.
    servers().waf.setAddresses(deployment.blocklist.IPV4, [
      FOREIGN.IPV4,
      RANGE.linode,
      RANGE.tor,
      PREEXISTING,
      SHARED_PREEXISTING,
    ]);
    servers().waf.setAddresses(deployment.blocklist.IPV6, [FOREIGN.IPV6, '2A03:B0C0:3:D0:0:0:0:0/64']);
    servers().waf.setAddresses(deployment.shared[0]!, [RANGE.linode, RANGE.scanner, PREEXISTING, SHARED_PREEXISTING]);

    const { code, stdout, stderr } = await deployment.run('diff');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [v4, v6, shared] = stdout.split(/\n(?=\S)/);
    expect(v4).toMatch(
      /^IP set blocklist-v4-\d+ \(CLOUDFRONT, id [\w-]+\), 5 entries: 1 missing, 1 extra managed, 2 foreign\n/,
    );
    expect(v4).toContain(`  missing (the next run adds them):\n    ${RANGE.scanner}\n`);
    expect(v4).toContain(`  extra managed (the next run removes them):\n    ${RANGE.tor}\n`);
    expect(v4).toContain(
      `  foreign (not added by waf-autoblock; never removed by it):\n    ${FOREIGN.IPV4}\n    ${PREEXISTING}`,
    );
    // Another spelling of a managed range is the same range.
    expect(v6).toMatch(/^IP set blocklist-v6-\d+ .*, 2 entries: in step, 1 managed, 1 foreign\n/);
    // The blocklist's preexisting flag does not carry over: in the shared set that range is ours.
    expect(shared).toMatch(/^shared IP set shared-0-\d+ .* in us-east-1, 4 entries: in step, 3 managed, 1 foreign\n/);
    expect(shared).toContain(`foreign (not added by waf-autoblock; never removed by it):\n    ${SHARED_PREEXISTING}`);
    expect(stdout).toContain(
      'Summary: 3 IP sets compared with 6 managed ranges: 1 missing, 1 extra managed; 4 foreign.',
    );

    const strict = await deployment.run('diff', '--exit-code');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe(stdout);
  });

  it('says the sets are in step, and exits 0 with --exit-code', async () => {
    const deployment = await deploy(servers());
    await deployment.ledger.upsert([ledgerEntry(RANGE.linode)]);
    servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, RANGE.linode]);

    const { code, stdout } = await deployment.run('diff', '--exit-code');

    expect(code).toBe(0);
    expect(stdout).toMatch(/^IP set blocklist-v4-\d+ .*, 2 entries: in step, 1 managed, 1 foreign$/m);
    expect(stdout).toContain('Summary: 2 IP sets compared with 1 managed range: in step; 2 foreign.');
  });

  it('counts managed ranges that a full set has no room for', async () => {
    const deployment = await deploy(servers());
    const full = Array.from({ length: 10_000 }, (_, i) => `23.1.${Math.floor(i / 256)}.${i % 256}/32`);
    servers().waf.setAddresses(deployment.blocklist.IPV4, full);
    await deployment.ledger.upsert([ledgerEntry(RANGE.linode, { lastSeen: NOW })]);

    const { code, stdout } = await deployment.run('diff', '--exit-code');

    expect(code).toBe(1);
    expect(stdout).toMatch(/10,000 entries: 0 missing, 0 extra managed, 1 do not fit, 10,000 foreign/);
    expect(stdout).toContain(`  do not fit (the set is full):\n    ${RANGE.linode}\n`);
  });

  it('exits 1 naming a set that cannot be read, after showing the others', async () => {
    const deployment = await deploy(servers(), {
      environment: { BLOCKLIST_IPV6: 'blocklist-v6-gone|00000000-0000-0000-0000-000000000000' },
    });

    const { code, stdout, stderr } = await deployment.run('diff');

    expect(code).toBe(1);
    expect(stdout).toMatch(/^IP set blocklist-v4-\d+ .*: in step/m);
    expect(stdout).toContain(
      'IP set blocklist-v6-gone (CLOUDFRONT, id 00000000-0000-0000-0000-000000000000): unreadable: could not read IP set blocklist-v6-gone',
    );
    expect(stderr).toBe('waf-autoblock diff: 1 IP set could not be read (see above)\n');
  });
});
