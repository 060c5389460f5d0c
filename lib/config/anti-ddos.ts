/**
 * AWS's Anti-DDoS managed rule group, `AWSManagedRulesAntiDDoSRuleSet` (50 WCUs; a subscription
 * and a per-request fee on top of WAF's, https://aws.amazon.com/waf/pricing/), and its settings:
 * key `antiDdos`, read when `managedRuleGroups` lists the group.
 *
 * During a DDoS event the group labels every request it evaluates
 * (`awswaf:managed:aws:anti-ddos:event-detected`) and grades the likely participants
 * (`…:high-suspicion-ddos-request`, `…:medium-…`, `…:low-…`); its rules then challenge
 * (`ChallengeAllDuringEvent`, `ChallengeDDoSRequests`) the requests that can take a silent browser
 * challenge and block (`DDoSRequests`) those at or above `blockSensitivity`
 * (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-anti-ddos.html).
 * Its settings are WAF's `ManagedRuleGroupConfig.AWSManagedRulesAntiDDoSRuleSet`
 * (https://docs.aws.amazon.com/waf/latest/APIReference/API_AWSManagedRulesAntiDDoSRuleSet.html,
 * https://docs.aws.amazon.com/waf/latest/APIReference/API_ClientSideAction.html):
 * - `challenge.usage` (`UsageOfAction`): `ENABLED` runs the two challenge rules and labels the
 *   requests they may challenge `…:challengeable-request`; `DISABLED` runs neither, and the
 *   other challenge settings do nothing.
 * - `challenge.sensitivity` (`Sensitivity`, WAF's default HIGH): which suspicion levels
 *   `ChallengeDDoSRequests` challenges: LOW only high-suspicion requests, MEDIUM medium and high,
 *   HIGH all three.
 * - `challenge.exemptUriRegularExpressions` (`ExemptUriRegularExpressions`, 1 to 5, required with
 *   ENABLED): URIs never challenged, because what requests them cannot run a challenge page (an
 *   API client, an image, a script). Default: AWS's own suggestion, {@link DEFAULT_EXEMPT_URI_REGEX}.
 * - `blockSensitivity` (`SensitivityToBlock`, WAF's default LOW): which suspicion levels
 *   `DDoSRequests` blocks, graded as above.
 *
 * Pure: {@link antiDdosGroupConfig} is the `ManagedRuleGroupConfig` shape the construct places.
 */
import { z } from 'zod';
import { type ConfigProblem, quoteConfigValue } from './config-error';

/** The group's name, as `managedRuleGroups` lists it and the web ACL names its rule. */
export const ANTI_DDOS_GROUP = 'AWSManagedRulesAntiDDoSRuleSet';

/**
 * The exemption AWS suggests to start from (the `ExemptUriRegularExpressions` documentation, same
 * pages): API paths and static assets, whose clients cannot run a challenge page.
 */
export const DEFAULT_EXEMPT_URI_REGEX = String.raw`\/api\/|\.(acc|avi|css|gif|jpe?g|js|mp[34]|ogg|otf|pdf|png|tiff?|ttf|webm|webp|woff2?)$`;

/** Longest regex WAF takes (`Regex.RegexString`, https://docs.aws.amazon.com/waf/latest/APIReference/API_Regex.html). */
export const MAX_REGEX_LENGTH = 512;

const SENSITIVITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;
const sensitivity = z.enum(SENSITIVITIES, { error: 'must be LOW, MEDIUM or HIGH' });

/**
 * The PCRE features WAF refuses in a regex (https://docs.aws.amazon.com/waf/latest/developerguide/waf-regex-pattern-support.html:
 * backreferences, recursion and subroutines, conditionals, backtracking verbs, `\C`, `\R`, `\K`,
 * callouts, atomic groups and possessive quantifiers), each with the words for it.
 */
