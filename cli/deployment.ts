/**
 * Finds a deployed waf-autoblock: the stack's outputs (CloudFormation DescribeStacks), then the
 * blocker function's environment (Lambda GetFunctionConfiguration), read with the blocker's own
 * `readBlockerSettings`. The operator commands therefore act with exactly the settings the
 * deployed blocker runs with: its IP sets, ledger table, prefixes, block duration and dry-run flag.
 */
import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { Ledger } from '#adapters/ledger';
import { readBlockerSettings, type BlockerSettings } from '#contracts/blocker-environment';
import { ConfigurationError, REGION_NAME } from '#contracts/environment';
import { ReadError, WriteError } from '#shared/errors';
import { CONTEXT_KEY, FILE_CONTEXT_KEY } from '#config/load';
import { checkNamedProfile, createAwsClients, type AwsClients } from './aws';
import type { CliIo } from './command';
import { readConfig } from './config';
import { CommandError, UsageError } from './errors';
import { printable } from './format';

/** The parseArgs options every operator command takes. */
export const DEPLOYMENT_OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  config: { type: 'string' },
} as const;

/** The `--help` lines of {@link DEPLOYMENT_OPTIONS}. */
export const DEPLOYMENT_HELP = `  --stack <name>     the CloudFormation stack (default: stackName from the config, else WafAutoblock)
  --region <region>  where the stack is (default: region from the config; us-east-1 when the
                     scope is CLOUDFRONT; else the SDK's default, AWS_REGION or the profile's)
  --config <file>    JSON config merged over cdk.json's "${CONTEXT_KEY}" context, as
                     "cdk deploy -c ${FILE_CONTEXT_KEY}=<file>" does`;

/** The stack outputs the operator commands read. */
export const OUTPUT = {
  blockerFunction: 'BlockerFunctionName',
  blockerLogGroup: 'BlockerLogGroupName',
} as const;

/** One deployed waf-autoblock, as the blocker sees it. */
export interface Deployment {
  readonly stackName: string;
  /** The region the stack was found in. */
  readonly region: string;
  /** The blocker's settings, read from the deployed function's environment. */
  readonly settings: BlockerSettings;
  readonly clients: AwsClients;
  readonly ledger: Ledger;
  /**
   * A stack output's value.
   * @throws {CommandError} naming the output when the stack has none by that name.
   */
  output(name: string): string;
}

/**
 * A CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128 characters
 * (the CloudFormation API's StackName constraint).
 */
export const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/;

/**
 * Checks `--stack` and `--region` as CloudFormation and the SDK would, before any AWS call.
 * @throws {UsageError} naming the option and the value.
 */
export function checkDeploymentOptions(values: { readonly stack?: string; readonly region?: string }): void {
  if (values.region !== undefined && !REGION_NAME.test(values.region)) {
    throw new UsageError(`--region must be an AWS region such as eu-west-1, got "${shown(values.region)}"`);
  }
  if (values.stack !== undefined && !STACK_NAME.test(values.stack)) {
    throw new UsageError(
      values.stack.length > 128
        ? `--stack must be a CloudFormation stack name of at most 128 characters, got ${values.stack.length}`
        : `--stack must be a CloudFormation stack name: a letter, then letters, digits and "-"; got "${shown(values.stack)}"`,
    );
  }
}

