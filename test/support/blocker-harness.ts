/**
 * The blocker's test harness, written once for every blocker test:
 *
 * - {@link useEmulatorWorld}: the WAF emulator and dynalite on loopback, and deployments on them
 *   (own IP sets and ledger table each, so that tests never share state) with the real SDK clients;
 * - {@link useStrictAlarmAndReports}: CloudWatch (the alarm) and SNS (the reports topic) as strict
 *   mocks beside that world: a call a test did not declare fails the run;
 * - {@link useBlockerHandler}: the Lambda entry loaded from {@link BLOCKER_ENVIRONMENT} over strict
 *   mocks of all four clients, its printed lines captured;
 * - {@link useLedgerTable}: dynalite and a fresh ledger table per test, for the ledger adapters;
 * - the events Lambda delivers: {@link alarmSnsEvent}, {@link feedRecord}, and {@link lambdaContext}.
 *
 * The `use*` functions register vitest hooks: call them at a file's top level or in a `describe`,
 * and read their fields inside tests and hooks only (before `beforeAll` they throw).
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SNSEvent, SNSEventRecord } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import type { AlarmState } from '#adapters/alarm';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type * as BlockerHandlerModule from '#blocker/handler';
import { runBlocker, type BlockerDeps, type RunSummary, type Trigger } from '#blocker/run';
import type { BlockerSettings, IpSetAddress } from '#contracts/blocker-environment';
import type { BlockReport } from '#contracts/report';
import type { Family } from '#core/types';
import { ALLOWED, BLOCKER_ENVIRONMENT, FOREIGN, NOW, SETTINGS, recordingLogger } from './blocker-fixtures';
import { createLedgerTable, startDynalite, type LocalDynamo } from './dynalite';
import { OutputCapture } from './output-capture';
import { startWafServer, type WafServer } from './waf-server';
import { answerWriteAheadIntent } from './write-ahead-mock';

/** The region of every client the harness makes. */
export const TEST_REGION = 'us-east-1';
/** Fixed credentials, so that the SDK never reads the environment or ~/.aws of whoever runs the tests. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
/** What a strict mock answers to a command the test did not declare. */
export const UNEXPECTED_COMMAND = 'unexpected command';

const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-AlertTopic';

/** Reads a field set by a `beforeAll` hook; a clear error when a test file reads it too early. */
function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is read before the harness's beforeAll hook ran`);
  return value;
}

/** Makes `mock` reject every command until the test declares an answer. */
function rejectUndeclared(mock: { reset(): { onAnyCommand(): { rejects(error: Error): unknown } } }): void {
  mock.reset().onAnyCommand().rejects(new Error(UNEXPECTED_COMMAND));
}

// ---- CloudWatch and SNS beside the emulator world ----

/** The alarm and the reports topic as strict mocks, reset before each test. */
export interface AlarmAndReports {
  readonly cloudwatch: AwsClientStub<CloudWatchClient>;
  readonly sns: AwsClientStub<SNSClient>;
  /** Answers the run's read of our alarm (exactly its input) with `state`. */
  readonly alarmIs: (state: AlarmState) => void;
  /** The messages the reports topic was sent, as sent. */
  readonly publishedMessages: () => string[];
  /** The reports the topic was sent, parsed. */
  readonly reports: () => BlockReport[];
}

/** What every test of a file starts from. */
export interface AlarmAndReportsOptions {
  /**
   * The reports topic takes every Publish (`MessageId: 'message-1'`).
   * @default true
   */
  readonly acceptReports?: boolean;
  /**
   * The alarm's state before a test says otherwise.
   * @default undefined: a read of the alarm fails until the test calls `alarmIs`
   */
  readonly alarm?: AlarmState;
}

/**
 * Strict mocks of CloudWatch and SNS for the tests that run the blocker against the emulator
 * world: every command is rejected unless declared. Registers `beforeEach` (reset, then the
 * defaults of `options`) and `afterAll` (restore).
 */
