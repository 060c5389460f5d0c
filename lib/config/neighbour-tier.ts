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

/**
 * With a neighbour tier: an offender prefix that is not narrower than the widened one (the
 * neighbour sets would hold nothing but the offenders themselves), and a challenge immunity below
 * WAF's 300 s minimum for the Challenge action.
 */
export function neighbourTierProblems(config: NeighbourTierInput): ConfigProblem[] {
  const { blocker } = config;
  if (!hasNeighbourTier(blocker.neighbourAction)) return [];
  const problems: ConfigProblem[] = [];
  const families = [
    { key: 'ipv4', offender: blocker.offenderPrefixLength.ipv4, widened: blocker.ipv4Prefix, most: 32 },
    { key: 'ipv6', offender: blocker.offenderPrefixLength.ipv6, widened: blocker.ipv6Prefix, most: 128 },
  ] as const;
  for (const { key, offender, widened, most } of families) {
    if (offender > widened) continue;
    problems.push({
      path: ['blocker', 'offenderPrefixLength', key],
      message: `is ${offender}, not narrower than blocker.${key}Prefix ${widened}: with neighbourAction ${blocker.neighbourAction} the offender is blocked by a longer prefix than its neighbours (${widened + 1} to ${most}; ${most}, the exact address, by default)`,
    });
  }
  if (blocker.neighbourAction === 'CHALLENGE' && blocker.immunityTimeSeconds < IMMUNITY_SECONDS.challengeMin) {
    problems.push({
      path: ['blocker', 'immunityTimeSeconds'],
      message: `is ${blocker.immunityTimeSeconds}, below ${IMMUNITY_SECONDS.challengeMin}, WAF's minimum for the Challenge action`,
    });
  }
  return problems;
}
