/** The blocker's last error as the Logs Insights query returns it: which lines, and what each says. */
import { describe, expect, it } from 'vitest';
import { failureText, lastFailureOf } from '#notifier/queries';

/** The handler's failure line as Powertools writes it. */
const FAILED_RUN = JSON.stringify({
  level: 'ERROR',
  message: 'blocker run failed',
  timestamp: '2025-03-14T02:09:58.123Z',
  service: 'WafAutoblock-blocker',
  error: {
    name: 'ReadError',
    location: 'file:///var/task/index.mjs:1:2345',
    message:
      'could not read ledger table WafAutoblock-Ledger-1A2B: ResourceNotFoundException: Requested resource not found',
    stack: 'ReadError: could not read ledger table ...\n    at ...',
  },
});

describe('failureText', () => {
  it("reads the handler's 'blocker run failed' line as the error's name and message", () => {
    expect(failureText(FAILED_RUN)).toBe(
      'ReadError: could not read ledger table WafAutoblock-Ledger-1A2B: ResourceNotFoundException: Requested resource not found',
    );
  });

  it("reads it after Lambda's text-format prefix too", () => {
    expect(failureText(`2025-03-14T02:09:58.123Z\treq-1\tERROR\t${FAILED_RUN}`)).toMatch(/^ReadError: could not read/);
  });

  it("reads Lambda's timeout line, which the handler never gets to write", () => {
    expect(
      failureText('2025-03-14T02:09:58.123Z 6f1c0b1e-1d2e-4f3a-9b8c-7d6e5f4a3b2c Task timed out after 60.06 seconds'),
    ).toBe('Task timed out after 60.06 seconds');
  });

  it("reads the runtime's error at module load (a missing variable, a broken bundle)", () => {
    const initError = JSON.stringify({
      errorType: 'ConfigurationError',
      errorMessage: 'environment variable LEDGER_TABLE is not set',
      stack: ['ConfigurationError: environment variable LEDGER_TABLE is not set', '    at ...'],
    });
    expect(failureText(`2025-03-14T02:09:58.123Z\tundefined\tERROR\tUncaught Exception \t${initError}`)).toBe(
      'ConfigurationError: environment variable LEDGER_TABLE is not set',
    );
  });

  it('shows any other matching line as it is, and a failure without a name as Error', () => {
    expect(failureText('  something said "errorType" but is no JSON {  ')).toBe(
      'something said "errorType" but is no JSON {',
    );
    expect(failureText(JSON.stringify({ message: 'blocker run failed', error: { message: 'boom' } }))).toBe(
      'Error: boom',
    );
    expect(failureText(JSON.stringify({ message: 'blocker run failed', error: 'boom' }))).toBe(
      '{"message":"blocker run failed","error":"boom"}',
    );
  });
});

describe('lastFailureOf', () => {
  it("takes the newest row, with Logs Insights' UTC time without a zone", () => {
    expect(
      lastFailureOf([
        { '@timestamp': '2025-03-14 02:09:58.123', '@message': FAILED_RUN },
        { '@timestamp': '2025-03-14 02:04:58.000', '@message': 'Task timed out after 60.00 seconds' },
      ]),
    ).toEqual({
      at: Date.UTC(2025, 2, 14, 2, 9, 58, 123),
      error:
        'ReadError: could not read ledger table WafAutoblock-Ledger-1A2B: ResourceNotFoundException: Requested resource not found',
    });
  });

  it('is undefined when the log holds no failure, and has no time when the row has none', () => {
    expect(lastFailureOf([])).toBeUndefined();
    expect(lastFailureOf([{ '@timestamp': '2025-03-14 02:09:58.123' }])).toBeUndefined();
    expect(lastFailureOf([{ '@message': 'Task timed out after 3.00 seconds' }])?.at).toBeNaN();
  });
});
