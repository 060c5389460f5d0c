/**
 * The notifier: how long an ALARM summary takes when every Logs Insights query needs K polls and
 * every AWS call takes 50 ms (polled together, it should cost about one query's time, not four);
 * how many AWS calls each kind of message makes; what a block report of 10,000 added and 10,000
 * expired ranges costs once fitted to one SNS message (fitting it in the blocker, its size, reading
 * and rendering it in the notifier); and the notifier bundle's size and import time, built exactly
 * as lib/autoblock-function builds it.
 *
 * AWS is aws-sdk-client-mock with a fixed latency per call; Telegram is the loopback stand-in.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, DescribeAlarmHistoryCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import { importOnce, lambdaBuildOptions, linkNodeModules, spread } from './bundling';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { runInsightsQueries } from '#adapters/logs-insights';
import { SecretString } from '#adapters/secrets';
import { NOTIFIER_ENV, type NotifierSettings } from '#contracts/notifier-environment';
import { SUMMARY_QUERIES } from '#notifier/queries';
import { DeliveryLog, runNotifier, type NotifierDeps } from '#notifier/run';
import { normalizeReport } from '#notifier/classify';
import { renderReport } from '#notifier/render';
import { BLOCK_REPORT_KIND, fitReport, SNS_MAX_MESSAGE_BYTES } from '#contracts/report';
import { ATTACK_AT, attackReport } from '../test/support/block-reports';
import { TelegramServer } from '../test/support/telegram-server';
import { report, time } from './measure';

const ENTRY = 'lambdas/notifier/handler.ts';
const IMPORT_RUNS = 10;

const CALL_MS = 50;
const POLL_INTERVAL_MS = 100;
const POLLS = 3;
const TOKEN = '7012345678:AAF-bench_Token_not_real_0123456789ab';
const CHAT = '-1001234567890';
const NOW = Date.UTC(2025, 2, 14, 3, 0, 0);
const region = 'us-east-1';
const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' };

const SETTINGS: Omit<NotifierSettings, 'telegramApiUrl'> = {
  scope: 'CLOUDFRONT',
  webAclName: 'WafAutoblock-web-acl',
  wafLogGroup: 'aws-waf-logs-WafAutoblock',
  blocklist: {
    IPV4: [{ name: 'WafAutoblock-blocklist-ipv4', id: 'v4', scope: 'CLOUDFRONT' }],
    IPV6: [{ name: 'WafAutoblock-blocklist-ipv6', id: 'v6', scope: 'CLOUDFRONT' }],
  },
  alarmName: 'WafAutoblock-BlockedRequests',
  ledgerTable: 'Ledger',
  telegramSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:BotToken-AbCdEf',
  chatIds: [CHAT],
  summaryMinutes: 15,
  maxListedRanges: 20,
};

/** Resolves after the simulated network latency. */
async function slow<T>(value: T): Promise<T> {
  await delay(CALL_MS);
  return value;
}

function alarmMessage(state: 'ALARM' | 'OK'): string {
  return JSON.stringify({
    AlarmName: SETTINGS.alarmName,
    NewStateValue: state,
    OldStateValue: state === 'OK' ? 'ALARM' : 'OK',
    NewStateReason: 'Threshold Crossed',
    StateChangeTime: new Date(NOW).toISOString().replace('Z', '+0000'),
  });
}

const sns = (message: string, id: string) => ({
  Records: [{ Sns: { MessageId: id, TopicArn: 'arn:aws:sns:us-east-1:123456789012:Topic', Message: message } }],
});

