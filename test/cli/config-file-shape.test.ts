/**
 * `--config` takes the settings object (what cdk.json holds under `context.wafAutoblock`), as
 * `-c config=` does. A tester passed a whole cdk.json and read `unknown key "app" … (config from
 * /x/cdk.json and /x/cdk.json)`: the file named twice, and no word of what to pass instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../cli/config';

const dir = mkdtempSync(join(tmpdir(), 'waf-config-shape-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const CDK_JSON = join(dir, 'cdk.json');
writeFileSync(
  CDK_JSON,
  JSON.stringify({ app: 'npx tsx bin/app.ts', context: { wafAutoblock: { scope: 'REGIONAL' } } }),
);

describe('readConfig with --config', () => {
  it('refuses a whole cdk.json, saying what --config takes instead', async () => {
    await expect(readConfig(dir, 'cdk.json')).rejects.toThrow(
      `--config ${CDK_JSON} is a whole cdk.json (it has "app" and "context"); --config takes the settings object, what cdk.json holds under context.wafAutoblock`,
    );
  });

  it('refuses a file holding only a context object the same way', async () => {
    const file = join(dir, 'context-only.json');
    writeFileSync(file, JSON.stringify({ context: { wafAutoblock: {} } }));
    await expect(readConfig(dir, 'context-only.json')).rejects.toThrow(/is a whole cdk\.json \(it has "context"\)/);
  });

  it('names the config file once when an error comes from it', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ alarm: { treshold: 5 } }));
    await expect(readConfig(dir, 'bad.json')).rejects.toThrow(`(config from ${CDK_JSON} and ${file})`);
    const cdkOnly = await readConfig(dir, undefined);
    expect(cdkOnly.scope).toBe('REGIONAL');
  });

  it('reads a settings object', async () => {
    const file = join(dir, 'shop.json');
    writeFileSync(file, JSON.stringify({ allowlist: ['45.33.12.0/28'] }));
    expect((await readConfig(dir, 'shop.json')).allowlist).toEqual(['45.33.12.0/28']);
  });
});
