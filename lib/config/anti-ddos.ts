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
 *   ENABLED, neither checked nor sent with DISABLED): URIs never challenged, because what requests them cannot run a challenge page (an
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

/** Shortest regex WAF takes (`Regex.RegexString`, same page). */
export const MIN_REGEX_LENGTH = 1;

/**
 * Why WAF would refuse `regex` as an exempt URI expression, or undefined. WAF compiles it with
 * PCRE (libpcre), not JavaScript, so JavaScript's RegExp is no judge here: it refuses valid PCRE
 * such as `(?i)^/api`. Checked instead: the length WAF takes ({@link MIN_REGEX_LENGTH} to
 * {@link MAX_REGEX_LENGTH}), the PCRE features WAF documents as unsupported
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-regex-pattern-support.html), and
 * unbalanced groups and classes, which no PCRE compiles. WAF's page also lists capturing
 * subexpressions, yet AWS's own suggested exemption ({@link DEFAULT_EXEMPT_URI_REGEX}) has one:
 * a plain group is accepted. Anything else WAF refuses is reported by the deploy.
 */
export function exemptRegexProblem(regex: string): string | undefined {
  if (regex.length < MIN_REGEX_LENGTH)
    return `must not be empty: WAF takes a regex of ${MIN_REGEX_LENGTH} to ${MAX_REGEX_LENGTH} characters`;
  if (regex.length > MAX_REGEX_LENGTH)
    return `must be at most ${MAX_REGEX_LENGTH} characters, WAF's limit for a regex; it is ${regex.length.toLocaleString('en-US')}`;
  const problem = scanRegex(regex);
  return problem === undefined ? undefined : `${quoteConfigValue(regex)} ${problem}`;
}

/** Escapes after `\` that WAF refuses: backreferences (`\1`, `\g1`, `\g{…}`, `\k<…>`) and `\C`, `\R`, `\K`. */
function unsupportedEscape(regex: string, at: number): string | undefined {
  const next = regex[at + 1] ?? '';
  const after = regex[at + 2] ?? '';
  if (/[1-9]/u.test(next) || (next === 'g' && /[-+{<'\d]/u.test(after)) || (next === 'k' && /[<{']/u.test(after)))
    return 'a backreference';
  if (next === 'C' || next === 'R' || next === 'K') return String.raw`\C, \R or \K`;
  return undefined;
}

/** What follows `(`, when WAF refuses it, in words. */
function unsupportedGroup(rest: string): string | undefined {
  if (/^\?P=|^\?P>|^\?&|^\?(?:R|[+-]?\d+)\)/u.test(rest))
    return rest.startsWith('?P=') ? 'a backreference' : 'recursion or a subroutine call';
  if (rest.startsWith('?(')) return 'a conditional pattern';
  if (rest.startsWith('?C')) return 'a callout';
  if (rest.startsWith('?>')) return 'an atomic group';
  if (/^\*[A-Z]/u.test(rest)) return 'a backtracking control verb';
  return undefined;
}

/** How many characters a quantifier starting at `at` spans (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`), or 0. */
function quantifierLength(regex: string, at: number): number {
  const char = regex[at];
  if (char === '*' || char === '+' || char === '?') return 1;
  const braces = char === '{' ? /^\{\d+(?:,\d*)?\}/u.exec(regex.slice(at)) : null;
  return braces?.[0].length ?? 0;
}

/**
 * One pass over `regex` as PCRE reads it (escapes, `\Q…\E`, character classes with a leading `]`
 * and POSIX names, comments, groups): the first unsupported feature or unbalanced bracket, in words.
 */
function scanRegex(regex: string): string | undefined {
  let depth = 0;
  let at = 0;
  let afterAtom = false;
  while (at < regex.length) {
    const char = regex[at];
    if (char === '\\') {
      if (regex[at + 1] === 'Q') {
        const end = regex.indexOf(String.raw`\E`, at + 2);
        at = end === -1 ? regex.length : end + 2;
        afterAtom = true;
        continue;
      }
      const escape = unsupportedEscape(regex, at);
      if (escape !== undefined) return `uses ${escape}, which WAF's regex syntax does not support`;
      at += 2;
      afterAtom = true;
    } else if (char === '[') {
      const end = classEnd(regex, at);
      if (end === undefined) return 'has a character class "[" that is never closed';
      at = end + 1;
      afterAtom = true;
    } else if (char === '(' && regex.startsWith('?#', at + 1)) {
      // A comment, `(?#…)`, ends at the first `)`: nothing in it is syntax.
      const end = regex.indexOf(')', at);
      if (end === -1) return 'has a comment "(?#" that is never closed';
      at = end + 1;
    } else if (char === '(') {
      const group = unsupportedGroup(regex.slice(at + 1));
      if (group !== undefined) return `uses ${group}, which WAF's regex syntax does not support`;
      depth++;
      at++;
      afterAtom = false;
    } else if (char === ')') {
      if (--depth < 0) return 'has a ")" that closes no group';
      at++;
      afterAtom = true;
    } else {
      const length: number = afterAtom ? quantifierLength(regex, at) : 0;
      if (length > 0 && regex[at + length] === '+')
        return `uses a possessive quantifier, which WAF's regex syntax does not support`;
      // A lazy `?` after a quantifier is part of it; what follows a quantifier is not quantified again.
      at += length > 0 && regex[at + length] === '?' ? length + 1 : Math.max(length, 1);
      afterAtom = length === 0 && char !== '|' && char !== '^';
    }
  }
  return depth > 0
    ? `has ${depth === 1 ? 'a group "(" that is' : `${depth} groups "(" that are`} never closed`
    : undefined;
}

/** Index of the `]` that closes the class opened at `open`, or undefined; a `]` right after `[` or `[^` is literal. */
function classEnd(regex: string, open: number): number | undefined {
  let at = open + 1;
  if (regex[at] === '^') at++;
  if (regex[at] === ']') at++;
  while (at < regex.length) {
    const char = regex[at];
    if (char === '\\') at += 2;
    else if (char === ']') return at;
    else if (char === '[' && regex[at + 1] === ':') {
      const end = regex.indexOf(':]', at + 2);
      at = end === -1 ? at + 1 : end + 2;
    } else at++;
  }
  return undefined;
}

/** The `antiDdos.challenge` problems of WAF's limits, checked only while challenges are ENABLED. */
function challengeProblems(
  challenge: { readonly usage: string; readonly exemptUriRegularExpressions: readonly string[] },
  ctx: z.RefinementCtx,
): void {
  if (challenge.usage !== 'ENABLED') return;
  const regexes = challenge.exemptUriRegularExpressions;
  if (regexes.length < 1 || regexes.length > 5)
    ctx.addIssue({
      code: 'custom',
      path: ['exemptUriRegularExpressions'],
      message: `must hold 1 to 5 regular expressions while challenges are ENABLED (WAF's limits); it holds ${regexes.length}`,
    });
  regexes.forEach((regex, index) => {
    const problem = exemptRegexProblem(regex);
    if (problem !== undefined)
      ctx.addIssue({ code: 'custom', path: ['exemptUriRegularExpressions', index], message: problem });
  });
}

/** The `antiDdos` key: the group's settings. Each default is WAF's own or AWS's suggestion. */
export const antiDdosSchema = z.strictObject({
  challenge: z
    .strictObject({
      /** `ENABLED`: silent browser challenges during an event; `DISABLED`: none (block only). */
      usage: z.enum(['ENABLED', 'DISABLED'], { error: 'must be ENABLED or DISABLED' }).default('ENABLED'),
      /** Suspicion levels that `ChallengeDDoSRequests` challenges: LOW (high only), MEDIUM, HIGH (all). Not sent while DISABLED. */
      sensitivity: sensitivity.default('HIGH'),
      /**
       * URIs never challenged (1 to 5 regexes): API and asset paths, whose clients cannot run a
       * challenge. Checked against WAF's limits, and sent, only while challenges are ENABLED.
       */
      exemptUriRegularExpressions: z
        .array(z.string({ error: 'must be a regular expression (text)' }), {
          error: 'must be a list of regular expressions',
        })
        .prefault([DEFAULT_EXEMPT_URI_REGEX]),
    })
    .superRefine(challengeProblems)
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
