import { rmSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockerSchedule } from '../../lib/blocker';
import { cronCalendar } from '#config/cron';
import { parseConfig } from '#config/load';
import { longestScheduleGapMinutes, MAX_SCHEDULE_GAP_MINUTES, scheduleProblem } from '#config/schedule';
import { configErrorFrom, configErrorOf } from '../support/config-errors';

const DAY = 1_440;
/** Long enough for any schedule the key accepts, so that only the schedule itself is judged. */
const A_DAY_BLOCK = { blockDurationMinutes: DAY };
const refused = (schedule: string) => configErrorOf({ blocker: { schedule, ...A_DAY_BLOCK } }, 'blocker.schedule');

/** Synthesizes one rule on `expression` with CloudFormation's template validation on, as bin/app.ts does. */
function synthesizesCleanly(expressions: readonly string[]): void {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Schedules');
  expressions.forEach((expression, index) => {
    new events.Rule(stack, `Rule${index}`, { schedule: events.Schedule.expression(expression) });
  });
  try {
    app.synth(); // throws "Validation failed" on any template finding
  } finally {
    rmSync(app.outdir, { recursive: true, force: true });
  }
}

// The examples of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html,
// each with what blocker.schedule makes of it: accepted, or refused for what it does to the blocker
// (never for its syntax, which EventBridge accepts).
const DOCUMENTED: readonly (readonly [string, string | undefined])[] = [
  ['rate(1 minute)', undefined],
  ['rate(5 minutes)', undefined],
  ['rate(1 hour)', undefined],
  ['rate(1 day)', undefined],
  ['cron(0 10 * * ? *)', undefined],
  ['cron(15 12 * * ? *)', undefined],
  ['cron(0/15 * * * ? *)', undefined],
  ['cron(0 18 ? * MON-FRI *)', 'leaves up to 3 days between runs'],
  ['cron(0 8 1 * ? *)', 'leaves up to 31 days between runs'],
  ['cron(0/10 * ? * MON-FRI *)', 'leaves up to 2 days and 10 minutes between runs'],
  ['cron(0/5 8-17 ? * MON-FRI *)', 'leaves up to 2 days, 14 hours and 5 minutes between runs'],
  ['cron(0 9 ? * 2#1 *)', 'leaves up to 35 days between runs'],
  ['cron(15 10 ? * 6L 2019-2022)', 'year must be "*"'],
  ['cron(0 0 L * ? *)', 'leaves up to 31 days between runs'],
  ['cron(0 0 15W * ? *)', 'leaves up to 32 days between runs'],
  ['cron(0 12 ? JAN,JUL * *)', 'leaves up to 154 days between runs'],
];

