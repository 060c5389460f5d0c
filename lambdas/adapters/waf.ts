/**
 * Thin adapter over AWS WAFv2: read and write IP sets under WAF's optimistic lock, read the keys a
 * rate-based rule is limiting, and summarise sampled requests. No business logic: what an IP set
 * should contain is decided by a `recompute` callback from the pure core.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  GetIPSetCommand,
  GetRateBasedStatementManagedKeysCommand,
  GetSampledRequestsCommand,
  UpdateIPSetCommand,
  WAFV2Client,
  type WAFV2ClientConfig,
} from '@aws-sdk/client-wafv2';
import type { IpSetSnapshot } from '#core/types';
import type { IpSetAddress, WafScope } from '#contracts/ip-set';
import { IpSetWriteError, ReadError } from '#shared/errors';
import { withoutSdkLogging } from './sdk-logging';

/** Identifies one WAF IP set; all three parts are required by every IP set call. */
export type IpSetRef = IpSetAddress;
export type { WafScope };

/** What `recompute` decided for one version of an IP set's addresses. */
export interface IpSetPlan {
  /** The complete list to write: UpdateIPSet replaces the whole set. */
  readonly addresses: readonly string[];
  /** False when `addresses` equals what is already there, so nothing is written. */
  readonly changed: boolean;
}

/** Options of {@link updateIpSet}. */
export interface UpdateIpSetOptions {
  /**
   * UpdateIPSet calls before giving up on lock conflicts.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff between attempts; the n-th wait is drawn uniformly from
   * `[0, min(maxDelayMs, baseDelayMs * 2^(n-1)))` ("full jitter"), so racing writers spread out.
   * @default 200
   */
  readonly baseDelayMs?: number;
  /**
   * Upper bound of one backoff wait.
   * @default 5000
   */
  readonly maxDelayMs?: number;
  /**
   * Waits between attempts; injected by tests.
   * @default a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Source of jitter in `[0, 1)`; injected by tests.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Compute the plan but never call UpdateIPSet.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Called after a failed attempt, once the set was read again and before the list is planned
   * again: the caller may refresh what it plans from (another writer may have changed more than
   * the set). A failure here fails the update.
   */
  readonly beforeReplan?: (current: readonly string[]) => Promise<void>;
}

/** Outcome of {@link updateIpSet}. */
export interface IpSetUpdate {
  /** True when an UpdateIPSet call succeeded. */
  readonly written: boolean;
  /** UpdateIPSet calls made (0 when nothing changed or on a dry run). */
  readonly attempts: number;
  /** WAFOptimisticLockException responses met on the way. */
  readonly conflicts: number;
  /** The list written, or that would have been written, or the unchanged plan. */
  readonly addresses: readonly string[];
}

/** Which rate-based rule to ask for the keys it is limiting right now. */
export interface ManagedKeysSource {
  readonly webAclName: string;
  readonly webAclId: string;
  readonly scope: WafScope;
  /** The rate-based rule's exact name (inside the rule group when `ruleGroupRuleName` is set). */
  readonly ruleName: string;
  /** Name of the web ACL rule that references the rule group holding the rate-based rule. */
  readonly ruleGroupRuleName?: string;
}

