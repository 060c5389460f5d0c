/**
 * The notifier with `blocker.ipSetsPerFamily`: it is told every blocklist set of each family (its
 * "ranges blocked now" sums them) and may read each of them, and no other set.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_ENV, readNotifierSettings } from '#contracts/notifier-environment';
import { synthesize } from '../support/synth';
import { actionsOf, functionOfService, resourcesOf, statementsOf } from '../support/template';

type IpSetResource = { Properties: { Name: string } };

/** The template's blocklist IP sets: logical id by set name. */
function blocklistIds(template: Template): Record<string, string> {
  const sets = template.findResources('AWS::WAFv2::IPSet') as Record<string, IpSetResource>;
  return Object.fromEntries(
    Object.entries(sets)
      .filter(([, set]) => set.Properties.Name.includes('-blocklist-'))
      .map(([id, set]) => [set.Properties.Name, id]),
  );
}

/** A variable's value once deployed, with `Fn::GetAtt [id, attr]` standing as `id.attr`. */
function deployed(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (intrinsic['Fn::GetAtt']) return intrinsic['Fn::GetAtt'].join('.');
  if (intrinsic.Ref !== undefined) return intrinsic.Ref;
  if (intrinsic['Fn::Join']) return intrinsic['Fn::Join'][1].map(deployed).join(intrinsic['Fn::Join'][0]);
  return JSON.stringify(value);
}

describe('the notifier with blocker.ipSetsPerFamily: 3', () => {
  const { template } = synthesize({ blocker: { ipSetsPerFamily: 3 } });
  const [, fn] = functionOfService(template, 'WafAutoblock-notifier');
  const ids = blocklistIds(template);
  const namesOf = (family: 'ipv4' | 'ipv6') =>
    [1, 2, 3].map((n) => `WafAutoblock-blocklist-${family}${n === 1 ? '' : `-${n}`}`);

  it("is told every set of each family, in shard order, as the handler's own reader sees it", () => {
    const variables = Object.fromEntries(
      Object.entries(fn.Properties.Environment.Variables).map(([name, value]) => [name, deployed(value)]),
    );
    const { blocklist } = readNotifierSettings(variables);
    for (const [family, suffix] of [
      ['IPV4', 'ipv4'],
      ['IPV6', 'ipv6'],
    ] as const) {
      expect(blocklist[family]).toEqual(
        namesOf(suffix).map((name) => ({ name, id: `${ids[name]}.Id`, scope: 'CLOUDFRONT' })),
      );
    }
    expect(variables[NOTIFIER_ENV.blocklistIpv6]).toMatch(/^\["WafAutoblock-blocklist-ipv6\|/);
  });

  it('may read all six sets, and no other set, with GetIPSet only', () => {
    const reads = statementsOf(template, fn).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('wafv2:')),
    );
    expect(reads).toHaveLength(1);
    expect(actionsOf(reads[0]!)).toEqual(['wafv2:GetIPSet']);
    expect(resourcesOf(reads[0]!)).toEqual(
      [...namesOf('ipv4'), ...namesOf('ipv6')].map((name) => ({ 'Fn::GetAtt': [ids[name], 'Arn'] })),
    );
    expect(Object.keys(ids)).toHaveLength(6);
  });
});