export function useStrictAlarmAndReports(options: AlarmAndReportsOptions = {}): AlarmAndReports {
  const cloudwatch = mockClient(CloudWatchClient);
  const sns = mockClient(SNSClient);
  const publishedMessages = (): string[] =>
    sns.commandCalls(PublishCommand).map((call) => call.args[0].input.Message ?? '');
  const harness: AlarmAndReports = {
    cloudwatch,
    sns,
    alarmIs: (state) => {
      cloudwatch
        .on(DescribeAlarmsCommand, { AlarmNames: [SETTINGS.alarmName], AlarmTypes: ['MetricAlarm'] }, true)
        .resolves({ MetricAlarms: [{ AlarmName: SETTINGS.alarmName, StateValue: state }] });
    },
    publishedMessages,
    reports: () => publishedMessages().map((message) => JSON.parse(message || 'null') as BlockReport),
  };
  beforeEach(() => {
    rejectUndeclared(cloudwatch);
    rejectUndeclared(sns);
    if (options.acceptReports !== false)
      sns.on(PublishCommand, { TopicArn: SETTINGS.reportsTopicArn }).resolves({ MessageId: 'message-1' });
    if (options.alarm !== undefined) harness.alarmIs(options.alarm);
  });
  afterAll(() => {
    cloudwatch.restore();
    sns.restore();
  });
  return harness;
}

// ---- the WAF emulator and dynalite ----

/** What a deployment on the emulator holds before its first run. */
export interface DeployOptions {
  /**
   * The ledger table's name; the deployment's number is appended (`Ledger-e2e-3`).
   * @default 'Ledger'
   */
  readonly table?: string;
  /**
   * Each family's blocklist entries before the first run (put there by hand).
   * @default one foreign entry per family, {@link FOREIGN}
   */
  readonly blocklist?: Readonly<Record<Family, readonly string[]>>;
  /**
   * Each family's allowlist entries.
   * @default the operator's allowlist, {@link ALLOWED}
   */
  readonly allowlist?: Readonly<Record<Family, readonly string[]>>;
  /**
   * The description of the deployment's IP sets.
   * @default none
   */
  readonly description?: string;
  /**
   * The WAF client of the run.
   * @default a new client for the world's emulator
   */
  readonly waf?: WAFV2Client;
  /**
   * A neighbour tier (issue 12): one neighbour IP set per family, holding these entries at first,
   * with the exact address blocked (`/32`, `/128`) and the widened range challenged.
   * @default none: one tier, as before
   */
  readonly neighbours?: Readonly<Record<Family, readonly string[]>>;
  /** Settings that differ from the deployment's own, e.g. `sharedIpSets` or `dryRun`. */
  readonly settings?: Partial<BlockerSettings>;
  /** Dependencies that differ from the deployment's own, e.g. `wafIn` or `random`. */
  readonly deps?: Partial<BlockerDeps>;
}

/** One deployment on the emulator world: its own IP sets and ledger table. */
export interface EmulatorDeployment {
  readonly settings: BlockerSettings;
  /** The real WAF and DynamoDB clients on loopback; CloudWatch and SNS clients (mocked or not, as the file has it). */
  readonly deps: BlockerDeps;
  readonly ledger: Ledger;
  readonly pending: PendingReports;
  /** The emulator ids of the blocklists (the first set of each family). */
  readonly blocklistId: Record<Family, string>;
  /** The neighbour sets' ids, with {@link DeployOptions.neighbours}. */
  readonly neighbourId: Record<Family, string> | undefined;
  /** One run of the blocker, as the schedule starts it unless `trigger` says otherwise, at `now`. */
  readonly run: (now?: number, trigger?: Trigger) => Promise<RunSummary>;
}

/** The WAF emulator and dynalite, started once for a test file. */
export interface EmulatorWorld {
  readonly server: WafServer;
  readonly dynamo: LocalDynamo;
  /** The ledger's document client on dynalite. */
  readonly doc: DynamoDBDocumentClient;
  /** A WAF client for `server` (default: the world's emulator), destroyed after the file's tests. */
  readonly wafClient: (options?: {
    readonly server?: WafServer;
    readonly region?: string;
    readonly maxAttempts?: number;
  }) => WAFV2Client;
  /** A new deployment of its own: IP sets on the emulator and a ledger table on dynalite. */
  readonly deploy: (options?: DeployOptions) => Promise<EmulatorDeployment>;
  /** What each rate rule is limiting now; a rule not named limits nothing. */
  readonly rateRulesLimit: (
    keys: Readonly<Record<string, { ipv4?: readonly string[]; ipv6?: readonly string[] }>>,
  ) => void;
}

