/**
 * The web ACL names each rule: the IP set rules by RESERVED_RULE_NAMES, each rate rule by its
 * `name`, each managed rule group by the group's name (lib/blocklist-web-acl). WAF refuses a web
 * ACL with two rules of the same name, at deploy; these checks refuse it at synth, naming the key.
 */
import type { ConfigProblem } from './config-error';

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
  config.rateRules.forEach(({ name }, index) => {
    const first = rateRules.get(name);
    if (first === undefined) rateRules.set(name, index);
    else
      problems.push({
        path: ['rateRules', index, 'name'],
        message: `duplicates the rule name "${name}" of rateRules[${first}]`,
      });
  });
  const groups = new Map<string, number>();
  config.managedRuleGroups.forEach((name, index) => {
    const first = groups.get(name);
    if (first === undefined) groups.set(name, index);
    else
      problems.push({
        path: ['managedRuleGroups', index],
        message: `lists ${name} again (managedRuleGroups[${first}]): each group becomes a web ACL rule named after it, and WAF requires unique rule names; list it once`,
      });
  });
  config.rateRules.forEach(({ name }, index) => {
    const group = groups.get(name);
    if (group !== undefined)
      problems.push({
        path: ['rateRules', index, 'name'],
        message: `"${name}" is also the name of the rule for managed rule group managedRuleGroups[${group}], and WAF requires unique rule names; rename the rate rule`,
      });
  });
  return problems;
}
