import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Template {
  Resources: Record<
    string,
    { Type: string; Properties: { Rules?: { Name: string; Statement: Record<string, unknown> }[] } }
  >;
}

describe('`cdk synth` with the -c overrides of issue 10, under the real CLI', () => {
  it('takes rateRules[0].limit=500 and a numeric account, and deploys to that account', async () => {
    // The CLI, not the test's own context object, decides how a key with brackets and a number
    // arrive in the app: this is the path a user's command line takes.
    const out = mkdtempSync(join(tmpdir(), 'cdkout-'));
    await run(
      'npx',
      [
        'cdk',
        'synth',
        '-q',
        '-o',
        out,
        '-c',
        'wafAutoblock.rateRules[0].limit=500',
        '-c',
        'wafAutoblock.account=123456789012',
      ],
      { env: { ...process.env, CI: 'true' } },
    );
    const template = JSON.parse(readFileSync(join(out, 'WafAutoblock.template.json'), 'utf8')) as Template;
    const webAcl = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::WAFv2::WebACL');
    const rateRule = webAcl?.Properties.Rules?.find((rule) => rule.Name === 'rate-all');
    expect(rateRule?.Statement).toMatchObject({ RateBasedStatement: { Limit: 500 } });
    const manifest = readFileSync(join(out, 'manifest.json'), 'utf8');
    expect(manifest).toContain('"environment": "aws://123456789012/us-east-1"');
  });
});
