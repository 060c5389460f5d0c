/**
 * Builds the app the way bin/app.ts does, with cdk-nag, synthesizes it, and fails on any cdk-nag or
 * template-validation finding that no construct acknowledged. Tests then assert on the template.
 * The cloud assembly (about 1 MB of bundles per stack) is removed from the temp dir before returning.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '#config/load';
import type { WafAutoblockConfigInput } from '#config/schema';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';

export interface Synthesized {
  readonly template: Template;
  readonly stack: WafAutoblockStack;
}

/** The parts of the CDK's validation-report.json that name a finding. */
interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: {
      ruleName: string;
      description: string;
      violatingConstructs?: { constructPath: string }[];
      violatingResources?: { resourceLogicalId: string }[];
    }[];
  }[];
}

/** Context of every test app: CloudFormation's template validation on, as in cdk.json. */
export const TEST_APP_CONTEXT = { '@aws-cdk/core:validateAgainstDefaultRules': true } as const;

/** The unacknowledged findings that the validation report of an app's synthesis lists, one line each. */
function findingsOf(outdir: string): string[] {
  const file = join(outdir, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (v) =>
        `${v.ruleName} on ${[
          ...(v.violatingConstructs ?? []).map((c) => c.constructPath),
          ...(v.violatingResources ?? []).map((r) => r.resourceLogicalId),
        ].join(', ')}: ${v.description}`,
    ),
  );
}

/**
 * Adds cdk-nag's AwsSolutions checks to `app`, synthesizes it and returns the templates of
 * `stacks` (which may sit in stages), in order.
 * @throws {Error} listing every cdk-nag or template finding that no construct acknowledged.
 */
export function synthesizeChecked(app: App, stacks: readonly Stack[]): Template[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    try {
      app.synth();
    } catch (error) {
      const findings = findingsOf(app.outdir);
      throw new Error(
        `synthesis failed (an unacknowledged cdk-nag or template finding?): ${(error as Error).message}${findings.length > 0 ? `\n${findings.join('\n')}` : ''}`,
        { cause: error },
      );
    }
    const findings = findingsOf(app.outdir);
    if (findings.length > 0) throw new Error(`unacknowledged findings:\n${findings.join('\n')}`);
    // Template.fromStack reads the assembly that app.synth() wrote (a stage's nested one included).
    return stacks.map((stack) => Template.fromStack(stack));
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

/** Synthesizes the stack for a configuration (defaults filled in) and returns its template. */
export function synthesize(input: WafAutoblockConfigInput = {}, region = 'eu-west-1'): Synthesized {
  const config = parseConfig(input);
  const app = new App({ context: TEST_APP_CONTEXT });
  const stack = new WafAutoblockStack(app, config.stackName, {
    config,
    env: { account: '123456789012', region: config.scope === 'CLOUDFRONT' ? 'us-east-1' : region },
  });
  const [template] = synthesizeChecked(app, [stack]);
  if (!template) throw new Error(`no template for stack ${stack.stackName}`);
  return { template, stack };
}
