/**
 * The period the health alarms on the blocker count in: the longest time its schedule leaves
 * between two runs, so that every period holds at least one scheduled run. "Failed 3 runs in a row"
 * and "no successful run for 3 intervals" then mean what they say whatever the schedule.
 *
 * `blocker.schedule` runs at least once a day (lib/config/schedule.ts), so three periods stay within
 * what CloudWatch evaluates: one day for periods under an hour, seven days otherwise (PutMetricAlarm,
 * `Period`).
 */
import { ConfigError } from '#config/config-error';
import { longestScheduleGapMinutes, scheduleProblem } from '#config/schedule';

/** Runs the blocker alarms look back over: failed this many runs in a row, or no success in this many intervals. */
export const RUNS_WATCHED = 3;

/**
 * The longest time between two runs of a schedule, in seconds: a rate's period (`rate(5 minutes)`:
 * 300), or a cron's longest gap, counted exactly (`cron(0/10 * * * ? *)`: 600; `cron(0 0,6 * * ? *)`:
 * 64,800). With a cron whose runs are not evenly spaced, a period may hold more than one run, so
 * `blocker-failing` then fires on three periods with a failed run rather than exactly three failed
 * runs in a row.
 * @throws {ConfigError} naming `blocker.schedule` when the expression is not one it accepts.
 */
export function scheduleIntervalSeconds(expression: string): number {
  const gap = longestScheduleGapMinutes(expression);
  if (gap === undefined) {
    const problem = scheduleProblem(expression) ?? `${JSON.stringify(expression)} never runs`;
    throw new ConfigError('blocker.schedule', `invalid configuration: blocker.schedule ${problem}`);
  }
  return gap * 60;
}
