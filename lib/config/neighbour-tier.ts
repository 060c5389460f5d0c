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

/**
 * With a neighbour tier: a widened prefix that leaves no neighbours (`ipv4Prefix` 32, `ipv6Prefix`
 * 128: the widened range is the address itself), an offender prefix that is not narrower than the
 * widened one (the neighbour sets would hold nothing but the offenders themselves), and a challenge
 * immunity below WAF's 300 s minimum for the Challenge action.
 *
 * The prefix problems of both families are said in one problem, on the first key: a refusal names
 * one key, and a user who set both families to single addresses must not fix one to meet the other.
 */
export function neighbourTierProblems(config: NeighbourTierInput): ConfigProblem[] {
  const { blocker } = config;
  if (!hasNeighbourTier(blocker.neighbourAction)) return [];
  const problems: ConfigProblem[] = [];
  const [first, ...more] = (['ipv4', 'ipv6'] as const).flatMap((key) => prefixProblem(blocker, key) ?? []);
  if (first !== undefined) {
    const also = more.map((problem) => `; and ${problem.path.join('.')} ${problem.message}`).join('');
    problems.push({ path: first.path, message: `${first.message}${also}` });
  }
  if (blocker.neighbourAction === 'CHALLENGE' && blocker.immunityTimeSeconds < IMMUNITY_SECONDS.challengeMin) {
    problems.push({
      path: ['blocker', 'immunityTimeSeconds'],
      message: `is ${blocker.immunityTimeSeconds}, below ${IMMUNITY_SECONDS.challengeMin}, WAF's minimum for the Challenge action`,
    });
  }
  return problems;
}

/**
 * What is wrong with one family's prefixes under a neighbour tier, or undefined: the widened
 * prefix must be shorter than the offender prefix, so that the widened range holds neighbours.
 * A widened prefix of the whole address (32, 128) is named as the problem, since no offender
 * prefix could be longer; otherwise the offender prefix, with the range it may take.
 */
function prefixProblem(blocker: NeighbourTierInput['blocker'], key: 'ipv4' | 'ipv6'): ConfigProblem | undefined {
  const offender = blocker.offenderPrefixLength[key];
  const widened = key === 'ipv4' ? blocker.ipv4Prefix : blocker.ipv6Prefix;
  const most = key === 'ipv4' ? 32 : 128;
  const action = blocker.neighbourAction;
  if (offender > widened) return undefined;
  if (widened === most) {
    return {
      path: ['blocker', `${key}Prefix`],
      message:
        `is ${widened}, single addresses, so with neighbourAction ${action} an offender's range holds no neighbours: ` +
        `the neighbour tier needs blocker.${key}Prefix shorter than blocker.offenderPrefixLength.${key} (${offender}), ` +
        `e.g. ${DEFAULT_WIDENED[key]}; or set neighbourAction BLOCK to block single addresses`,
    };
  }
  return {
    path: ['blocker', 'offenderPrefixLength', key],
    message:
      `is ${offender}, not narrower than blocker.${key}Prefix ${widened}: with neighbourAction ${action} the offender ` +
      `is blocked by a longer prefix than its neighbours, ${widened + 1} to ${most} (${most}, the exact address, by default)`,
  };
}