/** Mocks every AWS call the notifier makes, each taking CALL_MS; each query needs `polls` polls. */
function mockAws(polls: number) {
  const mocks = {
    logs: mockClient(CloudWatchLogsClient),
    cloudwatch: mockClient(CloudWatchClient),
    cloudfront: mockClient(CloudFrontClient),
    waf: mockClient(WAFV2Client),
    ddb: mockClient(DynamoDBDocumentClient),
    secrets: mockClient(SecretsManagerClient),
  };
  const pollsLeft = new Map<string, number>();
  mocks.logs.on(StartQueryCommand).callsFake(({ queryString }: { queryString: string }) => {
    const queryId = SUMMARY_QUERIES.find((query) => query.queryString === queryString)?.name ?? 'unknown';
    pollsLeft.set(queryId, polls);
    return slow({ queryId });
  });
  mocks.logs.on(GetQueryResultsCommand).callsFake(({ queryId }: { queryId: string }) => {
    const left = (pollsLeft.get(queryId) ?? 1) - 1;
    pollsLeft.set(queryId, left);
    return slow(
      left > 0
        ? { status: 'Running' }
        : {
            status: 'Complete',
            results: [
              [
                { field: 'host', value: 'shop.example.com' },
                { field: 'requests', value: '41200' },
              ],
            ],
          },
    );
  });
  mocks.cloudfront.on(ListDistributionsCommand).callsFake(() =>
    slow({
      DistributionList: {
        Marker: '',
        MaxItems: 100,
        IsTruncated: false,
        Quantity: 3,
        Items: ['E1', 'E2', 'E3'].map((Id) => ({ Id, DomainName: `${Id}.cloudfront.net`, Enabled: true })),
      },
    }),
  );
  mocks.cloudwatch
    .on(GetMetricDataCommand)
    .callsFake(() => slow({ MetricDataResults: [{ Id: 'r0', Timestamps: [new Date(NOW)], Values: [1000] }] }));
  mocks.cloudwatch.on(DescribeAlarmHistoryCommand).callsFake(() =>
    slow({
      AlarmHistoryItems: [
        { Timestamp: new Date(NOW - 600_000), HistoryData: JSON.stringify({ newState: { stateValue: 'ALARM' } }) },
      ],
    }),
  );
  mocks.waf.on(GetIPSetCommand).callsFake(() => slow({ IPSet: { Addresses: ['203.0.113.0/24'] }, LockToken: 't' }));
  mocks.ddb.on(QueryCommand).callsFake(() => slow({ Items: [] }));
  // The ledger's marker: every active row is in the sharded index (lambdas/adapters/ledger.ts readActive).
  mocks.ddb.on(GetCommand).callsFake(() => slow({ Item: { range: '#schema', activeShards: 16 } }));
  mocks.secrets.on(GetSecretValueCommand).callsFake(() => slow({ SecretString: TOKEN }));
  return mocks;
}

function callCount(mocks: Record<string, { calls(): readonly unknown[] }>): number {
  return Object.values(mocks).reduce((sum, mock) => sum + mock.calls().length, 0);
}

