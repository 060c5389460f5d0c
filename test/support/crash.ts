/**
 * A run that dies after its Nth write, for the write-ahead tests (test/lambdas/blocker/write-ahead*.test.ts):
 * every DynamoDB write and every UpdateIPSet counts, and the crashing one is never sent.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WAFV2Client } from '@aws-sdk/client-wafv2';

/** The DynamoDB operations that write. */
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** Fails every write from the `at`-th on (counting from 1), as a run that died there would leave things. */
export class Crash {
  writes = 0;
  readonly log: string[] = [];
  /**
   * @param at - The write that fails first, counting from 1.
   * @param firstOf - Or: the first write of this operation (e.g. `UpdateItem`) fails first.
   */
  constructor(
    private at: number = Number.POSITIVE_INFINITY,
    private readonly firstOf?: string,
  ) {}

  /** @throws Error when this write is at or after the crash point. */
  write(what: string): void {
    this.writes += 1;
    this.log.push(what);
    if (what === this.firstOf) this.at = Math.min(this.at, this.writes);
    if (this.writes >= this.at) throw new Error(`crashed at write ${this.at} (${what})`);
  }
}

/**
 * Counts every write `db` and `waf` send against the crash `current()` returns at the time, before
 * any other middleware (a write that crashes is never sent, and waits for nothing).
 */
export function crashWrites(
  db: { middlewareStack: DynamoDBClient['middlewareStack'] },
  waf: { middlewareStack: WAFV2Client['middlewareStack'] },
  current: () => Crash,
): void {
  db.middlewareStack.add(
    (next, context) => (args) => {
      const name = (context.commandName ?? '').replace(/Command$/, '');
      if (WRITES.has(name)) current().write(name);
      return next(args);
    },
    { step: 'initialize', name: 'crashAfterWrite', priority: 'high' },
  );
  waf.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'UpdateIPSetCommand') current().write('UpdateIPSet');
      return next(args);
    },
    { step: 'initialize', name: 'crashAfterWrite', priority: 'high' },
  );
}
