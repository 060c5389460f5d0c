import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { afterAll, describe, expect, it } from 'vitest';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '#contracts/health';
import { OperationsDashboard, wafRuleMetricsOf } from '../../lib/dashboard';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import type { FunctionResource } from '../support/template';

/** One metric line of a graph, read back from the dashboard JSON. */
interface DrawnMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly options: { label?: string; stat?: string; region?: string };
}
interface Widget {
  readonly type: string;
  readonly properties: {
    title?: string;
    markdown?: string;
    region?: string;
    alarms?: string[];
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number; label?: string }[] };
  };
}

/**
 * The text CloudFormation would make of a template value, with each reference written as
 * `<Ref:LogicalId>` or `<GetAtt:LogicalId.Attribute>` (the dashboard body and the URL are Fn::Joins).
 */
function resolved(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(resolved).join(separator);
  }
  if ('Ref' in object) return `<Ref:${String(object.Ref)}>`;
  if ('Fn::GetAtt' in object) return `<GetAtt:${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The one dashboard of a template: its logical id, name and widgets. */
function dashboardOf(template: Template): { id: string; name: unknown; widgets: Widget[] } {
  const dashboards = Object.entries(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const [id, resource] = dashboards[0]! as [string, { Properties: { DashboardName: unknown; DashboardBody: unknown } }];
  const body = JSON.parse(resolved(resource.Properties.DashboardBody)) as { widgets: Widget[] };
  return { id, name: resource.Properties.DashboardName, widgets: body.widgets };
}

function metricsOf(widget: Widget): DrawnMetric[] {
  return (widget.properties.metrics ?? []).map((line) => {
    const options = (typeof line.at(-1) === 'object' ? line.at(-1) : {}) as DrawnMetric['options'];
    const [namespace, metricName, ...rest] = line.filter((part) => typeof part === 'string');
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i]!] = rest[i + 1]!;
    // CloudWatch draws a line without `stat` as its Average (and CDK leaves Average out).
    return { namespace: namespace!, metricName: metricName!, dimensions, options: { stat: 'Average', ...options } };
  });
}

function widgetTitled(widgets: readonly Widget[], title: RegExp): Widget {
  const found = widgets.filter((widget) => title.test(widget.properties.title ?? ''));
  expect(found, `one widget titled ${title}`).toHaveLength(1);
  return found[0]!;
}

const allMetrics = (widgets: readonly Widget[]) => widgets.flatMap(metricsOf);

describe('the dashboard (default configuration: CLOUDFRONT, in us-east-1)', () => {
  // synthesize() fails on any cdk-nag finding that no construct acknowledged with a reason.
  const { template, stack } = synthesize();
  const { id, name, widgets } = dashboardOf(template);
  /** A function's logical id and the service name it publishes its metrics under (its Powertools variable). */
  const published = (fn: lambda.Function): [string, unknown] => {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
    const resource = (template.toJSON() as { Resources: Record<string, FunctionResource> }).Resources[logicalId]!;
    return [logicalId, resource.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME];
  };
  const [blockerId, blockerService] = published(stack.protection.blocker.handler.function);
  const [notifierId, notifierService] = published(stack.protection.notifier.handler.function);

  it('is named after the stack and its region, and its console URL is the DashboardUrl output', () => {
    expect(name).toBe('WafAutoblock-us-east-1');
    const outputs = template.findOutputs('DashboardUrl');
    expect(resolved(outputs.DashboardUrl?.Value)).toBe(
      `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=<Ref:${id}>`,
    );
  });

  it("draws the web ACL's allowed and blocked requests from us-east-1, with no Region dimension (CloudFront's have none)", () => {
    const totals = metricsOf(widgetTitled(widgets, /allowed and blocked/));
    expect(totals.map((m) => [m.namespace, m.metricName, m.options.stat])).toEqual([
      ['AWS/WAFV2', 'AllowedRequests', 'Sum'],
      ['AWS/WAFV2', 'BlockedRequests', 'Sum'],
    ]);
    for (const metric of totals) {
      expect(metric.dimensions).toEqual({ WebACL: 'WafAutoblock-web-acl', Rule: 'ALL' });
      expect(metric.options.region).toBe('us-east-1');
    }
  });

  it('draws every rule of the web ACL with the metric of its action, in priority order', () => {
    const byRule = metricsOf(widgetTitled(widgets, /by rule/));
    expect(byRule.map((m) => [m.dimensions.Rule, m.metricName])).toEqual([
      ['allowlist-ipv4', 'AllowedRequests'],
      ['allowlist-ipv6', 'AllowedRequests'],
      ['blocklist-ipv4', 'BlockedRequests'],
      ['blocklist-ipv6', 'BlockedRequests'],
      ['rate-all', 'BlockedRequests'],
      ['AWSManagedRulesAmazonIpReputationList', 'BlockedRequests'],
    ]);
    for (const metric of byRule) {
      expect(metric).toMatchObject({ namespace: 'AWS/WAFV2', dimensions: { WebACL: 'WafAutoblock-web-acl' } });
      expect(metric.options.region).toBe('us-east-1');
    }
  });

  it("draws every blocker metric of the health contract, under the blocker's service name", () => {
    const blockerMetrics = [
      HEALTH_METRICS.keysSeen,
      HEALTH_METRICS.rangesAdded,
      HEALTH_METRICS.rangesExpired,
      HEALTH_METRICS.overflow,
      HEALTH_METRICS.blocklistUtilization,
      HEALTH_METRICS.blocklistEntriesIpv4,
      HEALTH_METRICS.blocklistEntriesIpv6,
      HEALTH_METRICS.runSucceeded,
      HEALTH_METRICS.lockConflicts,
    ];
    const drawn = allMetrics(widgets).filter((m) => m.namespace === METRICS_NAMESPACE);
    for (const metricName of blockerMetrics) {
      const lines = drawn.filter((m) => m.metricName === metricName);
      expect(lines, metricName).toHaveLength(1);
      expect(lines[0]!.dimensions).toEqual({ service: blockerService });
    }
  });

  it("draws Telegram deliveries and failures under the notifier's service name", () => {
    const telegram = metricsOf(widgetTitled(widgets, /Telegram/));
    expect(telegram.map((m) => [m.namespace, m.metricName, m.dimensions, m.options.stat])).toEqual([
      [METRICS_NAMESPACE, HEALTH_METRICS.telegramDelivered, { service: notifierService }, 'Sum'],
      [METRICS_NAMESPACE, HEALTH_METRICS.telegramUndelivered, { service: notifierService }, 'Sum'],
      [METRICS_NAMESPACE, HEALTH_METRICS.opsUndelivered, { service: notifierService }, 'Sum'],
    ]);
  });

  it('draws the depth of the dead-letter queue that the dead-letters alarm watches, with its threshold', () => {
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue')).find((key) => key.includes('DeadLetters'));
    const graph = widgetTitled(widgets, /^Dead-letter queue/);
    expect(metricsOf(graph).map((m) => [m.namespace, m.metricName, m.dimensions, m.options.stat])).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: `<GetAtt:${queueId}.QueueName>` }, 'Maximum'],
    ]);
    expect(graph.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([1]);
  });

  it('draws invocations, errors and duration of both functions, and the blocker runs beside its successful ones', () => {
    const lambdaLines = (logicalId: string) =>
      allMetrics(widgets)
        .filter((m) => m.namespace === 'AWS/Lambda' && m.dimensions.FunctionName === `<Ref:${logicalId}>`)
        .map((m) => `${m.metricName}/${m.options.stat}`);
    for (const logicalId of [blockerId, notifierId]) {
      expect(lambdaLines(logicalId)).toEqual(
        expect.arrayContaining(['Invocations/Sum', 'Errors/Sum', 'Duration/Average', 'Duration/Maximum']),
      );
    }
    const runs = metricsOf(widgetTitled(widgets, /^Blocker runs$/)).map((m) => m.metricName);
    expect(runs).toEqual(expect.arrayContaining(['Invocations', HEALTH_METRICS.runSucceeded, 'Errors']));
  });

  it("marks full (100 %) and nearly full (90 %) on the fill graph, each family's capacity (its two IP sets: 20,000) and 90 % of it on its own graph, the timeout on durations", () => {
    const lines = (title: RegExp) =>
      widgetTitled(widgets, title).properties.annotations?.horizontal?.map((a) => a.value) ?? [];
    expect(lines(/fill/)).toEqual([100, 90]);
    expect(lines(/^IPv4 blocklist/)).toEqual([20_000, 18_000]);
    expect(lines(/^IPv6 blocklist/)).toEqual([20_000, 18_000]);
    expect(lines(/Blocker duration/)).toEqual([120_000]);
    expect(lines(/Notifier duration/)).toEqual([90_000]);
  });

  it("graphs each family's blocklist entries on its own, not IPv4 and IPv6 summed against one family's capacity", () => {
    const titles = widgets.map((widget) => widget.properties.title ?? '');
    expect(titles.filter((title) => /blocklist/i.test(title))).toEqual([
      'Blocklist fill: the fuller family, % of its capacity',
      'IPv4 blocklist: entries of its 2 IP sets against their capacity',
      'IPv6 blocklist: entries of its 2 IP sets against their capacity',
    ]);
    for (const [family, metricName] of [
      ['IPv4', 'BlocklistEntriesIPv4'],
      ['IPv6', 'BlocklistEntriesIPv6'],
    ] as const) {
      const graph = widgetTitled(widgets, new RegExp(`^${family} blocklist`));
      expect(metricsOf(graph).map((m) => [m.namespace, m.metricName, m.dimensions, m.options.stat])).toEqual([
        [METRICS_NAMESPACE, metricName, { service: blockerService }, 'Maximum'],
      ]);
      expect(graph.properties.annotations?.horizontal?.[0]?.label).toBe('capacity (2 IP sets × 10,000)');
    }
    expect(allMetrics(widgets).filter((m) => m.metricName === HEALTH_METRICS.rangesActive)).toEqual([]);
  });

  it("draws 31 metrics, as docs/cost.md says: within the 50 of a dashboard in CloudWatch's free tier", () => {
    expect(allMetrics(widgets)).toHaveLength(31);
  });

  it('shows the state of every alarm in the stack', () => {
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmIds.length).toBeGreaterThan(0);
    const status = widgets.filter((widget) => widget.type === 'alarm');
    expect(status).toHaveLength(1);
    expect([...(status[0]!.properties.alarms ?? [])].sort()).toEqual(alarmIds.map((a) => `<GetAtt:${a}.Arn>`).sort());
  });
});

describe('dashboard: false', () => {
  it('leaves out the dashboard and its URL output', () => {
    const { template } = synthesize({ dashboard: false });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(template.findOutputs('DashboardUrl')).toEqual({});
  });

  it('is refused when not a boolean, naming the key', () => {
    expect(configErrorOf({ dashboard: 'no' }, 'dashboard')).toContain('true or false');
  });
});

describe('the dashboard construct on its own', () => {
  const outdirs: string[] = [];
  afterAll(() => {
    for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A bare stack with two inline functions (no bundling) and the dashboard over them. */
  function build(props: {
    scope: 'CLOUDFRONT' | 'REGIONAL';
    region?: string;
    healthAlarmArns?: readonly string[];
    ipSetsPerFamily?: number;
    neighbourAction?: 'CHALLENGE' | 'CAPTCHA';
  }) {
    const outdir = mkdtempSync(join(tmpdir(), 'cdkout-dashboard-'));
    outdirs.push(outdir);
    const stack = new Stack(new App({ outdir }), 'Site', props.region ? { env: { region: props.region } } : {});
    const fn = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('export const handler = async () => {};'),
        timeout: Duration.seconds(30),
      });
    const dashboard = new OperationsDashboard(stack, 'Ops', {
      namePrefix: 'shop',
      scope: props.scope,
      webAclName: 'shop-web-acl',
      rules: [{ ruleMetricName: 'rate-login', metricName: 'BlockedRequests' }],
      blocker: { function: fn('Blocker'), serviceName: 'shop-blocker' },
      notifier: { function: fn('Notifier'), serviceName: 'shop-notifier' },
      attackAlarm: cloudwatch.Alarm.fromAlarmArn(
        stack,
        'Attack',
        'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:attack',
      ),
      healthAlarms: props.healthAlarmArns?.map((arn, index) =>
        cloudwatch.Alarm.fromAlarmArn(stack, `Health${index}`, arn),
      ),
      ipSetsPerFamily: props.ipSetsPerFamily,
      ...(props.neighbourAction === undefined ? {} : { neighbourAction: props.neighbourAction }),
    });
    return { dashboard, ...dashboardOf(Template.fromStack(stack)) };
  }

  it("addresses a REGIONAL web ACL's metrics with its Region dimension, in the stack's region", () => {
    const { widgets, name } = build({ scope: 'REGIONAL', region: 'eu-west-1' });
    expect(name).toBe('shop-eu-west-1');
    const waf = allMetrics(widgets).filter((m) => m.namespace === 'AWS/WAFV2');
    expect(waf.length).toBe(3);
    for (const metric of waf) {
      expect(metric.dimensions).toMatchObject({ WebACL: 'shop-web-acl', Region: 'eu-west-1' });
      expect(metric.options.region).toBeUndefined();
    }
  });

  it('in a stack of no fixed region, names itself and its URL after the region CloudFormation deploys to', () => {
    const { dashboard, name } = build({ scope: 'REGIONAL' });
    const stack = Stack.of(dashboard);
    expect(resolved(stack.resolve(name))).toBe('shop-<Ref:AWS::Region>');
    expect(resolved(stack.resolve(dashboard.url))).toMatch(
      /^https:\/\/<Ref:AWS::Region>\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=<Ref:AWS::Region>#dashboards:name=<Ref:/,
    );
  });

  it("draws each family's capacity from the IP sets it has: one set by default, 3 × 10,000 with three", () => {
    const capacities = (ipSetsPerFamily?: number) =>
      build({ scope: 'REGIONAL', region: 'eu-west-1', ipSetsPerFamily })
        .widgets.filter((widget) => /^IPv[46] blocklist/.test(widget.properties.title ?? ''))
        .map((widget) => [widget.properties.title, widget.properties.annotations?.horizontal?.map((a) => a.value)]);
    expect(capacities()).toEqual([
      ['IPv4 blocklist: entries of its IP set against its capacity', [10_000, 9_000]],
      ['IPv6 blocklist: entries of its IP set against its capacity', [10_000, 9_000]],
    ]);
    expect(capacities(3)).toEqual([
      ['IPv4 blocklist: entries of its 3 IP sets against their capacity', [30_000, 27_000]],
      ['IPv6 blocklist: entries of its 3 IP sets against their capacity', [30_000, 27_000]],
    ]);
  });

  it("with a neighbour tier, draws the neighbour sets' fill beside the blocklists', against the alarm's lines", () => {
    const fillOf = (neighbourAction?: 'CHALLENGE' | 'CAPTCHA') => {
      const { widgets } = build({ scope: 'REGIONAL', region: 'eu-west-1', neighbourAction });
      const graph = widgetTitled(widgets, /fill/);
      return {
        title: graph.properties.title,
        lines: metricsOf(graph).map((m) => [m.metricName, m.dimensions, m.options.stat, m.options.label]),
        annotations: graph.properties.annotations?.horizontal?.map((a) => a.value),
      };
    };
    expect(fillOf('CHALLENGE')).toEqual({
      title: 'Blocklist and neighbour set fill: the fuller family of each, % of its capacity',
      lines: [
        [HEALTH_METRICS.blocklistUtilization, { service: 'shop-blocker' }, 'Maximum', 'blocklists (maximum)'],
        [
          HEALTH_METRICS.neighbourUtilization,
          { service: 'shop-blocker' },
          'Maximum',
          'neighbour sets, CHALLENGE (maximum)',
        ],
      ],
      annotations: [100, 90],
    });
    expect(fillOf().lines).toEqual([
      [HEALTH_METRICS.blocklistUtilization, { service: 'shop-blocker' }, 'Maximum', 'fill (maximum)'],
    ]);
  });

  it('lists the health alarms it is given after the attack alarm', () => {
    const arns = ['blocker-failed', 'blocker-stopped'].map(
      (kind) => `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-health-${kind}`,
    );
    const { widgets } = build({ scope: 'CLOUDFRONT', region: 'us-east-1', healthAlarmArns: arns });
    const status = widgets.find((widget) => widget.type === 'alarm');
    expect(status?.properties.alarms).toEqual(['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:attack', ...arns]);
  });
});

describe('wafRuleMetricsOf', () => {
  it("names each rule's metric after its action, a rule group's as blocked, in priority order", () => {
    const stack = new Stack();
    const visibility = (metricName: string) => ({
      metricName,
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
    });
    const statement = { ipSetReferenceStatement: { arn: 'arn' } };
    const acl = new wafv2.CfnWebACL(stack, 'Acl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('acl'),
      rules: [
        { name: 'c', priority: 30, action: { challenge: {} }, statement, visibilityConfig: visibility('c-metric') },
        { name: 'a', priority: 10, action: { allow: {} }, statement, visibilityConfig: visibility('a-metric') },
        { name: 'b', priority: 20, action: { count: {} }, statement, visibilityConfig: visibility('b-metric') },
        {
          name: 'group',
          priority: 40,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesCommonRuleSet' } },
          visibilityConfig: visibility('group-metric'),
        },
        { name: 'd', priority: 50, action: { captcha: {} }, statement, visibilityConfig: visibility('d-metric') },
      ],
    });
    expect(wafRuleMetricsOf(acl)).toEqual([
      { ruleMetricName: 'a-metric', metricName: 'AllowedRequests' },
      { ruleMetricName: 'b-metric', metricName: 'CountedRequests' },
      { ruleMetricName: 'c-metric', metricName: 'ChallengeRequests' },
      { ruleMetricName: 'group-metric', metricName: 'BlockedRequests' },
      { ruleMetricName: 'd-metric', metricName: 'CaptchaRequests' },
    ]);
  });
});
