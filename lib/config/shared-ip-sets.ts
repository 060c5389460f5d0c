/**
 * `blocker.sharedIpSets`: IP sets of other web ACLs that get the same managed ranges, named by
 * their ARNs. An ARN is refused at synth when the blocker could never reach the set it names:
 *
 * - not a WAFv2 IP set ARN at all (the blocker reads it with lambdas/contracts' `parseIpSetArn`);
 * - a `global` (CloudFront) set outside us-east-1: AWS keeps every CloudFront IP set there, so no
 *   such ARN exists. A global set in us-east-1 is fine from a stack in any region: the blocker
 *   opens a WAF client per region (lambdas/blocker/handler.ts, `wafClientsByRegion`);
 * - an id that is not WAF's: WAFv2 ids are lowercase UUIDs
 *   (https://docs.aws.amazon.com/waf/latest/APIReference/API_GetIPSet.html, `Id`:
 *   `^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$`); GetIPSet refuses any other, and an IAM
 *   policy on a differently cased ARN matches no set;
 * - a partition other than the region's (`arn:aws-cn:` with eu-west-1) or the stack's
 *   ({@link sharedIpSetPartitionProblems}): one set of credentials reaches one partition only;
 * - a region that aws-cdk-lib does not know (`mars-north-1`), refused as `associations` refuses it;
 * - the same set twice (the same id in the same account, region and scope), which would be written twice
 *   per run, each write racing the other's lock token;
 * - one of this stack's own IP sets by name ({@link sharedIpSetOwnSetProblems}): the blocker would
 *   write attacker ranges into the set its ALLOW rule reads.
 */
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { z } from 'zod';
import { parseIpSetArn } from '#contracts/ip-set';
import { unknownRegionProblem } from './associations';
import { describeConfigValue, type ConfigProblem } from './config-error';

/** The most IP sets the blocker shares its ranges with. */
export const MAX_SHARED_IP_SETS = 20;

const EXAMPLE = 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/name/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d';
const NOT_AN_ARN = `must be a WAFv2 IP set ARN such as ${EXAMPLE}`;
const WAF_ID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/;

/** The partition of a region (`aws`, `aws-cn`, `aws-us-gov`, …) as the CDK knows it; undefined for a region it does not know. */
export function partitionOfRegion(region: string): string | undefined {
  return RegionInfo.get(region).partition;
}

/** What is wrong with one shared IP set ARN on its own, or undefined. */
export function sharedIpSetArnProblem(arn: string): string | undefined {
  const [, partition = '', , region = '', , resource = ''] = arn.split(':');
  const [kind, , name, id = ''] = resource.split('/');
  if (kind === 'global' && region !== 'us-east-1' && parseIpSetArn(arn.replace(`:${region}:`, ':us-east-1:'))) {
    return `is a CloudFront (global) IP set in ${region}, but AWS keeps every CloudFront IP set in us-east-1: its ARN reads arn:${partition}:wafv2:us-east-1:…:global/ipset/${name ?? ''}/…; copy the ARN from the IP set in the console or from aws wafv2 list-ip-sets --scope CLOUDFRONT --region us-east-1`;
  }
  if (parseIpSetArn(arn) === undefined) return NOT_AN_ARN;
  if (!WAF_ID.test(id)) {
    const lower = id.toLowerCase();
    return WAF_ID.test(lower)
      ? `has the id ${id} in capitals, but WAF ids are lowercase and GetIPSet refuses any other: write ${lower}`
      : `has the id ${describeConfigValue(id)}, but WAF IP set ids are lowercase UUIDs such as 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d; copy the ARN from the IP set in the console or from aws wafv2 list-ip-sets`;
  }
  const unknownRegion = unknownRegionProblem(region);
  if (unknownRegion !== undefined) return unknownRegion;
  const regionPartition = partitionOfRegion(region);
  if (regionPartition !== undefined && regionPartition !== partition) {
    return `names partition ${partition} (arn:${partition}:) with region ${region}, which is in partition ${regionPartition}: write arn:${regionPartition}:`;
  }
  return undefined;
}

