import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_ENV } from '#contracts/notifier-environment';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';
import { actionsOf, functionOfService, resourcesOf, statementsOf, type Statement } from '../support/template';

type Template = ReturnType<typeof synthesize>['template'];
const WRITE_ACTIONS =
  /^(wafv2:(Update|Create|Delete|Put)|dynamodb:(Update|Put|Delete|BatchWrite)|sns:Publish|secretsmanager:(Put|Update|Create|Delete)|kms:(GenerateDataKey|Encrypt)|logs:(Put|Create|Delete)|cloudfront:(Update|Create|Delete))/;

const notifierFunction = (template: Template) => functionOfService(template, 'WafAutoblock-notifier');

const grantsOf = (statements: Statement[], action: string) =>
  statements.filter((statement) => actionsOf(statement).includes(action)).flatMap(resourcesOf);

describe('the notifier (default configuration: CLOUDFRONT, no chats yet)', () => {
  // synthesize() fails on any cdk-nag finding that no construct acknowledged with a reason.
  const { template } = synthesize();
  const [functionId, fn] = notifierFunction(template);
  const statements = statementsOf(template, fn);
  const variables = fn.Properties.Environment.Variables;

  it('runs Node.js 22 on arm64, with room for the queries and Telegram retries', () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 90,
      MemorySize: 256,
    });
  });

  it('sets every variable the handler reads, with the configured values', () => {
    for (const name of Object.values(NOTIFIER_ENV)) expect(variables).toHaveProperty(name);
    expect(variables).toMatchObject({
      [NOTIFIER_ENV.scope]: 'CLOUDFRONT',
      [NOTIFIER_ENV.webAclName]: 'WafAutoblock-web-acl',
      [NOTIFIER_ENV.telegramChatIds]: '[]',
      [NOTIFIER_ENV.telegramApiUrl]: 'https://api.telegram.org',
      [NOTIFIER_ENV.summaryMinutes]: '15',
      [NOTIFIER_ENV.maxListedRanges]: '20',
      [NOTIFIER_ENV.wafLogGroup]: { Ref: expect.stringMatching(/WebAclLogs/) as unknown },
      [NOTIFIER_ENV.alarmName]: { Ref: expect.stringMatching(/BlockedRequests/) as unknown },
      [NOTIFIER_ENV.telegramSecretId]: { Ref: expect.stringMatching(/NotifierBotToken/) as unknown },
    });
  });

  it('keeps the bot token out of the environment: only the secret is named there', () => {
    expect(Object.keys(variables).filter((name) => /TOKEN/i.test(name))).toEqual([]);
    expect(JSON.stringify(variables)).not.toMatch(/\d{6,}:[A-Za-z0-9_-]{20,}/);
  });

  it('creates the token secret, empty of any token, and may read that secret only', () => {
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    const secretIds = Object.keys(secrets);
    expect(secretIds).toHaveLength(1);
    expect(secrets[secretIds[0]!]).toMatchObject({
      Properties: { Description: expect.stringContaining('put-secret-value') as unknown },
    });
    expect(grantsOf(statements, 'secretsmanager:GetSecretValue')).toEqual([{ Ref: secretIds[0] }]);
  });

  it("queries the WAF log group and the blocker's only; reading and stopping queries cannot be scoped", () => {
    const logGroup = (part: RegExp) => [
      { 'Fn::GetAtt': [expect.stringMatching(part), 'Arn'] },
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':logs:us-east-1:123456789012:log-group:',
            { Ref: expect.stringMatching(part) as unknown },
          ],
        ],
      },
    ];
    expect(grantsOf(statements, 'logs:StartQuery')).toEqual([...logGroup(/WebAclLogs/), ...logGroup(/BlockerLogs/)]);
    expect(grantsOf(statements, 'logs:GetQueryResults')).toEqual(['*']);
    expect(grantsOf(statements, 'logs:StopQuery')).toEqual(['*']);
  });

  it('reads the blocklists, the alarm history and the ledger index, nothing more', () => {
    // Every blocklist set: two per family by default (blocker.ipSetsPerFamily).
    expect(grantsOf(statements, 'wafv2:GetIPSet')).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv4(?!Set)/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv4Set2/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv6(?!Set)/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/BlocklistIpv6Set2/), 'Arn'] },
    ]);
    expect(grantsOf(statements, 'cloudwatch:DescribeAlarmHistory')).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/BlockedRequests/), 'Arn'] },
    ]);
    expect(grantsOf(statements, 'dynamodb:Query')).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] }, '/index/ActiveByShard']] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] }, '/index/ActiveByExpiry']] },
    ]);
    // One item only: the marker that says whether the old index must still be read.
    expect(statements.filter((statement) => actionsOf(statement).includes('dynamodb:GetItem'))).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/Ledger/), 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['#schema'] } },
      }),
    ]);
    expect(grantsOf(statements, 'cloudfront:ListDistributions')).toEqual(['*']);
    expect(grantsOf(statements, 'cloudwatch:GetMetricData')).toEqual(['*']);
  });

  it('writes nothing but its own logs, and never on a wildcard', () => {
    const writes = statements.filter((statement) => actionsOf(statement).some((action) => WRITE_ACTIONS.test(action)));
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/NotifierLogs/), 'Arn'] },
      },
    ]);
    const wildcards = statements.filter((statement) => resourcesOf(statement).includes('*')).flatMap(actionsOf);
    expect(wildcards.sort()).toEqual([
      'cloudfront:ListDistributions',
      'cloudwatch:GetMetricData',
      'logs:GetQueryResults',
      'logs:StopQuery',
    ]);
  });

  it('is triggered by the ALARM and OK topics, the blocker reports and the health alarms', () => {
    for (const topic of ['AlertTopic', 'OkTopic', 'BlockerReports', 'OpsTopic']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'lambda',
        TopicArn: { Ref: Match.stringLikeRegexp(topic) },
        Endpoint: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    }
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'sns.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      SourceArn: { Ref: Match.stringLikeRegexp('BlockerReports') },
    });
  });

  it('bounds the retries of a failed delivery: two, within an hour', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('logs to its own log group with the configured retention', () => {
    const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect((template.toJSON() as { Resources: Record<string, unknown> }).Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
  });

  it('outputs the function, the secret and the command that stores the token', () => {
    template.hasOutput('NotifierFunctionName', { Value: { Ref: functionId } });
    // The function logs to its own group, not /aws/lambda/<name>: the README's `aws logs tail` needs this name.
    const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasOutput('NotifierLogGroupName', { Value: { Ref: logGroupId } });
    template.hasOutput('TelegramSecretId', { Value: { Ref: Match.stringLikeRegexp('NotifierBotToken') } });
    template.hasOutput('SetTelegramTokenCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'aws secretsmanager put-secret-value --region us-east-1 --secret-id ',
            { Ref: Match.stringLikeRegexp('NotifierBotToken') },
            " --secret-string '<token>'",
          ],
        ],
      },
    });
  });
});

