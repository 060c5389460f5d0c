/**
 * The adapter against a local WAFv2 emulator with the real SDK client: racing writers, a foreign
 * tool editing the same set, and the faults the SDK is configured to ride out.
 */
import { GetIPSetCommand, UpdateIPSetCommand, type WAFV2Client } from '@aws-sdk/client-wafv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWafClient,
  readIpSet,
  readManagedKeys,
  readSampledHosts,
  updateIpSet,
  type IpSetPlan,
  type IpSetRef,
} from '#adapters/waf';
import { ReadError } from '#shared/errors';
import { countRoundTrips, startWafServer, type WafServer } from '../../support/waf-server';

const BLOCKERS = 8;
const ROUNDS = 25;

let server: WafServer;
const clients: WAFV2Client[] = [];

function newClient(): WAFV2Client {
  const client = createWafClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  clients.push(client);
  return client;
}

function newIpSet(name: string, addresses: string[] = []): IpSetRef {
  const { id } = server.createIpSet({
    name,
    scope: 'REGIONAL',
    version: 'IPV4',
    addresses,
    description: 'waf-autoblock blocklist',
  });
  return { name, id, scope: 'REGIONAL' };
}

/** The blocker's recompute in miniature: keep everything there, add what is missing. */
function adding(wanted: readonly string[]): (current: readonly string[]) => IpSetPlan {
  return (current) => {
    const present = new Set(current);
    const missing = wanted.filter((range) => !present.has(range));
    return { addresses: [...current, ...missing], changed: missing.length > 0 };
  };
}

/** A real but tiny wait, so racing writers interleave on the event loop and the socket. */
const tinySleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 3)));

/** Another tool writing the same set with the raw SDK and its own lock-token retry. */
async function foreignAdd(client: WAFV2Client, ref: IpSetRef, range: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const read = await client.send(new GetIPSetCommand({ Name: ref.name, Id: ref.id, Scope: ref.scope }));
    try {
      await client.send(
        new UpdateIPSetCommand({
          Name: ref.name,
          Id: ref.id,
          Scope: ref.scope,
          Addresses: [...(read.IPSet?.Addresses ?? []), range],
          LockToken: read.LockToken,
          Description: read.IPSet?.Description,
        }),
      );
      return attempt;
    } catch (error) {
      if (!(error instanceof Error && error.name === 'WAFOptimisticLockException') || attempt >= 50) throw error;
      await tinySleep(1);
    }
  }
}

beforeAll(async () => {
  server = await startWafServer();
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await server.close();
});

