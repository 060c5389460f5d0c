/**
 * Label-scoped rate rules (`rateRules[].labels`): a rule counts, per client, only the requests
 * that carry one of its labels, which an earlier rule or rule group of the web ACL added. WAF
 * makes a label visible only to rules evaluated after the one that added it
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-labels.html), and a label that
 * nothing adds matches nothing: the rule would count no request and never limit anybody, silently.
 * So the configuration accepts a label only when a rule group evaluated before the rate rules
 * adds it, and refuses any other, naming `rateRules[i].labels[j]` and why.
 *
 * The web ACL (lib/blocklist-web-acl) evaluates the Anti-DDoS group after the blocklist and before
 * the rate rules ({@link LABELLING_GROUPS}); every other managed group after them. Each group's
 * labels share its namespace ({@link MANAGED_GROUP_LABEL_NAMESPACES}), from the AWS Managed Rules
 * rule group pages (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html).
 * Our own rules add no labels.
 */
import { ANTI_DDOS_GROUP, type AntiDdosConfig, antiDdosSettings } from './anti-ddos';
import type { ManagedRuleGroupName } from './capacity';
import { type ConfigProblem, quoteConfigValue } from './config-error';

/** The label namespace of each managed rule group the configuration offers: every label it adds starts so. */
export const MANAGED_GROUP_LABEL_NAMESPACES: Readonly<Record<ManagedRuleGroupName, string>> = {
  AWSManagedRulesAmazonIpReputationList: 'awswaf:managed:aws:amazon-ip-list:',
  AWSManagedRulesAnonymousIpList: 'awswaf:managed:aws:anonymous-ip-list:',
  AWSManagedRulesCommonRuleSet: 'awswaf:managed:aws:core-rule-set:',
  AWSManagedRulesKnownBadInputsRuleSet: 'awswaf:managed:aws:known-bad-inputs:',
  AWSManagedRulesSQLiRuleSet: 'awswaf:managed:aws:sql-database:',
  AWSManagedRulesLinuxRuleSet: 'awswaf:managed:aws:linux-os:',
  AWSManagedRulesUnixRuleSet: 'awswaf:managed:aws:posix-os:',
  AWSManagedRulesPHPRuleSet: 'awswaf:managed:aws:php-app:',
  AWSManagedRulesWordPressRuleSet: 'awswaf:managed:aws:wordpress-app:',
  AWSManagedRulesAdminProtectionRuleSet: 'awswaf:managed:aws:admin-protection:',
  AWSManagedRulesAntiDDoSRuleSet: 'awswaf:managed:aws:anti-ddos:',
};

/**
 * The labels of the Anti-DDoS group (its developer guide page, "Labels added by this rule group"):
 * the event and suspicion labels, the challengeable label, and one per rule. Listed whole, so that
 * a typo (`high-suspicion-ddos`) is refused instead of matching nothing.
 */
export const ANTI_DDOS_LABELS: readonly string[] = [
  'event-detected',
  'ddos-request',
  'high-suspicion-ddos-request',
  'medium-suspicion-ddos-request',
  'low-suspicion-ddos-request',
  'challengeable-request',
  'ChallengeAllDuringEvent',
  'ChallengeDDoSRequests',
  'DDoSRequests',
].map((name) => `${MANAGED_GROUP_LABEL_NAMESPACES[ANTI_DDOS_GROUP]}${name}`);

/**
 * The Anti-DDoS labels that only the group's challenge rules produce: `challengeable-request`, and
 * the labels of `ChallengeAllDuringEvent` and `ChallengeDDoSRequests`. With
 * `antiDdos.challenge.usage` DISABLED the group adds `challengeable-request` to no request and does
 * not evaluate those two rules (`ClientSideAction.UsageOfAction`,
 * https://docs.aws.amazon.com/waf/latest/APIReference/API_ClientSideAction.html), so none of these
 * labels reaches a rate rule.
 */
export const CHALLENGE_LABELS: readonly string[] = [
  'challengeable-request',
  'ChallengeAllDuringEvent',
  'ChallengeDDoSRequests',
].map((name) => `${MANAGED_GROUP_LABEL_NAMESPACES[ANTI_DDOS_GROUP]}${name}`);

/** Managed groups that the web ACL evaluates before the rate rules, so that their labels reach them. */
export const LABELLING_GROUPS: readonly ManagedRuleGroupName[] = [ANTI_DDOS_GROUP];

/** A label as WAF takes it in a LabelMatchStatement key: colon-separated parts of these characters. */
const LABEL_SYNTAX = /^[0-9A-Za-z_-]+(?::[0-9A-Za-z_-]+)*$/u;
/** Longest label key WAF takes (`LabelMatchStatement.Key`). */
export const MAX_LABEL_LENGTH = 1024;

/** Why `label` is not a label WAF could match, or undefined; syntax only. */
export function labelSyntaxProblem(label: string): string | undefined {
  if (label.length > MAX_LABEL_LENGTH) return `must be at most ${MAX_LABEL_LENGTH} characters`;
  if (!LABEL_SYNTAX.test(label))
    return `${quoteConfigValue(label)} must be a label name: parts of letters, digits, "_" and "-" joined by ":" (e.g. "awswaf:managed:aws:anti-ddos:high-suspicion-ddos-request")`;
  return undefined;
}

