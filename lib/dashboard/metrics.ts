/**
 * The metrics the operations dashboard draws, addressed the way their publishers write them:
 * AWS WAF's per web ACL and per rule (namespace AWS/WAFV2) and the Lambdas' own (namespace
 * WafAutoblock, dimension `service`: the health contract in lambdas/contracts/health.ts).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import type { WafScope } from '../blocklist-web-acl';

/** The period of every graph: the blocker's default schedule, so that one point is about one run. */
export const DASHBOARD_PERIOD = Duration.minutes(5);

/** The request metric that a WAF rule's action counts in (AWS/WAFV2). */
export type WafRequestMetricName =
  'AllowedRequests' | 'BlockedRequests' | 'CountedRequests' | 'CaptchaRequests' | 'ChallengeRequests';

/** One rule of the web ACL as its CloudWatch metrics name it. */
export interface WafRuleMetric {
  /** The rule's metric name (its `VisibilityConfig.MetricName`): the `Rule` dimension. */
  readonly ruleMetricName: string;
  /** What its matches are counted as: a rule group's (whose rules block) as `BlockedRequests`. */
  readonly metricName: WafRequestMetricName;
}

/** Where a web ACL's metrics live. */
export interface WafMetricSource {
  readonly scope: WafScope;
  /** The web ACL's metric name: the `WebACL` dimension. */
  readonly webAclName: string;
  /** The region of a REGIONAL web ACL (a token is fine); CLOUDFRONT metrics are always in us-east-1. */
  readonly region: string;
}

/** The label of `metricName` in a legend: `BlockedRequests` reads "blocked". */
export function actionWord(metricName: WafRequestMetricName): string {
  return metricName.replace(/Requests$/, '').toLowerCase();
}

/**
 * A web ACL request metric, summed per period. For the web ACL's totals `rule` is `ALL`.
 * Dimensions as AWS documents them and as the BlockedRequests alarm uses them: `WebACL`, `Rule`,
 * and `Region` for REGIONAL only (CloudFront's carry none, and live in us-east-1).
 */
export function wafRequests(
  source: WafMetricSource,
  metricName: WafRequestMetricName,
  rule: string,
  label: string,
): cloudwatch.Metric {
  const dimensionsMap: Record<string, string> = { WebACL: source.webAclName, Rule: rule };
  if (source.scope === 'REGIONAL') dimensionsMap.Region = source.region;
  return new cloudwatch.Metric({
    namespace: 'AWS/WAFV2',
    metricName,
    dimensionsMap,
    statistic: cloudwatch.Stats.SUM,
    period: DASHBOARD_PERIOD,
    label,
    // A CloudFront web ACL's metrics exist in us-east-1 only, wherever the dashboard is.
    ...(source.scope === 'CLOUDFRONT' ? { region: 'us-east-1' } : {}),
  });
}

/** A metric name of the health contract. */
export type AutoblockMetricName = (typeof HEALTH_METRICS)[keyof typeof HEALTH_METRICS];

/**
 * A custom metric that one of the Lambdas publishes through Powertools.
 * @param serviceName the function's Powertools service name: the `service` dimension
 * @param statistic `Sum` for events (ranges added), `Maximum` for levels (ranges held)
 */
export function autoblockMetric(
  serviceName: string,
  metricName: AutoblockMetricName,
  statistic: typeof cloudwatch.Stats.SUM | typeof cloudwatch.Stats.MAXIMUM,
  label: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic,
    period: DASHBOARD_PERIOD,
    label,
  });
}

/**
 * The rules of a web ACL built by this project, as their metrics name them, in priority order:
 * each rule with the metric its action counts in (a rule group reference: `BlockedRequests`).
 * Rules whose list or visibility is still a token are left out: their names are not known at synth.
 */
export function wafRuleMetricsOf(webAcl: wafv2.CfnWebACL): WafRuleMetric[] {
  const rules = Array.isArray(webAcl.rules) ? (webAcl.rules as unknown[]) : [];
  return rules
    .filter((rule): rule is wafv2.CfnWebACL.RuleProperty => typeof rule === 'object' && rule !== null && 'name' in rule)
    .sort((a, b) => a.priority - b.priority)
    .flatMap((rule) => {
      const visibility = rule.visibilityConfig as Partial<wafv2.CfnWebACL.VisibilityConfigProperty>;
      const ruleMetricName = visibility.metricName;
      if (typeof ruleMetricName !== 'string') return [];
      return [{ ruleMetricName, metricName: requestMetricOf(rule) }];
    });
}

function requestMetricOf(rule: wafv2.CfnWebACL.RuleProperty): WafRequestMetricName {
  const action = (rule.action ?? {}) as Partial<Record<'allow' | 'block' | 'count' | 'captcha' | 'challenge', unknown>>;
  if (action.allow !== undefined) return 'AllowedRequests';
  if (action.count !== undefined) return 'CountedRequests';
  if (action.captcha !== undefined) return 'CaptchaRequests';
  if (action.challenge !== undefined) return 'ChallengeRequests';
  return 'BlockedRequests';
}
