/**
 * The second tier of mitigation (issue 12): with `blocker.neighbourAction` `CHALLENGE` or `CAPTCHA`,
 * the exact addresses a rate rule limited (their `/32` or `/128`, or `blocker.offenderPrefixLength`)
 * go to the Block sets, and the widened range around them (`ipv4Prefix` / `ipv6Prefix`) to the
 * neighbour sets, whose rule challenges instead of blocking. A shared carrier /24 then keeps working
 * for real browsers while the offender itself stays blocked. `BLOCK` (the default) is the one-tier
 * blocklist of before: no neighbour sets, no neighbour rule, the same template.
 *
 * The keys live in the `blocker` block (lib/config/schema.ts spreads {@link neighbourTierShape});
 * the checks across keys are {@link neighbourTierProblems}.
 */
import { z } from 'zod';
import type { ConfigProblem } from './config-error';

/** What the neighbour tier does with a matching request; `BLOCK`: there is no neighbour tier. */
export const NEIGHBOUR_ACTIONS = ['BLOCK', 'CHALLENGE', 'CAPTCHA'] as const;
/** `blocker.neighbourAction`. */
export type NeighbourAction = (typeof NEIGHBOUR_ACTIONS)[number];

/**
 * WAF's range for a web ACL's `ChallengeConfig` / `CaptchaConfig` immunity time, in seconds: 60 to
 * 259,200 (three days), default 300, and at least 300 for the Challenge action
 * (https://docs.aws.amazon.com/waf/latest/APIReference/API_ImmunityTimeProperty.html).
 */
export const IMMUNITY_SECONDS = { min: 60, challengeMin: 300, max: 259_200, default: 300 } as const;

const wholeNumber = (min: number, max: number) =>
  z
    .number()
    .int('must be a whole number')
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`);

/** The `blocker` keys of the neighbour tier, with their defaults. */
export const neighbourTierShape = {
  /**
   * What the widened range around an offender gets: `BLOCK` (one tier: the whole range is blocked),
   * `CHALLENGE` (a silent JavaScript challenge) or `CAPTCHA` (a puzzle). With `CHALLENGE` or
   * `CAPTCHA` only the exact offender (`offenderPrefixLength`) is blocked.
   */
  neighbourAction: z
    .enum(NEIGHBOUR_ACTIONS, { error: `must be one of ${NEIGHBOUR_ACTIONS.join(', ')}` })
    .default('BLOCK'),
  /**
   * The prefix an offender is blocked by when `neighbourAction` is `CHALLENGE` or `CAPTCHA`: its
   * exact address by default; narrower than `ipv4Prefix` / `ipv6Prefix`, whose rest is the
   * neighbours'. Not used with `BLOCK`.
   */
  offenderPrefixLength: z
    .strictObject({
      ipv4: wholeNumber(8, 32).default(32),
      ipv6: wholeNumber(32, 128).default(128),
    })
    .prefault({}),
  /**
   * Seconds a solved challenge or CAPTCHA stays valid (the web ACL's `ChallengeConfig` /
   * `CaptchaConfig`): 60 to 259,200, at least 300 for `CHALLENGE`. Not used with `BLOCK`.
   */
  immunityTimeSeconds: wholeNumber(IMMUNITY_SECONDS.min, IMMUNITY_SECONDS.max).default(IMMUNITY_SECONDS.default),
};

/** What the neighbour tier's checks read of a configuration. */
export interface NeighbourTierInput {
  readonly blocker: {
    readonly ipv4Prefix: number;
    readonly ipv6Prefix: number;
    readonly neighbourAction: NeighbourAction;
    readonly offenderPrefixLength: { readonly ipv4: number; readonly ipv6: number };
    readonly immunityTimeSeconds: number;
  };
}

/** Whether the configuration has a neighbour tier (sets and a rule of their own). */
export function hasNeighbourTier(action: NeighbourAction | undefined): action is 'CHALLENGE' | 'CAPTCHA' {
  return action === 'CHALLENGE' || action === 'CAPTCHA';
}

/** The default widened prefixes, suggested when a configuration's leave no neighbours. */
const DEFAULT_WIDENED = { ipv4: 24, ipv6: 64 } as const;

/** The prefixes `ipv4Prefix` / `ipv6Prefix` and `offenderPrefixLength` accept, per family. */
const PREFIX_BOUNDS = { ipv4: { min: 8, most: 32 }, ipv6: { min: 32, most: 128 } } as const;

/** `25 to 32`, or `32` alone: never a range that holds nothing or one value twice. */
function fromTo(low: number, high: number): string {
  return low === high ? `${low}` : `${low} to ${high}`;
}

/**
 * With a neighbour tier: a widened prefix that leaves no neighbours (`ipv4Prefix` 32, `ipv6Prefix`
 * 128: the widened range is the address itself), an offender prefix that is not narrower than the
 * widened one (the neighbour sets would hold nothing but the offenders themselves), and a challenge
 * immunity below WAF's 300 s minimum for the Challenge action.
 *
 * The problems are said in one problem, on the first key: a refusal names one key, and a user who
 * set both families to single addresses (or a short immunity besides) must not fix one only to be
 * refused for the next.
 */
export function neighbourTierProblems(config: NeighbourTierInput): ConfigProblem[] {
  const { blocker } = config;
  if (!hasNeighbourTier(blocker.neighbourAction)) return [];
  const problems = (['ipv4', 'ipv6'] as const).flatMap((key) => prefixProblem(blocker, key) ?? []);
  if (blocker.neighbourAction === 'CHALLENGE' && blocker.immunityTimeSeconds < IMMUNITY_SECONDS.challengeMin) {
    problems.push({
      path: ['blocker', 'immunityTimeSeconds'],
      message: `is ${blocker.immunityTimeSeconds}, below ${IMMUNITY_SECONDS.challengeMin}, WAF's minimum for the Challenge action`,
    });
  }
  const [first, ...more] = problems;
  if (first === undefined) return [];
  const also = more.map((problem) => `; and ${problem.path.join('.')} ${problem.message}`).join('');
  return [{ path: first.path, message: `${first.message}${also}` }];
}