/**
 * A WAF client whose first UpdateIPSet of the set `id`, once armed, finds the set changed by
 * another tool: it adds `entry` on `server` just before the call reaches it, so the call's lock
 * token is stale (WAFOptimisticLockException) and the run must re-read and plan again.
 */
export function conflictingClient(client: WAFV2Client, server: () => WafServer) {
  let armed: { id: string; entry: string } | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Id?: string };
      if (context.commandName === 'UpdateIPSetCommand' && armed !== undefined && input.Id === armed.id) {
        const { id, entry } = armed;
        armed = undefined;
        server().setAddresses(id, [...server().getAddresses(id), entry]);
      }
      return next(args);
    },
    { step: 'initialize', name: 'anotherToolWritesFirst' },
  );
  return { arm: (id: string, entry: string) => (armed = { id, entry }) };
}

/**
 * Starts the WAF emulator and dynalite in `beforeAll` and stops them, with every client made by
 * {@link EmulatorWorld.wafClient}, in `afterAll`.
 */
export function useEmulatorWorld(): EmulatorWorld {
  let server: WafServer | undefined;
  let dynamo: LocalDynamo | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  const clients: WAFV2Client[] = [];
  let deployments = 0;

  beforeAll(async () => {
    [server, dynamo] = await Promise.all([startWafServer(), startDynalite()]);
    doc = createLedgerClient(dynamo.client);
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await Promise.all([server?.close(), dynamo?.close()]);
  });

  const world: EmulatorWorld = {
    get server() {
      return started(server, 'the WAF emulator');
    },
    get dynamo() {
      return started(dynamo, 'dynalite');
    },
    get doc() {
      return started(doc, 'the ledger client');
    },
    wafClient: (options = {}) => {
      const client = createWafClient({
        endpoint: (options.server ?? world.server).endpoint,
        region: options.region ?? TEST_REGION,
        credentials: TEST_CREDENTIALS,
        ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      });
      clients.push(client);
      return client;
    },
    deploy: (options = {}) => {
      deployments += 1;
      return deployOn(world, deployments, options);
    },
    rateRulesLimit: (keys) => {
      for (const rule of SETTINGS.rateRules) world.server.setManagedKeys(SETTINGS.webAclName, rule, keys[rule] ?? {});
    },
  };
  return world;
}

/** Builds deployment number `n` on `world`. */
async function deployOn(world: EmulatorWorld, n: number, options: DeployOptions): Promise<EmulatorDeployment> {
  const ledgerTable = `${options.table ?? 'Ledger'}-${n}`;
  await createLedgerTable(world.dynamo.client, ledgerTable);
  const ipSet = (name: string, version: Family, addresses: readonly string[]): IpSetAddress => {
    const created = world.server.createIpSet({
      name: `${name}-${n}`,
      scope: 'CLOUDFRONT',
      version,
      addresses,
      ...(options.description === undefined ? {} : { description: options.description }),
    });
    return { name: created.name, id: created.id, scope: 'CLOUDFRONT' };
  };
  const blocked = options.blocklist ?? { IPV4: [FOREIGN.IPV4], IPV6: [FOREIGN.IPV6] };
  const allowed = options.allowlist ?? { IPV4: ALLOWED.IPV4, IPV6: ALLOWED.IPV6 };
  const blocklist = {
    IPV4: ipSet('blocklist-v4', 'IPV4', blocked.IPV4),
    IPV6: ipSet('blocklist-v6', 'IPV6', blocked.IPV6),
  };
  const neighbourSets = options.neighbours && {
    IPV4: ipSet('neighbours-v4', 'IPV4', options.neighbours.IPV4),
    IPV6: ipSet('neighbours-v6', 'IPV6', options.neighbours.IPV6),
  };
  const settings: BlockerSettings = {
    ...SETTINGS,
    ledgerTable,
    ...(neighbourSets && {
      neighbours: {
        action: 'CHALLENGE',
        sets: { IPV4: [neighbourSets.IPV4], IPV6: [neighbourSets.IPV6] },
        offenderPrefix: { ipv4: 32, ipv6: 128 },
      },
    }),
    blocklist: { IPV4: [blocklist.IPV4], IPV6: [blocklist.IPV6] },
    allowlist: { IPV4: ipSet('allowlist-v4', 'IPV4', allowed.IPV4), IPV6: ipSet('allowlist-v6', 'IPV6', allowed.IPV6) },
    ...options.settings,
  };
  const ledger = new Ledger(world.doc, ledgerTable);
  const pending = new PendingReports(world.doc, ledgerTable);
  const deps: BlockerDeps = {
    waf: options.waf ?? world.wafClient(),
    cloudwatch: new CloudWatchClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS }),
    sns: new SNSClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS }),
    ledger,
    pending,
    logger: recordingLogger(),
    sleep: () => Promise.resolve(),
    ...options.deps,
  };
  return {
    settings,
    deps,
    ledger,
    pending,
    blocklistId: { IPV4: blocklist.IPV4.id, IPV6: blocklist.IPV6.id },
    neighbourId: neighbourSets && { IPV4: neighbourSets.IPV4.id, IPV6: neighbourSets.IPV6.id },
    run: (now = NOW, trigger = { kind: 'schedule' }) => runBlocker(deps, settings, trigger, now),
  };
}

