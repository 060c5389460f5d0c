import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ATTACK_TICK_SOURCE } from '#contracts/attack-mode';
import { BLOCKER_ENV } from '#contracts/blocker-environment';
import { parseFeedMessage } from '#blocker/feed';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, functionOfService, resourcesOf, statementsOf } from '../support/template';

const WRITE_ACTIONS =
  /^(wafv2:(Update|Create|Delete|Put)|dynamodb:(Update|Put|Delete|BatchWrite)|sns:Publish|kms:(GenerateDataKey|Encrypt)|logs:(Put|Create))/;

type SynthesizedTemplate = ReturnType<typeof synthesize>['template'];

const blockerFunction = (template: SynthesizedTemplate) => functionOfService(template, 'WafAutoblock-blocker');

/** The logical id of the one resource of `type` whose id contains `part`. */
function idOf(template: SynthesizedTemplate, type: string, part: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(part));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

const SHARED = [
  'arn:aws:wafv2:us-east-1:123456789012:global/ipset/other-site-v4/0a1b2c3d-1111-2222-3333-444455556666',
  'arn:aws:wafv2:eu-central-1:123456789012:regional/ipset/api-v6/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff',
];

describe('the blocker (default configuration)', () => {
  const { template } = synthesize();
  const [functionId, fn] = blockerFunction(template);
  const statements = statementsOf(template, fn);

  it('runs Node.js 22 on arm64 with a measured timeout, and the memory that gives it one vCPU', () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      // Attack mode: a run polls for 30 s, and its last round has 60 s.
      Timeout: 120,
      // Lambda's CPU grows with memory: one vCPU at 1,769 MB, the core the first-block bench measures on.
      MemorySize: 1769,
    });
  });

  it('takes the memory blocker.memorySize names', () => {
    const [, small] = blockerFunction(synthesize({ blocker: { memorySize: 512 } }).template);
    expect(small.Properties.MemorySize).toBe(512);
  });

  it('reserves 3 concurrent invocations: attack mode’s three pollers at most, so a ban-feed message is not throttled', () => {
    // The tick's, the schedule's and the alarm message's invocations may poll at once; runs stay
    // one at a time under the run lock, which a feed run waits on for a round instead.
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(3);
  });

  it('runs each minute for attack mode, through an alias that neither retries nor keeps a missed tick', () => {
    const ticks = Object.values(
      template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: 'rate(1 minute)' } }),
    );
    expect(ticks).toHaveLength(1);
    interface TickTarget {
      readonly Arn: { Ref: string };
      readonly RetryPolicy: unknown;
      readonly InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
    }
    const [target] = (ticks[0] as { Properties: { Targets: TickTarget[] } }).Properties.Targets;
    // The handler tells the tick from the schedule by this input.
    const { InputPathsMap, InputTemplate } = target!.InputTransformer;
    expect(InputPathsMap).toEqual({ time: '$.time' });
    expect(JSON.parse(InputTemplate.replace('<time>', '"t"'))).toEqual({ source: ATTACK_TICK_SOURCE, time: 't' });
    expect(target!.RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    const resources = (template.toJSON() as { Resources: Record<string, unknown> }).Resources;
    expect(resources[target!.Arn.Ref]).toMatchObject({
      Type: 'AWS::Lambda::Alias',
      Properties: { Name: 'attack-tick', FunctionName: { Ref: functionId } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      Qualifier: { 'Fn::Select': [7, { 'Fn::Split': [':', { Ref: target!.Arn.Ref }] }] },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: Match.absent(),
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
    // A JSON array of `name|id`, one per blocklist set (two by default: blocker.ipSetsPerFamily).
    expect(variables[BLOCKER_ENV.blocklistIpv4]).toEqual({
      'Fn::Join': [
        '',
        [
          '["WafAutoblock-blocklist-ipv4|',
          { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv4[0-9A-F]{8}$/), 'Id'] },
          '","WafAutoblock-blocklist-ipv4-2|',
          { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv4Set2/), 'Id'] },
          '"]',
        ],
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

  it('may replace the blocklist IP sets (two per family by default) and no other', () => {
    const updates = statements.filter((s) => actionsOf(s).includes('wafv2:UpdateIPSet'));
    expect(updates).toHaveLength(1);
    expect(resourcesOf(updates[0]!)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv4[0-9A-F]{8}$/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv4Set2/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv6[0-9A-F]{8}$/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^ProtectionWebAclBlocklistIpv6Set2/), 'Arn'] },
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
        // The sharded index that runs read, and the old one while a 0.1.0 table is migrated.
        Resource: [
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] }, '/index/ActiveByShard']] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] }, '/index/ActiveByExpiry']] },
        ],
      }),
    );
  });

  it('has no write action on a wildcard resource, no scan, and puts or deletes only write-ahead intent items', () => {
    for (const statement of statements) {
      const writes = actionsOf(statement).filter((action) => WRITE_ACTIONS.test(action));
      if (writes.length > 0) expect(resourcesOf(statement), `${writes.join(', ')} on *`).not.toContain('*');
      expect(actionsOf(statement)).not.toContain('dynamodb:Scan');
      expect(actionsOf(statement)).not.toContain('dynamodb:BatchWriteItem');
    }
    // The intent is written with PutItem and dropped with DeleteItem (a deployed run that adds a
    // range needs both); a range row is only ever updated, so neither may reach one.
    const wholeItemWrites = statements.filter((statement) =>
      actionsOf(statement).some((action) => action === 'dynamodb:PutItem' || action === 'dynamodb:DeleteItem'),
    );
    expect(wholeItemWrites).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['#intent#*'] } },
      }),
    ]);
    expect(statements.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(['wafv2:UpdateIPSet', 'dynamodb:UpdateItem', 'sns:Publish']),
    );
  });

  it('runs on the configured schedule and the moment the alarm topic publishes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      // Through the `scheduled` alias, whose failed ticks are not retried (the next tick repeats the run).
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('Scheduled') },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
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
      FunctionName: { Ref: Match.stringLikeRegexp('Scheduled') },
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

  describe('the ban feed', () => {
    const feedId = idOf(template, 'AWS::SNS::Topic', 'BanFeed');
    const policyId = idOf(template, 'AWS::IAM::ManagedPolicy', 'BanFeedPublisher');

    it('is a topic encrypted with the topics key, SSL-only, named in an output and in the blocker environment', () => {
      expect(template.findResources('AWS::SNS::Topic')[feedId]).toMatchObject({
        Properties: { KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/TopicKey/), 'Arn'] } },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: feedId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      expect(fn.Properties.Environment.Variables[BLOCKER_ENV.feedTopicArn]).toEqual({ Ref: feedId });
      template.hasOutput('BanFeedTopicArn', { Value: { Ref: feedId } });
    });

    it('runs the blocker for every message', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'lambda',
        TopicArn: { Ref: feedId },
        Endpoint: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'sns.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        SourceArn: { Ref: feedId },
      });
    });

    it('has a managed policy for publishers that may publish to this topic with its key, and nothing else', () => {
      const policy = template.findResources('AWS::IAM::ManagedPolicy')[policyId] as {
        Properties: Record<string, unknown> & { PolicyDocument: { Statement: unknown[] } };
      };
      expect(policy.Properties.PolicyDocument.Statement).toStrictEqual([
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: feedId } },
        {
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/TopicKey/), 'Arn'] },
        },
      ]);
      // For hosts to attach: the stack attaches it to nobody.
      expect(policy.Properties).not.toHaveProperty('Roles');
      expect(policy.Properties).not.toHaveProperty('Users');
      expect(policy.Properties).not.toHaveProperty('Groups');
      template.hasOutput('BanFeedPublisherPolicyArn', { Value: { Ref: policyId } });
    });

    it('is consumed, not published to, by the blocker', () => {
      const publishes = statements.filter((s) => actionsOf(s).includes('sns:Publish'));
      expect(publishes.flatMap(resourcesOf)).not.toContainEqual({ Ref: feedId });
    });

    it('outputs an example command whose message the feed accepts', () => {
      const outputs = (template.toJSON() as { Outputs: Record<string, { Value: { 'Fn::Join': [string, unknown[]] } }> })
        .Outputs;
      const parts = outputs.BanFeedExampleCommand?.Value['Fn::Join'][1];
      expect(parts).toEqual([
        'aws sns publish --region us-east-1 --topic-arn ',
        { Ref: feedId },
        expect.stringMatching(/^ --message '\{.*\}'$/),
      ]);
      const message = /--message '(.*)'$/.exec(String(parts?.[2]))?.[1];
      expect(parseFeedMessage(message)).toStrictEqual({
        action: { action: 'ban', address: '198.51.100.7', reason: 'test', source: 'cli@host' },
      });
    });
  });

  it('shares with no other IP set by default', () => {
    expect(fn.Properties.Environment.Variables[BLOCKER_ENV.sharedIpSets]).toBe('[]');
    const ipSetStatements = statements.filter((s) => actionsOf(s).some((action) => action.startsWith('wafv2:')));
    for (const statement of ipSetStatements) {
      for (const resource of resourcesOf(statement)) expect(typeof resource).not.toBe('string');
    }
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
    // Gate always does not read the alarm: no attack tick.
    expect(
      Object.values(template.findResources('AWS::Events::Rule')).map(
        (rule) => (rule as { Properties: { ScheduleExpression?: string } }).Properties.ScheduleExpression,
      ),
    ).toEqual(['rate(1 minute)']);
    expect(template.findResources('AWS::Lambda::Alias', { Properties: { Name: 'attack-tick' } })).toEqual({});
  });

  it('may read and replace exactly the shared IP sets, and tells the handler their ARNs', () => {
    const { template } = synthesize({ blocker: { sharedIpSets: SHARED } });
    const [, fn] = blockerFunction(template);
    const statements = statementsOf(template, fn);

    expect(JSON.parse(String(fn.Properties.Environment.Variables[BLOCKER_ENV.sharedIpSets]))).toEqual(SHARED);
    const onShared = statements.filter((s) => resourcesOf(s).some((r) => typeof r === 'string' && SHARED.includes(r)));
    expect(onShared).toStrictEqual([
      { Effect: 'Allow', Action: ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'], Resource: SHARED },
    ]);
    // Still no write on a wildcard: the ARNs are used as given.
    for (const statement of statements) {
      if (actionsOf(statement).includes('wafv2:UpdateIPSet')) expect(resourcesOf(statement)).not.toContain('*');
    }
  });

  it('refuses a shared IP set of another account at synth, naming it', () => {
    const elsewhere = SHARED[0]!.replace('123456789012', '210987654321');

    expect(() => synthesize({ blocker: { sharedIpSets: [elsewhere] } })).toThrow(
      /blocker.sharedIpSets\[0\] belongs to account 210987654321; the blocker can write IP sets only in this stack's account 123456789012/,
    );
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
    [{ memorySize: 511 }, 'blocker.memorySize'],
    [{ memorySize: 10_241 }, 'blocker.memorySize'],
    [{ memorySize: 1769.5 }, 'blocker.memorySize'],
    [{ memorySize: '1769' }, 'blocker.memorySize'],
    [{ sharedIpSets: ['arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/1234'] }, 'blocker.sharedIpSets[0]'],
  ])('refuses blocker %o naming %s', (blocker, key) => {
    configErrorOf({ blocker }, key);
  });

  it('refuses a reserved concurrency of 0 or less, or a fraction, saying the range it takes', () => {
    // A tester's finding: "must be a positive number" said neither the bound nor that null is allowed.
    for (const reservedConcurrency of [0, -3, 2.5]) {
      expect(configErrorOf({ blocker: { reservedConcurrency } }, 'blocker.reservedConcurrency')).toBe(
        'invalid configuration: blocker.reservedConcurrency must be a whole number from 1 to 900, or null (unreserved)',
      );
    }
    expect(parseConfig({ blocker: { reservedConcurrency: 1 } }).blocker.reservedConcurrency).toBe(1);
    expect(parseConfig({ blocker: { reservedConcurrency: null } }).blocker.reservedConcurrency).toBeNull();
  });

  it('refuses a reserved concurrency AWS would refuse at deploy, saying why, and takes 900', () => {
    expect(configErrorOf({ blocker: { reservedConcurrency: 1000 } }, 'blocker.reservedConcurrency')).toBe(
      'invalid configuration: blocker.reservedConcurrency must be at most 900 (got 1000): AWS refuses at deploy ' +
        "a reservation that leaves an account fewer than 100 unreserved executions, and Lambda's default limit " +
        "is 1,000 per region; the blocker's runs never overlap, so the default 3 is enough",
    );
    expect(parseConfig({ blocker: { reservedConcurrency: 900 } }).blocker.reservedConcurrency).toBe(900);
  });
});
