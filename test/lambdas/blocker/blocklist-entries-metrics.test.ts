/**
 * The blocker's per-family blocklist size, as the dashboard draws it against each family's own
 * capacity: BlocklistEntriesIPv4 and BlocklistEntriesIPv6 (unit Count, dimension `service`, in the
 * run's one EMF record) are the entries of all of that family's blocklist IP sets after the run,
 * entries added by others included. Two IPv4 sets and one IPv6 set here; AWS clients are strict mocks.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFNonexistentItemException,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BLOCKLIST_ENTRIES_METRICS, HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { ATTACKER, BLOCKER_ENVIRONMENT, LOGIN_RULE, RANGE } from '../../support/blocker-fixtures';
import { answerWriteAheadIntent } from '../../support/write-ahead-mock';

const SERVICE = 'shop-web-blocker';
/** The IPv4 blocklist in two sets (`blocker.ipSetsPerFamily: 2` for IPv4 here), IPv6 in one. */
const IPV4_SETS = [
  { name: 'blocklist-v4', id: 'bl4-1a2b' },
  { name: 'blocklist-v4-2', id: 'bl4-9e8d' },
] as const;
const IPV6_SET = { name: 'blocklist-v6', id: 'bl6-3c4d' } as const;

const waf = mockClient(WAFV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const context = {
  functionName: 'shop-web-Blocker',
  awsRequestId: 'req-entries',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;
let lines: string[] = [];

/** The EMF records the invocation printed. */
function emfRecords(): Record<string, unknown>[] {
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => '_aws' in record);
}

/** A blocklist IP set as GetIPSet returns it. */
function ipSet(family: 'IPV4' | 'IPV6', { name, id }: { name: string; id: string }, addresses: string[]) {
  return {
    IPSet: { Name: name, Id: id, ARN: `arn:${id}`, IPAddressVersion: family, Addresses: addresses },
    LockToken: 't',
  };
}

/** `count` global ranges no fixture attacker falls into and no two of which are siblings (46.<first>.0.0/24, ...). */
function foreignRanges(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `46.${first + 2 * i}.0.0/24`);
}

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', SERVICE);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  for (const [name, value] of Object.entries(BLOCKER_ENVIRONMENT)) vi.stubEnv(name, value);
  vi.stubEnv('BLOCKLIST_IPV4', JSON.stringify(IPV4_SETS.map(({ name, id }) => `${name}|${id}`)));
  vi.stubEnv('BLOCKLIST_IPV6', `${IPV6_SET.name}|${IPV6_SET.id}`);
  handler = (await import('#blocker/handler')).handler as Handler;
});

beforeEach(() => {
  lines = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation(capture);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });

  waf.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.reset().onAnyCommand().rejects(new Error('unexpected command'));
  sns.reset().onAnyCommand().rejects(new Error('unexpected command'));
  ddb.reset().onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'ALARM' }] });
  // Two attackers' /24s from the per-IP rule (linode and tor), none from the login rule.
  waf.on(GetRateBasedStatementManagedKeysCommand).resolves({
    ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`, `${ATTACKER.tor}/32`] },
  });
  waf.on(GetRateBasedStatementManagedKeysCommand, { RuleName: LOGIN_RULE }).resolves({});
  // The allowlists (empty); then entries someone else added: 5 and 3 in the two IPv4 sets, 4 in the IPv6 set.
  waf.on(GetIPSetCommand).resolves(ipSet('IPV4', { name: 'allowlist', id: 'al' }, []));
  waf.on(GetIPSetCommand, { Name: IPV4_SETS[0].name }).resolves(ipSet('IPV4', IPV4_SETS[0], foreignRanges(0, 5)));
  waf.on(GetIPSetCommand, { Name: IPV4_SETS[1].name }).resolves(ipSet('IPV4', IPV4_SETS[1], foreignRanges(100, 3)));
  waf
    .on(GetIPSetCommand, { Name: IPV6_SET.name })
    .resolves(
      ipSet('IPV6', IPV6_SET, ['2a02:c207:1::/64', '2a02:c207:3::/64', '2a02:c207:5::/64', '2a02:c207:7::/64']),
    );
  waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
  ddb.on(QueryCommand).resolves({ Items: [] });
  answerWriteAheadIntent(ddb);
  ddb.on(UpdateCommand).resolves({});
  sns.onAnyCommand().resolves({ MessageId: 'm' });
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  vi.unstubAllEnvs();
  for (const mock of [waf, cloudwatch, sns, ddb]) mock.restore();
});

describe("the blocker's blocklist entries per family", () => {
  it("counts every set of a family, foreign entries and this run's additions included, each family apart", async () => {
    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);

    // The two attackers' ranges went into the IPv4 blocklist: 5 + 3 foreign + 2 added.
    const written = waf
      .commandCalls(UpdateIPSetCommand)
      .flatMap((call) => call.args[0].input.Addresses ?? [])
      .filter((address) => address === RANGE.linode || address === RANGE.tor);
    expect(written.sort()).toEqual([RANGE.linode, RANGE.tor].sort());
    const [emf, ...more] = emfRecords();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({
      service: SERVICE,
      [HEALTH_METRICS.runSucceeded]: 1,
      [BLOCKLIST_ENTRIES_METRICS.IPV4]: 10,
      [BLOCKLIST_ENTRIES_METRICS.IPV6]: 4,
    });
  });

  it('publishes them as Count metrics under the service dimension, named per family', async () => {
    await handler({ source: 'aws.events' }, context);

    const [emf] = emfRecords();
    const directive = (emf?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0];
    expect(directive).toMatchObject({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] });
    expect(directive).toHaveProperty(
      'Metrics',
      expect.arrayContaining([
        { Name: 'BlocklistEntriesIPv4', Unit: 'Count' },
        { Name: 'BlocklistEntriesIPv6', Unit: 'Count' },
      ]),
    );
  });

  it('says nothing about the blocklists when the run fails on an unreadable IP set', async () => {
    waf
      .on(GetIPSetCommand, { Name: IPV6_SET.name })
      .rejects(new WAFNonexistentItemException({ message: 'The IP set does not exist.', $metadata: {} }));

    await expect(handler({ source: 'aws.events' }, context)).rejects.toThrow(IPV6_SET.name);

    const [emf] = emfRecords();
    expect(emf).toMatchObject({ [HEALTH_METRICS.runSucceeded]: 0 });
    expect(emf).not.toHaveProperty(BLOCKLIST_ENTRIES_METRICS.IPV4);
    expect(emf).not.toHaveProperty(BLOCKLIST_ENTRIES_METRICS.IPV6);
  });
});
