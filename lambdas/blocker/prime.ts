/**
 * Priming: the Lambda's init runs the run's decision path once on a made-up attack, in memory, so
 * that V8 has compiled its per-range code before a real attack meets it. A first run of 10,000 new
 * ranges otherwise spends most of its time before its first `UpdateIPSet` in code V8 has not
 * compiled yet, and on one vCPU in compiling it (docs/blocker.md, "Primed at init").
 *
 * The made-up attack goes through what a real first run does up to its writes: the keys judged
 * (`collectKeys`), the ledger decided (`decide`), the IP sets planned (`planSets`) and the
 * write-ahead intent serialized (`intentParts`), with the deployment's own settings (its rules,
 * prefixes, sets and tiers) and every set and the ledger empty; the first rate rule limits the
 * made-up keys, the others nothing. Nothing leaves the process: the clients given to the decision
 * throw if touched, and its logger says nothing. The keys are written as WAF reports managed keys
 * (`a.b.c.d/32`).
 *
 * The same idea as the "priming" AWS describes for Lambda SnapStart (running the hot code paths
 * during init), without SnapStart, which Lambda offers for Java, Python and .NET runtimes, not
 * Node.js (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html, "Supported features and
 * limitations").
 */
import type { BlockerSettings } from '#contracts/blocker-environment';
import { INTENT_PART_BYTES, intentParts } from '#adapters/ledger';
import { formatIpv4 } from '#core/cidr-format';
import type { IpSetSnapshot } from '#core/types';
import { collectKeys, decide, planSets } from './run/decide';
import { rowsToRecord } from './run/intent';
import type { RunInputs } from './run/read';
import { perList, setsOf, type BlockerDeps, type RunLogger, type Trigger } from './run/types';

/**
 * How many made-up keys the init primes with: one set's capacity, the size of the first run the
 * bench measures (`npm run bench -- first-block`). At the default /24 widening each is a range of
 * its own.
 */
export const PRIMING_KEYS = 10_000;

/**
 * The made-up keys, in two halves, so that both ways an attack's ranges meet the set plans are
 * primed: the first half one per /24 from 20.0.0.1 up (20.0.1.1, 20.0.2.1, …), sibling ranges that
 * aggregate into /16s (256 to an entry); the second half one per /16 from 21.0.0.0 up (21.0.x.1,
 * 21.1.x.1, …, up to 99.255.x.1, then again from 21), ranges that aggregate with nothing (an entry
 * each). All global unicast (no special-purpose range, lambdas/core/special-purpose.ts: 100.64.0.0/10
 * is past the end), so that each is accepted and placed as a real attacker's would be. At a widening
 * wider than /24 the first half makes fewer ranges, and wider than /16 the second half too.
 */
function madeUpKeys(count: number): string[] {
  const keys: string[] = [];
  const siblings = Math.ceil(count / 2);
  for (let i = 0; i < siblings; i++) keys.push(formatIpv4(20 * 2 ** 24 + i * 256 + 1, 32));
  for (let j = 0; j < count - siblings; j++) {
    const block = j % SCATTERED_BLOCKS;
    // The third octet varies too, as addresses do: (block × 97) mod 256.
    keys.push(formatIpv4((21 * 256 + block) * 2 ** 16 + ((block * 97) % 256) * 256 + 1, 32));
  }
  return keys;
}

/** The /16s the second half of the made-up keys spreads over: 21.0.0.0/16 to 99.255.0.0/16. */
const SCATTERED_BLOCKS = (100 - 21) * 256;

/** What priming went through: to log, and for its tests to tell that it primed anything. */
export interface Primed {
  /** Keys the decision saw (the made-up keys, all limited by the first rate rule). */
  readonly keysSeen: number;
  /** New ledger rows the decision made (a real run would write them ahead, in the intent). */
  readonly rows: number;
  /** Active ranges the set plans placed, every list together (the rest is overflow). */
  readonly placed: number;
  /** Entries the set plans would write, every set together (aggregates count once). */
  readonly entries: number;
  /** Shared IP sets the decision took into account (all of the settings', as if readable). */
  readonly sharedSets: number;
  /** Intent parts the rows serialize to (each at most INTENT_PART_BYTES). */
  readonly intentParts: number;
}

