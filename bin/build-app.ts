/**
 * Builds the app from validated configuration: the one stack and the cdk-nag AwsSolutions checks.
 * No resources are defined here. bin/app.ts runs it and turns a ConfigError into one line.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '#config/load';
import { WafAutoblockStack } from '../lib/waf-autoblock-stack';

/** What the CDK CLI tells the app about its credentials (unset when it has none). */
export interface CliEnvironment {
  /** The account of the CLI's credentials. */
  readonly CDK_DEFAULT_ACCOUNT?: string;
  /** The CLI's region. */
  readonly CDK_DEFAULT_REGION?: string;
}

/**
 * Reads the configuration from `app`'s context and adds the stack to `app`.
 *
 * The stack's account is the `account` key, else the CLI's: then checks that need the account
 * (shared IP sets of this account only) run at synth. Without either the stack is
 * environment-agnostic and those checks are left to the blocker's first run.
 *
 * @throws {ConfigError} naming the key, when a value is invalid or does not fit the account.
 */
export function buildApp(app: App, cli: CliEnvironment): WafAutoblockStack {
  const config = loadConfig(
    (key): unknown => app.node.tryGetContext(key),
    Object.keys(app.node.getAllContext() as object),
  );
  const stack = new WafAutoblockStack(app, config.stackName, {
    config,
    description: 'waf-autoblock: WAF web ACL with rate-based rules and a self-expiring blocklist',
    // CloudFront web ACLs, their metrics and alarm live in us-east-1; REGIONAL follows the CLI's region.
    env: {
      account: config.account ?? cli.CDK_DEFAULT_ACCOUNT,
      region: config.scope === 'CLOUDFRONT' ? 'us-east-1' : (config.region ?? cli.CDK_DEFAULT_REGION),
    },
  });
  // Every finding fails the synth unless a construct acknowledges it with a reason specific to it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