const UNSUPPORTED_REGEX: readonly [RegExp, string][] = [
  [/\\[1-9]|\\k[<{']|\(\?P=/u, 'a backreference'],
  [/\(\?(?:R|[+-]?\d)\)|\(\?&|\(\?P>/u, 'recursion or a subroutine call'],
  [/\(\?\(/u, 'a conditional pattern'],
  [/\(\*[A-Z]/u, 'a backtracking control verb'],
  [/\\[CRK]/u, String.raw`\C, \R or \K`],
  [/\(\?C/u, 'a callout'],
  [/\(\?>/u, 'an atomic group'],
  [/(?:[*+?}])\+/u, 'a possessive quantifier'],
];

/**
 * Why WAF would refuse `regex` as an exempt URI expression, or undefined. Checks its length, the
 * PCRE features WAF does not support, and that it compiles at all (as a JavaScript regex, close
 * enough to PCRE for the syntax errors that matter: an unclosed group or class, a dangling
 * quantifier).
 */
export function exemptRegexProblem(regex: string): string | undefined {
  if (regex.length > MAX_REGEX_LENGTH)
    return `must be at most ${MAX_REGEX_LENGTH} characters, WAF's limit for a regex; it is ${regex.length.toLocaleString('en-US')}`;
  for (const [pattern, feature] of UNSUPPORTED_REGEX)
    if (pattern.test(regex))
      return `${quoteConfigValue(regex)} uses ${feature}, which WAF's regex syntax does not support`;
  try {
    new RegExp(regex);
  } catch (cause) {
    return `${quoteConfigValue(regex)} is not a valid regular expression (${(cause as Error).message})`;
  }
  return undefined;
}

/** The `antiDdos` key: the group's settings. Each default is WAF's own or AWS's suggestion. */
export const antiDdosSchema = z.strictObject({
  challenge: z
    .strictObject({
      /** `ENABLED`: silent browser challenges during an event; `DISABLED`: none (block only). */
      usage: z.enum(['ENABLED', 'DISABLED'], { error: 'must be ENABLED or DISABLED' }).default('ENABLED'),
      /** Suspicion levels that `ChallengeDDoSRequests` challenges: LOW (high only), MEDIUM, HIGH (all). */
      sensitivity: sensitivity.default('HIGH'),
      /** URIs never challenged (1 to 5 regexes): API and asset paths, whose clients cannot run a challenge. */
      exemptUriRegularExpressions: z
        .array(
          z.string().superRefine((regex, ctx) => {
            const problem = exemptRegexProblem(regex);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          }),
        )
        .min(1, 'must hold 1 to 5 regular expressions (WAF requires at least one while challenges are ENABLED)')
        .max(5, 'must hold 1 to 5 regular expressions (WAF takes at most 5)')
        .prefault([DEFAULT_EXEMPT_URI_REGEX]),
    })
    .prefault({}),
  /** Suspicion levels that `DDoSRequests` blocks: LOW (high only), MEDIUM (medium and high), HIGH (all). */
  blockSensitivity: sensitivity.default('LOW'),
});
/** The validated `antiDdos` settings. */
export type AntiDdosConfig = z.output<typeof antiDdosSchema>;

/** The settings in force: as written, or every default when `antiDdos` is unset. */
export function antiDdosSettings(written: AntiDdosConfig | undefined): AntiDdosConfig {
  return written ?? antiDdosSchema.parse({});
}

/** The group's `ManagedRuleGroupConfig`, in the web ACL's shape (camelCase, as the CDK takes it). */
export function antiDdosGroupConfig(settings: AntiDdosConfig) {
  const { usage, sensitivity: challengeSensitivity, exemptUriRegularExpressions } = settings.challenge;
  return {
    awsManagedRulesAntiDDoSRuleSet: {
      clientSideActionConfig: {
        challenge:
          usage === 'ENABLED'
            ? {
                usageOfAction: usage,
                sensitivity: challengeSensitivity,
                exemptUriRegularExpressions: exemptUriRegularExpressions.map((regexString) => ({ regexString })),
              }
            : { usageOfAction: usage },
      },
      sensitivityToBlock: settings.blockSensitivity,
    },
  };
}

/** `antiDdos` set while `managedRuleGroups` does not list the group: the settings would do nothing. */
export function antiDdosProblems(config: {
  readonly antiDdos?: AntiDdosConfig | undefined;
  readonly managedRuleGroups: readonly string[];
}): ConfigProblem[] {
  if (config.antiDdos === undefined || config.managedRuleGroups.includes(ANTI_DDOS_GROUP)) return [];
  return [
    {
      path: ['antiDdos'],
      message: `configures ${ANTI_DDOS_GROUP}, which managedRuleGroups does not list: add it there (50 WCUs and AWS's extra fees, see docs/cost.md), or remove antiDdos`,
    },
  ];
}
