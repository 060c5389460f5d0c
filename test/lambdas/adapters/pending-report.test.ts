/** The pending block report in the ledger table, against dynalite (a real DynamoDB API on loopback). */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Ledger } from '#adapters/ledger';
import { LEDGER_RESERVED_KEYS } from '#contracts/ledger-schema';
import { fitReport, REPORT_MAX_BYTES, reportBytes, upgradeReport } from '#contracts/report';
import { ReadError, WriteError } from '#shared/errors';
import { attackReport } from '../../support/block-reports';
import { useLedgerTable } from '../../support/blocker-harness';

const table = useLedgerTable('Ledger-pending');
const NOW = new Date('2026-11-30T23:00:00.000Z');

describe('the pending report', () => {
  it('is kept whole at attack size (10,000 added, 10,000 expired, fitted), read back, and cleared', async () => {
    const report = fitReport(attackReport(10_000, 10_000));
    expect(reportBytes(report)).toBeGreaterThan(REPORT_MAX_BYTES - 1_000);
    expect(await table.pending.read()).toBeUndefined();

    await table.pending.store(report, undefined, NOW);
    const stored = await table.pending.read();
    expect(stored).toMatchObject({ report, storedAt: NOW.getTime() });

    await expect(table.pending.clear(stored?.revision ?? '')).resolves.toBe(true);
    expect(await table.pending.read()).toBeUndefined();
    // Cleared is as good as never stored: the next refused report is kept the same way.
    await table.pending.store(report, undefined, NOW);
    expect((await table.pending.read())?.report).toEqual(report);
  });

  it('is replaced only by a run that read the revision it replaces', async () => {
    const first = upgradeReport(attackReport(1, 0));
    await table.pending.store(first, undefined, NOW);
    const read = await table.pending.read();

    // A second store that believes nothing is pending would drop the first report: refused.
    const blind = table.pending.store(upgradeReport(attackReport(2, 0)), undefined, NOW);
    await expect(blind).rejects.toBeInstanceOf(WriteError);
    await expect(blind).rejects.toThrow(
      `could not write pending report (item #pending-report) in ledger table ${table.tableName}: another run stored a pending report meanwhile: ConditionalCheckFailedException`,
    );
    expect((await table.pending.read())?.report).toEqual(first);
    const merged = upgradeReport(attackReport(3, 0));
    await table.pending.store(merged, read?.revision, NOW);
    const after = await table.pending.read();
    expect(after?.report).toEqual(merged);
    expect(after?.revision).not.toBe(read?.revision);

    // Clearing with the old revision deletes nothing: the newer report is still to be published.
    await expect(table.pending.clear(read?.revision ?? '')).resolves.toBe(false);
    expect((await table.pending.read())?.report).toEqual(merged);
  });

  it('says which item to look at when it does not hold a block report', async () => {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { range: LEDGER_RESERVED_KEYS.pendingReport, report: '{"kind":"other"}', revision: 'r', storedAt: 1 },
      }),
    );
    const read = table.pending.read();
    await expect(read).rejects.toBeInstanceOf(ReadError);
    await expect(read).rejects.toThrow(
      `could not read pending report (item #pending-report) in ledger table ${table.tableName}: TypeError: report is not a block report of version 1 or 2`,
    );
  });

  it('never shows up as a managed range', async () => {
    await table.pending.store(upgradeReport(attackReport(5, 5)), undefined, NOW);
    const ledger = new Ledger(table.doc, table.tableName);
    for (const family of ['IPV4', 'IPV6'] as const) {
      expect(await ledger.activeEntries(family)).toEqual([]);
      expect(await ledger.dueEntries(family, Date.now() + 10 ** 12)).toEqual([]);
      expect(await ledger.activeEntriesOf(family, [LEDGER_RESERVED_KEYS.pendingReport])).toEqual([]);
    }
  });
});
