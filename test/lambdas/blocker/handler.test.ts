/**
 * The Lambda entry as AWS calls it: settings from the environment, one structured summary line and
 * the EMF metrics on stdout, and a failed run that fails the invocation after logging why.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  UpdateIPSetCommand,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RUN_LOCK_KEY } from '#adapters/ledger';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ATTACKER, FOREIGN, ledgerEntry, RANGE, SETTINGS, storedItem } from '../../support/blocker-fixtures';
import { feedRecord, lambdaContext, useBlockerHandler } from '../../support/blocker-harness';
import { answerActiveRows } from '../../support/ledger-mock';

const blocker = useBlockerHandler();
const { waf, cloudwatch, sns, ddb, handler, output } = blocker;

const context = lambdaContext({
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:WafAutoblock-Blocker',
  memoryLimitInMB: '256',
});

const jsonLines = () => output.jsonLines();

beforeEach(() => {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ StateValue: 'ALARM' }] });
  waf
    .on(GetRateBasedStatementManagedKeysCommand)
    .resolves({ ManagedKeysIPV4: { Addresses: [`${ATTACKER.linode}/32`] } });
});

describe('the blocker handler', () => {
  it('logs one summary line per run and publishes the run metrics as EMF', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.onAnyCommand().resolves({ MessageId: 'm' });

    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);

    const records = jsonLines();
    const summaries = records.filter((record) => record.message === 'blocker run');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      level: 'INFO',
      service: 'waf-autoblock-blocker',
      function_request_id: 'req-1',
      summary: { trigger: 'schedule', rangesAdded: 1, dryRun: false, lockConflicts: 0 },
    });
    const emf = records.find((record) => '_aws' in record);
    expect(emf).toMatchObject({ RangesAdded: 1, RangesExpired: 0, LockConflicts: 0, KeysRejected: 0, Overflow: 0 });
    const metricNames = (emf?._aws as { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] })
      .CloudWatchMetrics[0];
    expect(metricNames?.Namespace).toBe('WafAutoblock');
    expect(metricNames?.Metrics.map((metric) => metric.Name)).toEqual(
      expect.arrayContaining([
        'RangesActive',
        'RangesAdded',
        'RangesExpired',
        'LockConflicts',
        'KeysRejected',
        'Overflow',
      ]),
    );
  });

  it('holds the run lock for the run, named after the request and unique to the invocation, and releases it', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.onAnyCommand().resolves({ MessageId: 'm' });

    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);

    const lockWrites = ddb
      .commandCalls(UpdateCommand)
      .filter((call) => call.args[0].input.Key?.range === RUN_LOCK_KEY)
      .map((call) => call.args[0].input);
    expect(
      lockWrites.map((input): unknown[] => [input.UpdateExpression, input.ExpressionAttributeValues?.[':owner']]),
    ).toEqual([
      ['SET #owner = :owner, #leaseUntil = :until, #ttl = :ttl', expect.stringMatching(/^lambda:req-1#[0-9a-f]{8}$/)],
      ['SET #leaseUntil = :zero', expect.stringMatching(/^lambda:req-1#[0-9a-f]{8}$/)],
    ]);
    // Released by the owner that took it; a second delivery of the same event is another owner.
    expect(lockWrites[0]?.ExpressionAttributeValues?.[':owner']).toBe(
      lockWrites[1]?.ExpressionAttributeValues?.[':owner'],
    );
    ddb.resetHistory();
    await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    const again: unknown = ddb
      .commandCalls(UpdateCommand)
      .find((call) => call.args[0].input.Key?.range === RUN_LOCK_KEY)?.args[0].input.ExpressionAttributeValues?.[
      ':owner'
    ];
    expect(again).not.toBe(lockWrites[0]?.ExpressionAttributeValues?.[':owner']);
  });

  it('fails the invocation, after one error line naming the resource, when a write fails', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).rejects(Object.assign(new Error('boom'), { name: 'WAFInternalErrorException' }));
    sns.onAnyCommand().resolves({ MessageId: 'm' });

    await expect(handler({ source: 'aws.events' }, context)).rejects.toThrow(SETTINGS.blocklist.IPV4[0].name);

    const failures = jsonLines().filter((record) => record.message === 'blocker run failed');
    expect(failures).toHaveLength(1);
    expect(JSON.stringify(failures[0])).toContain(SETTINGS.blocklist.IPV4[0].name);
  });

  it('logs each rejected feed message without its text, counts feed messages, and logs what became of each action', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.onAnyCommand().resolves({ MessageId: 'm' });
    const secretLooking = 'Zm9vYmFyYmF6cXV4LXRoaXMtaXMtdGhlLWJvZHk';

    await handler(
      {
        Records: [
          feedRecord(
            JSON.stringify({ action: 'ban', address: ATTACKER.tor, duration: 60, note: secretLooking }),
            'm-bad',
          ),
          feedRecord(JSON.stringify({ action: 'ban', address: ATTACKER.linode, source: 'fail2ban@web1' }), 'm-ban'),
          feedRecord(JSON.stringify({ action: 'ban', address: '10.1.2.3', source: 'fail2ban@web1' }), 'm-private'),
        ],
      },
      context,
    );

    const records = jsonLines();
    const warnings = records.filter((record) => record.message === 'ban feed message rejected');
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'WARN',
        problem: expect.stringContaining('unknown keys "duration", "note"') as unknown,
        messageId: 'm-bad',
        topic: SETTINGS.feedTopicArn,
      }),
    ]);
    expect(output.lines.join('\n')).not.toContain(secretLooking);
    expect(records.find((record) => record.message === 'blocker run')).toMatchObject({
      summary: { trigger: 'feed' },
    });
    expect(records.filter((record) => record.message === 'operator action')).toEqual([
      expect.objectContaining({ status: 'banned', address: ATTACKER.linode, source: 'fail2ban@web1' }),
    ]);
    expect(records.filter((record) => record.message === 'operator action refused')).toEqual([
      expect.objectContaining({ level: 'WARN', status: 'refused', address: '10.1.2.3' }),
    ]);
    expect(records.find((record) => '_aws' in record)).toMatchObject({ FeedRejected: 1, FeedActions: 2 });
  });

  it('logs where an unban removed its range, and where someone had removed it first', async () => {
    ddb.on(UpdateCommand).resolves({});
    // Both ranges are ours; only the IPv4 one is still in its blocklist.
    answerActiveRows(ddb, 'IPV4', [storedItem(ledgerEntry(RANGE.linode))]);
    answerActiveRows(ddb, 'IPV6', [storedItem(ledgerEntry(RANGE.hetzner6))]);
    waf.on(GetIPSetCommand, { Name: SETTINGS.blocklist.IPV4[0].name }).resolves({
      IPSet: { Name: 'x', Id: 'y', ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [FOREIGN.IPV4, RANGE.linode] },
      LockToken: 't',
    });
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.onAnyCommand().resolves({ MessageId: 'm' });
    const unban = (address: string) =>
      feedRecord({ action: 'unban', address, source: 'fail2ban@web1' }, `m-${address}`);

    await handler({ Records: [unban(RANGE.linode), unban(RANGE.hetzner6)] }, context);

    expect(jsonLines().filter((record) => record.message === 'operator action')).toEqual([
      expect.objectContaining({
        status: 'unbanned',
        range: RANGE.linode,
        removedFrom: [SETTINGS.blocklist.IPV4[0].name],
        alreadyAbsentFrom: [],
      }),
      expect.objectContaining({
        status: 'unbanned',
        range: RANGE.hetzner6,
        removedFrom: [],
        alreadyAbsentFrom: [SETTINGS.blocklist.IPV6[0].name],
      }),
    ]);
  });

  it('counts no feed messages on a scheduled run', async () => {
    ddb.on(UpdateCommand).resolves({});
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'next' });
    sns.onAnyCommand().resolves({ MessageId: 'm' });

    await handler({ source: 'aws.events' }, context);

    expect(jsonLines().find((record) => '_aws' in record)).toMatchObject({ FeedRejected: 0, FeedActions: 0 });
  });
});

describe('wafClientsByRegion', () => {
  it('creates one client per region, on first use, and reuses it', () => {
    const created: string[] = [];
    const clientIn = blocker.module.wafClientsByRegion((region) => {
      created.push(region);
      return new WAFV2Client({ region });
    });

    const east = clientIn('us-east-1');
    expect(clientIn('eu-west-1')).not.toBe(east);
    expect(clientIn('us-east-1')).toBe(east);
    expect(created).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('by default builds each client for its own region', async () => {
    const clientIn = blocker.module.wafClientsByRegion();

    await expect(clientIn('ap-southeast-2').config.region()).resolves.toBe('ap-southeast-2');
    await expect(clientIn('us-east-1').config.region()).resolves.toBe('us-east-1');
  });
});

describe('primeAtInit', () => {
  type Line = { readonly level: string; readonly message: unknown; readonly fields: Record<string, unknown> };
  const recording = () => {
    const lines: Line[] = [];
    const record =
      (level: string) =>
      (message: unknown, ...extra: unknown[]) => {
        lines.push({ level, message, fields: extra[0] as Record<string, unknown> });
      };
    return { lines, log: { info: record('info'), warn: record('warn') } };
  };
  /** The line without its duration, after checking that it has one (ms, a whole number). */
  const withoutMs = ({ fields: { ms, ...fields }, ...line }: Line) => {
    expect(Number.isInteger(ms)).toBe(true);
    return { ...line, fields };
  };

  it('logs what priming went through and how long it took', async () => {
    const { lines, log } = recording();
    await blocker.module.primeAtInit(() => Promise.resolve({ keys: 3, rows: 3 }), log);
    expect(lines.map(withoutMs)).toEqual([
      { level: 'info', message: 'decision path primed', fields: { keys: 3, rows: 3 } },
    ]);
  });

  it('never fails the init: a priming that throws is one warning naming the error, whatever was thrown', async () => {
    const failures: [() => Promise<object>, string][] = [
      [
        () => Promise.reject(new Error('priming reached for AWS: waf.send')),
        'Error: priming reached for AWS: waf.send',
      ],
      [
        () => {
          throw new RangeError('capacity must be a non-negative integer');
        },
        'RangeError: capacity must be a non-negative integer',
      ],
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a careless dependency may do
      [() => Promise.reject(undefined), 'undefined'],
    ];
    for (const [prime, error] of failures) {
      const { lines, log } = recording();
      await expect(blocker.module.primeAtInit(prime, log)).resolves.toBeUndefined();
      expect(lines).toEqual([
        {
          level: 'warn',
          message: 'priming failed; a first attack will meet code V8 has not compiled',
          fields: { error },
        },
      ]);
    }
  });

  it('by default primes with the deployment settings, without a call to AWS', async () => {
    const { lines, log } = recording();
    await blocker.module.primeAtInit(undefined, log);
    expect(lines.map(withoutMs)).toEqual([
      {
        level: 'info',
        message: 'decision path primed',
        fields: { keysSeen: 10_000, rows: 10_000, placed: 10_000, entries: 5_021, sharedSets: 0, intentParts: 1 },
      },
    ]);
    for (const mock of [waf, cloudwatch, sns, ddb]) expect(mock.calls()).toHaveLength(0);
  });

  it("runs when the module loads, before the first invocation: the init's one line, and no call to AWS", async () => {
    vi.resetModules();
    await import('#blocker/handler');
    expect(jsonLines().filter((record) => record['message'] === 'decision path primed')).toEqual([
      expect.objectContaining({ level: 'INFO', keysSeen: 10_000, rows: 10_000, ms: expect.any(Number) as number }),
    ]);
    for (const mock of [waf, cloudwatch, sns, ddb]) expect(mock.calls()).toHaveLength(0);
  });
});
