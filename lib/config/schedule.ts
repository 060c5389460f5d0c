/**
 * EventBridge schedule expressions for rules, checked as EventBridge documents them
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html), so a bad
 * `blocker.schedule` is refused at synth with the key named, instead of by CloudFormation's template
 * validation (a stack trace in lib/blocker) or by EventBridge at deploy.
 *
 * - `rate(value unit)`: value a whole number of 1 or more; unit minute, hour or day, singular when
 *   the value is 1 and plural otherwise (`rate(1 minute)`, `rate(5 minutes)`).
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields; one of day-of-month and
 *   day-of-week must be `?` (and only one).
 *
 * On top of the syntax, what keeps the blocker useful: it removes expired blocks only when it runs,
 * so a schedule that stops, never runs or runs rarely keeps blocks long after their time. EventBridge
 * documents no longest rate; ours is {@link MAX_SCHEDULE_GAP_MINUTES} (one day) between runs, and
 * a cron must run (`cron(0 0 30 2 ? *)`, February 30, never does) with a year field of `*`. The
 * time between runs must also not exceed `blocker.blockDurationMinutes`
 * ({@link scheduleDurationProblems}).
 */
import { quoteConfigValue, type ConfigProblem } from './config-error';
import { CRON_FIELDS, cronCalendar, cronStepTooLarge, cronValue, maxCronStep, MONTHS, type CronField } from './cron';

const RATE = /^rate\((.*)\)$/;
const CRON = /^cron\((.*)\)$/;
const EXAMPLES = '"rate(5 minutes)" or "cron(0/5 * * * ? *)"';
const UNIT_MINUTES = { minute: 1, hour: 60, day: 1_440 } as const;
type Unit = keyof typeof UNIT_MINUTES;

/**
 * The longest time the blocker may go without a run, in minutes: one day. Blocks are removed only
 * at runs, so a block outlives its `blockDurationMinutes` by up to this much; and the health alarm
 * that watches for missed runs (three periods) stays within CloudWatch's seven-day evaluation range.
 */
export const MAX_SCHEDULE_GAP_MINUTES = 1_440;

/**
 * What is wrong with a schedule expression, with a correct example; undefined when EventBridge
 * accepts it and it runs the blocker at least once a day, for ever.
 */
export function scheduleProblem(expression: string): string | undefined {
  const quoted = quoteConfigValue(expression);
  const rate = RATE.exec(expression);
  if (rate) return rateProblem(quoted, rate[1] ?? '');
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(quoted, cron[1] ?? '');
  return `${quoted} is not an EventBridge schedule expression; write one such as ${EXAMPLES}`;
}

/**
 * The longest time between two runs of a schedule that {@link scheduleProblem} accepts, in
 * minutes (a rate's period; for a cron, its longest gap, e.g. 1,440 for `cron(0 3 * * ? *)`);
 * undefined for an expression it refuses.
 */
export function longestScheduleGapMinutes(expression: string): number | undefined {
  if (scheduleProblem(expression) !== undefined) return undefined;
  return rateMinutes(expression) ?? cronCalendar(cronFields(expression)).longestGapMinutes;
}

/**
 * `blocker.schedule` leaves more time between runs than `blocker.blockDurationMinutes`: a block
 * would outlive its duration by more than the duration itself. One problem naming both keys.
 */
export function scheduleDurationProblems(config: {
  readonly blocker: { readonly schedule: string; readonly blockDurationMinutes: number };
}): ConfigProblem[] {
  const { schedule, blockDurationMinutes } = config.blocker;
  const gap = longestScheduleGapMinutes(schedule);
  if (gap === undefined || gap <= blockDurationMinutes) return [];
  const duration = describeMinutes(blockDurationMinutes);
  return [
    {
      path: ['blocker', 'schedule'],
      message: `${quoteConfigValue(schedule)} leaves up to ${describeMinutes(gap)} between runs, longer than blocker.blockDurationMinutes (${blockDurationMinutes.toLocaleString('en-US')}): the blocker removes a block only when it runs, so ${aBlockOf(duration)} could last ${describeMinutes(blockDurationMinutes + gap)}; run it at least every ${duration} or raise blocker.blockDurationMinutes to ${gap.toLocaleString('en-US')} or more`,
    },
  ];
}

