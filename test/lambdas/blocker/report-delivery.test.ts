/**
 * The blocker's report phase: a strict SNS mock (rejects anything not set up) and the pending report
 * in a real DynamoDB API (dynalite). A report always fits SNS; one SNS refuses goes out with the next.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerClient } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { deliverReport, type ReportDeliveryDeps } from '#blocker/report-delivery';
import { LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { SNS_MAX_MESSAGE_BYTES, type BlockReportV2 } from '#contracts/report';
import { ReadError, WriteError } from '#shared/errors';
import { ATTACK_AT, attackReport } from '../../support/block-reports';
import { createLedgerTable, startDynalite, type LocalDynamo } from '../../support/dynalite';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-Reports';
const UNEXPECTED = 'unexpected SNS call';
const sns = mockClient(SNSClient);
const NOW = new Date(ATTACK_AT);
const LATER = new Date(ATTACK_AT + 5 * 60_000);

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let deps: ReportDeliveryDeps;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
  doc = createLedgerClient(dynamo.client);
});

afterAll(async () => {
  sns.restore();
  await dynamo.close();
});

beforeEach(async () => {
  tables += 1;
  const table = `Ledger-delivery-${tables}`;
  await createLedgerTable(dynamo.client, table);
  sns.reset().onAnyCommand().rejects(new Error(UNEXPECTED));
  deps = { sns: new SNSClient({ region: 'us-east-1' }), topicArn: TOPIC, pending: new PendingReports(doc, table) };
});

/** SNS's own refusal of a message over its limit, as the issue saw it. */
function snsRefusesOverLimit(): void {
  sns.on(PublishCommand, { TopicArn: TOPIC }).callsFake((input: { Message?: string }) => {
    if (Buffer.byteLength(input.Message ?? '', 'utf8') > SNS_MAX_MESSAGE_BYTES) {
      throw Object.assign(new Error('Invalid parameter: Message too long'), { name: 'InvalidParameterException' });
    }
    return { MessageId: `m-${sns.commandCalls(PublishCommand).length}` };
  });
}

function published(): { message: BlockReportV2; bytes: number }[] {
  return sns.commandCalls(PublishCommand).map((call) => {
    const text = call.args[0].input.Message ?? '';
    return { message: JSON.parse(text) as BlockReportV2, bytes: Buffer.byteLength(text, 'utf8') };
  });
}

