/** Shared inputs of the notifier tests: one attack, its alarm messages, a report and the settings. */
import type { DistributionSummary } from '@aws-sdk/client-cloudfront';
import fc from 'fast-check';
import { vi, type Mock } from 'vitest';
import type { NotifierSettings } from '#contracts/notifier-environment';
import type { NotifierLogger } from '#notifier/run';
import type { AlarmNotice, AlarmTrigger, AttackSummary, HealthNotice } from '#notifier/types';
import { healthAlarmName, type HealthAlarmKind } from '#contracts/health';
import { BLOCK_REPORT_KIND, type BlockReport } from '#contracts/report';

export const MINUTE = 60_000;
/** 2025-03-14 03:00:00 UTC: the night of the attack. */
export const NOW = Date.UTC(2025, 2, 14, 3, 0, 0);
/** A token with BotFather's shape; tests assert it never shows up anywhere but the request path. */
export const TOKEN = '7012345678:AAF-test_Token_not_real_0123456789abc';
export const CHAT = '-1001234567890';
export const OTHER_CHAT = '@wafalerts';
export const ALARM_NAME = 'WafAutoblock-BlockedRequests-1A2B3C';
/** The blocker's log group, where an ops message looks up the last error. */
export const BLOCKER_LOG_GROUP = 'WafAutoblock-BlockerLogs-4D5E6F';
export const DEAD_LETTER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/WafAutoblock-DeadLetters-7G8H9I';
export const OPS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:WafAutoblock-OpsTopic';

export const SETTINGS: NotifierSettings = {
  scope: 'CLOUDFRONT',
  webAclName: 'WafAutoblock-web-acl',
  wafLogGroup: 'aws-waf-logs-WafAutoblock',
  blocklist: {
    IPV4: [{ name: 'WafAutoblock-blocklist-ipv4', id: 'v4-id', scope: 'CLOUDFRONT' }],
    IPV6: [{ name: 'WafAutoblock-blocklist-ipv6', id: 'v6-id', scope: 'CLOUDFRONT' }],
  },
  alarmName: ALARM_NAME,
  ledgerTable: 'WafAutoblock-LedgerTable-XYZ',
  telegramSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:BotToken-AbCdEf',
  chatIds: [CHAT],
  telegramApiUrl: 'http://127.0.0.1:1',
  summaryMinutes: 15,
  maxListedRanges: 20,
  blockerLogGroup: BLOCKER_LOG_GROUP,
  deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
};

export const ALARM: AlarmNotice = {
  kind: 'alarm',
  alarmName: ALARM_NAME,
  newState: 'ALARM',
  oldState: 'OK',
  reason:
    'Threshold Crossed: 1 datapoint [48213.0 (14/03/25 02:55:00)] was greater than or equal to the threshold (3000.0).',
  changedAt: NOW - 2 * MINUTE,
};

export const OK: AlarmNotice = {
  ...ALARM,
  newState: 'OK',
  oldState: 'ALARM',
  reason:
    'Threshold Crossed: 1 datapoint [12.0 (14/03/25 03:40:00)] was not greater than or equal to the threshold (3000.0).',
  changedAt: NOW + 45 * MINUTE,
};

