/**
 * EventBridge cron expressions: the six fields and the values each takes
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html), and
 * when an expression whose fields are valid actually runs: whether ever, and the longest time
 * between two runs. ./schedule checks the syntax and words the refusals; this module only counts.
 *
 * The count walks one whole Gregorian cycle (400 years, 146,097 days, after which dates and
 * weekdays repeat), so it is exact for every expression whose year field is `*`, and takes about a
 * millisecond. EventBridge runs crons in UTC; so does this count. Special characters follow the
 * Quartz scheduler that EventBridge's syntax comes from: `L` (last day of the month; in
 * day-of-week alone, Saturday), `nL` (the last weekday n of the month), `n#k` (the k-th weekday n),
 * `nW` (the weekday nearest day n, within the month), `LW` (the last weekday of the month), and a
 * range whose end is below its start wraps around (`FRI-MON`, `22-2`).
 */

/** A cron field: its name, the values it takes (numbers, or names for month and day-of-week), and extra syntax. */
export interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** `?`, `L`, `W`, `#`: which of EventBridge's special characters this field accepts. */
  readonly special: readonly ('?' | 'L' | 'W' | '#')[];
}

/** Month names, JAN = 1. */
export const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/** The six fields in order: minutes hours day-of-month month day-of-week year. */
export const CRON_FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59, special: [] },
  { name: 'hours', min: 0, max: 23, special: [] },
  { name: 'day-of-month', min: 1, max: 31, special: ['?', 'L', 'W'] },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: [] },
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, special: ['?', 'L', '#'] },
  { name: 'year', min: 1970, max: 2199, special: [] },
];

const [MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK] = CRON_FIELDS as [
  CronField,
  CronField,
  CronField,
  CronField,
  CronField,
  CronField,
];

/**
 * The largest step (`a/s`) a field takes: its highest value, as in the Quartz scheduler whose
 * syntax EventBridge uses (a larger step never reaches a second value, so it was a typo).
 */
export function maxCronStep(field: CronField): number {
  return field.max;
}

/** The step of an item (`0/90` → 90) that is larger than {@link maxCronStep}, or undefined. */
export function cronStepTooLarge(item: string, field: CronField): number | undefined {
  const step = /^[^/]*\/(\d+)$/.exec(item)?.[1];
  return step !== undefined && Number(step) > maxCronStep(field) ? Number(step) : undefined;
}

/** A field value (number or name) within the field's range, as a number; undefined otherwise. */
export function cronValue(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named !== -1) return named + 1;
  if (!/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return number >= field.min && number <= field.max ? number : undefined;
}

/**
 * The values one item of a field stands for: `*`, `n`, `a-b` (wrapping when b < a), `a/s`, `*\/s`,
 * `a-b/s`. Special items (`L`, `W`, `#`) are not read here.
 */
function expandItem(item: string, field: CronField): number[] {
  const [range = '', stepText] = item.split('/');
  const step = stepText === undefined ? 1 : Number(stepText);
  const span = field.max - field.min + 1;
  let from = field.min;
  let length = span;
  if (range !== '*') {
    const [fromText = '', toText] = range.split('-');
    from = cronValue(fromText, field) ?? field.min;
    if (toText !== undefined) {
      const to = cronValue(toText, field) ?? field.max;
      length = ((to - from + span) % span) + 1;
    } else {
      // `a/s` runs from a to the end of the field; a lone `a` is a range of one.
      length = stepText === undefined ? 1 : field.max - from + 1;
    }
  }
  const values: number[] = [];
  for (let offset = 0; offset < length; offset += step) values.push(field.min + ((from - field.min + offset) % span));
  return values;
}

/** The set of values a plain field (minutes, hours, month) stands for. */
function expandField(text: string, field: CronField): Set<number> {
  return new Set(text.split(',').flatMap((item) => expandItem(item, field)));
}

/** Which days of a month one day field takes; undefined for `?`. */
interface DayRule {
  /** True for day-of-week, whose `days` are weekdays (1 = Sunday); false for day-of-month. */
  readonly byWeekday: boolean;
  readonly days: Set<number>;
  /** Day-of-month `L`. */
  readonly last: boolean;
  /** Day-of-month `LW`. */
  readonly lastWeekday: boolean;
  /** Day-of-month `nW`: the days n. */
  readonly nearestWeekday: readonly number[];
  /** Day-of-week `nL`: the weekdays n. */
  readonly lastOfWeekday: ReadonlySet<number>;
  /** Day-of-week `n#k`. */
  readonly nth: readonly { readonly weekday: number; readonly k: number }[];
}

function dayRule(text: string, field: CronField): DayRule | undefined {
  if (text === '?') return undefined;
  const weekdays = field === DAY_OF_WEEK;
  const rule = {
    byWeekday: weekdays,
    days: new Set<number>(),
    last: false,
    lastWeekday: false,
    nearestWeekday: [] as number[],
    lastOfWeekday: new Set<number>(),
    nth: [] as { weekday: number; k: number }[],
  };
  for (const item of text.split(',')) {
    const nth = /^(.+)#([1-5])$/.exec(item);
    if (item === 'L') {
      if (weekdays) rule.days.add(7);
      else rule.last = true;
    } else if (item === 'LW') rule.lastWeekday = true;
    else if (/^\d+W$/.test(item)) rule.nearestWeekday.push(Number(item.slice(0, -1)));
    else if (weekdays && nth) rule.nth.push({ weekday: cronValue(nth[1] ?? '', field) ?? 0, k: Number(nth[2]) });
    else if (weekdays && /^.+L$/.test(item)) rule.lastOfWeekday.add(cronValue(item.slice(0, -1), field) ?? 0);
    else for (const value of expandItem(item, field)) rule.days.add(value);
  }
  return rule;
}