function deps(): NotifierDeps {
  return {
    logs: new CloudWatchLogsClient({ region, credentials }),
    cloudwatch: new CloudWatchClient({ region, credentials }),
    metrics: new CloudWatchClient({ region, credentials }),
    cloudfront: new CloudFrontClient({ region, credentials }),
    waf: new WAFV2Client({ region, credentials }),
    ledger: new Ledger(createLedgerClient({ region, credentials }), SETTINGS.ledgerTable),
    botToken: (() => {
      const token = new SecretString(new SecretsManagerClient({ region, credentials }), SETTINGS.telegramSecretId);
      return () => token.value();
    })(),
    delivered: new DeliveryLog(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    pollIntervalMs: POLL_INTERVAL_MS,
  };
}

async function summaries(server: TelegramServer): Promise<void> {
  const settings: NotifierSettings = { ...SETTINGS, telegramApiUrl: server.url };
  const invocation = { now: NOW, remainingMs: () => 85_000 };
  let mocks = mockAws(POLLS);
  let id = 0;

  // One ALARM end to end, polled together, on a warm instance (token cached).
  const warm = deps();
  await runNotifier(warm, settings, sns(alarmMessage('ALARM'), 'warm-up'), invocation);
  const together = await time(
    () => runNotifier(warm, settings, sns(alarmMessage('ALARM'), `a${id++}`), invocation),
    5,
    1,
  );
  const perQuery = CALL_MS + POLLS * (POLL_INTERVAL_MS + CALL_MS);
  report(
    `ALARM message, 4 queries x ${POLLS} polls, ${CALL_MS} ms per AWS call`,
    `${together.medianMs.toFixed(0)} ms`,
    `~ one query: ${perQuery} ms + send`,
  );

  // The same four queries one after another, as the original scripts ran them.
  const logs = new CloudWatchLogsClient({ region, credentials });
  const sequential = await time(
    async () => {
      for (const query of SUMMARY_QUERIES) {
        await runInsightsQueries(logs, {
          logGroupName: SETTINGS.wafLogGroup,
          startTime: NOW - 900_000,
          endTime: NOW,
          queries: [query],
          deadline: Date.now() + 40_000,
          pollIntervalMs: POLL_INTERVAL_MS,
        });
      }
    },
    5,
    1,
  );
  report(
    '  the 4 queries one after another (for comparison)',
    `${sequential.medianMs.toFixed(0)} ms`,
    `~ ${4 * perQuery} ms`,
  );

  // AWS calls per message, counted on fresh mocks: cold (token read) and warm.
  const count = async (label: string, message: string, cold: boolean) => {
    for (const mock of Object.values(mocks)) mock.restore();
    mocks = mockAws(POLLS);
    const runDeps = cold ? deps() : warm;
    if (!cold) await runDeps.botToken();
    const before = callCount(mocks);
    await runNotifier(runDeps, settings, sns(message, `c${id++}`), invocation);
    const calls = callCount(mocks) - before;
    const detail = Object.entries(mocks)
      .flatMap(([name, mock]) => (mock.calls().length > 0 ? [`${name} ${mock.calls().length}`] : []))
      .join(', ');
    report(label, String(calls));
    console.log(`    ${detail}`);
  };
  await count(`AWS calls per ALARM message (K=${POLLS}), cold start`, alarmMessage('ALARM'), true);
  await count(`AWS calls per ALARM message (K=${POLLS}), warm`, alarmMessage('ALARM'), false);
  await count('AWS calls per OK message, warm', alarmMessage('OK'), false);
  const blockReport = JSON.stringify({
    kind: BLOCK_REPORT_KIND,
    version: 1,
    at: new Date(NOW).toISOString(),
    webAclName: 'acl',
    dryRun: false,
    collected: true,
    added: [],
    expired: [],
    overflow: { count: 0, sample: [] },
    ipSets: [],
    topHosts: [],
    rejectedKeys: {},
    unreadableRules: [],
  });
  await count('AWS calls per block report, warm', blockReport, false);
  await count(
    'AWS calls per fitted 10,000-range block report, warm',
    JSON.stringify(fitReport(attackReport(10_000, 10_000))),
    false,
  );
  for (const mock of Object.values(mocks)) mock.restore();
}

/**
 * A block report of the attack size (10,000 /24s added, 10,000 expired in one run): fitted
 * to one SNS message in the blocker, then parsed, checked and rendered in the notifier.
 */
async function fittedReport(): Promise<void> {
  const full = attackReport(10_000, 10_000);
  const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
  report('block report, 10,000 + 10,000 ranges, in full (version 1)', formatBytes(bytes(JSON.stringify(full))));
  const fitting = await time(() => fitReport(full), 10, 2);
  const message = JSON.stringify(fitReport(full));
  report('  fitted (blocker, fitReport), median of 10', `${fitting.medianMs.toFixed(0)} ms`);
  report(
    '  fitted message size',
    formatBytes(bytes(message)),
    `<= ${formatBytes(SNS_MAX_MESSAGE_BYTES)} with envelope headroom`,
  );
  const render = () => {
    const parsed = normalizeReport(JSON.parse(message));
    if (!parsed) throw new Error('the fitted report is not read as a block report');
    return renderReport(parsed, { now: ATTACK_AT, maxListedRanges: 20 });
  };
  const rendering = await time(render, 10, 2);
  report('  read and rendered (notifier), median of 10', `${rendering.medianMs.toFixed(0)} ms`, '< 100 ms');
  report('  Telegram messages it renders to', String(render().length));
}

function formatBytes(value: number): string {
  return `${value.toLocaleString('en-US')} B`;
}

const CDK_OPTIONS = lambdaBuildOptions(ENTRY);

async function bundle(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'notifier-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    await build({ ...CDK_OPTIONS, outfile });
    report(
      'notifier bundle, minified (index.mjs)',
      `${((await stat(outfile)).size / 1024).toFixed(1)} KB`,
      '<= 300 KB',
    );
    await linkNodeModules(dir);
    const env: NodeJS.ProcessEnv = {
      AWS_REGION: region,
      POWERTOOLS_SERVICE_NAME: 'notifier',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      [NOTIFIER_ENV.scope]: 'CLOUDFRONT',
      [NOTIFIER_ENV.webAclName]: 'acl',
      [NOTIFIER_ENV.wafLogGroup]: 'aws-waf-logs-acl',
      [NOTIFIER_ENV.blocklistIpv4]: 'v4|id-1',
      [NOTIFIER_ENV.blocklistIpv6]: 'v6|id-2',
      [NOTIFIER_ENV.alarmName]: 'alarm',
      [NOTIFIER_ENV.ledgerTable]: 'ledger',
      [NOTIFIER_ENV.telegramSecretId]: 'secret',
      [NOTIFIER_ENV.telegramChatIds]: '[]',
      [NOTIFIER_ENV.telegramApiUrl]: 'https://api.telegram.org',
      [NOTIFIER_ENV.summaryMinutes]: '15',
      [NOTIFIER_ENV.maxListedRanges]: '20',
    };
    const once = async () => (await importOnce(outfile, env)).importMs;
    await once(); // fills the file cache
    const samples: number[] = [];
    for (let i = 0; i < IMPORT_RUNS; i++) samples.push(await once());
    report(`notifier import, fresh node, median [min-max] of ${IMPORT_RUNS}`, spread(samples));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function (): Promise<void> {
  const server = await TelegramServer.start({ token: TOKEN, chats: [CHAT] });
  const started = performance.now();
  try {
    await summaries(server);
  } finally {
    await server.stop();
  }
  await fittedReport();
  await bundle();
  report('notifier bench total', `${((performance.now() - started) / 1000).toFixed(1)} s`);
}
