import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockerSchedule } from '../../lib/blocker';
import { parseConfig } from '../../lib/config/load';
import { scheduleProblem } from '../../lib/config/schedule';
import { configErrorFrom, configErrorOf } from '../support/config-errors';

const refused = (schedule: string) => configErrorOf({ blocker: { schedule } }, 'blocker.schedule');

/** Synthesizes one rule on `expression` with CloudFormation's template validation on, as bin/app.ts does. */
function synthesizesCleanly(expressions: readonly string[]): void {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Schedules');
  expressions.forEach((expression, index) => {
    new events.Rule(stack, `Rule${index}`, { schedule: blockerSchedule(expression) });
  });
  app.synth(); // throws "Validation failed" on any template finding
}

// The examples of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
const DOCUMENTED = [
  'rate(1 minute)',
  'rate(5 minutes)',
  'rate(1 hour)',
  'rate(1 day)',
  'cron(0 10 * * ? *)',
  'cron(15 12 * * ? *)',
  'cron(0 18 ? * MON-FRI *)',
  'cron(0 8 1 * ? *)',
  'cron(0/15 * * * ? *)',
  'cron(0/10 * ? * MON-FRI *)',
  'cron(0/5 8-17 ? * MON-FRI *)',
  'cron(0 9 ? * 2#1 *)',
  'cron(15 10 ? * 6L 2019-2022)',
  'cron(0 0 L * ? *)',
  'cron(0 0 15W * ? *)',
  'cron(0 12 ? JAN,JUL * *)',
];

describe('blocker.schedule', () => {
  it.each(DOCUMENTED)('accepts %s', (schedule) => {
    expect(parseConfig({ blocker: { schedule } }).blocker.schedule).toBe(schedule);
  });

  it('every documented example passes CloudFormation template validation', () => {
    expect(() => {
      synthesizesCleanly(DOCUMENTED);
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
    [' rate(5 minutes)', 'not an EventBridge schedule expression'],
  ])('%s: refused (%s)', (schedule, reason) => {
    expect(refused(schedule)).toContain(reason);
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
    ['cron(1-2-3 * * * ? *)', 'minutes "1-2-3"'],
  ])('%s: refused naming the field (%s)', (schedule, reason) => {
    expect(refused(schedule)).toContain(reason);
  });

  it('the construct refuses an expression built without the configuration, naming the key', () => {
    configErrorFrom(() => blockerSchedule('rate(1 minutes)'), 'blocker.schedule');
  });
});

const unit = fc.constantFrom('minute', 'hour', 'day');
const rates = fc
  .tuple(fc.integer({ min: 1, max: 100_000 }), unit)
  .map(([value, name]) => `rate(${value} ${value === 1 ? name : `${name}s`})`);

const inRange = (min: number, max: number) => fc.integer({ min, max }).map(String);
const cronField = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.constant('*'),
    value,
    fc.tuple(value, value).map(([a, b]) => `${a}-${b}`),
    fc.tuple(value, fc.integer({ min: 1, max: 30 })).map(([a, step]) => `${a}/${step}`),
    fc.array(value, { minLength: 2, maxLength: 4 }).map((values) => values.join(',')),
  );
const crons = fc
  .tuple(
    cronField(inRange(0, 59)),
    cronField(inRange(0, 23)),
    cronField(inRange(1, 31)),
    cronField(fc.oneof(inRange(1, 12), fc.constantFrom('JAN', 'jun', 'DEC'))),
    cronField(fc.oneof(inRange(1, 7), fc.constantFrom('SUN', 'MON', 'sat'))),
    cronField(inRange(1970, 2199)),
    fc.boolean(),
  )
  .map(([minutes, hours, dayOfMonth, month, dayOfWeek, year, byDayOfMonth]) =>
    byDayOfMonth
      ? `cron(${minutes} ${hours} ${dayOfMonth} ${month} ? ${year})`
      : `cron(${minutes} ${hours} ? ${month} ${dayOfWeek} ${year})`,
  );

describe('blocker.schedule, for any expression', () => {
  it('accepts every rate and cron built by the rules EventBridge documents', () => {
    fc.assert(
      fc.property(fc.oneof(rates, crons), (expression) => {
        expect(scheduleProblem(expression)).toBeUndefined();
      }),
    );
  });

  it('whatever the configuration accepts, the construct builds and the template validates', () => {
    // Near misses too (both day fields set, a unit that disagrees with its value): whichever of
    // them the configuration let through would have to pass the template validation as well.
    const nearMisses = fc.oneof(
      crons.map((cron) => cron.replace(' ? ', ' * ')),
      rates.map((rate) => rate.replace(/(\d+) (\w+?)s?\)/, (_, value: string, name: string) => `${value} ${name})`)),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(rates, crons, nearMisses), { minLength: 1, maxLength: 20 }), (expressions) => {
        const accepted = expressions.filter((expression) => scheduleProblem(expression) === undefined);
        if (accepted.length > 0) synthesizesCleanly(accepted); // a template needs at least one resource
      }),
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