/**
 * Runs the decision path of a first run of `keys` new keys ({@link madeUpKeys}), all limited by the
 * first rate rule (see the module comment).
 * Pure CPU: no AWS call, no log line, nothing kept.
 * @param keys - Made-up keys, 0 or more. @default PRIMING_KEYS
 * @param now - Epoch ms the made-up run decides with. @default Date.now()
 * @throws what the decision path throws on these inputs (a bug: the Lambda's init logs it and goes on);
 *   an Error naming the client when the path reaches for AWS.
 */
export async function primeDecisionPath(
  settings: BlockerSettings,
  keys = PRIMING_KEYS,
  now = Date.now(),
): Promise<Primed> {
  const inputs = madeUpAttack(settings, keys);
  const trigger: Trigger = { kind: 'schedule' };
  const deps = offlineDeps();
  const decision = planSets(
    inputs,
    await decide(deps, settings, trigger, inputs, collectKeys(deps, settings, trigger, inputs), now),
  );
  const rows = rowsToRecord(decision);
  const plans = Object.values(decision.plans);
  return {
    keysSeen: decision.keysSeen,
    rows: rows.length,
    placed: plans.reduce((sum, plan) => sum + plan.step.active.length - plan.plan.overflow.length, 0),
    entries: plans.reduce((sum, plan) => sum + plan.plan.addresses.length, 0),
    sharedSets: decision.shared.length,
    intentParts: intentParts(rows, INTENT_PART_BYTES).length,
  };
}

/**
 * A first run's reads: the alarm in ALARM, the first rule limiting the made-up keys, every set
 * (shared ones as IPv4 sets) and the ledger empty.
 */
function madeUpAttack(settings: BlockerSettings, count: number): RunInputs {
  const ipv4 = madeUpKeys(count);
  const empty: IpSetSnapshot = { addresses: [], lockToken: 'priming' };
  // A shared set's family is what WAF says it is: one of IPv4, so that the made-up ranges reach it.
  const emptyShared: IpSetSnapshot = { ...empty, family: 'IPV4' };
  return {
    alarmState: 'ALARM',
    // The other rules limit nothing: their sightings are merged with the first's all the same, and the
    // init does not take a rule's worth longer for each (up to 20).
    keyResults: settings.rateRules.map((_, rule) => ({
      status: 'fulfilled',
      value: { ipv4: rule === 0 ? ipv4 : [], ipv6: [] },
    })),
    allowlists: { IPV4: empty, IPV6: empty },
    blocklists: perList((key) => setsOf(settings, key).map(() => empty)),
    ledgerRows: perList(() => []),
    sharedResults: settings.sharedIpSets.map(() => ({ status: 'fulfilled', value: emptyShared })),
    intents: [],
    pending: undefined,
  };
}

/**
 * Deps for a decision that must stay in memory: each client throws, naming itself and what was
 * asked of it, when touched; the logger says nothing.
 * @internal Exported for its tests.
 */
export function offlineDeps(): BlockerDeps {
  const untouchable = (name: string) =>
    new Proxy(
      {},
      {
        get(_, property) {
          throw new Error(`priming reached for AWS: ${name}.${String(property)}`);
        },
      },
    );
  const silent: RunLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return {
    waf: untouchable('waf'),
    wafIn: () => untouchable('wafIn'),
    cloudwatch: untouchable('cloudwatch'),
    sns: untouchable('sns'),
    ledger: untouchable('ledger'),
    pending: untouchable('pending'),
    logger: silent,
  } as unknown as BlockerDeps;
}