/** The addresses a rate-based rule is limiting, by family, as WAF reports them (CIDR strings). */
export interface ManagedKeys {
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/** Which rule's sampled requests to summarise, and over which window. */
export interface SampledRequestsSource {
  readonly webAclArn: string;
  /** The rule's metric name (the web ACL's own metric name for the default action). */
  readonly ruleMetricName: string;
  readonly scope: WafScope;
  /** Length of the window ending at `now`; WAF keeps samples for 3 hours. */
  readonly windowMs: number;
  /** End of the window, epoch milliseconds. */
  readonly now: number;
  /**
   * Samples to ask for; WAF accepts 1 to 500.
   * @default 500
   */
  readonly maxItems?: number;
}

/** How many sampled requests (weighted) carried one Host header value. */
export interface HostCount {
  /** Lower-cased Host header value; attacker-controlled text, escape before display. */
  readonly host: string;
  readonly count: number;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BASE_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * Creates a WAFv2 client for this adapter. Adaptive retry mode makes the SDK back off and rate
 * limit itself on `ThrottlingException` (WAF allows about one write per second per account) and
 * retry 5xx / network errors; lock conflicts are not retried by the SDK but by {@link updateIpSet}.
 * Without a `logger` in `overrides`, the SDK's logger middleware is taken out (./sdk-logging).
 */
export function createWafClient(overrides?: WAFV2ClientConfig): WAFV2Client {
  return withoutSdkLogging(new WAFV2Client({ retryMode: 'adaptive', maxAttempts: 5, ...overrides }), overrides?.logger);
}

/** Names an IP set in messages, e.g. `IP set blocklist-v4 (CLOUDFRONT, id abc)`. */
export function describeIpSet(ref: IpSetRef): string {
  return `IP set ${ref.name} (${ref.scope}, id ${ref.id})`;
}

/**
 * Reads an IP set's addresses, description and the lock token that guards the next write.
 * @throws {ReadError} naming the set when the call fails or the response lacks the set or token.
 */
export async function readIpSet(client: WAFV2Client, ref: IpSetRef): Promise<IpSetSnapshot> {
  const resource = describeIpSet(ref);
  let response;
  try {
    response = await client.send(new GetIPSetCommand({ Name: ref.name, Id: ref.id, Scope: ref.scope }));
  } catch (error) {
    throw new ReadError(resource, { cause: error });
  }
  const addresses = response.IPSet?.Addresses;
  const lockToken = response.LockToken;
  if (addresses === undefined || lockToken === undefined) {
    throw new ReadError(resource, { cause: new Error('GetIPSet returned no addresses or no lock token') });
  }
  const description = response.IPSet?.Description;
  const version = response.IPSet?.IPAddressVersion;
  return {
    addresses,
    lockToken,
    ...(description === undefined ? {} : { description }),
    ...(version === 'IPV4' || version === 'IPV6' ? { family: version } : {}),
  };
}

/**
 * Writes an IP set under WAF's optimistic lock without ever resending a list built from stale data.
 *
 * The list to write is `recompute(initial.addresses)`; nothing is sent when it reports no change
 * (writes are throttled per account) or on a dry run. On `WAFOptimisticLockException` someone else
 * wrote first: wait with full jitter, re-read the set and recompute from the fresh addresses and
 * token; stop without writing if the fresh plan says nothing changed. The set's description is sent
 * back unchanged, because UpdateIPSet resets every field it is not given.
 *
 * `WAFUnavailableEntityException` (the set was created moments ago and has not propagated yet) is
 * retried the same way, within the same attempt budget: it is transient by AWS's description, and
 * failing the first run after a deployment would only page someone. It is not counted as a conflict.
 * Throttling, 5xx and network errors are retried inside the SDK client (see {@link createWafClient}),
 * so any other error fails at once.
 *
 * @throws {WriteError} naming the set: after `maxAttempts` conflicted attempts (saying how many
 *   conflicts), when a re-read fails, or on any other UpdateIPSet error.
 * @throws {RangeError} when `maxAttempts` is not a positive integer.
 */
export async function updateIpSet(
  client: WAFV2Client,
  ref: IpSetRef,
  initial: IpSetSnapshot,
  recompute: (current: readonly string[]) => IpSetPlan,
  options: UpdateIpSetOptions = {},
): Promise<IpSetUpdate> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const resource = describeIpSet(ref);

