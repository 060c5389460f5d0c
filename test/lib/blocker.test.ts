import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BLOCKER_ENV } from '../../lambdas/blocker/environment';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, functionOfService, resourcesOf, statementsOf } from '../support/template';

const WRITE_ACTIONS =
  /^(wafv2:(Update|Create|Delete|Put)|dynamodb:(Update|Put|Delete|BatchWrite)|sns:Publish|kms:(GenerateDataKey|Encrypt)|logs:(Put|Create))/;

const blockerFunction = (template: ReturnType<typeof synthesize>['template']) =>
  functionOfService(template, 'waf-autoblock-blocker');

describe('the blocker (default configuration)', () => {
  const { template } = synthesize();
  const [functionId, fn] = blockerFunction(template);
  const statements = statementsOf(template, fn);

  it('runs Node.js 22 on arm64 with a measured timeout and memory, one run at a time', () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 60,
      MemorySize: 512,
      ReservedConcurrentExecutions: 1,
    });
  });

  it('sets every variable the handler reads, with the configured values, next to Powertools defaults', () => {
    const variables = fn.Properties.Environment.Variables;
    for (const name of Object.values(BLOCKER_ENV)) expect(variables).toHaveProperty(name);
    expect(variables).toMatchObject({
      [BLOCKER_ENV.scope]: 'CLOUDFRONT',
      [BLOCKER_ENV.webAclName]: 'WafAutoblock-web-acl',
      [BLOCKER_ENV.rateRules]: '["rate-all"]',
      [BLOCKER_ENV.gate]: 'alarm',
      [BLOCKER_ENV.blockDurationMinutes]: '240',
      [BLOCKER_ENV.ipv4Prefix]: '24',
      [BLOCKER_ENV.ipv6Prefix]: '64',
      [BLOCKER_ENV.dryRun]: 'false',
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_METRICS_NAMESPACE: 'WafAutoblock',
    });
    expect(variables[BLOCKER_ENV.blocklistIpv4]).toEqual({
      'Fn::Join': [
        '',
        ['WafAutoblock-blocklist-ipv4|', { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv4/), 'Id'] }],
      ],
    });
  });

  it('logs to its own log group with the configured retention, named in an output', () => {
    const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasOutput('BlockerLogGroupName', { Value: { Ref: logGroupId } });
    expect((template.toJSON() as { Resources: Record<string, unknown> }).Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
  });

  it('may replace the two blocklist IP sets and no other', () => {
    const updates = statements.filter((s) => actionsOf(s).includes('wafv2:UpdateIPSet'));
    expect(updates).toHaveLength(1);
    expect(resourcesOf(updates[0]!)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv4/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv6/), 'Arn'] },
    ]);
  });

  it('reads the allowlists, the alarm, the managed keys and the ledger index only where it must', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'wafv2:GetIPSet',
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/AllowlistIpv4/), 'Arn'] },
          { 'Fn::GetAtt': [expect.stringMatching(/AllowlistIpv6/), 'Arn'] },
        ],
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['wafv2:GetRateBasedStatementManagedKeys', 'wafv2:GetSampledRequests'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/WebAcl/), 'Arn'] },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'cloudwatch:DescribeAlarms',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/BlockedRequests/), 'Arn'] },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] }, '/index/ActiveByExpiry']],
        },
      }),
    );
  });

  it('has no write action on a wildcard resource, and no scan or delete on the ledger', () => {
    for (const statement of statements) {
      const writes = actionsOf(statement).filter((action) => WRITE_ACTIONS.test(action));
      if (writes.length > 0) expect(resourcesOf(statement), `${writes.join(', ')} on *`).not.toContain('*');
      expect(actionsOf(statement)).not.toContain('dynamodb:Scan');
      expect(actionsOf(statement)).not.toContain('dynamodb:DeleteItem');
    }
    expect(statements.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(['wafv2:UpdateIPSet', 'dynamodb:UpdateItem', 'sns:Publish']),
    );
  });

  it('runs on the configured schedule and the moment the alarm topic publishes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: Match.stringLikeRegexp('AlertTopic') },
      Endpoint: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'sns.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
  });

  it('publishes reports to an encrypted, SSL-only topic it may publish to', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    const reportsId = Object.keys(topics).find((id) => id.includes('Reports'));
    expect(reportsId).toBeDefined();
    expect(topics[reportsId!]).toMatchObject({
      Properties: { KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/TopicKey/), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: reportsId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: reportsId } }));
    template.hasOutput('ReportsTopicArn', { Value: { Ref: reportsId } });
  });
});

describe('the blocker, configured', () => {
  it('passes the configured gate, duration, prefixes and dry run, and can run unreserved', () => {
    const { template } = synthesize({
      blocker: {
        gate: 'always',
        blockDurationMinutes: 60,
        ipv4Prefix: 32,
        ipv6Prefix: 128,
        dryRun: true,
        reservedConcurrency: null,
        schedule: 'rate(1 minute)',
      },
    });
    const [, fn] = blockerFunction(template);
    expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [BLOCKER_ENV.gate]: 'always',
      [BLOCKER_ENV.blockDurationMinutes]: '60',
      [BLOCKER_ENV.ipv4Prefix]: '32',
      [BLOCKER_ENV.ipv6Prefix]: '128',
      [BLOCKER_ENV.dryRun]: 'true',
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it.each([
    [{ ipv4Prefix: 7 }, 'blocker.ipv4Prefix'],
    [{ ipv4Prefix: 33 }, 'blocker.ipv4Prefix'],
    [{ ipv6Prefix: 31 }, 'blocker.ipv6Prefix'],
    [{ schedule: 'every 5 minutes' }, 'blocker.schedule'],
    [{ gate: 'sometimes' }, 'blocker.gate'],
    [{ blockDurationMinutes: 0 }, 'blocker.blockDurationMinutes'],
    [{ dryRun: 'yes' }, 'blocker.dryRun'],
    [{ reservedConcurrency: 0 }, 'blocker.reservedConcurrency'],
  ])('refuses blocker %o naming %s', (blocker, key) => {
    configErrorOf({ blocker }, key);
  });
});
