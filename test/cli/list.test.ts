/** `list` against dynalite: the ledger's active ranges as a table, JSON, or one CIDR per line. */
import { describe, expect, it } from 'vitest';
import { FOREIGN, MINUTE, NOW, RANGE, RATE_RULE, expiredEntry, ledgerEntry } from '../support/blocker-fixtures';
import { deploy, type TestDeployment, useServers } from './support';

const servers = useServers();

/** A ledger with both families, a due block, an operator's ban with a reason and a preexisting entry. */
async function seeded(): Promise<TestDeployment> {
  const deployment = await deploy(servers());
  await deployment.ledger.upsert([
    ledgerEntry(RANGE.scanner6, { lastSeen: NOW - 5 * MINUTE }),
    ledgerEntry(RANGE.linode, {
      source: 'cli:bob',
      reason: 'credential stuffing',
      firstSeen: NOW - 60 * MINUTE,
      lastSeen: NOW - 60 * MINUTE,
      expiresAt: NOW + 7 * 24 * 60 * MINUTE,
    }),
    expiredEntry(RANGE.tor, 2),
    ledgerEntry(FOREIGN.IPV4, { lastSeen: NOW - 20 * MINUTE, preexisting: true }),
  ]);
  return deployment;
}

describe('waf-autoblock list', () => {
  it('prints a table sorted by expiry, with source, times, reason, and notes on due and preexisting entries', async () => {
    const deployment = await seeded();

    const { code, stdout, stderr } = await deployment.run('list');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^RANGE\s+SOURCE\s+FIRST SEEN \(UTC\)\s+LAST SEEN \(UTC\)\s+EXPIRES \(UTC\)\s+REASON$/);
    expect(lines.slice(1, 5).map((line) => line.split(/\s+/)[0])).toEqual([
      RANGE.tor,
      FOREIGN.IPV4,
      RANGE.scanner6,
      RANGE.linode,
    ]);
    expect(lines[1]).toMatch(/^185\.220\.101\.0\/24\s+RateLimitPerIp\s+\S+\s+\S+\s+2025-05-17T02:58:00Z \(due\)\s+-$/);
    expect(lines[2]).toMatch(new RegExp(`^91\\.200\\.12\\.0/24\\s+${RATE_RULE} \\*\\s+`));
    expect(lines[3]).toContain('2025-05-17T06:55:00Z (in 3h 55m)');
    expect(lines[4]).toMatch(
      /^45\.33\.12\.0\/24\s+cli:bob\s+2025-05-17T02:00:00Z\s+2025-05-17T02:00:00Z\s+2025-05-24T03:00:00Z \(in 7d\)\s+credential stuffing$/,
    );
    expect(stdout).toContain('4 ranges blocked: 3 IPv4, 1 IPv6.');
    expect(stdout).toContain('* was in the blocklist before waf-autoblock blocked it');
    expect(stdout).toContain('due: the block has ended; the next blocker run removes the range.');
  });

  it('prints JSON objects with ISO times', async () => {
    const deployment = await seeded();

    const { code, stdout } = await deployment.run('list', '--format', 'json');

    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    expect(rows.map((row) => row.range)).toEqual([RANGE.tor, FOREIGN.IPV4, RANGE.scanner6, RANGE.linode]);
    expect(rows[3]).toEqual({
      range: RANGE.linode,
      family: 'IPV4',
      source: 'cli:bob',
      firstSeen: '2025-05-17T02:00:00.123Z',
      lastSeen: '2025-05-17T02:00:00.123Z',
      expiresAt: '2025-05-24T03:00:00.123Z',
      hits: 4,
      reason: 'credential stuffing',
      preexisting: false,
      sharedPreexisting: [],
    });
    expect(rows[1]).toMatchObject({ preexisting: true, reason: null });
  });

  it('prints one CIDR per line and nothing else with --format plain', async () => {
    const deployment = await seeded();

    const { code, stdout, stderr } = await deployment.run('list', '--format', 'plain');

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe(`${RANGE.tor}\n${FOREIGN.IPV4}\n${RANGE.scanner6}\n${RANGE.linode}\n`);
  });

  it('says when nothing is blocked, and prints nothing at all in plain form', async () => {
    const deployment = await deploy(servers());

    expect(await deployment.run('list')).toMatchObject({ code: 0, stdout: 'No range is blocked by waf-autoblock.\n' });
    expect(await deployment.run('list', '--format', 'plain')).toMatchObject({ code: 0, stdout: '' });
    expect(await deployment.run('list', '--format', 'json')).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('exits 2 naming a bad --format, and 1 naming the ledger table when it cannot be read', async () => {
    const deployment = await deploy(servers());
    const bad = await deployment.run('list', '--format', 'csv');
    expect(bad).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--format must be table, json or plain, got "csv"') as unknown,
    });

    const missing = await deploy(servers(), { environment: { LEDGER_TABLE: 'NoSuchTable' } });
    const { code, stderr } = await missing.run('list');
    expect(code).toBe(1);
    expect(stderr).toContain('could not read ledger table NoSuchTable');
  });
});