  let snapshot = initial;
  let attempts = 0;
  let conflicts = 0;
  for (;;) {
    const plan = recompute(snapshot.addresses);
    if (!plan.changed || options.dryRun === true) {
      return { written: false, attempts, conflicts, addresses: plan.addresses };
    }
    attempts++;
    try {
      await client.send(
        new UpdateIPSetCommand({
          Name: ref.name,
          Id: ref.id,
          Scope: ref.scope,
          Addresses: [...plan.addresses],
          LockToken: snapshot.lockToken,
          ...(snapshot.description === undefined ? {} : { Description: snapshot.description }),
        }),
      );
      return { written: true, attempts, conflicts, addresses: plan.addresses };
    } catch (error) {
      const lockConflict = hasName(error, 'WAFOptimisticLockException');
      if (!lockConflict && !hasName(error, 'WAFUnavailableEntityException')) {
        throw new IpSetWriteError(resource, `UpdateIPSet failed on attempt ${attempts}`, conflicts, { cause: error });
      }
      if (lockConflict) conflicts++;
      if (attempts >= maxAttempts) {
        throw new IpSetWriteError(
          resource,
          `gave up after ${attempts} attempts with ${conflicts} lock conflicts (other writers kept changing the set)`,
          conflicts,
          { cause: error },
        );
      }
      await sleep(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
      try {
        snapshot = await readIpSet(client, ref);
      } catch (readError) {
        throw new IpSetWriteError(resource, `re-read after a failed attempt ${attempts} failed`, conflicts, {
          cause: readError,
        });
      }
      if (options.beforeReplan) {
        try {
          await options.beforeReplan(snapshot.addresses);
        } catch (checkError) {
          throw new IpSetWriteError(resource, `re-check after a failed attempt ${attempts} failed`, conflicts, {
            cause: checkError,
          });
        }
      }
    }
  }
}

/** Names a rate-based rule in messages. */
function describeRateRule(source: ManagedKeysSource): string {
  const rule =
    source.ruleGroupRuleName === undefined
      ? `rate rule ${source.ruleName}`
      : `rate rule ${source.ruleName} in rule group reference ${source.ruleGroupRuleName}`;
  return `${rule} of web ACL ${source.webAclName} (${source.scope}, id ${source.webAclId})`;
}

/**
 * Reads the addresses a rate-based rule is limiting right now (GetRateBasedStatementManagedKeys).
 * A family WAF reports nothing for comes back empty.
 * @throws {ReadError} naming the rule and web ACL when the call fails.
 */
export async function readManagedKeys(client: WAFV2Client, source: ManagedKeysSource): Promise<ManagedKeys> {
  try {
    const response = await client.send(
      new GetRateBasedStatementManagedKeysCommand({
        WebACLName: source.webAclName,
        WebACLId: source.webAclId,
        Scope: source.scope,
        RuleName: source.ruleName,
        ...(source.ruleGroupRuleName === undefined ? {} : { RuleGroupRuleName: source.ruleGroupRuleName }),
      }),
    );
    return {
      ipv4: response.ManagedKeysIPV4?.Addresses ?? [],
      ipv6: response.ManagedKeysIPV6?.Addresses ?? [],
    };
  } catch (error) {
    throw new ReadError(describeRateRule(source), { cause: error });
  }
}

/**
 * Counts the Host header values of a rule's sampled requests in `[now - windowMs, now]`, weighted
 * by each sample's `Weight`, most frequent first (ties by host name). Samples without a Host
 * header are not counted.
 * @throws {ReadError} naming the rule's metric and web ACL when the call fails.
 */
export async function readSampledHosts(client: WAFV2Client, source: SampledRequestsSource): Promise<HostCount[]> {
  let response;
  try {
    response = await client.send(
      new GetSampledRequestsCommand({
        WebAclArn: source.webAclArn,
        RuleMetricName: source.ruleMetricName,
        Scope: source.scope,
        TimeWindow: { StartTime: new Date(source.now - source.windowMs), EndTime: new Date(source.now) },
        MaxItems: source.maxItems ?? 500,
      }),
    );
  } catch (error) {
    throw new ReadError(`sampled requests of rule metric ${source.ruleMetricName} in web ACL ${source.webAclArn}`, {
      cause: error,
    });
  }
  const counts = new Map<string, number>();
  for (const sample of response.SampledRequests ?? []) {
    const host = sample.Request?.Headers?.find((header) => header.Name?.toLowerCase() === 'host')?.Value;
    if (host === undefined) continue;
    const key = host.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + (sample.Weight ?? 1));
  }
  return [...counts]
    .map(([host, count]) => ({ host, count }))
    .sort((a, b) => b.count - a.count || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

function hasName(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}
