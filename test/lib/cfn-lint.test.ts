/**
 * AWS's CloudFormation linter (cfn-lint) over the templates this project synthesizes: the app's
 * stack with the default configuration, a REGIONAL one with most options set, and the construct
 * in an environment-agnostic stack inside a Stage. cfn-lint knows each resource type's schema and
 * many rules CloudFormation only applies at deploy time.
 *
 * cfn-lint is a Python tool (`pip install cfn-lint`). Where it is not on PATH this test skips
 * itself and says so; CI has it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { WafAutoblock } from '../../lib/waf-autoblock';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import { synthesizeChecked, TEST_APP_CONTEXT } from '../support/synth';

const ACCOUNT = '123456789012';

/** One finding of `cfn-lint --format json`. */
interface LintFinding {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
  readonly Rule: { readonly Id: string };
}

/**
 * Findings accepted, each for a stated reason, matched narrowly.
 * W3005 "dependency already enforced by a GetAtt": the CDK's Lambda Function adds its role to
 * DependsOn although `Role: Fn::GetAtt` already orders them. Redundant and harmless; it is the
 * CDK's output, not ours, and removing it would need an escape hatch on every function.
 */
function isAccepted(finding: LintFinding): boolean {
  const [section, logicalId, attribute] = finding.Location.Path;
  return (
    finding.Rule.Id === 'W3005' &&
    section === 'Resources' &&
    attribute === 'DependsOn' &&
    typeof logicalId === 'string' &&
    finding.Message.endsWith(`already enforced by a 'GetAtt' at 'Resources/${logicalId}/Properties/Role'`)
  );
}

const cfnLintVersion = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const cfnLintMissing = cfnLintVersion.error !== undefined || cfnLintVersion.status !== 0;
const CFN_LINT_MISSING = 'SKIPPED: cfn-lint is not installed (pip install cfn-lint), so the templates were not linted';

/** The templates to lint, by file name. Lambdas are not bundled: cfn-lint reads the template only. */
function templates(): Record<string, unknown> {
  const app = new App({ context: { ...TEST_APP_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const cloudFront = new WafAutoblockStack(app, 'WafAutoblock', {
    config: parseConfig({}),
    env: { account: ACCOUNT, region: 'us-east-1' },
  });
  const regional = new WafAutoblockStack(app, 'Shop', {
    config: parseConfig({
      stackName: 'Shop',
      scope: 'REGIONAL',
      region: 'eu-west-1',
      associations: [`arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/shop/50dc6c495c0c9188`],
      // Global ranges: behind forwardedIp a non-global entry would allow the proxy itself, and is refused.
      allowlist: ['81.2.69.0/24', '2a00:1450::/32'],
      forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', trustedProxies: ['10.0.1.0/24'] },
      rateRules: [
        {
          name: 'login',
          limit: 100,
          windowSeconds: 60,
          uriPathPrefix: '/login',
          host: 'shop.example.com',
          aggregateKey: 'FORWARDED_IP',
          blockResponse: { statusCode: 429, body: '{"error":"slow down"}', contentType: 'application/json' },
        },
        { name: 'all', limit: 2000, aggregateKey: 'FORWARDED_IP' },
        {
          name: 'ddos-flagged',
          limit: 100,
          aggregateKey: 'FORWARDED_IP',
          labels: [
            'awswaf:managed:aws:anti-ddos:medium-suspicion-ddos-request',
            'awswaf:managed:aws:anti-ddos:low-suspicion-ddos-request',
          ],
        },
      ],
      blockResponse: { statusCode: 403, body: '<h1>Blocked</h1>', contentType: 'text/html', retryAfterSeconds: 3600 },
      managedRuleGroups: [
        'AWSManagedRulesAmazonIpReputationList',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesAntiDDoSRuleSet',
      ],
      antiDdos: {
        challenge: { exemptUriRegularExpressions: ['^/api/', String.raw`\.(css|js)$`] },
        blockSensitivity: 'MEDIUM',
      },
      logging: { retentionDays: 90, actions: ['BLOCK', 'COUNT'] },
      alarm: { threshold: 500, periodSeconds: 60, evaluationPeriods: 3 },
      blocker: {
        schedule: 'cron(0/10 * * * ? *)',
        gate: 'always',
        reservedConcurrency: null,
        neighbourAction: 'CAPTCHA',
        immunityTimeSeconds: 600,
        sharedIpSets: [
          `arn:aws:wafv2:eu-west-1:${ACCOUNT}:regional/ipset/api-blocklist/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d`,
        ],
      },
      notifier: { chatIds: ['-1001234567890'], existingSecretName: 'shop/telegram-bot-token' },
      removalPolicy: { ledger: 'destroy', logs: 'destroy' },
    }),
    env: { account: ACCOUNT, region: 'eu-west-1' },
  });
  const bare = new Stack(new Stage(app, 'Prod'), 'Web');
  new WafAutoblock(bare, 'Protection');
  const [a, b, c] = synthesizeChecked(app, [cloudFront, regional, bare]);
  return { 'cloudfront.json': a?.toJSON(), 'regional.json': b?.toJSON(), 'construct-in-stage.json': c?.toJSON() };
}

describe('cfn-lint', () => {
  // Synthesized while the file is collected, as the other template tests do: no hook or test timeout applies.
  const rendered = cfnLintMissing ? {} : templates();
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no error and no warning in the synthesized templates', (context) => {
    if (cfnLintMissing) {
      // The default reporter shows a skip's note only in verbose mode: say it where everyone sees it.
      console.warn(CFN_LINT_MISSING);
      context.skip(CFN_LINT_MISSING);
    }
    const files = Object.entries(rendered).map(([name, template]) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(template, null, 1));
      return file;
    });
    // One run for all templates: most of cfn-lint's time is loading its resource schemas.
    const lint = spawnSync(
      'cfn-lint',
      ['--format', 'json', '--regions', 'us-east-1', 'eu-west-1', '--non-zero-exit-code', 'none', '--', ...files],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    expect(lint.error).toBeUndefined();
    expect(lint.status, lint.stderr).toBe(0);
    const findings = (JSON.parse(lint.stdout) as LintFinding[])
      .filter((finding) => !isAccepted(finding))
      .map(
        (f) =>
          `${f.Rule.Id} (${f.Level}) ${f.Filename.slice(dir.length + 1)} ${f.Location.Path.join('/')}: ${f.Message}`,
      );
    expect(findings).toEqual([]);
  });
});
