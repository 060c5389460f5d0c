import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../support/synth';
import { evaluateIntrinsics, retainedResources, wafLogGroupOf } from '../support/template';

/** The id CloudFormation gives a stack: its name and a UUID that is new with each creation. */
const STACK_ID =
  'arn:aws:cloudformation:us-east-1:123456789012:stack/WafAutoblock/1c2fa620-982a-11e3-aff7-50e2416294e0';

type Rule = {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: unknown;
  Statement: Record<string, unknown>;
};

function rulesOf(template: ReturnType<typeof synthesize>['template']): Rule[] {
  const acls = template.findResources('AWS::WAFv2::WebACL');
  const [acl] = Object.values(acls) as { Properties: { Rules: Rule[] } }[];
  if (!acl) throw new Error('no web ACL');
  return [...acl.Properties.Rules].sort((a, b) => a.Priority - b.Priority);
}

describe('default configuration (CLOUDFRONT)', () => {
  const { template } = synthesize();

  it('creates a CLOUDFRONT web ACL that allows by default, with metrics and samples on', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Name: 'WafAutoblock-web-acl',
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      VisibilityConfig: {
        MetricName: 'WafAutoblock-web-acl',
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      },
    });
  });

  it('orders rules allowlist -> blocklist -> rate rules -> managed groups, each with the right action', () => {
    const rules = rulesOf(template);
    expect(rules.map((r) => r.Name)).toEqual([
      'allowlist-ipv4',
      'allowlist-ipv6',
      'blocklist-ipv4',
      'blocklist-ipv6',
      'rate-all',
      'AWSManagedRulesAmazonIpReputationList',
    ]);
    expect(rules.map((r) => Object.keys(r.Action ?? r.OverrideAction ?? {})[0])).toEqual([
      'Allow',
      'Allow',
      'Block',
      'Block',
      'Block',
      'None',
    ]);
    for (const rule of rules) {
      expect(rule).toMatchObject({
        VisibilityConfig: { MetricName: rule.Name, CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true },
      });
    }
  });

  it('points each IP set rule at the IP set of its own list and family', () => {
    const rules = rulesOf(template);
    const ipSets = template.findResources('AWS::WAFv2::IPSet');
    const logicalIdOf = (name: string) =>
      Object.entries(ipSets).find(([, r]) => (r as { Properties: { Name: string } }).Properties.Name === name)?.[0];
    const reference = (setName: string) => ({
      IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [logicalIdOf(`WafAutoblock-${setName}`), 'Arn'] } },
    });
    for (const name of ['allowlist-ipv4', 'allowlist-ipv6']) {
      expect(rules.find((r) => r.Name === name)?.Statement).toEqual(reference(name));
    }
    // Two blocklist sets per family by default (blocker.ipSetsPerFamily), ORed in one rule.
    for (const name of ['blocklist-ipv4', 'blocklist-ipv6']) {
      expect(rules.find((r) => r.Name === name)?.Statement).toEqual({
        OrStatement: { Statements: [reference(name), reference(`${name}-2`)] },
      });
    }
  });

  it('creates six IP sets with their IP versions; the blocklists start empty', () => {
    template.resourceCountIs('AWS::WAFv2::IPSet', 6);
    for (const [list, version] of [
      ['allowlist-ipv4', 'IPV4'],
      ['allowlist-ipv6', 'IPV6'],
      ['blocklist-ipv4', 'IPV4'],
      ['blocklist-ipv4-2', 'IPV4'],
      ['blocklist-ipv6', 'IPV6'],
      ['blocklist-ipv6-2', 'IPV6'],
    ] as const) {
      template.hasResourceProperties('AWS::WAFv2::IPSet', {
        Name: `WafAutoblock-${list}`,
        Scope: 'CLOUDFRONT',
        IPAddressVersion: version,
        Addresses: [],
      });
    }
  });

  it('uses a 2,000 per 300 s per-IP rate rule over all requests', () => {
    const rate = rulesOf(template).find((r) => r.Name === 'rate-all');
    expect(rate?.Statement).toEqual({
      RateBasedStatement: { Limit: 2000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' },
    });
  });

  it('adds the Amazon IP reputation list without overriding its actions', () => {
    const group = rulesOf(template).find((r) => r.Name === 'AWSManagedRulesAmazonIpReputationList');
    expect(group?.Statement).toEqual({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' },
    });
    expect(group?.OverrideAction).toEqual({ None: {} });
  });

  it('logs only BLOCKed requests to an aws-waf-logs- group, with authorization and cookie redacted', () => {
    const [, logGroup] = wafLogGroupOf(template);
    expect(logGroup.Properties?.RetentionInDays).toBe(30);
    template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] },
      LogDestinationConfigs: [
        // The ARN without the `:*` suffix that LogGroup.logGroupArn carries: WAF rejects that form.
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:us-east-1:123456789012:log-group:',
              { Ref: Match.stringLikeRegexp('Logs') },
            ],
          ],
        },
      ],
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }],
      LoggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          { Behavior: 'KEEP', Requirement: 'MEETS_ANY', Conditions: [{ ActionCondition: { Action: 'BLOCK' } }] },
        ],
      },
    });
  });

  it('lets only the log delivery service write to the WAF log group', () => {
    const policies = template.findResources('AWS::Logs::ResourcePolicy');
    const [policy] = Object.values(policies) as { Properties: { PolicyDocument: string | Record<string, unknown> } }[];
    const text = JSON.stringify(policy?.Properties.PolicyDocument);
    expect(text).toContain('delivery.logs.amazonaws.com');
    expect(text).toContain('logs:PutLogEvents');
    expect(text).toContain('aws:SourceAccount');
  });

  it('alarms on the web ACL total BlockedRequests with CloudFront dimensions (no Region)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/WAFV2',
      MetricName: 'BlockedRequests',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 3000,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: [
        { Name: 'Rule', Value: 'ALL' },
        { Name: 'WebACL', Value: 'WafAutoblock-web-acl' },
      ],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('OkTopic') }],
    });
  });

  it('encrypts the alarm topics (and the reports, ban feed and ops topics) with a rotating customer-managed key that CloudWatch may use', () => {
    template.resourceCountIs('AWS::SNS::Topic', 5);
    template.allResourcesProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('TopicKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('refuses non-SSL publishing and lets only this alarm publish from CloudWatch', () => {
    const policies = Object.entries(template.findResources('AWS::SNS::TopicPolicy')) as [
      string,
      { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } },
    ][];
    expect(policies).toHaveLength(5);
    const alarmTopicPolicies = policies.filter(([id]) => /AlertTopic|OkTopic/.test(id));
    expect(alarmTopicPolicies).toHaveLength(2);
    for (const [, policy] of alarmTopicPolicies) {
      const statements = policy.Properties.PolicyDocument.Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sns:Publish',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Condition: expect.objectContaining({
            ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/BlockedRequests/), 'Arn'] } },
          }) as unknown,
        }),
      );
    }
  });

  it('keeps the ledger table: on demand, point-in-time recovery, TTL, both sparse active indexes, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'range', KeyType: 'HASH' }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'ActiveByExpiry',
            KeySchema: [
              { AttributeName: 'activeFamily', KeyType: 'HASH' },
              { AttributeName: 'expiresAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'ActiveByShard',
            KeySchema: [
              { AttributeName: 'activeShard', KeyType: 'HASH' },
              { AttributeName: 'expiresAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  it('names the WAF log group aws-waf-logs-<stack name>-<first 8 hex of the stack UUID>, so that a retained one never blocks a redeploy', () => {
    const [, logGroup] = wafLogGroupOf(template);
    expect(evaluateIntrinsics(logGroup.Properties?.LogGroupName, { 'AWS::StackId': STACK_ID })).toBe(
      'aws-waf-logs-WafAutoblock-1c2fa620',
    );
    const recreated = STACK_ID.replace('1c2fa620-982a-11e3', '5e6a0c10-0b1f-11f1');
    expect(evaluateIntrinsics(logGroup.Properties?.LogGroupName, { 'AWS::StackId': recreated })).toBe(
      'aws-waf-logs-WafAutoblock-5e6a0c10',
    );
  });

  it('leaves the ledger and the log groups behind on cdk destroy, and schedules the KMS key for deletion', () => {
    const retained = retainedResources(template);
    expect(new Set(retained.map(([, resource]) => resource.Type))).toEqual(
      new Set(['AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']),
    );
    for (const [, resource] of retained) expect(resource.UpdateReplacePolicy).toBe('Retain');
    template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.allResources('AWS::KMS::Key', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    // A key scheduled for deletion must not be what a retained resource needs to be read.
    const keyIds = Object.keys(template.findResources('AWS::KMS::Key'));
    expect(keyIds.length).toBeGreaterThan(0);
    for (const [, resource] of retained) {
      const text = JSON.stringify(resource);
      expect(text).not.toMatch(/KmsKeyId|KMSMasterKeyId/);
      for (const keyId of keyIds) expect(text).not.toContain(keyId);
    }
  });

  it('creates no association for CLOUDFRONT: the distribution attaches the web ACL', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });

  it('outputs what an operator needs, including the exact command that tests the alert path', () => {
    for (const name of [
      'WebAclArn',
      'WebAclName',
      'BlocklistIpv4Arn',
      'BlocklistIpv6Arn',
      'AllowlistIpv4Arn',
      'AllowlistIpv6Arn',
      'AlertTopicArn',
      'OkTopicArn',
      'AlarmName',
      'WafLogGroupName',
      'LedgerTableName',
    ]) {
      template.hasOutput(name, {});
    }
    template.hasOutput('WebAclArn', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] } });
    template.hasOutput('TestAlertCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'aws sns publish --region us-east-1 --topic-arn ',
            { Ref: Match.stringLikeRegexp('AlertTopic') },
            ' --message test',
          ],
        ],
      },
    });
  });
});