describe('blocker.schedule', () => {
  it.each(DOCUMENTED)('%s: %s', (schedule, refusal) => {
    if (refusal === undefined) {
      expect(parseConfig({ blocker: { schedule, ...A_DAY_BLOCK } }).blocker.schedule).toBe(schedule);
      return;
    }
    const message = refused(schedule);
    expect(message).toContain(refusal);
    expect(message).toContain('the blocker removes expired blocks only when it runs');
  });

  it('every documented example passes CloudFormation template validation', () => {
    expect(() => {
      synthesizesCleanly(DOCUMENTED.map(([expression]) => expression));
    }).not.toThrow();
  });

  it('rate(1 minutes): refused naming the key, with the singular form', () => {
    expect(refused('rate(1 minutes)')).toContain('"rate(1 minute)"');
  });

  it('rate(5 minute): refused with the plural form', () => {
    expect(refused('rate(5 minute)')).toContain('"rate(5 minutes)"');
  });

  it('rate(0 minutes): refused as below 1, not "less than the minimum of 0"', () => {
    const message = refused('rate(0 minutes)');
    expect(message).toContain('a whole number of 1 or more');
    expect(message).not.toContain('minimum of 0');
  });

  it.each([
    ['rate(1.5 hours)', 'a whole number of 1 or more'],
    ['rate(-5 minutes)', 'a whole number of 1 or more'],
    ['rate(05 minutes)', 'a whole number of 1 or more'],
    ['rate(30 seconds)', 'minutes, hours or days'],
    ['rate(2 weeks)', 'minutes, hours or days'],
    ['rate(5  minutes)', 'one space between'],
    ['rate(5minutes)', 'one space between'],
    ['rate()', 'one space between'],
    ['every 5 minutes', 'not an EventBridge schedule expression'],
    ['Rate(5 minutes)', 'not an EventBridge schedule expression'],
    ['rate(5\u3000minutes)', 'holds U+3000 (ideographic space)'],
  ])('%s: refused (%s)', (schedule, reason) => {
    expect(refused(schedule)).toContain(reason);
  });

  it('trims the whitespace around a schedule as around any value, and hands EventBridge the trimmed expression', () => {
    for (const written of [' rate(5 minutes)', 'rate(5 minutes)\t', '\u00a0cron(0/5 * * * ? *)\n']) {
      const schedule = parseConfig({ blocker: { schedule: written } }).blocker.schedule;
      expect(schedule).toBe(written.replace(/^[\s\u00a0]+|[\s\u00a0]+$/g, ''));
    }
  });

  it('a cron with five fields: refused with the six EventBridge wants', () => {
    expect(refused('cron(*/5 * * * *)')).toContain('six fields');
  });

  it('a cron with both day fields set: refused with "?" in one of them', () => {
    expect(refused('cron(0 10 * * 1 *)')).toContain('"cron(0 10 ? * 1 *)"');
    expect(refused('cron(0 10 15 * MON *)')).toContain('"cron(0 10 15 * ? *)"');
    expect(refused('cron(0 10 ? * ? *)')).toContain('exactly one of day-of-month and day-of-week');
  });

  it.each([
    ['cron(60 * * * ? *)', 'minutes "60"'],
    ['cron(0 24 * * ? *)', 'hours "24"'],
    ['cron(0 0 32 * ? *)', 'day-of-month "32"'],
    ['cron(0 0 0 * ? *)', 'day-of-month "0"'],
    ['cron(0 0 * 13 ? *)', 'month "13"'],
    ['cron(0 0 * FOO ? *)', 'month "FOO"'],
    ['cron(0 0 ? * 8 *)', 'day-of-week "8"'],
    ['cron(0 0 ? * 2#6 *)', 'day-of-week "2#6"'],
    ['cron(0 0 ? * 2#1,3 *)', 'day-of-week "2#1,3"'],
    ['cron(0 0 * * ? 1969)', 'year "1969"'],
    ['cron(? 0 * * ? *)', 'minutes "?" is allowed only in day-of-month and day-of-week'],
    ['cron(0 L * * ? *)', 'hours "L"'],
    ['cron(0/0 * * * ? *)', 'minutes "0/0"'],
    ['cron(0/90 * * * ? *)', 'minutes "0/90": a step of 90 is larger than the minutes range 0-59'],
    ['cron(0 0-23/25 * * ? *)', 'hours "0-23/25": a step of 25 is larger than the hours range 0-23'],
    ['cron(0 0 1/32 * ? *)', 'day-of-month "1/32": a step of 32'],
    ['cron(0 0 ? */13 * *)', 'month "*/13": a step of 13'],
    ['cron(0 0 ? * 1/8 *)', 'day-of-week "1/8": a step of 8'],
    ['cron(1-2-3 * * * ? *)', 'minutes "1-2-3"'],
  ])('%s: refused naming the field (%s)', (schedule, reason) => {
    expect(refused(schedule)).toContain(reason);
  });

  it('the construct refuses an expression built without the configuration, naming the key', () => {
    configErrorFrom(() => blockerSchedule('rate(1 minutes)'), 'blocker.schedule');
    configErrorFrom(() => blockerSchedule('cron(0 0 30 2 ? *)'), 'blocker.schedule');
  });
});

