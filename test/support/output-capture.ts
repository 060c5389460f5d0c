/**
 * What a Lambda handler printed, kept instead of shown: the structured log lines and the EMF
 * metrics records that Powertools writes through `console` and `process.stdout`. For the tests of
 * the blocker's and the notifier's entries, which assert on those lines as CloudWatch Logs gets them.
 */
import { vi } from 'vitest';

/** One invocation's printed output, collected between {@link OutputCapture.start} and `vi.restoreAllMocks()`. */
export class OutputCapture {
  #lines: string[] = [];

  /** Every chunk printed since the last {@link OutputCapture.start}, as printed. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /**
   * Forgets what was printed and captures `console` and `process.stdout` (and `process.stderr`,
   * unless `stderr` is false) from now on. Call it in `beforeEach`; `vi.restoreAllMocks()` in
   * `afterEach` prints normally again.
   */
  start(options: { readonly stderr?: boolean } = {}): void {
    this.#lines = [];
    const capture = (...args: unknown[]): void => {
      this.#lines.push(args.map(String).join(' '));
    };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, method).mockImplementation(capture);
    const streams = options.stderr === false ? [process.stdout] : [process.stdout, process.stderr];
    for (const stream of streams) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        this.#lines.push(String(chunk));
        return true;
      });
    }
  }

  /** The JSON records printed (log lines and EMF records), in order. */
  jsonLines(): Record<string, unknown>[] {
    return this.#lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The EMF records printed: one per metrics flush. */
  emfRecords(): Record<string, unknown>[] {
    return this.jsonLines().filter((record) => '_aws' in record);
  }
}
