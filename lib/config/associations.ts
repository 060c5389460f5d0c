/**
 * `associations`: the regional resources that the web ACL protects, by ARN. WAF refuses at deploy
 * a resource type it cannot protect, a resource of another region or account, and the same
 * resource twice (cfn-lint already flags the duplicate as E3019); each is refused here at synth,
 * naming the entry. A CloudFront distribution is associated from the distribution's side.
 */
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { accountOfArn } from './account';
import { quoteConfigValue, type ConfigProblem } from './config-error';

/**
 * The resource types a REGIONAL web ACL can protect, as `service:resource-prefix` of their ARNs
 * (AWS WAF Developer Guide, "Associating or disassociating protection with an AWS resource";
 * AssociateWebACL `ResourceArn`). An API Gateway stage ARN has no account field.
 */
export const ASSOCIABLE_RESOURCES: readonly { readonly name: string; readonly matches: RegExp }[] = [
  { name: 'Application Load Balancer', matches: /^elasticloadbalancing:loadbalancer\/app\// },
  { name: 'API Gateway REST API stage', matches: /^apigateway:\/restapis\/[^/]+\/stages\/[^/]+$/ },
  { name: 'AppSync GraphQL API', matches: /^appsync:apis\// },
  { name: 'Cognito user pool', matches: /^cognito-idp:userpool\// },
  { name: 'App Runner service', matches: /^apprunner:service\// },
  { name: 'Verified Access instance', matches: /^ec2:verified-access-instance\// },
];

const SUPPORTED = ASSOCIABLE_RESOURCES.map((resource) => resource.name).join(', ');

/** Region names that the installed aws-cdk-lib knows (its region-info module). */
const KNOWN_REGIONS: ReadonlySet<string> = new Set(RegionInfo.regions.map((region) => region.name));

/** Why `region` is no AWS region that the CDK knows, or undefined. */
export function unknownRegionProblem(region: string): string | undefined {
  return KNOWN_REGIONS.has(region)
    ? undefined
    : `names region ${quoteConfigValue(region)}, which is not an AWS region (aws-cdk-lib's region list); check the spelling, e.g. eu-west-1`;
}

/** What is wrong with one association ARN on its own: its type or its region. */
function resourceProblem(arn: string): string | undefined {
  const [, , service = '', region = '', , ...rest] = arn.split(':');
  const resource = rest.join(':');
  if (service === 'cloudfront')
    return "is a CloudFront distribution: a CloudFront distribution is associated from the distribution's side (WebACLId); use scope CLOUDFRONT and set the web ACL on the distribution (see the WebAclArn output)";
  if (!ASSOCIABLE_RESOURCES.some((type) => type.matches.test(`${service}:${resource}`))) {
    const what = /^elasticloadbalancing:loadbalancer\/(net|gwy)\//.test(`${service}:${resource}`)
      ? 'is a Network or Gateway Load Balancer, which WAF cannot protect (it sees no HTTP requests)'
      : 'is not a resource type that WAF can protect';
    return `${what}; a REGIONAL web ACL protects: ${SUPPORTED}; CloudFront distributions only from the distribution's own setting, with scope CLOUDFRONT`;
  }
  return unknownRegionProblem(region);
}

/** The `associations` entries WAF would refuse, one problem each, naming `associations[N]`. */
export function associationProblems(config: {
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  readonly associations: readonly string[];
}): ConfigProblem[] {
  const seen = new Map<string, number>();
  return config.associations.flatMap((arn, index) => {
    const region = arn.split(':')[3];
    const account = accountOfArn(arn);
    const path = ['associations', index];
    const problem = resourceProblem(arn);
    if (problem !== undefined) return [{ path, message: problem }];
    const first = seen.get(arn);
    if (first !== undefined)
      return [
        { path, message: `repeats associations[${first}]: a resource takes one web ACL association; list it once` },
      ];
    seen.set(arn, index);
    if (config.region !== undefined && region !== config.region) {
      return [
        {
          path,
          message: `is in region ${region ?? '(none)'}; the web ACL, in region ${config.region}, can protect only resources of its own region: deploy one stack per region`,
        },
      ];
    }
    // An API Gateway stage ARN has no account field: nothing to compare.
    if (config.account !== undefined && account !== '' && account !== config.account) {
      return [
        {
          path,
          message: `belongs to account ${account ?? '(none)'}; the web ACL can protect only resources of its own account ${config.account}`,
        },
      ];
    }
    return [];
  });
}