/** `a 4-hour block` for one unit (an adjective takes the singular), `a block of 1 day and 4 hours` otherwise. */
function aBlockOf(duration: string): string {
  const single = /^([\d,]+) (day|hour|minute)s?$/.exec(duration);
  return single ? `a ${single[1] ?? ''}-${single[2] ?? ''} block` : `a block of ${duration}`;
}

/** `2 days, 3 hours and 10 minutes`: whole units, the zero ones left out. */
export function describeMinutes(total: number): string {
  const days = Math.floor(total / 1_440);
  // Only a cron such as February 29 (every 4 to 8 years) gets here; days alone would hide it.
  if (days >= 730) return `${days.toLocaleString('en-US')} days (about ${Math.round(days / 365.2425)} years)`;
  const parts: [number, string][] = [
    [days, 'day'],
    [Math.floor((total % 1_440) / 60), 'hour'],
    [total % 60, 'minute'],
  ];
  const words = parts
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value.toLocaleString('en-US')} ${unit}${value === 1 ? '' : 's'}`);
  if (words.length === 0) return '0 minutes';
  const last = words.pop() ?? '';
  return words.length === 0 ? last : `${words.join(', ')} and ${last}`;
}

const ONCE_A_DAY = `the blocker removes expired blocks only when it runs, so it must run at least once a day`;

function rateProblem(quoted: string, body: string): string | undefined {
  const parts = body.split(' ');
  if (parts.length !== 2) {
    return `${quoted}: a rate is a number and a unit with one space between, e.g. "rate(5 minutes)"`;
  }
  const [value = '', unit = ''] = parts;
  if (!/^[1-9]\d*$/.test(value)) {
    return `${quoted}: the value must be a whole number of 1 or more, e.g. "rate(1 minute)" or "rate(5 minutes)"`;
  }
  const singular = unit.replace(/s$/, '');
  if (!Object.hasOwn(UNIT_MINUTES, singular)) {
    return `${quoted}: the unit must be minutes, hours or days, e.g. "rate(${value} ${value === '1' ? 'minute' : 'minutes'})"`;
  }
  const wanted = value === '1' ? singular : `${singular}s`;
  if (unit !== wanted) {
    return `${quoted}: EventBridge wants the unit singular for 1 and plural otherwise: "rate(${value} ${wanted})"`;
  }
  if (Number(value) * UNIT_MINUTES[singular as Unit] > MAX_SCHEDULE_GAP_MINUTES) {
    return `${quoted}: ${ONCE_A_DAY}: at most "rate(1 day)", "rate(24 hours)" or "rate(1440 minutes)"`;
  }
  return undefined;
}

/** A rate's period in minutes; undefined for anything else. */
function rateMinutes(expression: string): number | undefined {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  return match ? Number(match[1]) * UNIT_MINUTES[match[2] as Unit] : undefined;
}

function cronFields(expression: string): string[] {
  return (CRON.exec(expression)?.[1] ?? '').split(' ');
}

const CRON_SHAPE = 'minutes hours day-of-month month day-of-week year';

function cronProblem(quoted: string, body: string): string | undefined {
  const fields = body.split(' ');
  if (fields.length !== 6 || fields.includes('')) {
    return `${quoted}: a cron has six fields with one space between (${CRON_SHAPE}), e.g. "cron(0/5 * * * ? *)"`;
  }
  for (const [index, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[index] ?? '', field);
    if (problem !== undefined) return `${quoted}: ${field.name} ${problem}`;
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    const fixed =
      dayOfMonth === '*' || dayOfMonth === '?'
        ? [minutes, hours, '?', month, dayOfWeek === '?' ? '*' : dayOfWeek, year]
        : [minutes, hours, dayOfMonth, month, '?', year];
    return `${quoted}: exactly one of day-of-month and day-of-week must be "?", e.g. "cron(${fixed.join(' ')})"`;
  }
  if (year !== '*') {
    return `${quoted}: year must be "*": ${ONCE_A_DAY}, and a schedule limited to some years stops, e.g. "cron(${[minutes, hours, dayOfMonth, month, dayOfWeek, '*'].join(' ')})"`;
  }
  return cronRunsProblem(quoted, fields);
}

/** A cron that never runs, or leaves more than a day between runs. */
function cronRunsProblem(quoted: string, fields: readonly string[]): string | undefined {
  const calendar = cronCalendar(fields);
  if (!calendar.runs) return `${quoted} never runs: ${neverRunsReason(fields)}`;
  if (calendar.longestGapMinutes <= MAX_SCHEDULE_GAP_MINUTES) return undefined;
  return `${quoted} leaves up to ${describeMinutes(calendar.longestGapMinutes)} between runs; ${ONCE_A_DAY}, e.g. "cron(0/5 * * * ? *)"`;
}

/** Why no date matches: the common case named (a day that none of the months has), else in general. */
function neverRunsReason(fields: readonly string[]): string {
  const [, , dayOfMonth = '', month = ''] = fields;
  const days = dayOfMonth.split(',');
  if (days.every((day) => /^\d+$/.test(day))) {
    const months = month.split(',');
    const named = months.every((name) => cronValue(name, CRON_FIELDS[3] as CronField) !== undefined);
    if (named) {
      const names = months.map((name) => MONTHS[(cronValue(name, CRON_FIELDS[3] as CronField) ?? 1) - 1]);
      return `no month it names (${names.join(', ')}) has a day ${days.join(' or ')}`;
    }
  }
  return `no date matches its day-of-month "${dayOfMonth}", month "${month}" and day-of-week "${fields[4] ?? ''}" together`;
}

/** What is wrong with one cron field, or undefined. */
function cronFieldProblem(text: string, field: CronField): string | undefined {
  if (text === '?')
    return field.special.includes('?') ? undefined : '"?" is allowed only in day-of-month and day-of-week';
  const items = text.split(',');
  const quoted = quoteConfigValue(text);
  if (items.length > 1 && text.includes('#')) return `${quoted}: "#" takes one expression, without ","`;
  for (const item of items) {
    if (!cronItemValid(item, field)) return `${quoted} is not ${describeField(field)}`;
    const step = cronStepTooLarge(item, field);
    if (step !== undefined)
      return `${quoted}: a step of ${step} is larger than the ${field.name} range ${field.min}-${field.max} (the most is ${maxCronStep(field)}), so it never reaches a second value`;
  }
  return undefined;
}

function cronItemValid(item: string, field: CronField): boolean {
  const value = (text: string) => cronValue(text, field) !== undefined;
  const has = (special: 'L' | 'W' | '#') => field.special.includes(special);
  if (item === '*') return true;
  if (has('L') && item === 'L') return true;
  if (has('W') && (item === 'LW' || /^\d+W$/.test(item))) return /^L?W$/.test(item) || value(item.slice(0, -1));
  if (has('L') && field.name === 'day-of-week' && /^.+L$/.test(item)) return value(item.slice(0, -1));
  if (has('#')) {
    const nth = /^(.+)#([1-5])$/.exec(item);
    if (nth) return value(nth[1] ?? '');
  }
  const [range = '', step, extra] = item.split('/');
  if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) return false;
  if (range === '*') return step !== undefined;
  const [from = '', to, beyond] = range.split('-');
  return beyond === undefined && value(from) && (to === undefined || value(to));
}

function describeField(field: CronField): string {
  const names = field.names ? ` or ${field.names[0] ?? ''}-${field.names[field.names.length - 1] ?? ''}` : '';
  const extra = field.special
    .filter((special) => special !== '?')
    .map((special) => ` ${special}`)
    .join(',');
  return `${field.min}-${field.max}${names}, with , - * /${extra}${field.special.includes('?') ? ' or ?' : ''}`;
}