/** The SNS message CloudWatch publishes for an alarm state change. */
export function alarmMessage(notice: AlarmNotice): string {
  return JSON.stringify({
    AlarmName: notice.alarmName,
    AlarmDescription: 'waf-autoblock: WafAutoblock-web-acl blocked at least 3000 requests in 300 s',
    AWSAccountId: '123456789012',
    AlarmConfigurationUpdatedTimestamp: '2025-03-01T10:00:00.000+0000',
    NewStateValue: notice.newState,
    NewStateReason: notice.reason,
    StateChangeTime: new Date(notice.changedAt ?? NOW).toISOString().replace('Z', '+0000'),
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${notice.alarmName}`,
    OldStateValue: notice.oldState,
    Trigger: { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2', Statistic: 'SUM', Threshold: 3000 },
  });
}

/** An SNS event as Lambda receives it. */
export function snsEvent(message: string, topic = 'AlertTopic', subject?: string, messageId = 'msg-1') {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `arn:aws:sns:us-east-1:123456789012:WafAutoblock-${topic}:sub-1`,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: `arn:aws:sns:us-east-1:123456789012:WafAutoblock-${topic}`,
          Subject: subject ?? null,
          Message: message,
          Timestamp: new Date(NOW).toISOString(),
          MessageAttributes: {},
        },
      },
    ],
  };
}

export const SUMMARY: AttackSummary = {
  windowMinutes: 15,
  top: {
    hosts: {
      ok: true,
      value: [
        { key: 'shop.example.com', count: 41_200 },
        { key: 'api.example.com', count: 6_010 },
        { key: '203.0.113.10', count: 1_003 },
      ],
    },
    clientIps: {
      ok: true,
      value: [
        { key: '198.51.100.23', count: 9_120 },
        { key: '198.51.100.77', count: 8_804 },
        { key: '2001:db8:4:5::1', count: 2_500 },
      ],
    },
    countries: {
      ok: true,
      value: [
        { key: 'NL', count: 20_000 },
        { key: 'US', count: 15_000 },
        { key: '-', count: 12 },
      ],
    },
    rules: {
      ok: true,
      value: [
        { key: 'rate-all', count: 40_000 },
        { key: 'blocklist-ipv4', count: 8_213 },
      ],
    },
  },
  cloudfront: {
    ok: true,
    value: {
      distributions: 4,
      byRequests: [
        { id: 'E2SHOP', label: 'shop.example.com', requests: 1_523_400, errorRate5xx: 2.5, errorRateTotal: 38.25 },
        { id: 'E3API', label: 'api.example.com', requests: 80_000, errorRate5xx: 0.1, errorRateTotal: 4 },
      ],
      byErrorRate: [
        { id: 'E2SHOP', label: 'shop.example.com', requests: 1_523_400, errorRate5xx: 2.5, errorRateTotal: 38.25 },
        { id: 'E3API', label: 'api.example.com', requests: 80_000, errorRate5xx: 0.1, errorRateTotal: 4 },
      ],
    },
  },
  blocked: { ok: true, value: { ipv4: 37, ipv6: 4 } },
};

export const REPORT: BlockReport = {
  kind: BLOCK_REPORT_KIND,
  version: 1,
  at: new Date(NOW).toISOString(),
  webAclName: 'WafAutoblock-web-acl',
  dryRun: false,
  collected: true,
  added: [
    { range: '198.51.100.0/24', source: 'rate-all', hits: 2 },
    { range: '2001:db8:4:5::/64', source: 'rate-login', hits: 1 },
  ],
  expired: [{ range: '192.0.2.0/24', source: 'rate-all', lastSeen: new Date(NOW - 5 * 60 * MINUTE).toISOString() }],
  overflow: { count: 0, sample: [] },
  ipSets: [
    { name: 'WafAutoblock-blocklist-ipv4', family: 'IPV4', size: 37, capacity: 10_000 },
    { name: 'WafAutoblock-blocklist-ipv6', family: 'IPV6', size: 4, capacity: 10_000 },
  ],
  topHosts: [{ host: 'shop.example.com', count: 97 }],
  rejectedKeys: { allowlisted: 1, 'non-global': 3 },
  unreadableRules: [],
};

type LogMethod = NotifierLogger['info'];

/** A logger whose calls the tests can read. */
export function recordingLogger(): { readonly [level in keyof NotifierLogger]: Mock<LogMethod> } {
  return { info: vi.fn<LogMethod>(), warn: vi.fn<LogMethod>(), error: vi.fn<LogMethod>() };
}

/** Everything a logger was given, as one string: for asserting that the token never reached a log line. */
export function loggedText(logger: ReturnType<typeof recordingLogger>): string {
  return JSON.stringify([logger.info.mock.calls, logger.warn.mock.calls, logger.error.mock.calls]);
}

/** Text that tries every trick: tags, entities, controls, surrogates, emoji, RTL, long runs. */
export const hostileText = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }), weight: 3 },
  {
    arbitrary: fc
      .array(
        fc.constantFrom(
          '<',
          '>',
          '&',
          '&amp;',
          '"',
          '</code>',
          '<b>',
          '<a href="x">',
          '\n',
          '\r',
          '\u0000',
          '\u202E',
          '\uD800',
          '\uDFFF',
          '😀',
          '👨‍👩‍👧',
          'שלום',
          'مرحبا',
          ' ',
          'x',
        ),
        { maxLength: 400 },
      )
      .map((parts) => parts.join('')),
    weight: 3,
  },
  // A 10 KB-and-more value made only of characters that escaping makes five times longer.
  { arbitrary: fc.integer({ min: 3_000, max: 12_000 }).map((n) => '&<'.repeat(n)), weight: 1 },
);

/** A CloudFront distribution as ListDistributions returns it. */
export function distribution(id: string, extra: Partial<DistributionSummary> = {}): DistributionSummary {
  return {
    Id: id,
    ARN: `arn:aws:cloudfront::123456789012:distribution/${id}`,
    Status: 'Deployed',
    LastModifiedTime: new Date(NOW),
    DomainName: `${id.toLowerCase()}.cloudfront.net`,
    Aliases: { Quantity: 0 },
    Origins: { Quantity: 0, Items: [] },
    DefaultCacheBehavior: { TargetOriginId: 'o', ViewerProtocolPolicy: 'redirect-to-https' },
    CacheBehaviors: { Quantity: 0 },
    CustomErrorResponses: { Quantity: 0 },
    Comment: '',
    PriceClass: 'PriceClass_All',
    Enabled: true,
    ViewerCertificate: {},
    Restrictions: { GeoRestriction: { RestrictionType: 'none', Quantity: 0 } },
    WebACLId: '',
    HttpVersion: 'http2',
    IsIPV6Enabled: true,
    Staging: false,
    ...extra,
  };
}

/** The stack's name prefix in the health alarms' names. */
export const NAME_PREFIX = 'WafAutoblock';
export const BLOCKER_FUNCTION = 'WafAutoblock-BlockerFunction-1A2B3C';
export const NOTIFIER_FUNCTION = 'WafAutoblock-NotifierFunction-4D5E6F';
export const DEAD_LETTER_QUEUE = 'WafAutoblock-DeadLetters-7G8H9I';

/** What each health alarm watches, as CloudWatch's SNS message describes it (lib/health's alarms). */
export const HEALTH_TRIGGERS: Readonly<Record<HealthAlarmKind, AlarmTrigger & { readonly namespace: string }>> = {
  'blocker-failed': {
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 1,
    dimensions: { FunctionName: BLOCKER_FUNCTION },
  },
  'blocker-failing': {
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    periodSeconds: 300,
    evaluationPeriods: 3,
    threshold: 1,
    dimensions: { FunctionName: BLOCKER_FUNCTION },
  },
  'blocker-stopped': {
    namespace: 'WafAutoblock',
    metricName: 'RunSucceeded',
    periodSeconds: 300,
    evaluationPeriods: 3,
    threshold: 1,
    dimensions: { service: 'WafAutoblock-blocker' },
  },
  'notifier-failed': {
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 1,
    dimensions: { FunctionName: NOTIFIER_FUNCTION },
  },
  'telegram-undelivered': {
    namespace: 'WafAutoblock',
    metricName: 'TelegramUndelivered',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 1,
    dimensions: { service: 'WafAutoblock-notifier' },
  },
  'blocklist-full': {
    namespace: 'WafAutoblock',
    metricName: 'BlocklistUtilization',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 90,
    dimensions: { service: 'WafAutoblock-blocker' },
  },
  overflow: {
    namespace: 'WafAutoblock',
    metricName: 'Overflow',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 1,
    dimensions: { service: 'WafAutoblock-blocker' },
  },
  'dead-letters': {
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 1,
    dimensions: { QueueName: DEAD_LETTER_QUEUE },
  },
};

/** 02:10 UTC, when the health alarms of these tests change state. */
export const HEALTH_CHANGED_AT = NOW - 50 * MINUTE;

/** A health alarm's state change as the notifier reads it from SNS. */
export function healthNotice(health: HealthAlarmKind, newState: string, oldState?: string): HealthNotice {
  const { metricName, periodSeconds, evaluationPeriods, threshold, dimensions } = HEALTH_TRIGGERS[health];
  const trigger: AlarmTrigger = { metricName, periodSeconds, evaluationPeriods, threshold, dimensions };
  const breaching = newState === 'ALARM';
  const runs = trigger.evaluationPeriods ?? 1;
  return {
    kind: 'health',
    health,
    alarm: {
      kind: 'alarm',
      alarmName: healthAlarmName(NAME_PREFIX, health),
      newState,
      oldState: oldState ?? (breaching ? 'OK' : 'ALARM'),
      reason:
        `Threshold Crossed: ${runs} out of the last ${runs} datapoints ` +
        `${breaching ? 'were' : 'were not'} greater than or equal to the threshold (${trigger.threshold ?? 1}.0).`,
      changedAt: HEALTH_CHANGED_AT,
      trigger,
    },
  };
}

/** The SNS message CloudWatch publishes for a health alarm's state change, with its Trigger. */
export function healthAlarmMessage(notice: HealthNotice): string {
  const { alarm } = notice;
  const { namespace, metricName, periodSeconds, evaluationPeriods, threshold, dimensions } =
    HEALTH_TRIGGERS[notice.health];
  return JSON.stringify({
    AlarmName: alarm.alarmName,
    AlarmDescription: `waf-autoblock health: ${notice.health}`,
    AWSAccountId: '123456789012',
    NewStateValue: alarm.newState,
    NewStateReason: alarm.reason,
    StateChangeTime: new Date(alarm.changedAt ?? NOW).toISOString().replace('Z', '+0000'),
    Region: 'US East (N. Virginia)',
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm.alarmName}`,
    OldStateValue: alarm.oldState,
    OKActions: [OPS_TOPIC_ARN],
    AlarmActions: [OPS_TOPIC_ARN],
    InsufficientDataActions: [],
    Trigger: {
      MetricName: metricName,
      Namespace: namespace,
      StatisticType: 'Statistic',
      Statistic: 'SUM',
      Unit: null,
      Dimensions: Object.entries(dimensions).map(([name, value]) => ({ value, name })),
      Period: periodSeconds,
      EvaluationPeriods: evaluationPeriods,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      EvaluateLowSampleCountPercentile: '',
    },
  });
}
