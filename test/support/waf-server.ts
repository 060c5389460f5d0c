/**
 * A local WAFv2 emulator for tests and benchmarks: a loopback `node:http` server that speaks the AWS
 * JSON 1.1 protocol to the real SDK client, for the four operations the adapter uses. It enforces
 * lock tokens the way AWS documents them (every successful UpdateIPSet issues a new token; a stale
 * token changes nothing and gets WAFOptimisticLockException), validates addresses, records every
 * call and injects latency, throttling and server errors.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

type Scope = 'CLOUDFRONT' | 'REGIONAL';
type Version = 'IPV4' | 'IPV6';
type Body = Record<string, unknown>;

/** One request the server received, in arrival order. Times are epoch ms with sub-ms precision. */
export interface RecordedCall {
  readonly operation: string;
  body: Body;
  readonly at: number;
  /** When the response was sent; undefined while in flight. */
  doneAt?: number;
  /** HTTP status answered. */
  status?: number;
  /** AWS error code answered, if any. */
  errorType?: string;
}

/** A sampled request as a test describes it; rendered to WAF's wire shape on GetSampledRequests. */
export interface SampleInput {
  readonly clientIp: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** Epoch ms. */
  readonly at: number;
  readonly weight?: number;
  readonly uri?: string;
  readonly method?: string;
  readonly country?: string;
}

export interface StoredIpSet {
  readonly id: string;
  readonly name: string;
  readonly scope: Scope;
  readonly version: Version;
  readonly arn: string;
  addresses: string[];
  description?: string;
  lockToken: string;
  /** Successful writes (UpdateIPSet or setAddresses) so far. */
  writes: number;
}

