import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

describe('alarm evaluation range (CloudWatch refuses a longer one at deploy)', () => {
  it('a day of one-minute periods is accepted, a minute more is refused naming evaluationPeriods', () => {
    expect(parseConfig({ alarm: { periodSeconds: 60, evaluationPeriods: 1440 } }).alarm.evaluationPeriods).toBe(1440);
    const message = configErrorOf({ alarm: { periodSeconds: 60, evaluationPeriods: 1441 } }, 'alarm.evaluationPeriods');
    expect(message).toContain('at most 1,440 periods of 60 s');
  });

  it('periods of an hour or more may span seven days', () => {
    expect(parseConfig({ alarm: { periodSeconds: 3600, evaluationPeriods: 168 } }).alarm.periodSeconds).toBe(3600);
    expect(
      configErrorOf({ alarm: { periodSeconds: 3600, evaluationPeriods: 169 } }, 'alarm.evaluationPeriods'),
    ).toContain('at most 168 periods of 3,600 s');
  });

  it('one period longer than seven days is refused naming periodSeconds', () => {
    expect(configErrorOf({ alarm: { periodSeconds: 8 * 86_400 } }, 'alarm.periodSeconds')).toContain('604,800');
    configErrorOf({ alarm: { periodSeconds: 60 * 2 ** 40, evaluationPeriods: 3 } }, 'alarm.periodSeconds');
  });
});
