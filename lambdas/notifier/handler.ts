/**
 * Notifier Lambda entry: wires the adapters to the run. Clients, settings, the token cache and the
 * record of delivered messages are created once per module so that warm invocations reuse them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createCloudWatchClient } from '../adapters/alarm';
import { createCloudFrontClient } from '../adapters/cloudfront';
import { createCloudFrontMetricsClient } from '../adapters/cloudfront-metrics';
import { createLedgerClient, Ledger } from '../adapters/ledger';
import { createLogsClient } from '../adapters/logs-insights';
import { createSecretsClient, SecretString } from '../adapters/secrets';
import { createWafClient } from '../adapters/waf';
import { readNotifierSettings } from './environment';
import { DeliveryLog, runNotifier, type NotifierSummary } from './run';

const logger = new Logger();
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
  return runNotifier(deps, settings, event, {
    now: Date.now(),
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
}