describe('blocker.schedule runs the blocker at least once a day, for ever', () => {
  it('cron(0 0 30 2 ? *), February 30: refused as never running, naming the month and the day', () => {
    expect(refused('cron(0 0 30 2 ? *)')).toBe(
      'invalid configuration: blocker.schedule "cron(0 0 30 2 ? *)" never runs: no month it names (FEB) has a day 30',
    );
  });

  it('cron(0 0 31 APR,JUN,SEP,NOV ? *): refused as never running', () => {
    expect(refused('cron(0 0 31 APR,JUN,SEP,NOV ? *)')).toContain(
      'never runs: no month it names (APR, JUN, SEP, NOV) has a day 31',
    );
  });

  it('the fifth Monday of February (a leap year whose February starts on a Monday): refused as decades apart', () => {
    expect(refused('cron(0 0 ? FEB 2#5 *)')).toMatch(/leaves up to [\d,]+ days \(about \d+ years\) between runs/);
  });

  it('the weekday nearest February 31: refused as never running', () => {
    expect(refused('cron(0 0 31W FEB ? *)')).toContain('never runs: no date matches its day-of-month "31W"');
  });

  it('cron(0 0 29 2 ? *), February 29: refused with the longest gap, 8 years (2096 to 2104)', () => {
    expect(refused('cron(0 0 29 2 ? *)')).toContain('leaves up to 2,921 days (about 8 years) between runs');
  });

  it('rate(99999999999 minutes): refused with the longest rate there is', () => {
    expect(refused('rate(99999999999 minutes)')).toContain(
      'must run at least once a day: at most "rate(1 day)", "rate(24 hours)" or "rate(1440 minutes)"',
    );
  });

  it.each(['rate(2 days)', 'rate(25 hours)', 'rate(1441 minutes)'])('%s: refused as longer than a day', (schedule) => {
    expect(refused(schedule)).toContain('at least once a day');
  });

  it.each(['rate(1 day)', 'rate(24 hours)', 'rate(1440 minutes)', 'cron(30 3 * * ? *)'])(
    '%s: accepted, once a day',
    (schedule) => {
      expect(longestScheduleGapMinutes(schedule)).toBe(DAY);
      expect(scheduleProblem(schedule)).toBeUndefined();
    },
  );

  it('a cron limited to some years stops running: refused with the year field as "*"', () => {
    expect(refused('cron(0/5 * * * ? 2024-2030)')).toContain('year must be "*"');
    expect(refused('cron(0/5 * * * ? 2024-2030)')).toContain('"cron(0/5 * * * ? *)"');
  });
});

describe('blocker.schedule against blocker.blockDurationMinutes', () => {
  const withDuration = (schedule: string, blockDurationMinutes: number) =>
    configErrorOf({ blocker: { schedule, blockDurationMinutes } }, 'blocker.schedule');

  it('rate(7 days) with a 1-minute block: refused (by the one-day rule first)', () => {
    expect(withDuration('rate(7 days)', 1)).toContain('at least once a day');
  });

  it('the default rate(5 minutes) with blockDurationMinutes 1: refused naming both keys, what it costs and both ways out', () => {
    expect(withDuration('rate(5 minutes)', 1)).toBe(
      'invalid configuration: blocker.schedule "rate(5 minutes)" leaves up to 5 minutes between runs, longer than blocker.blockDurationMinutes (1): the blocker removes a block only when it runs, so a 1-minute block could last 6 minutes; run it at least every 1 minute or raise blocker.blockDurationMinutes to 5 or more',
    );
  });

  it('a daily cron with the default 240-minute block: refused, a block could last 28 hours', () => {
    expect(withDuration('cron(0 3 * * ? *)', 240)).toContain('a 4-hour block could last 1 day and 4 hours');
  });

  it('a schedule period equal to the block duration is accepted, one minute longer is not', () => {
    expect(parseConfig({ blocker: { schedule: 'rate(30 minutes)', blockDurationMinutes: 30 } }).blocker).toMatchObject({
      schedule: 'rate(30 minutes)',
      blockDurationMinutes: 30,
    });
    withDuration('rate(31 minutes)', 30);
  });

  it('the defaults (rate(5 minutes), 240 minutes) are accepted', () => {
    expect(parseConfig({}).blocker).toMatchObject({ schedule: 'rate(5 minutes)', blockDurationMinutes: 240 });
  });
});

