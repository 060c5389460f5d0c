import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  GetSampledRequestsCommand,
  UpdateIPSetCommand,
  WAFInvalidParameterException,
  WAFNonexistentItemException,
  WAFOptimisticLockException,
  WAFUnavailableEntityException,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createWafClient,
  describeIpSet,
  readIpSet,
  readManagedKeys,
  readSampledHosts,
  updateIpSet,
  type IpSetRef,
} from '#adapters/waf';
import type { IpSetSnapshot } from '#core/types';
import { ReadError, WriteError } from '#shared/errors';

const mock = mockClient(WAFV2Client);
const client = createWafClient({ region: 'us-east-1' });

const ref: IpSetRef = { name: 'blocklist-v4', id: 'a1b2c3', scope: 'CLOUDFRONT' };
const key = { Name: 'blocklist-v4', Id: 'a1b2c3', Scope: 'CLOUDFRONT' } as const;
const description = 'Managed by waf-autoblock; manual entries are kept';

const stale: IpSetSnapshot = { addresses: ['45.33.1.0/24'], lockToken: 'token-1', description };
const fresh = { addresses: ['45.33.1.0/24', '91.200.12.0/24'], lockToken: 'token-2' };

/** The blocker's shape of recompute: add `wanted` to whatever is there now. */
function adding(...wanted: string[]) {
  return vi.fn((current: readonly string[]) => {
    const missing = wanted.filter((range) => !current.includes(range));
    return { addresses: [...current, ...missing], changed: missing.length > 0 };
  });
}

function lockConflict(): WAFOptimisticLockException {
  return new WAFOptimisticLockException({ message: 'someone changed the resource', $metadata: {} });
}

function getIpSetReturns(snapshot: IpSetSnapshot) {
  mock.on(GetIPSetCommand, key, true).resolves({
    IPSet: {
      ...key,
      ARN: 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/blocklist-v4/a1b2c3',
      IPAddressVersion: 'IPV4',
      Addresses: [...snapshot.addresses],
      ...(snapshot.description === undefined ? {} : { Description: snapshot.description }),
    },
    LockToken: snapshot.lockToken,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof Error)) throw new Error('expected the promise to reject with an Error');
  return error;
}

const noSleep = vi.fn((ms: number) => {
  expect(ms).toBeGreaterThanOrEqual(0);
  return Promise.resolve();
});

beforeEach(() => {
  mock.reset();
  noSleep.mockClear();
  mock.onAnyCommand().rejects(new Error('unexpected command'));
});

describe('createWafClient', () => {
  it('retries throttling adaptively, up to 5 attempts', async () => {
    const configured = createWafClient({ region: 'eu-west-1' });
    expect(await configured.config.maxAttempts()).toBe(5);
    expect(await configured.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
    expect(await configured.config.region()).toBe('eu-west-1');
    configured.destroy();
  });
});

describe('describeIpSet', () => {
  it('names the set, its scope and id', () => {
    expect(describeIpSet(ref)).toBe('IP set blocklist-v4 (CLOUDFRONT, id a1b2c3)');
  });
});

describe('readIpSet', () => {
  it('returns the addresses, lock token, description and address family', async () => {
    getIpSetReturns({ addresses: ['45.33.1.0/24'], lockToken: 'token-1', description });

    await expect(readIpSet(client, ref)).resolves.toEqual({ ...stale, family: 'IPV4' });
    expect(mock).toReceiveCommandExactlyOnceWith(GetIPSetCommand, key);
  });

  it('leaves the description out when the set has none', async () => {
    getIpSetReturns(fresh);

    const snapshot = await readIpSet(client, ref);

    expect(snapshot).toEqual({ ...fresh, family: 'IPV4' });
    expect('description' in snapshot).toBe(false);
  });

  it('fails with a ReadError naming the set and keeping the cause', async () => {
    const cause = new WAFNonexistentItemException({ message: 'no such set', $metadata: {} });
    mock.on(GetIPSetCommand, key, true).rejects(cause);

    const error = await failureOf(readIpSet(client, ref));

    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ resource: 'IP set blocklist-v4 (CLOUDFRONT, id a1b2c3)', cause });
    expect(error.message).toContain('blocklist-v4');
  });

  it('fails with a ReadError when the response has no lock token', async () => {
    mock
      .on(GetIPSetCommand, key, true)
      .resolves({ IPSet: { ...key, ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [] } });

    await expect(readIpSet(client, ref)).rejects.toThrow(ReadError);
  });
});

