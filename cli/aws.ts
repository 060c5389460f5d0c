/**
 * The AWS clients of the operator commands, created once per command for the deployment's region.
 * WAF and the ledger use the blocker's own client factories, so the CLI retries and marshals
 * exactly as the blocker does.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLedgerClient } from '#adapters/ledger';
import { createWafClient } from '#adapters/waf';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { CommandError } from './errors';
import { printable } from './format';

/** Every client an operator command may need; one region, except {@link AwsClients.wafIn}. */
export interface AwsClients {
  readonly cloudformation: CloudFormationClient;
  readonly lambda: LambdaClient;
  readonly waf: WAFV2Client;
  /** The WAF client for a shared IP set's region (the same client for the deployment's own region). */
  wafIn(region: string): WAFV2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly sns: SNSClient;
  /** The dead-letter queue's depth, for `status`. */
  readonly sqs: SQSClient;
  /** The ledger's document client, from `createLedgerClient`. */
  readonly dynamo: DynamoDBDocumentClient;
}

/**
 * Real clients for `region`; undefined leaves the region to the SDK (AWS_REGION, the profile).
 * The Lambda adapters' `create*Client()` functions without options take the function's own region
 * from its environment; the CLI must name the deployment's region, so those clients are built here.
 */
export function createAwsClients(region: string | undefined): AwsClients {
  quietNodeVersionNotice();
  const config = region === undefined ? {} : { region };
  const waf = createWafClient(config);
  const wafByRegion = new Map<string, WAFV2Client>();
  return {
    cloudformation: new CloudFormationClient(config),
    lambda: new LambdaClient(config),
    waf,
    wafIn(other) {
      if (other === region) return waf;
      let client = wafByRegion.get(other);
      if (client === undefined) {
        client = createWafClient({ region: other });
        wafByRegion.set(other, client);
      }
      return client;
    },
    cloudwatch: new CloudWatchClient(config),
    logs: new CloudWatchLogsClient(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
    dynamo: createLedgerClient(config),
  };
}

/**
 * Checks that the profile AWS_PROFILE names is in the shared config or credentials file, read as
 * the SDK reads them (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, `[profile x]` and `[x]`). A
 * misspelt profile otherwise meets the operator as the SDK's "Could not load credentials from any
 * providers", which names neither the profile nor the files.
 *
 * @throws {CommandError} naming the profile, the files and how to list the profiles there are.
 */
export async function checkNamedProfile(): Promise<void> {
  const profile = process.env.AWS_PROFILE;
  if (profile === undefined || profile === '') return;
  let files: Awaited<ReturnType<typeof loadSharedConfigFiles>>;
  try {
    files = await loadSharedConfigFiles({ ignoreCache: true });
  } catch {
    // Unreadable files: the SDK's own credential error, with its cause, says more than a guess here.
    return;
  }
  if (Object.hasOwn(files.configFile, profile) || Object.hasOwn(files.credentialsFile, profile)) return;
  const configFile = process.env.AWS_CONFIG_FILE ?? '~/.aws/config';
  const credentialsFile = process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials';
  throw new CommandError(
    `AWS_PROFILE names profile "${printable(profile)}", which is not in ${printable(configFile)} or ` +
      `${printable(credentialsFile)}; "aws configure list-profiles" lists the profiles there are`,
  );
}

/**
 * On Node.js 20 the SDK's first client prints an 8-line NodeVersionSupportWarning (SDK releases
 * after January 2027 need Node.js 22) before every command's own output. That is a notice for
 * whoever picks the Node.js version, which the README gives (22 recommended); an operator reading
 * `ban` output mid-incident does not need it each time. So the CLI sets the SDK's documented opt-out,
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true, unless it is set already: `=false` shows
 * the notice again. Other warnings are untouched.
 */
function quietNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
