/**
 * One deployed waf-autoblock, as the operator CLI finds it, for the CLI's tests: WAF IP sets on the
 * local WAF emulator, the ledger on dynalite, and strict mocks (reject by default, answer only the
 * exact expected input) for CloudFormation's stack outputs, the blocker function's environment,
 * the alarm, the blocker's log and the reports topic. Commands run in-process with captured output.
 */
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient, type GetQueueAttributesCommandInput } from '@aws-sdk/client-sqs';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { createWafClient } from '#adapters/waf';
import type { BlockReport } from '#contracts/report';
import type { AwsClients } from '../../cli/aws';
import type { CliIo } from '../../cli/command';
import { runCli } from '../support/cli-io';
import { ALLOWED, BLOCKER_ENVIRONMENT, FOREIGN, NOW, SETTINGS } from '../support/blocker-fixtures';
import { createLedgerTable, localClient, startDynalite, type LocalDynamo } from '../support/dynalite';
import { startWafServer, type WafServer } from '../support/waf-server';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STACK = 'WafAutoblock';
export const FUNCTION_NAME = 'WafAutoblock-BlockerHandler-1A2B3C';
export const LOG_GROUP = 'WafAutoblock-BlockerHandlerLogs-4D5E6F';
export const OPERATOR = 'alice';
const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

export const cloudformation = mockClient(CloudFormationClient);
export const lambda = mockClient(LambdaClient);
export const cloudwatch = mockClient(CloudWatchClient);
export const logs = mockClient(CloudWatchLogsClient);
export const sns = mockClient(SNSClient);
export const sqs = mockClient(SQSClient);
/** What the helpers below do with every mock, whatever its client. */
interface StrictMock {
  reset(): void;
  restore(): void;
  onAnyCommand(): { rejects(error: Error): unknown };
}
const MOCKS: readonly StrictMock[] = [cloudformation, lambda, cloudwatch, logs, sns, sqs];
/** The stack's dead-letter queue (output DeadLetterQueueUrl); `deploy` answers its depth as empty. */
export const DEAD_LETTER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/WafAutoblock-DeadLetters-7G8H9I';
/** The one read `status` makes of the queue: its waiting and in-flight counts. */
export const DEAD_LETTER_DEPTH_READ: GetQueueAttributesCommandInput = {
  QueueUrl: DEAD_LETTER_QUEUE_URL,
  AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
};

/** The local servers of one test file. */
export interface Servers {
  readonly waf: WafServer;
  readonly dynamo: LocalDynamo;
  readonly doc: DynamoDBDocumentClient;
  close(): Promise<void>;
}

const created: { destroy(): void }[] = [];

/**
 * For a test file: starts the servers before its tests and stops them after, and resets the strict
 * mocks before each test. Returns the running servers.
 */
export function useServers(): () => Servers {
  let servers: Servers | undefined;
  beforeAll(async () => {
    servers = await startServers();
  });
  afterAll(async () => {
    await servers?.close();
  });
  beforeEach(() => {
    strictMocks();
  });
  return () => {
    if (servers === undefined) throw new Error('the servers are not started: call useServers() at the top of the file');
    return servers;
  };
}