describe('REGIONAL scope with associations', () => {
  const albArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188';
  const { template } = synthesize(
    {
      scope: 'REGIONAL',
      region: 'eu-west-1',
      associations: [albArn],
      // Global ranges: behind a proxy (forwardedIp), non-global allowlist entries are refused.
      allowlist: ['81.2.69.0/24', '2a00:1450::/32', '81.2.70.7'],
      rateRules: [
        {
          name: 'login',
          limit: 100,
          windowSeconds: 60,
          uriPathPrefix: '/login',
          host: 'Shop.Example.com',
          aggregateKey: 'FORWARDED_IP',
        },
        { name: 'behind-proxy', limit: 500, aggregateKey: 'FORWARDED_IP' },
      ],
      forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', trustedProxies: ['10.0.1.0/24'] },
      managedRuleGroups: ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet'],
      logging: { retentionDays: 90, actions: ['BLOCK', 'COUNT'] },
      alarm: { threshold: 500, periodSeconds: 60, evaluationPeriods: 3 },
    },
    'eu-west-1',
  );

  it('creates a REGIONAL web ACL associated with each configured resource', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'REGIONAL' });
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: albArn,
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] },
    });
  });

  it('splits the allowlist by family and writes bare addresses as /32', () => {
    template.hasResourceProperties('AWS::WAFv2::IPSet', {
      Name: 'WafAutoblock-allowlist-ipv4',
      Addresses: ['81.2.69.0/24', '81.2.70.7/32'],
    });
    template.hasResourceProperties('AWS::WAFv2::IPSet', {
      Name: 'WafAutoblock-allowlist-ipv6',
      Addresses: ['2a00:1450::/32'],
    });
  });

  it('scopes a rate rule down to a path prefix and a Host, both as WAF normalizes what the client wrote', () => {
    const login = rulesOf(template).find((r) => r.Name === 'login');
    expect(login?.Statement).toEqual({
      RateBasedStatement: {
        Limit: 100,
        EvaluationWindowSec: 60,
        AggregateKeyType: 'FORWARDED_IP',
        ForwardedIPConfig: { HeaderName: 'X-Real-IP', FallbackBehavior: 'MATCH' },
        ScopeDownStatement: {
          AndStatement: {
            Statements: [
              {
                // `/LOGIN`, `/%6cogin`, `//login` and `/./login` all read `/login` after these.
                ByteMatchStatement: {
                  FieldToMatch: { UriPath: {} },
                  PositionalConstraint: 'STARTS_WITH',
                  SearchString: '/login',
                  TextTransformations: [
                    { Priority: 0, Type: 'URL_DECODE' },
                    { Priority: 1, Type: 'NORMALIZE_PATH' },
                    { Priority: 2, Type: 'LOWERCASE' },
                  ],
                },
              },
              {
                // `Shop.Example.com`, `shop.example.com.` and `shop.example.com:443` all match.
                RegexMatchStatement: {
                  FieldToMatch: { SingleHeader: { Name: 'host' } },
                  RegexString: '^shop\\.example\\.com\\.?(?::[0-9]{1,5})?$',
                  TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
                },
              },
            ],
          },
        },
      },
    });
  });

  it('aggregates on the forwarded IP header that the own proxy overwrites, and the blocklist matches the address it wrote', () => {
    const rules = rulesOf(template);
    expect(rules.find((r) => r.Name === 'behind-proxy')?.Statement).toEqual({
      RateBasedStatement: {
        Limit: 500,
        EvaluationWindowSec: 300,
        AggregateKeyType: 'FORWARDED_IP',
        ForwardedIPConfig: { HeaderName: 'X-Real-IP', FallbackBehavior: 'MATCH' },
      },
    });
    // Each of the two rules ORs the family's two sets (blocker.ipSetsPerFamily's default).
    const source = { IPSetReferenceStatement: { Arn: expect.anything() as unknown } };
    expect(rules.find((r) => r.Name === 'blocklist-ipv4')?.Statement).toEqual({
      OrStatement: { Statements: [source, source] },
    });
    const header = {
      IPSetReferenceStatement: {
        Arn: expect.anything() as unknown,
        IPSetForwardedIPConfig: { HeaderName: 'X-Real-IP', FallbackBehavior: 'NO_MATCH', Position: 'FIRST' },
      },
    };
    expect(rules.find((r) => r.Name === 'blocklist-ipv4-forwarded')?.Statement).toEqual({
      OrStatement: { Statements: [header, header] },
    });
  });

  it('keeps rule order with several rate rules and managed groups', () => {
    expect(rulesOf(template).map((r) => r.Name)).toEqual([
      'allowlist-ipv4',
      'allowlist-ipv4-forwarded',
      'allowlist-ipv6',
      'allowlist-ipv6-forwarded',
      'blocklist-ipv4',
      'blocklist-ipv4-forwarded',
      'blocklist-ipv6',
      'blocklist-ipv6-forwarded',
      'login',
      'behind-proxy',
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
    ]);
  });

  it('logs the configured actions with the configured retention', () => {
    const [, logGroup] = wafLogGroupOf(template);
    expect(logGroup.Properties?.RetentionInDays).toBe(90);
    template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      LoggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
  });

  it('alarms with the REGIONAL dimensions, including the Region', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 500,
      Period: 60,
      EvaluationPeriods: 3,
      Dimensions: [
        { Name: 'Region', Value: 'eu-west-1' },
        { Name: 'Rule', Value: 'ALL' },
        { Name: 'WebACL', Value: 'WafAutoblock-web-acl' },
      ],
    });
  });
});