// ---- the ledger table alone ----

/** dynalite and the ledger table of the current test. */
export interface LedgerTable {
  readonly dynamo: LocalDynamo;
  readonly doc: DynamoDBDocumentClient;
  /** This test's table: a new one per test. */
  readonly tableName: string;
  /** The ledger on this test's table. */
  readonly ledger: Ledger;
  /** The pending report on this test's table. */
  readonly pending: PendingReports;
}

/**
 * Starts dynalite in `beforeAll` (stopped in `afterAll`) and creates a fresh ledger table, named
 * `<prefix>-<n>`, before each test.
 */
export function useLedgerTable(prefix = 'Ledger'): LedgerTable {
  let dynamo: LocalDynamo | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  let table: { name: string; ledger: Ledger; pending: PendingReports } | undefined;
  let tables = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    doc = createLedgerClient(dynamo.client);
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  beforeEach(async () => {
    tables += 1;
    const name = `${prefix}-${tables}`;
    await createLedgerTable(started(dynamo, 'dynalite').client, name);
    const client = started(doc, 'the ledger client');
    table = { name, ledger: new Ledger(client, name), pending: new PendingReports(client, name) };
  });

  return {
    get dynamo() {
      return started(dynamo, 'dynalite');
    },
    get doc() {
      return started(doc, 'the ledger client');
    },
    get tableName() {
      return started(table, 'the ledger table').name;
    },
    get ledger() {
      return started(table, 'the ledger table').ledger;
    },
    get pending() {
      return started(table, 'the ledger table').pending;
    },
  };
}

// ---- the Lambda entry over strict mocks ----

/** The blocker's Lambda entry, loaded from the environment the construct sets, over strict mocks. */
export interface BlockerHandlerHarness {
  readonly waf: AwsClientStub<WAFV2Client>;
  readonly cloudwatch: AwsClientStub<CloudWatchClient>;
  readonly sns: AwsClientStub<SNSClient>;
  readonly ddb: AwsClientStub<DynamoDBDocumentClient>;
  /** What the invocations of this test printed. */
  readonly output: OutputCapture;
  /** The loaded module (for its other exports). */
  readonly module: typeof BlockerHandlerModule;
  /** The handler as Lambda calls it; typed loosely so that tests may send hand-made events. */
  readonly handler: (event: unknown, context: Context) => Promise<unknown>;
}

/** How the function is configured, beyond {@link BLOCKER_ENVIRONMENT}. */
export interface BlockerHandlerOptions {
  /**
   * POWERTOOLS_SERVICE_NAME: the `service` of log lines and the metrics' dimension.
   * @default 'waf-autoblock-blocker'
   */
  readonly service?: string;
  /** More environment variables, e.g. `POWERTOOLS_LOG_LEVEL`. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Capture process.stderr too.
   * @default true
   */
  readonly captureStderr?: boolean;
}

/**
 * Loads `#blocker/handler` once (`beforeAll`) with the construct's environment, and before each test
 * resets all four clients to reject every command but the quiet reads every run makes: IP sets
 * empty, no ledger rows, no write-ahead intent or pending report (the intent's write and drop are
 * accepted). A test declares the rest (the alarm, the rate rules' keys, writes, Publish).
 */