export async function startServers(): Promise<Servers> {
  const [waf, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
  const doc = createLedgerClient(dynamo.client);
  return {
    waf,
    dynamo,
    doc,
    async close() {
      for (const client of created.splice(0)) client.destroy();
      for (const mock of MOCKS) mock.restore();
      await Promise.all([waf.close(), dynamo.close()]);
    },
  };
}

/** Every mocked service refuses every call until a test says otherwise; the reports topic accepts reports. */
export function strictMocks(): void {
  for (const mock of MOCKS) {
    mock.reset();
    mock.onAnyCommand().rejects(new Error('unexpected command'));
  }
  sns.on(PublishCommand).callsFake((input: { TopicArn?: string }) => {
    if (input.TopicArn !== SETTINGS.reportsTopicArn) throw new Error(`unexpected topic ${input.TopicArn}`);
    return { MessageId: 'message-1' };
  });
}

/** The reports the runs published. */
export function reports(): BlockReport[] {
  return sns
    .commandCalls(PublishCommand)
    .map((call) => JSON.parse(call.args[0].input.Message ?? 'null') as BlockReport);
}

/** One deployment on the local servers, as its stack outputs and function environment describe it. */
export interface TestDeployment {
  readonly stackName: string;
  readonly ledgerTable: string;
  readonly ledger: Ledger;
  /** IP set ids on the emulator. */
  readonly blocklist: { readonly IPV4: string; readonly IPV6: string };
  /** Shared sets' ids, in the order of the environment's SHARED_IP_SET_ARNS. */
  readonly shared: string[];
  /** Their ARNs, in the same order. */
  readonly sharedArns: string[];
  readonly environment: Record<string, string>;
  /** The regions the CLI asked clients for, in order. */
  readonly regions: (string | undefined)[];
  /** Runs the CLI in-process against this deployment. */
  run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The same, with more of the CliIo (a confirm function, another clock). */
  runWith(io: Partial<CliIo>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

let deployments = 0;

/**
 * Creates the IP sets (blocklists holding one foreign entry each, allowlists holding the
 * fixtures' office ranges) and a ledger table, and answers DescribeStacks for `stackName` and
 * GetFunctionConfiguration for the blocker with the environment the construct would set.
 */
export async function deploy(
  servers: Servers,
  options: {
    readonly stackName?: string;
    readonly environment?: Record<string, string | undefined>;
    readonly outputs?: Output[];
    /** Shared IP sets to create: their family and, optionally, initial addresses. */
    readonly shared?: readonly { family: 'IPV4' | 'IPV6'; addresses?: string[] }[];
  } = {},
): Promise<TestDeployment> {
  deployments += 1;
  const n = deployments;
  const stackName = options.stackName ?? STACK;
  const ledgerTable = `Ledger-cli-${n}`;
  await createLedgerTable(servers.dynamo.client, ledgerTable);
  const set = (name: string, version: 'IPV4' | 'IPV6', addresses: readonly string[]) =>
    servers.waf.createIpSet({ name: `${name}-${n}`, scope: 'CLOUDFRONT', version, addresses });
  const blocklist4 = set('blocklist-v4', 'IPV4', [FOREIGN.IPV4]);
  const blocklist6 = set('blocklist-v6', 'IPV6', [FOREIGN.IPV6]);
  const allowlist4 = set('allowlist-v4', 'IPV4', ALLOWED.IPV4);
  const allowlist6 = set('allowlist-v6', 'IPV6', ALLOWED.IPV6);
  const shared = (options.shared ?? []).map((spec, index) => set(`shared-${index}`, spec.family, spec.addresses ?? []));
  const base: Record<string, string | undefined> = {
    ...BLOCKER_ENVIRONMENT,
    BLOCKLIST_IPV4: `${blocklist4.name}|${blocklist4.id}`,
    BLOCKLIST_IPV6: `${blocklist6.name}|${blocklist6.id}`,
    ALLOWLIST_IPV4: `${allowlist4.name}|${allowlist4.id}`,
    ALLOWLIST_IPV6: `${allowlist6.name}|${allowlist6.id}`,
    LEDGER_TABLE: ledgerTable,
    SHARED_IP_SET_ARNS: JSON.stringify(shared.map((s) => s.arn)),
    ...options.environment,
  };
  // An override of undefined removes the variable, as a construct that never set it would.
  const environment = Object.fromEntries(
    Object.entries(base).flatMap(([name, value]) => (value === undefined ? [] : [[name, value] as const])),
  );
  cloudformation.on(DescribeStacksCommand, { StackName: stackName }, true).resolves({
    Stacks: [
      {
        StackName: stackName,
        CreationTime: new Date(NOW),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: options.outputs ?? [
          { OutputKey: 'BlockerFunctionName', OutputValue: FUNCTION_NAME },
          { OutputKey: 'BlockerLogGroupName', OutputValue: LOG_GROUP },
          { OutputKey: 'LedgerTableName', OutputValue: ledgerTable },
          { OutputKey: 'AlarmName', OutputValue: SETTINGS.alarmName },
          { OutputKey: 'ReportsTopicArn', OutputValue: SETTINGS.reportsTopicArn },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: DEAD_LETTER_QUEUE_URL },
        ],
      },
    ],
  });
  lambda
    .on(GetFunctionConfigurationCommand, { FunctionName: FUNCTION_NAME }, true)
    .resolves({ FunctionName: FUNCTION_NAME, Environment: { Variables: environment } });
  sqs
    .on(GetQueueAttributesCommand, DEAD_LETTER_DEPTH_READ, true)
    .resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });

  const regions: (string | undefined)[] = [];
  const aws = (region: string | undefined): AwsClients => {
    regions.push(region);
    const config = { region, credentials };
    const wafClient = (): WAFV2Client => {
      const client = createWafClient({ ...config, region: region ?? 'us-east-1', endpoint: servers.waf.endpoint });
      created.push(client);
      return client;
    };
    const clients = {
      cloudformation: new CloudFormationClient(config),
      lambda: new LambdaClient(config),
      cloudwatch: new CloudWatchClient(config),
      logs: new CloudWatchLogsClient(config),
      sns: new SNSClient(config),
      sqs: new SQSClient(config),
    };
    created.push(...Object.values(clients));
    const waf = wafClient();
    const dynamo = localClient(servers.dynamo.endpoint);
    created.push(dynamo);
    return { ...clients, waf, wafIn: () => wafClient(), dynamo: createLedgerClient(dynamo) };
  };

  const runWith = async (extra: Partial<CliIo>, ...argv: string[]) => {
    return runCli(argv, { aws, now: () => NOW, user: OPERATOR, ...extra });
  };
  return {
    stackName,
    ledgerTable,
    ledger: new Ledger(servers.doc, ledgerTable),
    blocklist: { IPV4: blocklist4.id, IPV6: blocklist6.id },
    shared: shared.map((s) => s.id),
    sharedArns: shared.map((s) => s.arn),
    environment,
    regions,
    run: (...argv) => runWith({}, ...argv),
    runWith,
  };
}
