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
 */

const RATE = /^rate\((.*)\)$/;
const CRON = /^cron\((.*)\)$/;
const EXAMPLES = '"rate(5 minutes)" or "cron(0/5 * * * ? *)"';
const UNITS = ['minute', 'hour', 'day'] as const;

/**
 * What is wrong with a schedule expression, with a correct example; undefined when EventBridge
 * accepts it.
 */
export function scheduleProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) return rateProblem(expression, rate[1] ?? '');
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(expression, cron[1] ?? '');
  return `${JSON.stringify(expression)} is not an EventBridge schedule expression; write one such as ${EXAMPLES}`;
}

function rateProblem(expression: string, body: string): string | undefined {
  const parts = body.split(' ');
  if (parts.length !== 2) {
    return `${JSON.stringify(expression)}: a rate is a number and a unit with one space between, e.g. "rate(5 minutes)"`;
  }
  const [value = '', unit = ''] = parts;
  if (!/^[1-9]\d*$/.test(value)) {
    return `${JSON.stringify(expression)}: the value must be a whole number of 1 or more, e.g. "rate(1 minute)" or "rate(5 minutes)"`;
  }
  const singular = unit.replace(/s$/, '');
  if (!(UNITS as readonly string[]).includes(singular)) {
    return `${JSON.stringify(expression)}: the unit must be minutes, hours or days, e.g. "rate(${value} ${value === '1' ? 'minute' : 'minutes'})"`;
  }
  const wanted = value === '1' ? singular : `${singular}s`;
  if (unit !== wanted) {
    return `${JSON.stringify(expression)}: EventBridge wants the unit singular for 1 and plural otherwise: "rate(${value} ${wanted})"`;
  }
  return undefined;
}

/** A cron field: its name, the values it takes (numbers, or names for month and day-of-week), and extra syntax. */
interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** `?`, `L`, `W`, `#`: which of EventBridge's special characters this field accepts. */
  readonly special: readonly ('?' | 'L' | 'W' | '#')[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59, special: [] },
  { name: 'hours', min: 0, max: 23, special: [] },
  { name: 'day-of-month', min: 1, max: 31, special: ['?', 'L', 'W'] },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: [] },
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, special: ['?', 'L', '#'] },
  { name: 'year', min: 1970, max: 2199, special: [] },
];

const CRON_SHAPE = 'minutes hours day-of-month month day-of-week year';

function cronProblem(expression: string, body: string): string | undefined {
  const fields = body.split(' ');
  if (fields.length !== 6 || fields.includes('')) {
    return `${JSON.stringify(expression)}: a cron has six fields with one space between (${CRON_SHAPE}), e.g. "cron(0/5 * * * ? *)"`;
  }
  for (const [index, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[index] ?? '', field);
    if (problem !== undefined) return `${JSON.stringify(expression)}: ${field.name} ${problem}`;
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    const fixed =
      dayOfMonth === '*' || dayOfMonth === '?'
        ? [minutes, hours, '?', month, dayOfWeek === '?' ? '*' : dayOfWeek, year]
        : [minutes, hours, dayOfMonth, month, '?', year];
    return `${JSON.stringify(expression)}: exactly one of day-of-month and day-of-week must be "?", e.g. "cron(${fixed.join(' ')})"`;
  }
  return undefined;
}

/** What is wrong with one cron field, or undefined. */
function cronFieldProblem(text: string, field: CronField): string | undefined {
  if (text === '?')
    return field.special.includes('?') ? undefined : '"?" is allowed only in day-of-month and day-of-week';
  const items = text.split(',');
  if (items.length > 1 && text.includes('#')) return `${JSON.stringify(text)}: "#" takes one expression, without ","`;
  for (const item of items) {
    if (!cronItemValid(item, field)) return `${JSON.stringify(text)} is not ${describeField(field)}`;
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

/** A field value (number or name) within the field's range, as a number; undefined otherwise. */
function cronValue(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named !== -1) return named + 1;
  if (!/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return number >= field.min && number <= field.max ? number : undefined;
}

function describeField(field: CronField): string {
  const names = field.names ? ` or ${field.names[0] ?? ''}-${field.names[field.names.length - 1] ?? ''}` : '';
  const extra = field.special
    .filter((special) => special !== '?')
    .map((special) => ` ${special}`)
    .join(',');
  return `${field.min}-${field.max}${names}, with , - * /${extra}${field.special.includes('?') ? ' or ?' : ''}`;
}