/** The group whose namespace `label` is in, if any. */
function groupOf(label: string): ManagedRuleGroupName | undefined {
  const groups = Object.keys(MANAGED_GROUP_LABEL_NAMESPACES) as ManagedRuleGroupName[];
  return groups.find((group) => label.startsWith(MANAGED_GROUP_LABEL_NAMESPACES[group]));
}

/**
 * Why no rule evaluated before the rate rules adds `label`, or undefined when one does.
 * `challengeUsage` is `antiDdos.challenge.usage` in force.
 */
function unproducedLabelProblem(
  label: string,
  listed: readonly string[],
  challengeUsage: AntiDdosConfig['challenge']['usage'],
): string | undefined {
  const group = groupOf(label);
  if (group === undefined)
    return `${quoteConfigValue(label)} is added by no rule of this web ACL: only managed rule groups add labels here, and only ${LABELLING_GROUPS.join(', ')} runs before the rate rules (its labels start with ${MANAGED_GROUP_LABEL_NAMESPACES[ANTI_DDOS_GROUP]})`;
  if (!listed.includes(group))
    return `${quoteConfigValue(label)} is a label of ${group}, which managedRuleGroups does not list: add the group, or the rule counts nothing`;
  if (!LABELLING_GROUPS.includes(group))
    return `${quoteConfigValue(label)} is a label of ${group}, which the web ACL evaluates after the rate rules, so that no rate rule sees it; only the labels of ${LABELLING_GROUPS.join(', ')} reach them`;
  if (group === ANTI_DDOS_GROUP && !ANTI_DDOS_LABELS.includes(label))
    return `${quoteConfigValue(label)} is not one of the labels ${group} adds: ${ANTI_DDOS_LABELS.map((known) => known.slice(MANAGED_GROUP_LABEL_NAMESPACES[group].length)).join(', ')} (after ${MANAGED_GROUP_LABEL_NAMESPACES[group]})`;
  if (challengeUsage === 'DISABLED' && CHALLENGE_LABELS.includes(label))
    return `${quoteConfigValue(label)} is added only by ${group}'s challenge rules, which do not run while antiDdos.challenge.usage is DISABLED: no request carries it, so the rule counts nothing; set usage ENABLED, or scope the rule to a suspicion label`;
  return undefined;
}

/**
 * Each `rateRules[i].labels[j]` that no rule evaluated before the rate rules can add (including a
 * challenge label while `antiDdos.challenge.usage` is DISABLED, see {@link CHALLENGE_LABELS}), and
 * each label a rule lists twice; one problem per label, naming it.
 */
export function ruleLabelProblems(config: {
  readonly rateRules: readonly { readonly labels?: readonly string[] | undefined }[];
  readonly managedRuleGroups: readonly string[];
  readonly antiDdos?: AntiDdosConfig | undefined;
}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const challengeUsage = antiDdosSettings(config.antiDdos).challenge.usage;
  config.rateRules.forEach((rule, index) => {
    (rule.labels ?? []).forEach((label, at, labels) => {
      const path = ['rateRules', index, 'labels', at];
      const first = labels.indexOf(label);
      const message =
        first < at
          ? `repeats rateRules[${index}].labels[${first}]: list each label once`
          : unproducedLabelProblem(label, config.managedRuleGroups, challengeUsage);
      if (message !== undefined) problems.push({ path, message });
    });
  });
  return problems;
}

/** The suspicion labels `DDoSRequests` blocks at each `blockSensitivity`, and the label of that rule itself. */
function labelsBlockedAt(sensitivity: AntiDdosConfig['blockSensitivity']): string[] {
  const levels = { LOW: ['high'], MEDIUM: ['high', 'medium'], HIGH: ['high', 'medium', 'low'] }[sensitivity];
  const namespace = MANAGED_GROUP_LABEL_NAMESPACES[ANTI_DDOS_GROUP];
  return [...levels.map((level) => `${namespace}${level}-suspicion-ddos-request`), `${namespace}DDoSRequests`];
}

/** A label-scoped rule worth a second look: what `cdk synth` prints as a warning. */
export interface RuleLabelWarning {
  readonly id: string;
  readonly message: string;
}

/**
 * Label-scoped rate rules whose every label marks a request that the Anti-DDoS group blocks
 * itself at `antiDdos.blockSensitivity`: the group runs first and ends those requests, so the rule
 * counts next to nothing and the blocker never learns of their senders. Allowed (the group's
 * actions could change), but said at synth.
 */
export function ruleLabelWarnings(config: {
  readonly rateRules: readonly { readonly name: string; readonly labels?: readonly string[] | undefined }[];
  readonly antiDdos?: AntiDdosConfig | undefined;
}): RuleLabelWarning[] {
  const sensitivity = antiDdosSettings(config.antiDdos).blockSensitivity;
  const blocked = labelsBlockedAt(sensitivity);
  return config.rateRules.flatMap((rule, index) => {
    const labels = rule.labels ?? [];
    if (labels.length === 0 || !labels.every((label) => blocked.includes(label))) return [];
    return [
      {
        id: 'waf-autoblock:labelsBlockedByGroup',
        message: `rateRules[${index}] (${rule.name}) counts only requests that ${ANTI_DDOS_GROUP} blocks itself at antiDdos.blockSensitivity ${sensitivity}, before the rate rules see them: it will count next to nothing. Scope it to a label the group lets through (e.g. ${MANAGED_GROUP_LABEL_NAMESPACES[ANTI_DDOS_GROUP]}${sensitivity === 'LOW' ? 'medium' : 'low'}-suspicion-ddos-request), or lower blockSensitivity`,
      },
    ];
  });
}
