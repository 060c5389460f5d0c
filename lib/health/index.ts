/**
 * The stack watching itself (issue 11): the ops topic and dead-letter queue ({@link OpsChannel}),
 * and the health alarms that publish to it ({@link HealthAlarms}). The metric names and alarm kinds
 * are the contract in lambdas/contracts/health.ts.
 */
export {
  BLOCKLIST_FULL_PERCENT,
  EVENT_ALARM_PERIOD,
  HealthAlarms,
  type HealthAlarmsProps,
  type WatchedFunction,
} from './health-alarms';
export { OpsChannel, type OpsChannelProps } from './ops-channel';
export { RUNS_WATCHED, scheduleIntervalSeconds } from './schedule-interval';