describe('the notifier, configured', () => {
  it('uses an existing secret by name, REGIONAL scope without CloudFront reads, and the configured values', () => {
    const { template } = synthesize({
      scope: 'REGIONAL',
      region: 'eu-west-1',
      notifier: {
        chatIds: ['-1001234567890', '@wafalerts'],
        telegramApiUrl: 'https://telegram.example.com/proxy',
        summaryMinutes: 30,
        existingSecretName: 'telegram/waf-bot',
        maxListedRanges: 50,
        logRetentionDays: 90,
      },
    });
    const [, fn] = notifierFunction(template);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [NOTIFIER_ENV.scope]: 'REGIONAL',
      [NOTIFIER_ENV.telegramChatIds]: '["-1001234567890","@wafalerts"]',
      [NOTIFIER_ENV.telegramApiUrl]: 'https://telegram.example.com/proxy',
      [NOTIFIER_ENV.summaryMinutes]: '30',
      [NOTIFIER_ENV.maxListedRanges]: '50',
      [NOTIFIER_ENV.telegramSecretId]: 'telegram/waf-bot',
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const statements = statementsOf(template, fn);
    expect(grantsOf(statements, 'secretsmanager:GetSecretValue')).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:telegram/waf-bot-??????'],
        ],
      },
    ]);
    expect(grantsOf(statements, 'cloudfront:ListDistributions')).toEqual([]);
    expect(grantsOf(statements, 'cloudwatch:GetMetricData')).toEqual([]);
    template.hasOutput('TelegramSecretId', { Value: 'telegram/waf-bot' });
  });

  it.each([
    [{ chatIds: [-1001234567890] }, 'notifier.chatIds[0]'],
    [{ chatIds: ['my chat'] }, 'notifier.chatIds[0]'],
    [{ chatIds: '-100123' }, 'notifier.chatIds'],
    [{ telegramApiUrl: 'http://api.telegram.org' }, 'notifier.telegramApiUrl'],
    [{ telegramApiUrl: 'not a url' }, 'notifier.telegramApiUrl'],
    [{ summaryMinutes: 0 }, 'notifier.summaryMinutes'],
    [{ summaryMinutes: 181 }, 'notifier.summaryMinutes'],
    [{ existingSecretName: 'no spaces allowed' }, 'notifier.existingSecretName'],
    [{ maxListedRanges: 99 }, 'notifier.maxListedRanges'],
    [{ logRetentionDays: 2 }, 'notifier.logRetentionDays'],
    [{ chatId: ['-100123'] }, 'notifier.chatId'],
  ])('refuses notifier %o naming %s', (notifier, key) => {
    configErrorOf({ notifier }, key);
  });

  it('accepts 98 listed ranges, the most that fit one message of 100 entities, and says why 99 is refused', () => {
    expect(parseConfig({ notifier: { maxListedRanges: 98 } }).notifier.maxListedRanges).toBe(98);
    expect(configErrorOf({ notifier: { maxListedRanges: 99 } }, 'notifier.maxListedRanges')).toContain(
      'at most 100 entities',
    );
  });

  it('suggests the right key for a typo', () => {
    expect(() => parseConfig({ notifier: { chatId: [] } })).toThrow('did you mean "notifier.chatIds"?');
  });

  it('accepts plain http only on loopback, for a local stand-in', () => {
    expect(parseConfig({ notifier: { telegramApiUrl: 'http://127.0.0.1:8081' } }).notifier.telegramApiUrl).toBe(
      'http://127.0.0.1:8081',
    );
  });
});