/**
 * What is wrong with one family's prefixes under a neighbour tier, or undefined: the widened
 * prefix must be shorter than the offender prefix, so that the widened range holds neighbours.
 * A widened prefix of the whole address (32, 128) is named as the problem, since no offender
 * prefix could be longer; otherwise the offender prefix, with the range it may take. Every value
 * suggested is one the configuration accepts.
 */
function prefixProblem(blocker: NeighbourTierInput['blocker'], key: 'ipv4' | 'ipv6'): ConfigProblem | undefined {
  const offender = blocker.offenderPrefixLength[key];
  const widened = key === 'ipv4' ? blocker.ipv4Prefix : blocker.ipv6Prefix;
  const { most } = PREFIX_BOUNDS[key];
  const action = blocker.neighbourAction;
  if (offender > widened) return undefined;
  if (widened === most) {
    return {
      path: ['blocker', `${key}Prefix`],
      message:
        `is ${widened}, single addresses, so with neighbourAction ${action} an offender's range holds no neighbours: ` +
        `${shorterWidened(key, offender)}; or set neighbourAction BLOCK to block single addresses`,
    };
  }
  const allowed =
    widened + 1 === most
      ? `only ${most}, the exact address (the default), with this ${key}Prefix`
      : `${fromTo(widened + 1, most)} (${most}, the exact address, by default)`;
  return {
    path: ['blocker', 'offenderPrefixLength', key],
    message:
      `is ${offender}, not narrower than blocker.${key}Prefix ${widened}: with neighbourAction ${action} the offender ` +
      `is blocked by a longer prefix than its neighbours, ${allowed}`,
  };
}

/**
 * The widened prefix to pick below an offender prefix of `offender`: the default when it is
 * shorter, else the prefixes between the shortest accepted and `offender`; and when `offender` is
 * itself the shortest accepted, no widened prefix can be shorter, so the offender prefix is named.
 */
function shorterWidened(key: 'ipv4' | 'ipv6', offender: number): string {
  const { min, most } = PREFIX_BOUNDS[key];
  const needs = `the neighbour tier needs blocker.${key}Prefix shorter than blocker.offenderPrefixLength.${key}`;
  if (offender === min) {
    return (
      `${needs}, and blocker.offenderPrefixLength.${key} is ${offender}, the shortest prefix accepted, so none can be: ` +
      `set blocker.offenderPrefixLength.${key} longer (${most}, the exact address, by default) and ` +
      `blocker.${key}Prefix shorter than it, e.g. ${DEFAULT_WIDENED[key]} with the default`
    );
  }
  const pick = DEFAULT_WIDENED[key] < offender ? `e.g. ${DEFAULT_WIDENED[key]}` : `so ${fromTo(min, offender - 1)}`;
  return `${needs} (${offender}), ${pick}`;
}