/** When a cron expression runs, over a whole 400-year cycle. */
export interface CronCalendar {
  /** False when no date ever matches the day-of-month, month and day-of-week fields. */
  readonly runs: boolean;
  /** The longest time from one run to the next, in minutes; 0 when it never runs. */
  readonly longestGapMinutes: number;
}

const CYCLE_YEARS = 400;
const CYCLE_DAYS = 146_097;
const MINUTES_PER_DAY = 1_440;

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) =>
  month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** Day-of-week of `day` in a month whose first day is `first` (1 = Sunday … 7 = Saturday). */
const weekdayOf = (first: number, day: number) => ((first - 1 + day - 1) % 7) + 1;

/** The weekday (Mon–Fri) nearest day `n` of a month of `length` days, without leaving the month. */
function nearestWeekday(n: number, length: number, first: number): number | undefined {
  if (n > length) return undefined;
  const weekday = weekdayOf(first, n);
  if (weekday === 7) return n === 1 ? n + 2 : n - 1; // Saturday: Friday, or Monday the 3rd
  if (weekday === 1) return n === length ? n - 2 : n + 1; // Sunday: Monday, or Friday before the end
  return n;
}

/** True when `day` of a month (`length` days, first day `first`) matches `rule`. */
function matches(rule: DayRule, day: number, length: number, first: number): boolean {
  const weekday = weekdayOf(first, day);
  if (rule.days.has(rule.byWeekday ? weekday : day)) return true;
  if (rule.last && day === length) return true;
  if (rule.lastWeekday) {
    const lastWeekday = weekdayOf(first, length);
    const last = lastWeekday === 7 ? length - 1 : lastWeekday === 1 ? length - 2 : length;
    if (day === last) return true;
  }
  if (rule.nearestWeekday.some((n) => nearestWeekday(n, length, first) === day)) return true;
  if (rule.lastOfWeekday.has(weekday) && day + 7 > length) return true;
  return rule.nth.some(({ weekday: wanted, k }) => wanted === weekday && Math.ceil(day / 7) === k);
}

/**
 * When a cron expression runs. `fields` are the six fields of an expression that ./schedule
 * accepts as written (its year field is not read: the count assumes `*`).
 */
export function cronCalendar(fields: readonly string[]): CronCalendar {
  const [minutesText = '*', hoursText = '*', dayOfMonthText = '?', monthText = '*', dayOfWeekText = '?'] = fields;
  const hours = [...expandField(hoursText, HOURS)].sort((a, b) => a - b);
  const minutes = [...expandField(minutesText, MINUTES)].sort((a, b) => a - b);
  const times = hours.flatMap((hour) => minutes.map((minute) => hour * 60 + minute));
  const months = expandField(monthText, MONTH);
  // ./schedule has checked that exactly one of the two day fields is `?`.
  const rule = dayRule(dayOfMonthText, DAY_OF_MONTH) ?? dayRule(dayOfWeekText, DAY_OF_WEEK);

  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));
  const firstTime = times[0] ?? 0;
  const lastTime = times[times.length - 1] ?? 0;
  const gapBetweenDays = (from: number, to: number) => (to - from) * MINUTES_PER_DAY - lastTime + firstTime;

  // Which days of a month match depends only on its length and the weekday it starts on.
  const matchingDays = new Map<number, number[]>();
  const daysOfMonth = (length: number, first: number): number[] => {
    const key = length * 8 + first;
    let days = matchingDays.get(key);
    if (days === undefined) {
      days = [];
      for (let day = 1; day <= length; day++)
        if (rule !== undefined && matches(rule, day, length, first)) days.push(day);
      matchingDays.set(key, days);
    }
    return days;
  };

  let firstRunDay: number | undefined;
  let previousRunDay: number | undefined;
  let dayIndex = 0;
  let firstWeekday = 7; // 2000-01-01, the start of the cycle counted here, was a Saturday
  for (let year = 2000; year < 2000 + CYCLE_YEARS; year++) {
    for (let month = 1; month <= 12; month++) {
      const length = daysIn(year, month);
      if (months.has(month)) {
        for (const day of daysOfMonth(length, firstWeekday)) {
          const runDay = dayIndex + day - 1;
          if (previousRunDay !== undefined) longest = Math.max(longest, gapBetweenDays(previousRunDay, runDay));
          firstRunDay ??= runDay;
          previousRunDay = runDay;
        }
      }
      dayIndex += length;
      firstWeekday = weekdayOf(firstWeekday, length + 1);
    }
  }
  if (firstRunDay === undefined || previousRunDay === undefined) return { runs: false, longestGapMinutes: 0 };
  // The cycle repeats: its last run is followed by the first run of the next cycle.
  longest = Math.max(longest, gapBetweenDays(previousRunDay, firstRunDay + CYCLE_DAYS));
  return { runs: true, longestGapMinutes: longest };
}
