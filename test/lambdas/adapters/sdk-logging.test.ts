import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCloudWatchClient } from '#adapters/alarm';
import { createLedgerClient } from '#adapters/ledger';
import { createSnsClient } from '#adapters/reports';
import { SDK_LOGGER_MIDDLEWARE } from '#adapters/sdk-logging';
import { createWafClient, readManagedKeys } from '#adapters/waf';
import { startWafServer, type WafServer } from '../../support/waf-server';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

function hasLoggerMiddleware(client: { middlewareStack: { identify(): string[] } }): boolean {
  return client.middlewareStack.identify().some((entry) => entry.split(' ')[0] === SDK_LOGGER_MIDDLEWARE);
}

function spyLogger() {
  return { trace: vi.fn(), debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

describe('the SDK logger middleware', () => {
  it('is what every SDK client of this version runs, under the name the factories take out', () => {
    // Were the SDK to rename it, the factories would take nothing out and the checks below would pass for nothing.
    for (const client of [
      new WAFV2Client({ region }),
      new DynamoDBClient({ region }),
      new SNSClient({ region }),
      new CloudWatchClient({ region }),
    ]) {
      expect(hasLoggerMiddleware(client)).toBe(true);
    }
  });

  it('is taken out of the clients the factories make without a logger', () => {
    expect(hasLoggerMiddleware(createWafClient({ region }))).toBe(false);
    expect(hasLoggerMiddleware(createLedgerClient({ region }))).toBe(false);
    expect(hasLoggerMiddleware(createSnsClient())).toBe(false);
    expect(hasLoggerMiddleware(createCloudWatchClient())).toBe(false);
  });

  it('is kept when the caller gives a logger, or shares a client of its own', () => {
    expect(hasLoggerMiddleware(createWafClient({ region, logger: spyLogger() }))).toBe(true);
    expect(hasLoggerMiddleware(createLedgerClient({ region, logger: spyLogger() }))).toBe(true);
    const shared = new DynamoDBClient({ region });
    expect(hasLoggerMiddleware(createLedgerClient(shared))).toBe(true);
    expect(hasLoggerMiddleware(shared)).toBe(true);
  });

  describe('against the local WAF server', () => {
    let server: WafServer;
    const keys = Array.from({ length: 300 }, (_, i) => `62.0.${i % 256}.${1 + Math.floor(i / 256)}/32`);

    beforeAll(async () => {
      server = await startWafServer();
      server.setManagedKeys('site-acl', 'rate-per-ip', { ipv4: keys });
    });
    afterAll(async () => {
      await server.close();
    });

    const read = (client: WAFV2Client) =>
      readManagedKeys(client, {
        scope: 'CLOUDFRONT',
        webAclName: 'site-acl',
        webAclId: 'acl-1',
        ruleName: 'rate-per-ip',
      });

    it('a client without it still reads every key, and logs nothing even when a logger is set later', async () => {
      const client = createWafClient({ region, endpoint: server.endpoint, credentials });
      const logger = spyLogger();
      client.config.logger = logger; // the middleware, were it there, would hand the call to this logger
      const answer = await read(client);
      expect([...answer.ipv4].sort()).toEqual([...keys].sort());
      expect(logger.info).not.toHaveBeenCalled();
      client.destroy();
    });

    it("a client given a logger hands it each call's input and output", async () => {
      const logger = spyLogger();
      const client = createWafClient({ region, endpoint: server.endpoint, credentials, logger });
      await read(client);
      const logged = logger.info.mock.calls.map(
        ([entry]) => entry as { commandName?: string; output?: { ManagedKeysIPV4?: { Addresses?: string[] } } },
      );
      const call = logged.find((entry) => entry.commandName === 'GetRateBasedStatementManagedKeysCommand');
      expect(call?.output?.ManagedKeysIPV4?.Addresses).toHaveLength(keys.length);
      client.destroy();
    });
  });
});