export function useBlockerHandler(options: BlockerHandlerOptions = {}): BlockerHandlerHarness {
  const waf = mockClient(WAFV2Client);
  const cloudwatch = mockClient(CloudWatchClient);
  const sns = mockClient(SNSClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  const output = new OutputCapture();
  let module: typeof BlockerHandlerModule | undefined;

  beforeAll(async () => {
    const environment: Record<string, string> = {
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_METRICS_NAMESPACE: 'WafAutoblock',
      POWERTOOLS_SERVICE_NAME: options.service ?? 'waf-autoblock-blocker',
      ...options.environment,
      ...BLOCKER_ENVIRONMENT,
    };
    for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
    // The init's line ("decision path primed") kept, not shown; each test's capture starts afresh.
    output.start({ stderr: options.captureStderr !== false });
    module = await import('#blocker/handler');
  });
  beforeEach(() => {
    output.start({ stderr: options.captureStderr !== false });
    for (const mock of [waf, cloudwatch, sns, ddb]) rejectUndeclared(mock);
    waf
      .on(GetIPSetCommand)
      .resolves({ IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] }, LockToken: 't' });
    ddb.on(QueryCommand).resolves({ Items: [] });
    answerWriteAheadIntent(ddb);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    for (const mock of [waf, cloudwatch, sns, ddb]) mock.restore();
  });

  return {
    waf,
    cloudwatch,
    sns,
    ddb,
    output,
    get module() {
      return started(module, 'the handler module');
    },
    handler: (event, context) => started(module, 'the handler module').handler(event as never, context),
  };
}

// ---- what Lambda delivers ----

/** A Lambda context of the blocker function with a minute left; `overrides` replace any field. */
export function lambdaContext(overrides: Partial<Context> = {}): Context {
  return {
    functionName: 'WafAutoblock-Blocker',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 60_000,
    ...overrides,
  } as Context;
}

/** When our alarm changed state, and how the alert topic carried it. */
export interface AlarmEventOptions {
  /**
   * The state it left.
   * @default 'OK' for an ALARM, 'ALARM' otherwise
   */
  readonly oldState?: AlarmState;
  /**
   * How long after the state change SNS stamped the message.
   * @default 1000
   */
  readonly publishedAfterMs?: number;
}

/**
 * The SNS event Lambda delivers for our alarm's change to `state` at `changedAt` (epoch ms):
 * CloudWatch's message (StateChangeTime with a `+0000` offset) in the alert topic's record.
 */
export function alarmSnsEvent(state: AlarmState, changedAt: number, options: AlarmEventOptions = {}): SNSEvent {
  const message = {
    AlarmName: SETTINGS.alarmName,
    AWSAccountId: '123456789012',
    NewStateValue: state,
    OldStateValue: options.oldState ?? (state === 'ALARM' ? 'OK' : 'ALARM'),
    NewStateReason: 'Threshold Crossed: 1 datapoint [5120.0] was greater than or equal to the threshold (3000.0).',
    StateChangeTime: new Date(changedAt).toISOString().replace('Z', '+0000'),
    Region: 'US East (N. Virginia)',
    Trigger: { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2', Period: 300, EvaluationPeriods: 1 },
  };
  const record: SNSEventRecord = {
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: `${ALERT_TOPIC}:3f1c`,
    Sns: {
      Type: 'Notification',
      MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      TopicArn: ALERT_TOPIC,
      Subject: `${state}: "${SETTINGS.alarmName}" in US East (N. Virginia)`,
      Message: JSON.stringify(message),
      Timestamp: new Date(changedAt + (options.publishedAfterMs ?? 1000)).toISOString(),
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
      UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
      MessageAttributes: {},
    },
  };
  return { Records: [record] };
}

/**
 * One record of the ban feed topic, as the handler receives it: `message` is sent as the message
 * text (an object is sent as its JSON).
 */
export function feedRecord(message: string | object, messageId: string) {
  return {
    EventSource: 'aws:sns',
    Sns: {
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: SETTINGS.feedTopicArn,
      Message: typeof message === 'string' ? message : JSON.stringify(message),
    },
  };
}