describe('deliverReport', () => {
  it('publishes a 10,000-range report as one message SNS takes, with every total', async () => {
    snsRefusesOverLimit();
    const result = await deliverReport(deps, attackReport(10_000, 10_000), NOW);

    const [only, ...more] = published();
    expect(more).toEqual([]);
    expect(only?.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(result).toEqual({ published: true, bytes: only?.bytes, merged: 0 });
    expect(only?.message).toMatchObject({ version: 2, addedCount: 10_000, expiredCount: 10_000, runs: 1 });
    expect(await deps.pending.read()).toBeUndefined();
  });

  it('keeps a report SNS refused and fails the run; the next run publishes both, then forgets it', async () => {
    sns.on(PublishCommand).rejectsOnce(new Error('Service Unavailable'));
    const first = deliverReport(deps, attackReport(10_000, 0), NOW);
    await expect(first).rejects.toBeInstanceOf(WriteError);
    await expect(first).rejects.toThrow(
      `could not write reports topic ${TOPIC}: publish failed; the report of this run is kept in the ledger table and the next run publishes it: Error: Service Unavailable`,
    );
    expect((await deps.pending.read())?.report).toMatchObject({ addedCount: 10_000, runs: 1 });

    snsRefusesOverLimit();
    const second = attackReport(0, 10_000, LATER.getTime());
    const result = await deliverReport(deps, second, LATER);

    const [, merged] = published();
    expect(result).toEqual({ published: true, bytes: merged?.bytes, merged: 1 });
    expect(merged?.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(merged?.message).toMatchObject({
      at: second.at,
      since: NOW.toISOString(),
      runs: 2,
      addedCount: 10_000,
      expiredCount: 10_000,
    });
    expect(await deps.pending.read()).toBeUndefined();
  });

  it('publishes a pending report even when the run itself has nothing to report', async () => {
    sns.on(PublishCommand).rejectsOnce(new Error('throttled'));
    await expect(deliverReport(deps, attackReport(3, 0), NOW)).rejects.toThrow(WriteError);
    snsRefusesOverLimit();

    await expect(deliverReport(deps, undefined, LATER)).resolves.toMatchObject({ published: true, merged: 1 });
    expect(published()[1]?.message).toMatchObject({ addedCount: 3, runs: 1, at: NOW.toISOString() });
    // Nothing pending and nothing new: no message at all.
    await expect(deliverReport(deps, undefined, LATER)).resolves.toEqual({ published: false, bytes: 0, merged: 0 });
    expect(published()).toHaveLength(2);
  });

  it('carries the reports of several failed runs until one goes out', async () => {
    sns.on(PublishCommand).rejects(new Error('topic down'));
    for (let run = 0; run < 3; run++) {
      const at = ATTACK_AT + run * 5 * 60_000;
      await expect(deliverReport(deps, attackReport(4_000, 100), new Date(at))).rejects.toThrow(
        run === 0 ? /the report of this run is kept/ : new RegExp(`the report of ${run + 1} runs is kept`),
      );
    }
    snsRefusesOverLimit();
    await deliverReport(deps, attackReport(1, 0, ATTACK_AT + 15 * 60_000), new Date(ATTACK_AT + 15 * 60_000));
    const last = published().at(-1);
    expect(last?.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(last?.message).toMatchObject({ runs: 4, addedCount: 12_001, expiredCount: 300, since: NOW.toISOString() });
  });

  it('says so when the report could neither be published nor kept', async () => {
    // Another run stored a report while this one was publishing: this one's is not written over it.
    sns.on(PublishCommand).callsFake(async () => {
      await doc.send(
        new PutCommand({
          TableName: `Ledger-delivery-${tables}`,
          Item: {
            range: LEDGER_RESERVED_KEYS.pendingReport,
            report: JSON.stringify(attackReport(1, 0)),
            revision: 'other',
            storedAt: 1,
          },
        }),
      );
      throw new Error('Service Unavailable');
    });
    await expect(deliverReport(deps, attackReport(2, 0), NOW)).rejects.toThrow(
      /publish failed, and the report of this run could not be kept \(could not write pending report .*another run stored a pending report meanwhile/,
    );
    expect(await deps.pending.read()).toMatchObject({ revision: 'other' });
  });

  it('publishes a dry run on its own and never keeps it', async () => {
    sns.on(PublishCommand).rejectsOnce(new Error('throttled'));
    await expect(deliverReport(deps, attackReport(2, 0), NOW)).rejects.toThrow(WriteError);
    snsRefusesOverLimit();

    const dryRun = { ...attackReport(5, 0), dryRun: true };
    await expect(deliverReport(deps, dryRun, LATER)).resolves.toMatchObject({ published: true, merged: 0 });
    expect(published().at(-1)?.message).toMatchObject({ dryRun: true, addedCount: 5, runs: 1 });
    // The real run's report is still waiting for the next real run.
    expect((await deps.pending.read())?.report).toMatchObject({ addedCount: 2, dryRun: false });
  });

  it('when the pending report cannot be read, still publishes this run and fails, leaving the pending one', async () => {
    snsRefusesOverLimit();
    await doc.send(
      new PutCommand({
        TableName: `Ledger-delivery-${tables}`,
        Item: { range: LEDGER_RESERVED_KEYS.pendingReport, report: 'not json', revision: 'r', storedAt: 1 },
      }),
    );
    const delivery = deliverReport(deps, attackReport(7, 0), NOW);
    await expect(delivery).rejects.toBeInstanceOf(ReadError);
    await expect(delivery).rejects.toThrow(/could not read pending report \(item #pending-report\)/);
    expect(published().map(({ message }) => message.addedCount)).toEqual([7]);
    await expect(deps.pending.read()).rejects.toThrow(ReadError);
  });
});
