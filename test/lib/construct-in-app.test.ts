/**
 * WafAutoblock dropped into someone else's app: a bare stack inside a Stage, a stack with its own
 * stackName, a nested stack. What its resources are called, what `cdk destroy` leaves behind, and
 * that cdk-nag finds nothing there either.
 */
import { App, type CfnElement, NestedStack, Stack, type StackProps, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { outputOf } from '../../cli/deployment';
import { namePrefixOfWebAcl } from '../../cli/health-alarms';
import { WafAutoblock } from '../../lib/waf-autoblock';
import { MAX_NAME_PREFIX_LENGTH, namePrefixOf } from '../../lib/waf-autoblock/name-prefix';
import { configErrorFrom, configErrorOf } from '../support/config-errors';
import { synthesizeChecked, TEST_APP_CONTEXT } from '../support/synth';
import { evaluateIntrinsics, retainedResources, wafLogGroupOf } from '../support/template';

/** Names and policies are what these tests read: the Lambdas need not be bundled. */
const NO_BUNDLING = { ...TEST_APP_CONTEXT, 'aws:cdk:bundling-stacks': [] };
const ENV = { account: '123456789012', region: 'us-east-1' };
const stackIdOf = (name: string) =>
  `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/7e2c4f10-3b5a-11f1-9c2d-0a1b2c3d4e5f`;

/** The names a user finds in the WAF and CloudWatch consoles. */
function namesIn(template: Template, stackName: string) {
  const named = (type: string) =>
    Object.values(template.findResources(type)).map((r) => (r as { Properties: { Name: string } }).Properties.Name);
  const [, logGroup] = wafLogGroupOf(template);
  const [alarm] = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'BlockedRequests' } }),
  ) as {
    Properties: { Dimensions: { Name: string; Value: unknown }[] };
  }[];
  return {
    webAcls: named('AWS::WAFv2::WebACL'),
    ipSets: named('AWS::WAFv2::IPSet').sort(),
    logGroup: evaluateIntrinsics(logGroup.Properties?.LogGroupName, { 'AWS::StackId': stackIdOf(stackName) }),
    alarmWebAcl: alarm?.Properties.Dimensions.find((d) => d.Name === 'WebACL')?.Value,
  };
}

/** The default stack's IP sets: two blocklist sets per family (blocker.ipSetsPerFamily). */
const ipSetsOf = (prefix: string) =>
  ['allowlist-ipv4', 'allowlist-ipv6', 'blocklist-ipv4', 'blocklist-ipv4-2', 'blocklist-ipv6', 'blocklist-ipv6-2'].map(
    (list) => `${prefix}-${list}`,
  );

