/**
 * `ban --config <file>` checks the local config's allowlist, with the blocker's verdict, before it
 * asks for AWS credentials or calls AWS: run as a user would, with no credentials anywhere.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'waf-ban-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** No AWS credentials anywhere: any AWS call fails with "no AWS credentials found". */
const NO_CREDENTIALS: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: dir,
  AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};

const CONFIG = join(dir, 'shop.json');
writeFileSync(CONFIG, JSON.stringify({ allowlist: ['45.33.12.0/28', '::ffff:81.2.69.142', '2a01:4f8:1:2::/64'] }));

async function ban(...argv: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/waf-autoblock.mjs', 'ban', ...argv], {
      cwd: ROOT,
      env: NO_CREDENTIALS,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('waf-autoblock ban --config (no AWS credentials)', () => {
  it.each([
    ['45.33.12.7', '45.33.12.7 (range 45.33.12.0/24) overlaps allowlist entry 45.33.12.0/28'],
    ['45.33.12.0/24', '45.33.12.0/24 overlaps allowlist entry 45.33.12.0/28'],
    ['81.2.69.7', '81.2.69.7 (range 81.2.69.0/24) overlaps allowlist entry 81.2.69.142/32'],
    ['2a01:4f8:1:2::5', '2a01:4f8:1:2::5 (range 2a01:4f8:1:2::/64) overlaps allowlist entry 2a01:4f8:1:2::/64'],
  ])(
    'refuses %s with exit 1 and one line naming the allowlist entry, before asking for credentials',
    async (address, said) => {
      const { code, stdout, stderr } = await ban(address, '--config', CONFIG);

      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr).toBe(
        `waf-autoblock ban: refused: ${said} of the config (${CONFIG} over cdk.json): never blocked\n`,
      );
    },
  );

  it('goes on to AWS for a range the allowlist does not hold: the credentials are what is missing then', async () => {
    const { code, stderr } = await ban('45.33.13.7', '--config', CONFIG, '--region', 'us-east-1');

    expect(code).toBe(1);
    expect(stderr).toMatch(/^waf-autoblock ban: no AWS credentials found [^\n]*\n$/);
  });
});