describe('updateIpSet', () => {
  it('sends nothing when recompute says nothing changed', async () => {
    const recompute = adding('45.33.1.0/24');

    const result = await updateIpSet(client, ref, stale, recompute, { sleep: noSleep });

    expect(result).toEqual({ written: false, attempts: 0, conflicts: 0, addresses: ['45.33.1.0/24'] });
    expect(recompute).toHaveBeenCalledExactlyOnceWith(stale.addresses);
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 0);
    expect(mock).toReceiveCommandTimes(GetIPSetCommand, 0);
  });

  it('writes the exact list once, with the lock token and the set description', async () => {
    const expected = {
      ...key,
      Addresses: ['45.33.1.0/24', '45.33.2.0/24'],
      LockToken: 'token-1',
      Description: description,
    };
    mock.on(UpdateIPSetCommand, expected, true).resolves({ NextLockToken: 'token-2' });

    const result = await updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep });

    expect(result).toEqual({ written: true, attempts: 1, conflicts: 0, addresses: expected.Addresses });
    expect(mock).toReceiveCommandExactlyOnceWith(UpdateIPSetCommand, expected);
    expect(noSleep).not.toHaveBeenCalled();
  });

  it('sends no Description when the set has none', async () => {
    const expected = { ...key, Addresses: ['45.33.1.0/24', '45.33.2.0/24'], LockToken: 'token-1' };
    mock.on(UpdateIPSetCommand, expected, true).resolves({ NextLockToken: 'token-2' });

    await updateIpSet(client, ref, { addresses: ['45.33.1.0/24'], lockToken: 'token-1' }, adding('45.33.2.0/24'));

    const input = mock.commandCalls(UpdateIPSetCommand)[0]?.args[0].input;
    expect(input).toStrictEqual(expected);
  });

  it('on a lock conflict re-reads the set and recomputes from the fresh addresses and token', async () => {
    const staleWrite = {
      ...key,
      Addresses: ['45.33.1.0/24', '45.33.2.0/24'],
      LockToken: 'token-1',
      Description: description,
    };
    const freshWrite = { ...key, Addresses: ['45.33.1.0/24', '91.200.12.0/24', '45.33.2.0/24'], LockToken: 'token-2' };
    mock.on(UpdateIPSetCommand, staleWrite, true).rejects(lockConflict());
    mock.on(UpdateIPSetCommand, freshWrite, true).resolves({ NextLockToken: 'token-3' });
    getIpSetReturns(fresh);
    const recompute = adding('45.33.2.0/24');

    const result = await updateIpSet(client, ref, stale, recompute, { sleep: noSleep, random: () => 0.5 });

    expect(result).toEqual({ written: true, attempts: 2, conflicts: 1, addresses: freshWrite.Addresses });
    expect(recompute.mock.calls).toEqual([[stale.addresses], [fresh.addresses]]);
    expect(mock).toReceiveCommandTimes(GetIPSetCommand, 1);
    expect(mock).toReceiveNthCommandWith(UpdateIPSetCommand, 1, staleWrite);
    expect(mock).toReceiveNthCommandWith(UpdateIPSetCommand, 2, freshWrite);
    // The foreign entry survives, and the list built from stale data is never sent with the new token.
    expect(mock).not.toReceiveCommandWith(UpdateIPSetCommand, {
      Addresses: staleWrite.Addresses,
      LockToken: 'token-2',
    });
    // The description the set has now is kept: it has none, so none is sent.
    expect(mock.commandCalls(UpdateIPSetCommand)[1]?.args[0].input).not.toHaveProperty('Description');
    expect(noSleep).toHaveBeenCalledExactlyOnceWith(100);
  });

  it('stops without writing when the fresh read already holds everything', async () => {
    mock.on(UpdateIPSetCommand).rejects(lockConflict());
    getIpSetReturns({ addresses: ['45.33.1.0/24', '45.33.2.0/24'], lockToken: 'token-2' });

    const result = await updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep });

    expect(result).toEqual({ written: false, attempts: 1, conflicts: 1, addresses: ['45.33.1.0/24', '45.33.2.0/24'] });
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 1);
  });

  it('gives up after maxAttempts with a WriteError naming the set and the conflicts', async () => {
    const conflict = lockConflict();
    mock.on(UpdateIPSetCommand).rejects(conflict);
    getIpSetReturns(fresh);

    const error = await failureOf(
      updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { maxAttempts: 3, sleep: noSleep, random: () => 0.5 }),
    );

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({
      resource: 'IP set blocklist-v4 (CLOUDFRONT, id a1b2c3)',
      cause: conflict,
      conflicts: 3,
    });
    expect(error.message).toContain('3 lock conflicts');
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 3);
    expect(mock).toReceiveCommandTimes(GetIPSetCommand, 2);
    expect(noSleep.mock.calls).toEqual([[100], [200]]);
  });

  it('backs off exponentially with full jitter, capped at maxDelayMs', async () => {
    mock.on(UpdateIPSetCommand).rejects(lockConflict());
    getIpSetReturns(fresh);

    await expect(
      updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { maxAttempts: 8, sleep: noSleep, random: () => 1 }),
    ).rejects.toThrow(WriteError);

    expect(noSleep.mock.calls.flat()).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('defaults to 5 attempts', async () => {
    mock.on(UpdateIPSetCommand).rejects(lockConflict());
    getIpSetReturns(fresh);

    await expect(updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep })).rejects.toThrow(
      /5 lock conflicts/,
    );
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 5);
  });

  it('retries a set that is not available yet, without counting a lock conflict', async () => {
    const first = {
      ...key,
      Addresses: ['45.33.1.0/24', '45.33.2.0/24'],
      LockToken: 'token-1',
      Description: description,
    };
    mock
      .on(UpdateIPSetCommand, first, true)
      .rejectsOnce(new WAFUnavailableEntityException({ message: 'still propagating', $metadata: {} }))
      .resolves({ NextLockToken: 'token-2' });
    getIpSetReturns(stale);

    const result = await updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep });

    expect(result).toMatchObject({ written: true, attempts: 2, conflicts: 0 });
    expect(mock).toReceiveCommandTimes(GetIPSetCommand, 1);
  });

  it('fails at once with a WriteError on any other error', async () => {
    const cause = new WAFInvalidParameterException({ message: 'bad CIDR', $metadata: {} });
    mock.on(UpdateIPSetCommand).rejects(cause);

    const error = await failureOf(updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep }));

    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ resource: describeIpSet(ref), cause });
    expect(error.message).toContain('WAFInvalidParameterException');
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 1);
    expect(mock).toReceiveCommandTimes(GetIPSetCommand, 0);
    expect(noSleep).not.toHaveBeenCalled();
  });

  it('fails with a WriteError when the re-read after a conflict fails', async () => {
    mock.on(UpdateIPSetCommand).rejects(lockConflict());
    mock.on(GetIPSetCommand, key, true).rejects(new Error('socket hang up'));

    const error = await failureOf(updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { sleep: noSleep }));

    expect(error).toBeInstanceOf(WriteError);
    expect(error.cause).toBeInstanceOf(ReadError);
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 1);
  });

  it('writes nothing on a dry run and returns the plan', async () => {
    const result = await updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { dryRun: true });

    expect(result).toEqual({ written: false, attempts: 0, conflicts: 0, addresses: ['45.33.1.0/24', '45.33.2.0/24'] });
    expect(mock).toReceiveCommandTimes(UpdateIPSetCommand, 0);
  });

  it('rejects a maxAttempts below 1', async () => {
    await expect(updateIpSet(client, ref, stale, adding('45.33.2.0/24'), { maxAttempts: 0 })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('readManagedKeys', () => {
  const source = { webAclName: 'site-acl', webAclId: 'acl-1', scope: 'CLOUDFRONT', ruleName: 'rate-per-ip' } as const;
  const input = { WebACLName: 'site-acl', WebACLId: 'acl-1', Scope: 'CLOUDFRONT', RuleName: 'rate-per-ip' } as const;

  it('maps both families', async () => {
    mock.on(GetRateBasedStatementManagedKeysCommand, input, true).resolves({
      ManagedKeysIPV4: { IPAddressVersion: 'IPV4', Addresses: ['45.33.7.9/32'] },
      ManagedKeysIPV6: { IPAddressVersion: 'IPV6', Addresses: ['2a01:4f8:1:2::7/128'] },
    });

    await expect(readManagedKeys(client, source)).resolves.toEqual({
      ipv4: ['45.33.7.9/32'],
      ipv6: ['2a01:4f8:1:2::7/128'],
    });
  });

  it('returns empty lists for families WAF leaves out', async () => {
    mock
      .on(GetRateBasedStatementManagedKeysCommand, input, true)
      .resolves({ ManagedKeysIPV4: { IPAddressVersion: 'IPV4' } });

    await expect(readManagedKeys(client, source)).resolves.toEqual({ ipv4: [], ipv6: [] });
  });

  it('names the rule group reference for a rule inside a rule group', async () => {
    mock
      .on(GetRateBasedStatementManagedKeysCommand, { ...input, RuleGroupRuleName: 'shared-limits' }, true)
      .resolves({ ManagedKeysIPV4: { Addresses: ['45.33.7.9/32'] } });

    await expect(readManagedKeys(client, { ...source, ruleGroupRuleName: 'shared-limits' })).resolves.toEqual({
      ipv4: ['45.33.7.9/32'],
      ipv6: [],
    });
  });

  it('fails with a ReadError naming the rule and web ACL', async () => {
    const cause = new WAFNonexistentItemException({ message: 'no such rule', $metadata: {} });
    mock.on(GetRateBasedStatementManagedKeysCommand, input, true).rejects(cause);

    const error = await failureOf(readManagedKeys(client, source));

    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ cause });
    expect(error.message).toContain('rate rule rate-per-ip of web ACL site-acl (CLOUDFRONT, id acl-1)');
  });
});

describe('readSampledHosts', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  const source = {
    webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1',
    ruleMetricName: 'ratePerIp',
    scope: 'CLOUDFRONT',
    windowMs: 5 * 60_000,
    now,
  } as const;
  const input = {
    WebAclArn: source.webAclArn,
    RuleMetricName: 'ratePerIp',
    Scope: 'CLOUDFRONT',
    TimeWindow: { StartTime: new Date(now - 5 * 60_000), EndTime: new Date(now) },
    MaxItems: 500,
  } as const;
  const sample = (headers: { Name: string; Value: string }[], Weight?: number) => ({
    Request: { ClientIP: '45.33.7.9', Headers: headers },
    Weight,
  });

  it('counts Host values case-insensitively, weighted, most frequent first', async () => {
    mock.on(GetSampledRequestsCommand, input, true).resolves({
      SampledRequests: [
        sample([{ Name: 'Host', Value: 'shop.example.com' }], 3),
        sample(
          [
            { Name: 'user-agent', Value: 'curl' },
            { Name: 'host', Value: 'api.example.com' },
          ],
          2,
        ),
        sample([{ Name: 'HOST', Value: 'API.example.com' }], 2),
        sample([{ Name: 'host', Value: '<b>evil</b>' }], 1),
        sample([{ Name: 'user-agent', Value: 'no host at all' }], 9),
        sample([{ Name: 'Host', Value: 'shop.example.com' }]),
      ],
    });

    await expect(readSampledHosts(client, source)).resolves.toEqual([
      { host: 'api.example.com', count: 4 },
      { host: 'shop.example.com', count: 4 },
      { host: '<b>evil</b>', count: 1 },
    ]);
  });

  it('passes maxItems through', async () => {
    mock.on(GetSampledRequestsCommand, { ...input, MaxItems: 50 }, true).resolves({});

    await expect(readSampledHosts(client, { ...source, maxItems: 50 })).resolves.toEqual([]);
    expect(mock).toReceiveCommandWith(GetSampledRequestsCommand, { MaxItems: 50 });
  });

  it('fails with a ReadError naming the rule metric', async () => {
    mock.on(GetSampledRequestsCommand).rejects(new Error('AccessDenied'));

    const error = await failureOf(readSampledHosts(client, source));

    expect(error).toBeInstanceOf(ReadError);
    expect(error.message).toContain('ratePerIp');
  });
});
