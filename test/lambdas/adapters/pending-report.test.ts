/** The pending block report in the ledger table, against dynalite (a real DynamoDB API on loopback). */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { PendingReports } from '#adapters/pending-report';
import { LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { fitReport, REPORT_MAX_BYTES, reportBytes, upgradeReport } from '#contracts/report';
import { ReadError, WriteError } from '#shared/errors';
import { attackReport } from '../../support/block-reports';
import { createLedgerTable, startDynalite, type LocalDynamo } from '../../support/dynalite';

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let table: string;
let pending: PendingReports;
let tables = 0;
const NOW = new Date('2026-11-30T23:00:00.000Z');

beforeAll(async () => {
  dynamo = await startDynalite();
  doc = createLedgerClient(dynamo.client);
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  tables += 1;
  table = `Ledger-pending-${tables}`;
  await createLedgerTable(dynamo.client, table);
  pending = new PendingReports(doc, table);
});

describe('the pending report', () => {
  it('is kept whole at attack size (10,000 added, 10,000 expired, fitted), read back, and cleared', async () => {
    const report = fitReport(attackReport(10_000, 10_000));
    expect(reportBytes(report)).toBeGreaterThan(REPORT_MAX_BYTES - 1_000);
    expect(await pending.read()).toBeUndefined();

    await pending.store(report, undefined, NOW);
    const stored = await pending.read();
    expect(stored).toMatchObject({ report, storedAt: NOW.getTime() });

    await expect(pending.clear(stored?.revision ?? '')).resolves.toBe(true);
    expect(await pending.read()).toBeUndefined();
    // Cleared is as good as never stored: the next refused report is kept the same way.
    await pending.store(report, undefined, NOW);
    expect((await pending.read())?.report).toEqual(report);
  });

  it('is replaced only by a run that read the revision it replaces', async () => {
    const first = upgradeReport(attackReport(1, 0));
    await pending.store(first, undefined, NOW);
    const read = await pending.read();

    // A second store that believes nothing is pending would drop the first report: refused.
    const blind = pending.store(upgradeReport(attackReport(2, 0)), undefined, NOW);
    await expect(blind).rejects.toBeInstanceOf(WriteError);
    await expect(blind).rejects.toThrow(
      `could not write pending report (item #pending-report) in ledger table ${table}: another run stored a pending report meanwhile: ConditionalCheckFailedException`,
    );
    expect((await pending.read())?.report).toEqual(first);
    const merged = upgradeReport(attackReport(3, 0));
    await pending.store(merged, read?.revision, NOW);
    const after = await pending.read();
    expect(after?.report).toEqual(merged);
    expect(after?.revision).not.toBe(read?.revision);

    // Clearing with the old revision deletes nothing: the newer report is still to be published.
    await expect(pending.clear(read?.revision ?? '')).resolves.toBe(false);
    expect((await pending.read())?.report).toEqual(merged);
  });

  it('says which item to look at when it does not hold a block report', async () => {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { range: LEDGER_RESERVED_KEYS.pendingReport, report: '{"kind":"other"}', revision: 'r', storedAt: 1 },
      }),
    );
    const read = pending.read();
    await expect(read).rejects.toBeInstanceOf(ReadError);
    await expect(read).rejects.toThrow(
      `could not read pending report (item #pending-report) in ledger table ${table}: TypeError: report is not a block report of version 1 or 2`,
    );
  });

  it('never shows up as a managed range', async () => {
    await pending.store(upgradeReport(attackReport(5, 5)), undefined, NOW);
    const ledger = new Ledger(doc, table);
    for (const family of ['IPV4', 'IPV6'] as const) {
      expect(await ledger.activeEntries(family)).toEqual([]);
      expect(await ledger.dueEntries(family, Date.now() + 10 ** 12)).toEqual([]);
      expect(await ledger.activeEntriesOf(family, [LEDGER_RESERVED_KEYS.pendingReport])).toEqual([]);
    }
  });
});
