/**
 * CloudWatch's limits on an alarm's evaluation range, which CDK does not check and CloudFormation
 * only reports at deploy: Period × EvaluationPeriods may be at most 86,400 s (one day) for a period
 * under one hour, and at most 604,800 s (seven days) otherwise
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
import type { ConfigProblem } from './config-error';

const ONE_DAY = 86_400;
const SEVEN_DAYS = 604_800;

/**
 * The alarm's evaluation range problem, if any, naming `alarm.periodSeconds` when one period alone
 * is too long and `alarm.evaluationPeriods` otherwise.
 */
export function alarmRangeProblems(config: {
  readonly alarm: { readonly periodSeconds: number; readonly evaluationPeriods: number };
}): ConfigProblem[] {
  const { periodSeconds, evaluationPeriods } = config.alarm;
  const limit = periodSeconds < 3600 ? ONE_DAY : SEVEN_DAYS;
  const range = periodSeconds * evaluationPeriods;
  if (range <= limit) return [];
  const rule =
    periodSeconds < 3600
      ? 'CloudWatch allows 86,400 s (one day) for periods under an hour'
      : 'CloudWatch allows at most 604,800 s (seven days)';
  if (evaluationPeriods === 1 || periodSeconds > SEVEN_DAYS) {
    return [
      {
        path: ['alarm', 'periodSeconds'],
        message: `is ${periodSeconds.toLocaleString('en-US')} s, longer than an alarm can evaluate: at most 604,800 (seven days)`,
      },
    ];
  }
  const most = Math.floor(limit / periodSeconds);
  return [
    {
      path: ['alarm', 'evaluationPeriods'],
      message: `× alarm.periodSeconds is ${range.toLocaleString('en-US')} s and ${rule}: at most ${most.toLocaleString('en-US')} periods of ${periodSeconds.toLocaleString('en-US')} s`,
    },
  ];
}