// ------------------------------------------------------------------------------------------------
// Generated expressions.

const unit = fc.constantFrom('minute', 'hour', 'day');
const UNIT_MINUTES = { minute: 1, hour: 60, day: DAY } as const;
const rates = fc
  .tuple(fc.integer({ min: 1, max: 100_000 }), unit)
  .map(([value, name]) => `rate(${value} ${value === 1 ? name : `${name}s`})`);

const inRange = (min: number, max: number) => fc.integer({ min, max }).map(String);
/** A field's items; steps up to `maxStep`, the field's highest value (EventBridge refuses larger ones). */
const cronField = (value: fc.Arbitrary<string>, maxStep: number) =>
  fc.oneof(
    fc.constant('*'),
    value,
    fc.tuple(value, value).map(([a, b]) => `${a}-${b}`),
    fc.tuple(value, fc.integer({ min: 1, max: maxStep })).map(([a, step]) => `${a}/${step}`),
    fc.tuple(value, value, fc.integer({ min: 1, max: maxStep })).map(([a, b, step]) => `${a}-${b}/${step}`),
    fc.array(value, { minLength: 2, maxLength: 4 }).map((values) => values.join(',')),
  );
const minutesField = cronField(inRange(0, 59), 59);
const hoursField = cronField(inRange(0, 23), 23);
const monthField = cronField(fc.oneof(inRange(1, 12), fc.constantFrom('JAN', 'jun', 'DEC')), 12);
const weekday = fc.oneof(inRange(1, 7), fc.constantFrom('SUN', 'MON', 'sat'));
/** Day-of-month with EventBridge's special characters: L, LW, nW. */
const dayOfMonthField = fc.oneof(
  { weight: 4, arbitrary: cronField(inRange(1, 31), 31) },
  { weight: 1, arbitrary: fc.constantFrom('L', 'LW') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 31 }).map((day) => `${day}W`) },
);
/** Day-of-week with EventBridge's special characters: L, nL, n#k. */
const dayOfWeekField = fc.oneof(
  { weight: 4, arbitrary: cronField(weekday, 7) },
  { weight: 1, arbitrary: fc.constant('L') },
  { weight: 1, arbitrary: weekday.map((day) => `${day}L`) },
  { weight: 1, arbitrary: fc.tuple(weekday, fc.integer({ min: 1, max: 5 })).map(([day, k]) => `${day}#${k}`) },
);
/** Six valid fields, year `*`: what the calendar reads. */
const cronFieldsOf = fc
  .tuple(minutesField, hoursField, dayOfMonthField, monthField, dayOfWeekField, fc.boolean())
  .map(([minutes, hours, dayOfMonth, month, dayOfWeek, byDayOfMonth]) =>
    byDayOfMonth ? [minutes, hours, dayOfMonth, month, '?', '*'] : [minutes, hours, '?', month, dayOfWeek, '*'],
  );
const crons = fc
  .tuple(cronFieldsOf, fc.oneof(fc.constant('*'), cronField(inRange(1970, 2199), 229)))
  .map(([fields, year]) => `cron(${[...fields.slice(0, 5), year].join(' ')})`);
/** Crons that run every day, at any times: the ones a blocker may use. */
const dailyCrons = fc
  .tuple(minutesField, hoursField, fc.constantFrom('* * ? *', '? * * *', '1-31 * ? *', '? * SUN-SAT *'))
  .map(([minutes, hours, rest]) => `cron(${minutes} ${hours} ${rest})`);

