/**
 * The web ACL names each rule: the IP set rules by RESERVED_RULE_NAMES, each rate rule by its
 * `name`, each managed rule group by the group's name (lib/blocklist-web-acl). WAF refuses a web
 * ACL with two rules of the same name, at deploy; these checks refuse it at synth, naming the key.
 */
import type { ConfigProblem } from './config-error';

/**
 * Whether `name` is one of `names` but for case. Rule names become CloudWatch metric names,
 * dashboard lines and report labels, where `Allowlist-IPv4` and `allowlist-ipv4` read as one
 * rule, so every comparison of rule names ignores case.
 */
export function sameRuleName(name: string, names: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return names.some((other) => other.toLowerCase() === lower);
}

/**
 * Rules that would share a name: a managed rule group listed twice, a rate rule name used twice,
 * or a rate rule named like a listed managed rule group. Each problem names the later key.
 */
export function ruleNameProblems(config: {
  readonly rateRules: readonly { readonly name: string }[];
  readonly managedRuleGroups: readonly string[];
}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const rateRules = new Map<string, number>();
  const byLowerCase = new Map<string, number>();
  config.rateRules.forEach(({ name }, index) => {
    const first = rateRules.get(name);
    const sameLetters = byLowerCase.get(name.toLowerCase());
    if (first !== undefined)
      problems.push({
        path: ['rateRules', index, 'name'],
        message: `duplicates the rule name "${name}" of rateRules[${first}]: WAF requires unique rule names`,
      });
    else if (sameLetters !== undefined)
      problems.push({
        path: ['rateRules', index, 'name'],
        message: `"${name}" differs from rateRules[${sameLetters}].name only in case: their CloudWatch metrics, dashboard lines and block reports would be told apart by case alone, and WAF's own uniqueness check need not tell them apart; give the rules different names`,
      });
    rateRules.set(name, rateRules.get(name) ?? index);
    byLowerCase.set(name.toLowerCase(), byLowerCase.get(name.toLowerCase()) ?? index);
  });
  const groups = new Map<string, number>();
  config.managedRuleGroups.forEach((name, index) => {
    const first = groups.get(name.toLowerCase());
    if (first === undefined) groups.set(name.toLowerCase(), index);
    else
      problems.push({
        path: ['managedRuleGroups', index],
        message: `lists ${name} again (managedRuleGroups[${first}]): each group becomes a web ACL rule named after it, and WAF requires unique rule names; list it once`,
      });
  });
  config.rateRules.forEach(({ name }, index) => {
    const group = groups.get(name.toLowerCase());
    if (group === undefined) return;
    const groupName = config.managedRuleGroups[group] ?? '';
    problems.push({
      path: ['rateRules', index, 'name'],
      message:
        groupName === name
          ? `"${name}" is also the name of the rule for managed rule group managedRuleGroups[${group}], and WAF requires unique rule names; rename the rate rule`
          : `"${name}" differs only in case from ${groupName}, the rule for managed rule group managedRuleGroups[${group}]: rule names are compared without regard to case; rename the rate rule`,
    });
  });
  return problems;
}