describe('updateIpSet against the WAF emulator', () => {
  it('keeps every foreign entry and every intended range while 8 blockers race for 25 rounds', async () => {
    const initialForeign = ['91.200.12.0/24', '103.75.32.0/22'];
    const ref = newIpSet('blocklist-race', initialForeign);
    const blockers = Array.from({ length: BLOCKERS }, () => newClient());
    const foreign = newClient();
    const foreignRanges: string[] = [];
    const intended: string[] = [];
    let conflicts = 0;
    let writes = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const snapshots = await Promise.all(blockers.map((client) => readIpSet(client, ref)));
      const foreignRange = `185.220.${round}.0/24`;
      foreignRanges.push(foreignRange);
      // Even rounds: the foreign tool writes between every blocker's read and write, so all
      // snapshots are stale. Odd rounds: it races the blockers' writes.
      const foreignWrite = foreignAdd(foreign, ref, foreignRange);
      if (round % 2 === 0) await foreignWrite;

      const results = await Promise.all(
        blockers.map((client, blocker) => {
          const mine = [`45.33.${blocker * ROUNDS + round}.0/24`];
          intended.push(...mine);
          const snapshot = snapshots[blocker];
          if (!snapshot) throw new Error('missing snapshot');
          return updateIpSet(client, ref, snapshot, adding(mine), {
            maxAttempts: 30,
            baseDelayMs: 2,
            sleep: tinySleep,
          });
        }),
      );
      await foreignWrite;

      for (const result of results) {
        expect(result.written).toBe(true);
        conflicts += result.conflicts;
        writes += result.attempts - result.conflicts;
      }
    }

    const final = server.getAddresses(ref.id);
    expect(final).toEqual(expect.arrayContaining([...initialForeign, ...foreignRanges, ...intended]));
    expect(new Set(final).size).toBe(final.length);
    expect(final).toHaveLength(initialForeign.length + foreignRanges.length + BLOCKERS * ROUNDS);
    expect(writes).toBe(BLOCKERS * ROUNDS);
    // At least: every blocker on an even round (its snapshot predates the foreign write), and all
    // but the first writer on an odd round (all eight snapshots share one token).
    const evenRounds = Math.ceil(ROUNDS / 2);
    expect(conflicts).toBeGreaterThanOrEqual(evenRounds * BLOCKERS + (ROUNDS - evenRounds) * (BLOCKERS - 1));
    expect(server.getIpSet(ref.id)).toMatchObject({
      description: 'waf-autoblock blocklist',
      writes: BLOCKERS * ROUNDS + ROUNDS,
    });
  });

  it('sends no UpdateIPSet when every range is already there', async () => {
    const ref = newIpSet('blocklist-steady', ['45.33.200.0/24', '45.33.201.0/24']);
    const client = newClient();
    const before = server.calls.length;

    const result = await updateIpSet(client, ref, await readIpSet(client, ref), adding(['45.33.201.0/24']));

    expect(result).toMatchObject({ written: false, attempts: 0 });
    expect(server.calls.slice(before).map((call) => call.operation)).toEqual(['GetIPSet']);
  });
});

describe('reads through the real SDK', () => {
  it('maps managed keys and counts sampled hosts inside the window', async () => {
    const client = newClient();
    server.setManagedKeys('site-acl', 'rate-per-ip', { ipv4: ['45.33.9.7/32'], ipv6: ['2a01:4f8:c17:1a2b::/64'] });
    const now = Date.now();
    const webAclArn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1';
    server.setSampledRequests(webAclArn, 'ratePerIp', [
      { clientIp: '45.33.9.7', headers: [{ name: 'Host', value: 'shop.example.com' }], at: now - 1_000, weight: 4 },
      { clientIp: '45.33.9.8', headers: [{ name: 'host', value: 'api.example.com' }], at: now - 2_000, weight: 1 },
      { clientIp: '45.33.9.9', headers: [{ name: 'host', value: 'old.example.com' }], at: now - 600_000, weight: 9 },
    ]);

    await expect(
      readManagedKeys(client, {
        webAclName: 'site-acl',
        webAclId: 'acl-1',
        scope: 'CLOUDFRONT',
        ruleName: 'rate-per-ip',
      }),
    ).resolves.toEqual({ ipv4: ['45.33.9.7/32'], ipv6: ['2a01:4f8:c17:1a2b::/64'] });
    await expect(
      readSampledHosts(client, { webAclArn, ruleMetricName: 'ratePerIp', scope: 'CLOUDFRONT', windowMs: 300_000, now }),
    ).resolves.toEqual([
      { host: 'shop.example.com', count: 4 },
      { host: 'api.example.com', count: 1 },
    ]);
    await expect(
      readManagedKeys(client, { webAclName: 'site-acl', webAclId: 'acl-1', scope: 'CLOUDFRONT', ruleName: 'typo' }),
    ).rejects.toThrow(/WAFNonexistentItemException/);
  });
});