/** The `blocker.sharedIpSets` key: up to 20 ARNs, each of a set the blocker can reach, none twice. */
export const sharedIpSetsSchema = z
  .array(
    z.string({ error: NOT_AN_ARN }).superRefine((arn, ctx) => {
      const problem = sharedIpSetArnProblem(arn);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  )
  .max(MAX_SHARED_IP_SETS, `may hold at most ${MAX_SHARED_IP_SETS} IP sets`)
  .superRefine((arns, ctx) => {
    const seen = new Map<string, number>();
    arns.forEach((arn, index) => {
      const set = parseIpSetArn(arn);
      if (set === undefined) return;
      // The id names the set; a second ARN with its id is the same set (or a mistyped name).
      const key = `${arn.split(':')[4] ?? ''} ${set.region} ${set.scope} ${set.id}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `names the same IP set as blocker.sharedIpSets[${first}] (id ${set.id} in ${set.region}); list each set once`,
        });
    });
  });

/**
 * The shared IP sets in another partition than the stack's, one problem each, naming
 * `blocker.sharedIpSets[N]`. The stack's region is known from the configuration when the scope is
 * CLOUDFRONT (us-east-1) or `region` is set; otherwise (the CLI's region) nothing is refused here.
 */
export function sharedIpSetPartitionProblems(config: {
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  readonly region?: string | undefined;
  readonly blocker: { readonly sharedIpSets: readonly string[] };
}): ConfigProblem[] {
  const region = config.scope === 'CLOUDFRONT' ? 'us-east-1' : config.region;
  const stackPartition = region === undefined ? undefined : partitionOfRegion(region);
  if (region === undefined || stackPartition === undefined) return [];
  return config.blocker.sharedIpSets.flatMap((arn, index) => {
    const partition = arn.split(':')[1] ?? '';
    if (partition === stackPartition) return [];
    return [
      {
        path: ['blocker', 'sharedIpSets', index],
        message: `is in partition ${partition} (arn:${partition}:), but this stack deploys to ${region} in partition ${stackPartition}: the blocker's credentials reach one partition only; share with a set in ${stackPartition}, or deploy a stack in ${partition} for it`,
      },
    ];
  });
}

/**
 * What an IP set named `name` is to a stack named `stackName` (the prefix of its WAF names, see
 * lib/blocklist-web-acl), when it is one of the sets the stack creates, or a set that any
 * waf-autoblock deployment's ALLOW rule or proxy trust reads; undefined for any other name.
 */
function ownSetRole(name: string, stackName: string): string | undefined {
  const own = name.startsWith(`${stackName}-`) ? name.slice(stackName.length + 1) : undefined;
  if (own !== undefined && /^blocklist-ipv[46](-\d+)?$/.test(own))
    return `this stack's own blocklist set ${name}, which the blocker already writes`;
  if (/-allowlist-ipv[46]$/.test(name))
    return `${own === undefined ? 'the allowlist set of a waf-autoblock deployment' : "this stack's own allowlist set"} ${name}, which its ALLOW rule reads`;
  if (/-trusted-proxies-ipv[46]$/.test(name))
    return `${own === undefined ? 'the trusted-proxy set of a waf-autoblock deployment' : "this stack's own trusted-proxy set"} ${name}, whose addresses the web ACL trusts to name the client`;
  return undefined;
}

/**
 * Shared IP sets that are this stack's own sets by name (the blocklist shards, the allowlist and
 * trusted-proxy sets), or any deployment's allowlist or trusted-proxy set: the blocker would write
 * attacker ranges into a set that allows or trusts what it holds. One problem each, naming
 * `blocker.sharedIpSets[N]`.
 */
export function sharedIpSetOwnSetProblems(config: {
  readonly stackName: string;
  readonly blocker: { readonly sharedIpSets: readonly string[] };
}): ConfigProblem[] {
  return config.blocker.sharedIpSets.flatMap((arn, index) => {
    const set = parseIpSetArn(arn);
    const role = set === undefined ? undefined : ownSetRole(set.name, config.stackName);
    if (role === undefined) return [];
    return [
      {
        path: ['blocker', 'sharedIpSets', index],
        message: `is ${role}: the blocker would write the ranges it blocks into it; list only other web ACLs' blocklist sets`,
      },
    ];
  });
}
