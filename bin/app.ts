#!/usr/bin/env node
/**
 * The CDK app: reads and validates the configuration from context, builds the one stack, and runs
 * the cdk-nag AwsSolutions checks over it. No resources are defined here.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config/load';
import type { WafAutoblockConfig } from '../lib/config/schema';
import { WafAutoblockStack } from '../lib/waf-autoblock-stack';

const app = new App();

let config: WafAutoblockConfig;
try {
  config = loadConfig((key): unknown => app.node.tryGetContext(key), Object.keys(app.node.getAllContext() as object));
} catch (error) {
  if (error instanceof ConfigError) {
    // One line that names the key: the whole point of validating at synth time.
    console.error(`waf-autoblock: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

new WafAutoblockStack(app, config.stackName, {
  config,
  description: 'waf-autoblock: WAF web ACL with rate-based rules and a self-expiring blocklist',
  // CloudFront web ACLs, their metrics and alarm live in us-east-1; REGIONAL follows the CLI's region.
  env: {
    account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: config.scope === 'CLOUDFRONT' ? 'us-east-1' : (config.region ?? process.env.CDK_DEFAULT_REGION),
  },
});

// Every finding fails the synth unless a construct acknowledges it with a reason specific to it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
