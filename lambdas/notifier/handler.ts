/**
 * Notifier Lambda entry: wires the adapters to the run. Clients, settings, the token cache and the
 * record of delivered messages are created once per module so that warm invocations reuse them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createCloudWatchClient } from '#adapters/alarm';
import { createCloudFrontClient } from '#adapters/cloudfront';
import { createCloudFrontMetricsClient } from '#adapters/cloudfront-metrics';
import { createLedgerClient, Ledger } from '#adapters/ledger';
import { createLogsClient } from '#adapters/logs-insights';
import { createSecretsClient, SecretString } from '#adapters/secrets';
import { createWafClient } from '#adapters/waf';
import { HEALTH_METRICS } from '#contracts/health';
import { readNotifierSettings } from '#contracts/notifier-environment';
import { DeliveryLog, runNotifier, type NotifierSummary, type PartOutcome } from './run';

const logger = new Logger();
const metrics = new Metrics();
const settings = readNotifierSettings(process.env);
const token = new SecretString(createSecretsClient(), settings.telegramSecretId);
const deps = {
  logs: createLogsClient(),
  cloudwatch: createCloudWatchClient(),
  metrics: createCloudFrontMetricsClient(),
  cloudfront: createCloudFrontClient(),
  waf: createWafClient(),
  ledger: new Ledger(createLedgerClient(), settings.ledgerTable),
  botToken: () => token.value(),
  delivered: new DeliveryLog(),
  logger,
};

export async function handler(event: unknown, context: Context): Promise<NotifierSummary> {
  logger.addContext(context);
  // Counted per message part sent. The telegram-undelivered health alarm watches `undelivered`; an
  // ops message's failure is counted apart, so that it cannot raise the alarm that reported it.
  const parts: Record<PartOutcome, number> = { delivered: 0, undelivered: 0, 'ops-undelivered': 0 };
  const countDelivery = (outcome: PartOutcome) => {
    parts[outcome] += 1;
  };
  try {
    return await runNotifier({ ...deps, countDelivery }, settings, event, {
      now: Date.now(),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
  } finally {
    metrics.addMetric(HEALTH_METRICS.telegramDelivered, MetricUnit.Count, parts.delivered);
    metrics.addMetric(HEALTH_METRICS.telegramUndelivered, MetricUnit.Count, parts.undelivered);
    // Only when one failed: a metric never published costs nothing (CloudWatch bills custom metrics
    // by the hour they receive data), and zeros would add nothing the dashboard needs.
    if (parts['ops-undelivered'] > 0) {
      metrics.addMetric(HEALTH_METRICS.opsUndelivered, MetricUnit.Count, parts['ops-undelivered']);
    }
    metrics.publishStoredMetrics();
  }
}
