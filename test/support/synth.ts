/**
 * Builds the app the way bin/app.ts does, with cdk-nag, synthesizes it, and fails on any cdk-nag or
 * template-validation finding that no construct acknowledged. Tests then assert on the template.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../lib/config/load';
import type { WafAutoblockConfigInput } from '../../lib/config/schema';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';

export interface Synthesized {
  readonly template: Template;
  readonly stack: WafAutoblockStack;
}

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: {
      ruleName: string;
      description: string;
      violatingResources: { resourceLogicalId: string; locations?: string[] }[];
    }[];
  }[];
}

/** Synthesizes the stack for a configuration (defaults filled in) and returns its template. */
export function synthesize(input: WafAutoblockConfigInput = {}, region = 'eu-west-1'): Synthesized {
  const config = parseConfig(input);
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new WafAutoblockStack(app, config.stackName, {
    config,
    env: { account: '123456789012', region: config.scope === 'CLOUDFRONT' ? 'us-east-1' : region },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let assembly;
  try {
    assembly = app.synth();
  } catch (error) {
    throw new Error(`synthesis failed (an unacknowledged cdk-nag or template finding?): ${(error as Error).message}`, {
      cause: error,
    });
  }
  const report = JSON.parse(
    readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (v) => `${v.ruleName} on ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}: ${v.description}`,
    ),
  );
  if (findings.length > 0) throw new Error(`unacknowledged findings:\n${findings.join('\n')}`);
  const artifact = assembly.getStackByName(stack.stackName);
  return { template: Template.fromJSON(artifact.template as Record<string, unknown>), stack };
}
