/**
 * `blocker.sharedIpSets` naming a set the blocker must never write (issue 10, round 3, findings 2
 * and 3): the stack's own allowlist (the blocker would write attacker ranges into the set the
 * ALLOW rule reads), its own blocklist shards, and a set in a region aws-cdk-lib does not know,
 * refused with the rule `associations` uses.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const globalSet = (name: string, id = ID) => `arn:aws:wafv2:us-east-1:123456789012:global/ipset/${name}/${id}`;
const refusal = (sharedIpSets: string[], extra: Record<string, unknown> = {}) =>
  configErrorOf({ ...extra, blocker: { sharedIpSets } }, 'blocker.sharedIpSets[0]');

describe("a shared IP set that is one of the stack's own sets", () => {
  it("the stack's own IPv4 allowlist set is refused: its ALLOW rule reads it", () => {
    expect(refusal([globalSet('WafAutoblock-allowlist-ipv4')])).toBe(
      "invalid configuration: blocker.sharedIpSets[0] is this stack's own allowlist set WafAutoblock-allowlist-ipv4, which its ALLOW rule reads: the blocker would write the ranges it blocks into it; list only other web ACLs' blocklist sets",
    );
  });

  it.each([
    ['WafAutoblock-allowlist-ipv6', "this stack's own allowlist set"],
    ['WafAutoblock-blocklist-ipv4', "this stack's own blocklist set"],
    ['WafAutoblock-blocklist-ipv6-3', "this stack's own blocklist set"],
    ['WafAutoblock-trusted-proxies-ipv4', "this stack's own trusted-proxy set"],
    ['Shop-allowlist-ipv4', 'the allowlist set of a waf-autoblock deployment'],
  ])('%s is refused as %s', (name, role) => {
    expect(refusal([globalSet(name)])).toContain(`is ${role} ${name}`);
  });

  it('the prefix follows stackName', () => {
    expect(refusal([globalSet('Shop-blocklist-ipv4')], { stackName: 'Shop' })).toContain(
      "this stack's own blocklist set",
    );
  });

  it("another stack's blocklist and any other name are accepted", () => {
    const sets = [globalSet('Shop-blocklist-ipv4'), globalSet('WafAutoblock-allowlist-ipv4-old', ID.replace('1', '2'))];
    expect(parseConfig({ blocker: { sharedIpSets: sets } }).blocker.sharedIpSets).toEqual(sets);
  });
});

describe('a shared IP set in a region aws-cdk-lib does not know', () => {
  it('mars-north-1 is refused as associations refuses it', () => {
    const mars = `arn:aws:wafv2:mars-north-1:123456789012:regional/ipset/site/${ID}`;
    expect(refusal([mars])).toContain(
      `names region "mars-north-1", which is not an AWS region (aws-cdk-lib's region list)`,
    );
    const association = 'arn:aws:elasticloadbalancing:mars-north-1:123456789012:loadbalancer/app/web/0123456789abcdef';
    expect(
      configErrorOf({ scope: 'REGIONAL', region: 'eu-west-1', associations: [association] }, 'associations[0]'),
    ).toContain(`names region "mars-north-1", which is not an AWS region (aws-cdk-lib's region list)`);
  });
});