// ------------------------------------------------------------------------------------------------
// An oracle for when a cron runs: membership tests per value (not the module's expansion), and the
// calendar of JavaScript's Date in UTC (not the module's weekday and leap-year arithmetic).

const NAMES: Record<string, readonly string[]> = {
  month: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  week: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
const numberOf = (text: string, names: readonly string[] = []) => {
  const named = names.indexOf(text.toUpperCase());
  return named === -1 ? Number(text) : named + 1;
};

/** Whether `value` is one of the values that plain item `item` (of a field from min to max) stands for. */
function itemHolds(item: string, value: number, min: number, max: number, names?: readonly string[]): boolean {
  const [range = '', stepText] = item.split('/');
  const step = stepText === undefined ? 1 : Number(stepText);
  const span = max - min + 1;
  if (range === '*') return (value - min) % step === 0;
  const [fromText = '', toText] = range.split('-');
  const from = numberOf(fromText, names);
  if (toText === undefined)
    return stepText === undefined ? value === from : value >= from && (value - from) % step === 0;
  const to = numberOf(toText, names);
  const offset = (value - from + span) % span;
  return offset <= (to - from + span) % span && offset % step === 0;
}

const fieldHolds = (text: string, value: number, min: number, max: number, names?: readonly string[]) =>
  text.split(',').some((item) => itemHolds(item, value, min, max, names));

const utc = (day: number) => new Date(Date.UTC(2000, 0, 1 + day));

/** Whether a day-of-month field (with L, LW, nW) takes `date`. */
function dayOfMonthHolds(text: string, date: Date): boolean {
  const day = date.getUTCDate();
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const length = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const isWeekday = (d: number) => ![0, 6].includes(new Date(Date.UTC(year, month, d)).getUTCDay());
  return text.split(',').some((item) => {
    if (item === 'L') return day === length;
    if (item === 'LW') {
      let last = length;
      while (!isWeekday(last)) last--;
      return day === last;
    }
    if (item.endsWith('W')) {
      const n = Number(item.slice(0, -1));
      if (n > length) return false;
      // The weekday nearest n, staying in the month: look at n, then n∓1, n±1, then n±2.
      const candidates = [n, n - 1, n + 1, n + 2, n - 2].filter((d) => d >= 1 && d <= length && isWeekday(d));
      return day === candidates[0];
    }
    return itemHolds(item, day, 1, 31);
  });
}

/** Whether a day-of-week field (with L, nL, n#k) takes `date`. */
function dayOfWeekHolds(text: string, date: Date): boolean {
  const weekdayNumber = date.getUTCDay() + 1;
  const day = date.getUTCDate();
  const length = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  return text.split(',').some((item) => {
    if (item === 'L') return weekdayNumber === 7;
    const nth = /^(.+)#(\d)$/.exec(item);
    if (nth) return weekdayNumber === numberOf(nth[1] ?? '', NAMES.week) && Math.ceil(day / 7) === Number(nth[2]);
    if (item.endsWith('L')) return weekdayNumber === numberOf(item.slice(0, -1), NAMES.week) && day + 7 > length;
    return itemHolds(item, weekdayNumber, 1, 7, NAMES.week);
  });
}

function oracleCalendar(fields: readonly string[]): { runs: boolean; longestGapMinutes: number } {
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = ''] = fields;
  const times: number[] = [];
  for (let t = 0; t < DAY; t++)
    if (fieldHolds(hours, Math.floor(t / 60), 0, 23) && fieldHolds(minutes, t % 60, 0, 59)) times.push(t);
  const runDays: number[] = [];
  for (let day = 0; day < 146_097; day++) {
    const date = utc(day);
    if (!fieldHolds(month, date.getUTCMonth() + 1, 1, 12, NAMES.month)) continue;
    const takes = dayOfMonth === '?' ? dayOfWeekHolds(dayOfWeek, date) : dayOfMonthHolds(dayOfMonth, date);
    if (takes) runDays.push(day);
  }
  const first = runDays[0];
  if (first === undefined) return { runs: false, longestGapMinutes: 0 };
  // Every run of the 400-year cycle in order, then the first of the next cycle. Walked, not
  // listed: a cron running most minutes of every day has over 100 million runs, more than an
  // array holds ("Invalid array length").
  let longest = 0;
  let previous: number | undefined;
  for (const day of [...runDays, first + 146_097])
    for (const t of times) {
      const run = day * DAY + t;
      if (previous !== undefined) longest = Math.max(longest, run - previous);
      previous = run;
    }
  return { runs: true, longestGapMinutes: longest };
}

