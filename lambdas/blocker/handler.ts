/**
 * Blocker Lambda entry: wires the adapters to the run and turns its summary into one log line and
 * metrics. Clients and settings are created once per module so warm invocations reuse them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent, SNSEvent } from 'aws-lambda';
import { createCloudWatchClient } from '../adapters/alarm';
import { createLedgerClient, Ledger } from '../adapters/ledger';
import { createSnsClient } from '../adapters/reports';
import { createWafClient } from '../adapters/waf';
import { readBlockerSettings } from './environment';
import { runBlocker, type RunSummary } from './run';
import { triggerOf } from './trigger';

const logger = new Logger();
const metrics = new Metrics();
const settings = readBlockerSettings(process.env);
const deps = {
  waf: createWafClient(),
  cloudwatch: createCloudWatchClient(),
  sns: createSnsClient(),
  ledger: new Ledger(createLedgerClient(), settings.ledgerTable),
  logger,
};

export async function handler(event: ScheduledEvent | SNSEvent | undefined, context: Context): Promise<RunSummary> {
  logger.addContext(context);
  const trigger = triggerOf(event, settings.alarmName);
  try {
    const summary = await runBlocker(deps, settings, trigger, Date.now());
    logger.info('blocker run', { summary });
    recordMetrics(summary);
    return summary;
  } catch (error) {
    // One structured line naming the resource; the rethrow makes the invocation fail (Errors alarm).
    logger.error('blocker run failed', error as Error);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
}

function recordMetrics(summary: RunSummary): void {
  metrics.addMetric('RangesActive', MetricUnit.Count, summary.rangesActive);
  metrics.addMetric('RangesAdded', MetricUnit.Count, summary.rangesAdded);
  metrics.addMetric('RangesExpired', MetricUnit.Count, summary.rangesExpired);
  metrics.addMetric('LockConflicts', MetricUnit.Count, summary.lockConflicts);
  metrics.addMetric('KeysRejected', MetricUnit.Count, summary.keysRejected);
  metrics.addMetric('Overflow', MetricUnit.Count, summary.overflow);
  metrics.addMetric('RulesUnreadable', MetricUnit.Count, summary.unreadableRules.length);
}