function shown(text: string): string {
  return printable(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/**
 * Finds the deployment named by `--stack`, `--region` and `--config` (or their defaults).
 * @throws {UsageError} when `--region` is not a region name or `--stack` not a stack name.
 * @throws {CommandError} naming what was wrong: no region, no credentials, no such stack (and the
 *   region searched), a missing output, the blocker's environment.
 */
export async function openDeployment(
  values: { readonly stack?: string; readonly region?: string; readonly config?: string },
  io: CliIo,
): Promise<Deployment> {
  checkDeploymentOptions(values);
  const config = await readConfig(io.cwd, values.config);
  const stackName = values.stack ?? config.stackName;
  const wantedRegion = values.region ?? config.region ?? (config.scope === 'CLOUDFRONT' ? 'us-east-1' : undefined);
  if (io.aws === undefined) await checkNamedProfile();
  const clients = (io.aws ?? createAwsClients)(wantedRegion);
  const region = wantedRegion ?? (await sdkRegion(clients));

  let stack: Stack | undefined;
  try {
    const described = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = described.Stacks?.[0];
  } catch (error) {
    if (errorName(error) === 'ValidationError' && /does not exist/i.test(errorMessage(error))) {
      throw new CommandError(
        `stack "${stackName}" not found in ${region}; pass --stack and --region (or set stackName and region in the config) to name the deployment`,
        { cause: error },
      );
    }
    throw awsFailure('cloudformation:DescribeStacks', `stack ${stackName} in ${region}`, error);
  }
  if (stack === undefined) throw new CommandError(`stack "${stackName}" not found in ${region}`);
  const outputs = new Map<string, string>();
  for (const { OutputKey, OutputValue } of stack.Outputs ?? []) {
    if (OutputKey !== undefined && OutputValue !== undefined) outputs.set(OutputKey, OutputValue);
  }
  const where = `stack ${stackName} in ${region} (${stack.StackStatus ?? 'status unknown'})`;
  const output = (name: string): string => outputOf(outputs, name, where);

  const functionName = output(OUTPUT.blockerFunction);
  let variables: Record<string, string> | undefined;
  try {
    const fn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    variables = fn.Environment?.Variables;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new CommandError(
        `the blocker function ${functionName} (output ${OUTPUT.blockerFunction} of stack ${stackName}) does not exist in ${region}; redeploy the stack ("npx cdk deploy")`,
        { cause: error },
      );
    }
    throw awsFailure('lambda:GetFunctionConfiguration', `function ${functionName} in ${region}`, error);
  }
  let settings: BlockerSettings;
  try {
    settings = readBlockerSettings(variables ?? {});
  } catch (error) {
    if (error instanceof ConfigurationError) {
      throw new CommandError(
        `the blocker function ${functionName} of stack ${stackName} is not configured as this CLI expects: ${error.message}; ` +
          'redeploy the stack with this version of waf-autoblock ("npx cdk deploy")',
        { cause: error },
      );
    }
    throw error;
  }
  return {
    stackName,
    region,
    settings,
    clients,
    ledger: new Ledger(clients.dynamo, settings.ledgerTable),
    output,
  };
}

/**
 * A stack output's value: the app's stack names it `name`; the WafAutoblock construct in another
 * app's stack adds it as `<construct path><name><8 hex digits>` (the CDK's logical id).
 * @throws {CommandError} when no output has the name, or several constructs in the stack do.
 */
export function outputOf(outputs: ReadonlyMap<string, string>, name: string, where: string): string {
  const exact = outputs.get(name);
  if (exact !== undefined) return exact;
  const ofConstruct = new RegExp(`^[A-Za-z0-9]*${name}[0-9A-F]{8}$`);
  const found = [...outputs.keys()].filter((key) => ofConstruct.test(key));
  if (found.length === 1) return outputs.get(found[0] ?? '') ?? '';
  if (found.length > 1) {
    throw new CommandError(
      `${where} holds ${found.length} WafAutoblock constructs (outputs ${found.join(', ')}); the CLI works on a stack with one`,
    );
  }
  throw new CommandError(
    `${where} has no output ${name}: deploy it again with this version of waf-autoblock ` +
      '("npx cdk deploy" in the waf-autoblock checkout, or in your own app that holds the WafAutoblock construct, which adds the outputs)',
  );
}

/** The region the SDK settles on by itself, or a CommandError saying how to name one. */
async function sdkRegion(clients: AwsClients): Promise<string> {
  try {
    return await clients.cloudformation.config.region();
  } catch (error) {
    throw new CommandError(
      'no AWS region: pass --region, set "region" in the config, or set AWS_REGION (the config\'s scope is REGIONAL)',
      { cause: error },
    );
  }
}

const CREDENTIALS_MISSING = new Set(['CredentialsProviderError']);
const CREDENTIALS_REJECTED = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'AuthorizationErrorException',
]);

/** Node's error codes for an endpoint that cannot be reached: no network, no DNS, nothing answering. */
const UNREACHABLE = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);
/** The start of the message when AWS cannot be reached at all (the SDK's own text says only `getaddrinfo ENOTFOUND <host>`). */
const CANNOT_REACH = 'cannot reach AWS (no network or DNS, or a region that does not exist)';

function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/**
 * A failed AWS call as one line that says what to do: AWS not reachable, credentials missing or
 * rejected, the IAM action denied, or the service's own error.
 */
export function awsFailure(action: string, resource: string, error: unknown): CommandError {
  const name = errorName(error);
  const said = `${name}: ${errorMessage(error)}`;
  if (isUnreachable(error)) {
    return new CommandError(`${CANNOT_REACH}: ${action} on ${resource}: ${errorMessage(error)}`, { cause: error });
  }
  if (name !== undefined && CREDENTIALS_MISSING.has(name)) {
    return new CommandError(
      `no AWS credentials found (${said}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "aws sso login"`,
      { cause: error },
    );
  }
  if (name !== undefined && CREDENTIALS_REJECTED.has(name)) {
    return new CommandError(`AWS rejected the credentials (${said}); refresh them and try again`, { cause: error });
  }
  if (name !== undefined && ACCESS_DENIED.has(name)) {
    return new CommandError(
      `${action} on ${resource} was denied (${said}); the operator needs that permission (see docs/operations.md, "Prerequisites")`,
      { cause: error },
    );
  }
  return new CommandError(`${action} on ${resource} failed: ${said}`, { cause: error });
}

/**
 * The blocker's own errors, and AWS errors met on the way, as a CommandError (exit 1) whose message
 * names the resource; anything else (a bug) is returned unchanged.
 */
export function operatorFailure(error: unknown): unknown {
  if (error instanceof ReadError || error instanceof WriteError) {
    if (causes(error).some(isUnreachable))
      return new CommandError(`${CANNOT_REACH}: ${error.message}`, { cause: error });
    const denied = causes(error).some((cause) => ACCESS_DENIED.has(errorName(cause) ?? ''));
    const hint = denied ? ' (the operator lacks a permission: see docs/operations.md, "Prerequisites")' : '';
    return new CommandError(`${error.message}${hint}`, { cause: error });
  }
  return error;
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let cause = error; cause !== undefined && chain.length < 10; cause = (cause as { cause?: unknown }).cause) {
    chain.push(cause);
    if (!(cause instanceof Error)) break;
  }
  return chain;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