describe('WafAutoblock in stacks of another app, with cdk-nag', () => {
  const app = new App({ context: NO_BUNDLING });
  // A bare, environment-agnostic stack: no props at all.
  const bare = new Stack(new Stage(app, 'Staging'), 'Web');
  new WafAutoblock(bare, 'Protection');
  const named = new Stack(new Stage(app, 'Prod'), 'Web', { stackName: 'shop-web', env: ENV });
  new WafAutoblock(named, 'Protection', { removalPolicy: { ledger: 'destroy', logs: 'destroy' } });
  const mixed = new Stack(app, 'Api', { env: ENV });
  new WafAutoblock(mixed, 'Protection', { removalPolicy: { logs: 'destroy' } });
  // Throws, listing them, on any cdk-nag or template finding that no construct acknowledged.
  const [inStage, withStackName, logsDestroyed] = synthesizeChecked(app, [bare, named, mixed]) as [
    Template,
    Template,
    Template,
  ];

  it('names everything after the stack name that the CDK derives inside a Stage (Staging-Web), not the stage', () => {
    expect(namesIn(inStage, 'Staging-Web')).toEqual({
      webAcls: ['Staging-Web-web-acl'],
      ipSets: ipSetsOf('Staging-Web'),
      logGroup: 'aws-waf-logs-Staging-Web-7e2c4f10',
      alarmWebAcl: 'Staging-Web-web-acl',
    });
  });

  it("names everything after an explicit stackName (shop-web), not the stage's or the stack's id", () => {
    expect(namesIn(withStackName, 'shop-web')).toEqual({
      webAcls: ['shop-web-web-acl'],
      ipSets: ipSetsOf('shop-web'),
      logGroup: 'aws-waf-logs-shop-web-7e2c4f10',
      alarmWebAcl: 'shop-web-web-acl',
    });
  });

  it('by default leaves the ledger and every log group behind on cdk destroy, and nothing else', () => {
    const retained = retainedResources(inStage);
    expect(retained.map(([, r]) => r.Type).filter((type) => type !== 'AWS::Logs::LogGroup')).toEqual([
      'AWS::DynamoDB::Table',
    ]);
    inStage.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    inStage.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it("with removalPolicy { ledger: 'destroy', logs: 'destroy' } leaves nothing behind", () => {
    expect(retainedResources(withStackName)).toEqual([]);
    withStackName.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    withStackName.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it("with removalPolicy { logs: 'destroy' } keeps the ledger only: each setting applies to its own resources", () => {
    expect(retainedResources(logsDestroyed).map(([, r]) => r.Type)).toEqual(['AWS::DynamoDB::Table']);
    logsDestroyed.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it('schedules every KMS key for deletion under every setting', () => {
    for (const template of [inStage, withStackName, logsDestroyed]) {
      expect(Object.keys(template.findResources('AWS::KMS::Key')).length).toBeGreaterThan(0);
      template.allResources('AWS::KMS::Key', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
  });
});

describe('the cdk-nag check of these tests', () => {
  it('fails on a finding in a stack inside a Stage, so that "no finding" above means something', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(new Stage(app, 'Prod'), 'Web');
    new sns.Topic(stack, 'Plain'); // no enforceSSL: AwsSolutions-SNS3
    expect(() => synthesizeChecked(app, [stack])).toThrow(/AwsSolutions-SNS3/);
  });
});

describe('name prefix', () => {
  const app = new App({ context: NO_BUNDLING });
  let stacks = 0;
  const newStack = (props?: StackProps) => new Stack(app, `Stack${stacks++}`, props);

  it('is the stack name when that fits, else its start and a digest: at most 100 WAF name characters, distinct per name', () => {
    const stackName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
    fc.assert(
      fc.property(stackName, stackName, (a, b) => {
        const [prefixA, prefixB] = [a, b].map((name) => namePrefixOf(newStack({ stackName: name })));
        for (const [name, prefix] of [
          [a, prefixA],
          [b, prefixB],
        ] as const) {
          expect(prefix).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(prefix?.length).toBeLessThanOrEqual(MAX_NAME_PREFIX_LENGTH);
          if (name.length <= MAX_NAME_PREFIX_LENGTH) expect(prefix).toBe(name);
          else expect(prefix?.startsWith(name.slice(0, 91))).toBe(true);
        }
        expect(prefixA === prefixB).toBe(a === b);
      }),
      { numRuns: 200 },
    );
  });

  it('names the web ACL of a 128-character stack name within WAF limits', () => {
    const stack = newStack({ stackName: `shop-${'x'.repeat(123)}` });
    const { webAcl } = new WafAutoblock(stack, 'Protection');
    expect(webAcl.webAclName).toMatch(/^shop-x{86}-[0-9a-f]{8}-web-acl$/);
    expect(webAcl.webAclName.length).toBeLessThanOrEqual(128);
  });

  it('is namePrefix when given, whatever the stack is called', () => {
    const stack = newStack({ stackName: 'shop-web' });
    expect(new WafAutoblock(stack, 'Protection', { namePrefix: 'shop_eu' }).webAcl.webAclName).toBe('shop_eu-web-acl');
  });

  it.each(['', 'shop.web', 'shop web', 'x'.repeat(101)])('refuses namePrefix %j, naming the key', (namePrefix) => {
    const stack = newStack();
    const message = configErrorFrom(() => new WafAutoblock(stack, 'Protection', { namePrefix }), 'namePrefix');
    expect(message).toContain('1 to 100 letters, digits, "-" or "_"');
  });

  it('asks for namePrefix in a nested stack, whose name CloudFormation makes at deploy time', () => {
    const nested = new NestedStack(newStack(), 'Protection');
    const message = configErrorFrom(() => new WafAutoblock(nested, 'Protection'), 'namePrefix');
    expect(message).toContain('only known at deploy time');
    expect(new WafAutoblock(nested, 'Named', { namePrefix: 'shop-web' }).webAcl.webAclName).toBe('shop-web-web-acl');
  });
});

describe('removalPolicy configuration', () => {
  it.each([
    [{ ledger: 'keep' }, 'removalPolicy.ledger'],
    [{ logs: 'delete' }, 'removalPolicy.logs'],
  ])('refuses %j, naming the key, the two settings and what it got', (removalPolicy, key) => {
    const got = JSON.stringify(Object.values(removalPolicy)[0]);
    expect(configErrorOf({ removalPolicy }, key)).toContain(`must be retain or destroy (got ${got})`);
  });
});

describe('where the construct may go', () => {
  it('refuses scope CLOUDFRONT in a stack outside us-east-1, naming scope and the region', () => {
    const stack = new Stack(new App(), 'Web', { env: { account: '123456789012', region: 'eu-west-1' } });
    const message = configErrorFrom(() => new WafAutoblock(stack, 'Protection'), 'scope');
    expect(message).toMatch(/scope CLOUDFRONT needs a stack in us-east-1.*got stack Web in eu-west-1/);
    expect(() => new WafAutoblock(stack, 'Regional', { scope: 'REGIONAL' })).not.toThrow();
  });

  it('refuses a second construct with the same name prefix in one stack, saying to give each its own namePrefix', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    new WafAutoblock(stack, 'Shop');
    const message = configErrorFrom(() => new WafAutoblock(stack, 'Blog'), 'namePrefix');
    expect(message).toMatch(/namePrefix "Web" of Web\/Blog is already used by Web\/Shop in the same stack; give each/);
    expect(() => new WafAutoblock(stack, 'Api', { namePrefix: 'Web-api' })).not.toThrow();
  });
});

describe('the name the CLI reads back', () => {
  it("finds the name prefix of the health alarms in the web ACL's name, for any prefix", () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    for (const namePrefix of ['shop', 'shop-web-acl', 'a_b-1']) {
      const protection = new WafAutoblock(stack, namePrefix, { namePrefix });
      expect(namePrefixOfWebAcl(protection.webAcl.webAclName)).toBe(protection.namePrefix);
    }
  });
});

describe('the outputs the CLI reads, in a stack of another app', () => {
  it('are found by the CLI in a stack with the construct and no outputs of its own', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    const protection = new WafAutoblock(stack, 'Protection');
    const template = Template.fromStack(stack);
    const outputs = new Map(
      Object.entries(template.toJSON().Outputs as Record<string, { Value: unknown }>).map(([key, output]) => [
        key,
        JSON.stringify(output.Value),
      ]),
    );
    const functionId = stack.getLogicalId(protection.blocker.handler.function.node.defaultChild as CfnElement);
    expect(outputOf(outputs, 'BlockerFunctionName', 'stack Web')).toBe(JSON.stringify({ Ref: functionId }));
    expect(outputOf(outputs, 'BlockerLogGroupName', 'stack Web')).toContain('Blocker');
  });
});

describe('the outputs an operator uses first, in a stack of another app', () => {
  const outputsOf = (stack: Stack) =>
    new Map(
      Object.entries(Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>).map(
        ([key, output]) => [key, JSON.stringify(output.Value)],
      ),
    );

  it('are added by the construct, found by their name, and DashboardUrl only with the dashboard', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    const protection = new WafAutoblock(stack, 'Protection');
    const outputs = outputsOf(stack);
    const topicId = stack.getLogicalId(protection.ops.topic.node.defaultChild as CfnElement);
    expect(outputOf(outputs, 'OpsTopicArn', 'stack Web')).toBe(JSON.stringify({ Ref: topicId }));
    for (const name of ['DeadLetterQueueUrl', 'BanFeedTopicArn', 'DashboardUrl']) {
      expect(outputOf(outputs, name, 'stack Web'), name).not.toBe('');
    }
    expect(outputOf(outputs, 'TestAlertCommand', 'stack Web')).toContain('aws sns publish --region us-east-1');
    expect(outputOf(outputs, 'SetTelegramTokenCommand', 'stack Web')).toContain('aws secretsmanager put-secret-value');

    const bare = new Stack(new App({ context: NO_BUNDLING }), 'Bare', { env: ENV });
    new WafAutoblock(bare, 'Protection', { dashboard: false });
    expect(() => outputOf(outputsOf(bare), 'DashboardUrl', 'stack Bare')).toThrow(/has no output DashboardUrl/);
  });

  it("are left to the stack with outputs: false, as the app's own stack does to keep its plain keys", () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    new WafAutoblock(stack, 'Protection', { outputs: false });
    expect(Template.fromStack(stack).toJSON().Outputs).toBeUndefined();
  });
});

describe('notifier.opsEmail', () => {
  it('is switched off by null (as -c wafAutoblock.notifier.opsEmail=null gives), though set elsewhere', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Web', { env: ENV });
    new WafAutoblock(stack, 'Protection', { notifier: { opsEmail: null } });
    expect(parseConfig({ notifier: { opsEmail: null } }).notifier.opsEmail).toBeNull();
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 0);
  });
});
