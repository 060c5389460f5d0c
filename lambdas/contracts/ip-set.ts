/**
 * WAF IP sets as the stack creates them and the functions address them: the scope, the `name|id`
 * address, the ARN of a shared set, and the quota on one set's size. A contract: imports nothing
 * outside lambdas/contracts, no AWS SDK, no CDK.
 */

/** Most addresses one WAF IP set can hold (WAF quota, not adjustable). */
export const IP_SET_CAPACITY = 10_000;

/** WAF scope: `CLOUDFRONT` resources live in us-east-1, `REGIONAL` ones beside the ALB / API. */
export type WafScope = 'CLOUDFRONT' | 'REGIONAL';

/** An IP set as the functions address it: GetIPSet needs its name, id and scope. */
export interface IpSetAddress {
  readonly name: string;
  readonly id: string;
  readonly scope: WafScope;
}

/**
 * The Block IP sets of one family, one per shard, in the order the stack created them: at least one
 * (the type says so, so `[0]` needs no check), no set twice.
 */
export type IpSetShards = readonly [IpSetAddress, ...IpSetAddress[]];

/** An IP set named by its ARN: another web ACL's, maybe in another region, that gets the same ranges. */
export interface IpSetArnAddress extends IpSetAddress {
  readonly arn: string;
  /** From the ARN; CLOUDFRONT sets are in us-east-1. */
  readonly region: string;
}

/** `arn:aws:wafv2:<region>:<account>:<global|regional>/ipset/<name>/<id>`. */
const IP_SET_ARN =
  /^arn:aws[a-z-]*:wafv2:([a-z0-9-]+):(\d{12}):(global|regional)\/ipset\/([\w-]{1,128})\/([A-Za-z0-9-]{1,128})$/;

/**
 * Reads a WAFv2 IP set ARN, or undefined when `arn` is not one. A `global` ARN is a CLOUDFRONT set,
 * which AWS keeps in us-east-1.
 */
export function parseIpSetArn(arn: string): IpSetArnAddress | undefined {
  const match = IP_SET_ARN.exec(arn);
  if (!match) return undefined;
  const [, region = '', , kind, name = '', id = ''] = match;
  const scope: WafScope = kind === 'global' ? 'CLOUDFRONT' : 'REGIONAL';
  if (scope === 'CLOUDFRONT' && region !== 'us-east-1') return undefined;
  return { arn, name, id, scope, region };
}