describe('faults the SDK client rides out', () => {
  it('retries throttled writes until the write lands', async () => {
    const ref = newIpSet('blocklist-throttled', ['45.33.210.0/24']);
    const client = newClient();
    const snapshot = await readIpSet(client, ref);
    const before = server.calls.length;

    server.faults.throttleNext(2);
    const result = await updateIpSet(client, ref, snapshot, adding(['45.33.211.0/24']));

    expect(result).toMatchObject({ written: true, attempts: 1, conflicts: 0 });
    expect(server.getAddresses(ref.id)).toEqual(['45.33.210.0/24', '45.33.211.0/24']);
    const seen = server.calls.slice(before);
    expect(seen.map((call) => [call.operation, call.status, call.errorType])).toEqual([
      ['UpdateIPSet', 400, 'ThrottlingException'],
      ['UpdateIPSet', 400, 'ThrottlingException'],
      ['UpdateIPSet', 200, undefined],
    ]);
    // The SDK resends the identical request: a throttled call changed nothing, so the token is still good.
    expect(new Set(seen.map((call) => JSON.stringify(call.body))).size).toBe(1);
  });

  it('retries 500s on reads and writes', async () => {
    const ref = newIpSet('blocklist-flaky', ['45.33.220.0/24']);
    const client = newClient();
    const before = server.calls.length;

    server.faults.failNext(2, 500);
    const snapshot = await readIpSet(client, ref);
    server.faults.failNext(1, 503);
    const result = await updateIpSet(client, ref, snapshot, adding(['45.33.221.0/24']));

    expect(result).toMatchObject({ written: true, attempts: 1 });
    expect(server.getAddresses(ref.id)).toEqual(['45.33.220.0/24', '45.33.221.0/24']);
    expect(server.calls.slice(before).map((call) => [call.operation, call.status])).toEqual([
      ['GetIPSet', 500],
      ['GetIPSet', 500],
      ['GetIPSet', 200],
      ['UpdateIPSet', 503],
      ['UpdateIPSet', 200],
    ]);
  });

  it('gives up with a ReadError after the client’s 5 attempts', async () => {
    const ref = newIpSet('blocklist-down');
    const client = newClient();
    const before = server.calls.length;

    server.faults.failNext(5, 500);
    await expect(readIpSet(client, ref)).rejects.toThrow(ReadError);
    expect(server.calls.slice(before).filter((call) => call.status === 500)).toHaveLength(5);
  });

  it('rejects what AWS rejects, without retrying', async () => {
    const ref = newIpSet('blocklist-limits');
    const client = newClient();
    const snapshot = await readIpSet(client, ref);
    const before = server.calls.length;

    await expect(updateIpSet(client, ref, snapshot, adding(['45.33.230.0/0']))).rejects.toThrow(
      /WAFInvalidParameterException/,
    );
    const tooMany = Array.from({ length: 10_001 }, (_, i) => `45.${33 + (i >> 8)}.${i & 255}.0/24`);
    await expect(updateIpSet(client, ref, snapshot, adding(tooMany))).rejects.toThrow(/WAFLimitsExceededException/);
    await expect(
      updateIpSet(client, { ...ref, scope: 'CLOUDFRONT' }, snapshot, adding(['45.33.231.0/24'])),
    ).rejects.toThrow(/WAFNonexistentItemException/);
    expect(server.calls.slice(before)).toHaveLength(3);
    expect(server.getAddresses(ref.id)).toEqual([]);
  });

  it('waits out injected latency, and parallel calls share one round trip', async () => {
    const ref = newIpSet('blocklist-slow', ['45.33.240.0/24']);
    const client = newClient();
    await readIpSet(client, ref); // warm the connection
    const before = server.calls.length;

    server.faults.latencyMs = 60;
    const started = performance.now();
    try {
      await Promise.all([readIpSet(client, ref), readIpSet(client, ref), readIpSet(client, ref)]);
      await readIpSet(client, ref);
    } finally {
      server.faults.latencyMs = 0;
    }
    const elapsed = performance.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(2 * 60 - 5);
    expect(elapsed).toBeLessThan(4 * 60);
    expect(countRoundTrips(server.calls.slice(before))).toBe(2);
  });
});
