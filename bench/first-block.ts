/**
 * The first block of a big attack: a first run against 10,000 new IPv4 /24s with 10 ms added to
 * every AWS call (WAF emulator, a DynamoDB middleware in front of dynalite, CloudWatch/SNS fakes).
 * Wall time to the first successful UpdateIPSet (target: 100 ms + 4 round trips), the round trips
 * before it, the whole run, the DynamoDB calls, and the process's peak RSS (dynalite and the WAF
 * emulator run in the same process, so the RSS is an upper bound for the blocker alone).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { createWafClient } from '#adapters/waf';
import type { BlockerSettings } from '#contracts/blocker-environment';
import { runBlocker } from '#blocker/run';
import { createLedgerTable, localClient, startDynalite } from '../test/support/dynalite';
import { startWafServer, type RecordedCall } from '../test/support/waf-server';
import { report } from './measure';

const LATENCY_MS = 10;
const RANGES = 10_000;
const TABLE = 'autoblock-ledger-first-block';
const RULE = 'rate-per-ip';
const WEB_ACL = {
  name: 'site-acl',
  id: 'acl-1',
  arn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1',
};
const clock = (): number => performance.timeOrigin + performance.now();

/** Calls each starting after the previous ended, up to and including `target`. */
function roundTripsTo(target: RecordedCall, calls: readonly RecordedCall[]): number {
  const depth = new Map<RecordedCall, number>();
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    let before = 0;
    for (const [earlier, d] of depth) if ((earlier.doneAt ?? Infinity) <= call.at) before = Math.max(before, d);
    depth.set(call, before + 1);
    if (call === target) break;
  }
  return depth.get(target) ?? Number.NaN;
}

/** A CloudWatch or SNS stand-in that answers after the latency. */
function fake(calls: RecordedCall[], answer: () => unknown): { send(command: object): Promise<unknown> } {
  return {
    async send(command) {
      const call: RecordedCall = { operation: command.constructor.name.replace(/Command$/, ''), body: {}, at: clock() };
      calls.push(call);
      await sleep(LATENCY_MS);
      call.doneAt = clock();
      return answer();
    },
  };
}

export default async function (): Promise<void> {
  const server = await startWafServer({ latencyMs: LATENCY_MS });
  const dynamo = await startDynalite();
  const ledgerDb = localClient(dynamo.endpoint);
  const waf = createWafClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await createLedgerTable(dynamo.client, TABLE);
    const calls: RecordedCall[] = [];
    ledgerDb.middlewareStack.add(
      (next, context) => async (args) => {
        const call: RecordedCall = {
          operation: (context.commandName ?? '').replace(/Command$/, ''),
          body: {},
          at: clock(),
        };
        calls.push(call);
        try {
          await sleep(LATENCY_MS);
          return await next(args);
        } finally {
          call.doneAt = clock();
        }
      },
      { step: 'initialize', name: 'benchLatency' },
    );
    // WAF calls are timed where the blocker sends them, as the ledger's are: the emulator runs in
    // this process, so it sees a request only once the event loop lets it.
    const wafCalls: RecordedCall[] = [];
    waf.middlewareStack.add(
      (next, context) => async (args) => {
        const call: RecordedCall = {
          operation: (context.commandName ?? '').replace(/Command$/, ''),
          body: {},
          at: clock(),
        };
        wafCalls.push(call);
        try {
          const output = await next(args);
          call.status = 200;
          return output;
        } finally {
          call.doneAt = clock();
        }
      },
      { step: 'initialize', name: 'benchTiming' },
    );
    const ipSet = (name: string, version: 'IPV4' | 'IPV6', addresses: string[] = []) => {
      const set = server.createIpSet({ name, scope: 'CLOUDFRONT', version, addresses });
      return { name: set.name, id: set.id, scope: 'CLOUDFRONT' as const };
    };
    const settings: BlockerSettings = {
      scope: 'CLOUDFRONT',
      webAclName: WEB_ACL.name,
      webAclId: WEB_ACL.id,
      webAclArn: WEB_ACL.arn,
      rateRules: [RULE],
      blocklist: { IPV4: [ipSet('blocklist-v4', 'IPV4')], IPV6: [ipSet('blocklist-v6', 'IPV6')] },
      allowlist: { IPV4: ipSet('allowlist-v4', 'IPV4'), IPV6: ipSet('allowlist-v6', 'IPV6') },
      alarmName: 'site-acl-blocked-requests',
      ledgerTable: TABLE,
      reportsTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-reports',
      gate: 'alarm',
      blockDurationMs: 240 * 60_000,
      ipv4Prefix: 24,
      ipv6Prefix: 64,
      dryRun: false,
      feedTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-ban-feed',
      sharedIpSets: [],
    };
    server.setManagedKeys(WEB_ACL.name, RULE, {
      ipv4: Array.from({ length: RANGES }, (_, i) => `62.${Math.floor(i / 256)}.${i % 256}.1/32`),
    });
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    const started = clock();
    await runBlocker(
      {
        waf,
        cloudwatch: fake(calls, () => ({
          MetricAlarms: [{ AlarmName: settings.alarmName, StateValue: 'ALARM' }],
        })) as unknown as CloudWatchClient,
        sns: fake(calls, () => ({ MessageId: 'bench' })) as unknown as SNSClient,
        ledger: new Ledger(createLedgerClient(ledgerDb), TABLE),
        pending: new PendingReports(createLedgerClient(ledgerDb), TABLE),
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      },
      settings,
      { kind: 'schedule' },
      Date.now(),
    );
    const finished = clock();
    clearInterval(sampler);
    const first = wafCalls.find((call) => call.operation === 'UpdateIPSet' && call.status === 200);
    if (first?.doneAt === undefined) throw new Error('the run wrote no IP set');
    const trips = roundTripsTo(first, [...wafCalls, ...calls]);
    console.log(`First run of ${RANGES.toLocaleString('en')} new ranges, ${LATENCY_MS} ms added to every AWS call`);
    report(
      'first block: wall to first successful UpdateIPSet',
      `${(first.doneAt - started).toFixed(0)} ms`,
      `<= ${100 + 4 * LATENCY_MS} ms`,
    );
    report('first block: round trips up to it', String(trips), '<= 4');
    report('first block: whole run', `${(finished - started).toFixed(0)} ms`);
    const dynamoCalls = calls.filter((call) => !['DescribeAlarms', 'Publish'].includes(call.operation));
    const byOperation = new Map<string, number>();
    for (const call of dynamoCalls) byOperation.set(call.operation, (byOperation.get(call.operation) ?? 0) + 1);
    report('first block: DynamoDB calls', `${dynamoCalls.length}`);
    console.log(`  by operation: ${[...byOperation].map(([op, n]) => `${op} ${n}`).join(', ')}`);
    report('first block: peak RSS (with dynalite and the emulator)', `${(peakRss / 1024 / 1024).toFixed(0)} MB`);
  } finally {
    waf.destroy();
    ledgerDb.destroy();
    await Promise.all([server.close(), dynamo.close()]);
  }
}