export interface WafServer {
  /** Pass as `endpoint` to the SDK client. */
  readonly endpoint: string;
  readonly calls: RecordedCall[];
  readonly faults: {
    /** Delay before every answer, faults included. */
    latencyMs: number;
    /** Answer the next `n` requests, whatever their operation, with HTTP 400 ThrottlingException. */
    throttleNext(n: number): void;
    /** Answer the next `n` requests with WAFInternalErrorException and this status. */
    failNext(n: number, status?: number): void;
  };
  createIpSet(input: {
    name: string;
    scope: Scope;
    version: Version;
    addresses?: readonly string[];
    description?: string;
  }): StoredIpSet;
  getIpSet(id: string): StoredIpSet;
  getAddresses(id: string): string[];
  /** Replaces a set's addresses out of band, as another tool would; issues a new lock token. */
  setAddresses(id: string, addresses: readonly string[]): void;
  setManagedKeys(
    webAclName: string,
    ruleName: string,
    keys: { ipv4?: readonly string[]; ipv6?: readonly string[] },
    ruleGroupRuleName?: string,
  ): void;
  setSampledRequests(webAclArn: string, ruleMetricName: string, samples: readonly SampleInput[]): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'AWSWAF_20190729.';
const MAX_ADDRESSES = 10_000;

/** An AWS error answer: `__type` in the body (read first by the SDK) and `x-amzn-ErrorType`. */
class WafFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Starts the emulator on 127.0.0.1 on a free port.
 * @param options.latencyMs initial value of `faults.latencyMs` (default 0).
 */
export async function startWafServer(options: { latencyMs?: number } = {}): Promise<WafServer> {
  const ipSets = new Map<string, StoredIpSet>();
  const managedKeys = new Map<string, { ipv4: string[]; ipv6: string[] }>();
  const samples = new Map<string, SampleInput[]>();
  const calls: RecordedCall[] = [];
  let throttles = 0;
  const failures: number[] = [];
  const faults = {
    latencyMs: options.latencyMs ?? 0,
    throttleNext(n: number): void {
      throttles += n;
    },
    failNext(n: number, status = 500): void {
      for (let i = 0; i < n; i++) failures.push(status);
    },
  };

  const keyOf = (webAclName: string, ruleName: string, ruleGroupRuleName?: string): string =>
    [webAclName, ruleGroupRuleName ?? '', ruleName].join('\u0000');

  function storedIpSet(id: string): StoredIpSet {
    const set = ipSets.get(id);
    if (!set) throw new Error(`no IP set with id ${id}`);
    return set;
  }

  function findIpSet(body: Body): StoredIpSet {
    const set = ipSets.get(text(body, 'Id'));
    if (!set || set.name !== text(body, 'Name') || set.scope !== text(body, 'Scope')) {
      throw new WafFault(
        'WAFNonexistentItemException',
        "WAF couldn't perform the operation because your resource doesn't exist.",
      );
    }
    return set;
  }

  const operations: Record<string, (body: Body) => unknown> = {
    GetIPSet(body) {
      const set = findIpSet(body);
      return {
        IPSet: {
          Name: set.name,
          Id: set.id,
          ARN: set.arn,
          IPAddressVersion: set.version,
          Addresses: [...set.addresses],
          ...(set.description === undefined ? {} : { Description: set.description }),
        },
        LockToken: set.lockToken,
      };
    },
    UpdateIPSet(body) {
      const set = findIpSet(body);
      const addresses = validAddresses(body.Addresses, set.version);
      if (text(body, 'LockToken') !== set.lockToken) {
        throw new WafFault(
          'WAFOptimisticLockException',
          'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.',
        );
      }
      // UpdateIPSet replaces every setting: an omitted description is erased, as on AWS.
      set.description = typeof body.Description === 'string' ? body.Description : undefined;
      set.addresses = addresses;
      set.lockToken = randomUUID();
      set.writes++;
      return { NextLockToken: set.lockToken };
    },
    GetRateBasedStatementManagedKeys(body) {
      text(body, 'Scope');
      text(body, 'WebACLId');
      const groupRule = typeof body.RuleGroupRuleName === 'string' ? body.RuleGroupRuleName : undefined;
      const keys = managedKeys.get(keyOf(text(body, 'WebACLName'), text(body, 'RuleName'), groupRule));
      if (!keys) throw new WafFault('WAFNonexistentItemException', 'No rate-based rule with that name.');
      return {
        ManagedKeysIPV4: { IPAddressVersion: 'IPV4', Addresses: keys.ipv4 },
        ManagedKeysIPV6: { IPAddressVersion: 'IPV6', Addresses: keys.ipv6 },
      };
    },
    GetSampledRequests(body) {
      text(body, 'Scope');
      const window = body.TimeWindow as { StartTime?: unknown; EndTime?: unknown } | undefined;
      const maxItems = body.MaxItems;
      if (typeof window?.StartTime !== 'number' || typeof window.EndTime !== 'number' || typeof maxItems !== 'number') {
        throw new WafFault('WAFInvalidParameterException', 'TimeWindow and MaxItems are required.');
      }
      const [start, end] = [window.StartTime * 1000, window.EndTime * 1000];
      const all = samples.get(keyOf(text(body, 'WebAclArn'), text(body, 'RuleMetricName'))) ?? [];
      const inWindow = all.filter((sample) => sample.at >= start && sample.at <= end);
      return {
        SampledRequests: inWindow.slice(0, maxItems).map((sample) => ({
          Request: {
            ClientIP: sample.clientIp,
            Country: sample.country ?? 'US',
            URI: sample.uri ?? '/',
            Method: sample.method ?? 'GET',
            HTTPVersion: 'HTTP/1.1',
            Headers: sample.headers.map((header) => ({ Name: header.name, Value: header.value })),
          },
          Weight: sample.weight ?? 1,
          Timestamp: sample.at / 1000,
          Action: 'BLOCK',
        })),
        PopulationSize: inWindow.reduce((sum, sample) => sum + (sample.weight ?? 1), 0),
        TimeWindow: { StartTime: window.StartTime, EndTime: window.EndTime },
      };
    },
  };

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const call: RecordedCall = { operation, body: {}, at: now() };
    calls.push(call);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (faults.latencyMs > 0) await delay(faults.latencyMs);

    let status = 200;
    let payload: unknown;
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null) throw new WafFault('SerializationException', 'Bad body.');
      call.body = parsed as Body;
      if (throttles > 0) {
        throttles--;
        throw new WafFault('ThrottlingException', 'Rate exceeded');
      }
      const failure = failures.shift();
      if (failure !== undefined) throw new WafFault('WAFInternalErrorException', 'Injected failure.', failure);
      const handler = operations[operation];
      if (!handler) throw new WafFault('UnknownOperationException', `Unknown operation ${operation}.`);
      payload = handler(call.body);
    } catch (error) {
      const fault = error instanceof WafFault ? error : new WafFault('WAFInternalErrorException', String(error), 500);
      status = fault.status;
      call.errorType = fault.type;
      response.setHeader('x-amzn-ErrorType', fault.type);
      payload = { __type: fault.type, Message: fault.message };
    }
    const json = JSON.stringify(payload);
    response.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(json),
      'x-amzn-RequestId': randomUUID(),
    });
    call.status = status;
    call.doneAt = now();
    response.end(json);
  }

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    faults,
    createIpSet({ name, scope, version, addresses = [], description }) {
      const id = randomUUID();
      const arn = `arn:aws:wafv2:us-east-1:123456789012:${scope === 'CLOUDFRONT' ? 'global' : 'regional'}/ipset/${name}/${id}`;
      const set: StoredIpSet = {
        id,
        name,
        scope,
        version,
        arn,
        addresses: validAddresses(addresses, version),
        lockToken: randomUUID(),
        writes: 0,
        ...(description === undefined ? {} : { description }),
      };
      ipSets.set(id, set);
      return set;
    },
    getIpSet: storedIpSet,
    getAddresses: (id) => [...storedIpSet(id).addresses],
    setAddresses(id, addresses) {
      const set = storedIpSet(id);
      set.addresses = validAddresses(addresses, set.version);
      set.lockToken = randomUUID();
      set.writes++;
    },
    setManagedKeys(webAclName, ruleName, keys, ruleGroupRuleName) {
      managedKeys.set(keyOf(webAclName, ruleName, ruleGroupRuleName), {
        ipv4: [...(keys.ipv4 ?? [])],
        ipv6: [...(keys.ipv6 ?? [])],
      });
    },
    setSampledRequests(webAclArn, ruleMetricName, list) {
      samples.set(keyOf(webAclArn, ruleMetricName), [...list]);
    },
    async close() {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Sequential round trips in a list of calls: the number of busy periods, where overlapping
 * requests (sent in parallel) share one period.
 */
export function countRoundTrips(calls: readonly RecordedCall[]): number {
  let periods = 0;
  let busyUntil = Number.NEGATIVE_INFINITY;
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    if (call.at >= busyUntil) periods++;
    busyUntil = Math.max(busyUntil, call.doneAt ?? Number.POSITIVE_INFINITY);
  }
  return periods;
}

function text(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new WafFault('WAFInvalidParameterException', `The parameter ${field} is missing or invalid.`);
  }
  return value;
}

/** Checks a list the way WAF does: at most 10,000 CIDR ranges of the set's family, /0 excluded. */
function validAddresses(value: unknown, version: Version): string[] {
  if (!Array.isArray(value)) throw new WafFault('WAFInvalidParameterException', 'Addresses is required.');
  if (value.length > MAX_ADDRESSES) {
    throw new WafFault('WAFLimitsExceededException', `An IP set holds at most ${MAX_ADDRESSES} addresses.`);
  }
  return value.map((entry: unknown) => {
    const [ip = '', prefix = '', ...rest] = typeof entry === 'string' ? entry.split('/') : [];
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    const valid =
      rest.length === 0 && bits >= 1 && (version === 'IPV4' ? isIPv4(ip) && bits <= 32 : isIPv6(ip) && bits <= 128);
    if (!valid) {
      throw new WafFault('WAFInvalidParameterException', `Invalid ${version} CIDR in Addresses: ${String(entry)}.`);
    }
    return entry as string;
  });
}