describe('blocker.schedule, for any expression', () => {
  it('a rate is accepted exactly when it is at most a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), unit, (value, name) => {
        const expression = `rate(${value} ${value === 1 ? name : `${name}s`})`;
        const period = value * UNIT_MINUTES[name];
        if (period <= MAX_SCHEDULE_GAP_MINUTES) expect(longestScheduleGapMinutes(expression)).toBe(period);
        else expect(scheduleProblem(expression)).toContain('at least once a day');
      }),
    );
  });

  it('a cron built by the rules EventBridge documents is refused only for what it does to the blocker', () => {
    fc.assert(
      fc.property(crons, (expression) => {
        const problem = scheduleProblem(expression);
        if (problem === undefined) return;
        expect(problem).toMatch(/never runs: |leaves up to .* between runs|year must be "\*"/);
      }),
    );
  });

  it('every cron that runs each day is accepted, with its longest gap', () => {
    fc.assert(
      fc.property(dailyCrons, (expression) => {
        expect(scheduleProblem(expression)).toBeUndefined();
        expect(longestScheduleGapMinutes(expression)).toBeLessThanOrEqual(DAY);
      }),
    );
  });

  it("when a cron runs, and its longest gap, agree with JavaScript's own calendar over 400 years", () => {
    fc.assert(
      fc.property(cronFieldsOf, (fields) => {
        expect(cronCalendar(fields)).toEqual(oracleCalendar(fields));
      }),
      { numRuns: 40 },
    );
  });

  it('cron(* 0-12 * * ? *), every minute of the morning each day: agrees with the calendar, 11 hours 1 minute apart at most', () => {
    const fields = ['*', '0-12', '*', '*', '?', '*'];
    expect(cronCalendar(fields)).toEqual({ runs: true, longestGapMinutes: 661 });
    expect(oracleCalendar(fields)).toEqual(cronCalendar(fields));
  });

  it('whatever the configuration accepts, the construct builds and the template validates', () => {
    // Near misses too (both day fields set, a unit that disagrees with its value): whichever of
    // them the configuration let through would have to pass the template validation as well.
    const nearMisses = fc.oneof(
      dailyCrons.map((cron) => cron.replace(' ? ', ' * ')),
      rates.map((rate) => rate.replace(/(\d+) (\w+?)s?\)/, (_, value: string, name: string) => `${value} ${name})`)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(rates, dailyCrons, crons, nearMisses), { minLength: 1, maxLength: 20 }),
        (expressions) => {
          const accepted = expressions.filter((expression) => scheduleProblem(expression) === undefined);
          if (accepted.length > 0) synthesizesCleanly(accepted); // a template needs at least one resource
        },
      ),
      { numRuns: 15 },
    );
  });

  it('a rate whose unit does not agree with its value is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), unit, (value, name) => {
        const wrong = `rate(${value} ${value === 1 ? `${name}s` : name})`;
        expect(scheduleProblem(wrong)).toContain('singular for 1 and plural otherwise');
      }),
    );
  });

  it('never throws, and answers with one line, for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((body) => `cron(${body})`),
          fc.string().map((b) => `rate(${b})`),
        ),
        (text) => {
          const problem = scheduleProblem(text);
          if (problem !== undefined) expect(problem).not.toContain('\n');
        },
      ),
    );
  });
});
