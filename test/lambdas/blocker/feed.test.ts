/**
 * The ban feed's validation: what a host may publish, what is turned away and why, and (over
 * generated input) that nothing anybody publishes can make it throw or let a bad action through.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OperatorAction } from '#blocker/actions';
import { MAX_FEED_DURATION_MINUTES, parseFeed, parseFeedMessage } from '#blocker/feed';
import { readRange } from '#core/address-verdict';
import { OTHER_SPACES } from '#core/value-space';
import { SETTINGS } from '../../support/blocker-fixtures';

const FEED = SETTINGS.feedTopicArn;
const OTHER_TOPIC = 'arn:aws:sns:us-east-1:123456789012:waf-autoblock-AlertTopic';
const KEYS = ['action', 'address', 'durationMinutes', 'reason', 'source', 'tier'];
const SOURCE = /^[A-Za-z0-9._@:/+-]{1,64}$/;

const BAN = { action: 'ban', address: '45.33.12.7', durationMinutes: 60, reason: 'sshd', source: 'fail2ban@web1' };

function problemOf(message: unknown): string {
  const outcome = parseFeedMessage(typeof message === 'string' ? message : JSON.stringify(message));
  if (!('problem' in outcome)) throw new Error(`expected a problem, got ${JSON.stringify(outcome.action)}`);
  return outcome.problem;
}

function actionOf(message: unknown): OperatorAction {
  const outcome = parseFeedMessage(JSON.stringify(message));
  if (!('action' in outcome)) throw new Error(`expected an action, got: ${outcome.problem}`);
  return outcome.action;
}

/** An SNS record as Lambda delivers it. */
function record(message: unknown, topicArn = FEED, messageId = 'b5d1e0c2-7e0b-5c35-9a6e-2f3c1d7a9e01') {
  return {
    EventSource: 'aws:sns',
    Sns: { Type: 'Notification', MessageId: messageId, TopicArn: topicArn, Message: message },
  };
}

/** The rules of the feed, written out independently of the schema: does `value` make a valid action? */
function oracleValid(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (Object.keys(message).some((key) => !KEYS.includes(key))) return false;
  const { address, durationMinutes } = message;
  const [action, reason, source, tier] = [message['action'], message['reason'], message['source'], message['tier']].map(
    oracleText,
  );
  if (action === REFUSED || reason === REFUSED || source === REFUSED || tier === REFUSED) return false;
  // Parsed without a deployment: no neighbour tier, so only "block" may be named, and only by a ban.
  if (tier !== undefined && (tier !== 'block' || action !== 'ban')) return false;
  if (action !== 'ban' && action !== 'unban') return false;
  if (typeof address !== 'string' || address.length < 1 || address.length > 100) return false;
  if (readRange(address).problem !== undefined) return false;
  if (typeof source !== 'string' || !SOURCE.test(source)) return false;
  if (reason !== undefined && (typeof reason !== 'string' || !oracleReasonValid(reason))) return false;
  if (durationMinutes === undefined) return true;
  return (
    action === 'ban' &&
    Number.isInteger(durationMinutes) &&
    Number(durationMinutes) >= 1 &&
    Number(durationMinutes) <= 525_600
  );
}

const REFUSED = Symbol('refused');
/** Trimmed around each text value, and refused anywhere in it (the one whitespace rule, written out again). */
const TRIMMED = new Set([9, 10, 11, 12, 13, 32, 0xa0, 0xfeff]);

/** A text field by the whitespace rule: surrounding whitespace trimmed, a text holding another space refused. */
function oracleText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const codes = Array.from(value, (character) => character.codePointAt(0) ?? 0);
  if (codes.some((code) => OTHER_SPACES.has(code))) return REFUSED;
  while (codes.length > 0 && TRIMMED.has(codes[0] ?? 0)) codes.shift();
  while (codes.length > 0 && TRIMMED.has(codes[codes.length - 1] ?? 0)) codes.pop();
  return String.fromCodePoint(...codes);
}

/** At most 256 code points, none a C0/C1 control, DEL, or bidi override/isolate. */
function oracleReasonValid(reason: string): boolean {
  const codes = Array.from(reason, (character) => character.codePointAt(0) ?? 0);
  const unprintable = (code: number) =>
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069);
  return codes.length <= 256 && !codes.some(unprintable);
}

/** Every accepted action must satisfy the rules, whatever the input was. */
function expectWithinRules(action: OperatorAction): void {
  expect(['ban', 'unban']).toContain(action.action);
  expect(Object.keys(action).every((key) => KEYS.includes(key))).toBe(true);
  expect(action.address.length).toBeGreaterThanOrEqual(1);
  expect(action.address.length).toBeLessThanOrEqual(100);
  expect(readRange(action.address).problem).toBeUndefined();
  expect(action.source).toMatch(SOURCE);
  if (action.reason !== undefined) expect(oracleReasonValid(action.reason)).toBe(true);
  if (action.action === 'ban' && action.durationMinutes !== undefined) {
    expect(Number.isInteger(action.durationMinutes)).toBe(true);
    expect(action.durationMinutes).toBeGreaterThanOrEqual(1);
    expect(action.durationMinutes).toBeLessThanOrEqual(MAX_FEED_DURATION_MINUTES);
  }
  if (action.action === 'unban') expect(action).not.toHaveProperty('durationMinutes');
  if (action.action === 'unban') expect(action).not.toHaveProperty('tier');
}

describe('parseFeedMessage accepts', () => {
  it('a ban with every field', () => {
    expect(actionOf(BAN)).toStrictEqual(BAN);
  });

  it('a ban with only the required fields, which lasts the deployment default', () => {
    expect(actionOf({ action: 'ban', address: '2a01:4f8:1:2::5', source: 'crowdsec@edge' })).toStrictEqual({
      action: 'ban',
      address: '2a01:4f8:1:2::5',
      source: 'crowdsec@edge',
    });
  });

  it('an unban, with or without a reason', () => {
    expect(actionOf({ action: 'unban', address: '45.33.12.0/24', source: 'fail2ban@web1' })).toStrictEqual({
      action: 'unban',
      address: '45.33.12.0/24',
      source: 'fail2ban@web1',
    });
    expect(actionOf({ action: 'unban', address: '45.33.12.7', reason: 'false positive', source: 'ops' })).toMatchObject(
      {
        reason: 'false positive',
      },
    );
  });

  it('values at the edges of their ranges', () => {
    expect(actionOf({ ...BAN, durationMinutes: 1 })).toMatchObject({ durationMinutes: 1 });
    expect(actionOf({ ...BAN, durationMinutes: 525_600 })).toMatchObject({ durationMinutes: 525_600 });
    const padded = '45.33.12.7'.padStart(100);
    expect(actionOf({ ...BAN, address: padded })).toMatchObject({ address: padded });
    expect(actionOf({ ...BAN, reason: 'r'.repeat(256) })).toMatchObject({ reason: 'r'.repeat(256) });
    // The CLI's rule: code points, so 256 emoji (512 UTF-16 units) are 256 characters.
    expect(actionOf({ ...BAN, reason: '😀'.repeat(256) })).toMatchObject({ reason: '😀'.repeat(256) });
    expect(actionOf({ ...BAN, reason: '' })).toMatchObject({ reason: '' });
    expect(actionOf({ ...BAN, source: 's' })).toMatchObject({ source: 's' });
    const everyCharacter = 'Az09._@:/+-'.padEnd(64, 'x');
    expect(actionOf({ ...BAN, source: everyCharacter })).toMatchObject({ source: everyCharacter });
  });

  it('a ban naming the Block tier, as the default is, on any stack', () => {
    expect(actionOf({ ...BAN, tier: 'block' })).toStrictEqual(BAN);
    expect(actionOf({ ...BAN, tier: ' block ' })).toStrictEqual(BAN);
  });

  it('a ban naming the neighbour tier, on a stack that has one, with the word of "ban --tier"', () => {
    const outcome = parseFeedMessage(JSON.stringify({ ...BAN, tier: 'neighbour' }), { neighbourTier: true });
    expect(outcome).toStrictEqual({ action: { ...BAN, tier: 'neighbour' } });
  });

  it('an address the run will judge (non-global, allowlisted): only its text is read here', () => {
    expect(actionOf({ ...BAN, address: '10.0.0.1' })).toMatchObject({ address: '10.0.0.1' });
  });
});

describe('parseFeedMessage turns away, naming the problem', () => {
  it.each([
    ['plain text', 'ban 45.33.12.7', 'not JSON'],
    ['truncated JSON', '{"action":"ban","address":', 'not JSON'],
    ['an empty message', '', 'not JSON'],
    ['JSON null', 'null', 'not a JSON object'],
    ['a JSON array', JSON.stringify([BAN]), 'not a JSON object'],
    ['a JSON string', '"ban"', 'not a JSON object'],
    ['a JSON number', '42', 'not a JSON object'],
  ])('%s', (_, text, problem) => {
    expect(problemOf(text)).toBe(problem);
  });

  it.each([
    ['a misspelt key', { ...BAN, duration: 60 }, 'unknown key "duration"'],
    ['an unknown action', { ...BAN, action: 'block' }, 'action must be "ban" or "unban"'],
    ['an action in capitals', { ...BAN, action: 'BAN' }, 'action must be "ban" or "unban"'],
    ['no action', { address: BAN.address, source: BAN.source }, 'action is required'],
    ['no address', { action: 'ban', source: BAN.source }, 'address is required'],
    ['an empty address', { ...BAN, address: '' }, 'address must be a non-empty string of at most 100 characters'],
    ['an address of 101 characters', { ...BAN, address: 'a'.repeat(101) }, 'address must be a non-empty string'],
    ['an address that is a number', { ...BAN, address: 757935111 }, 'address must be a non-empty string'],
    [
      'an address that is not one',
      { ...BAN, address: 'not an address' },
      'address "not an address" is not an IPv4 or IPv6 address or CIDR range',
    ],
    ['a list of addresses', { ...BAN, address: ['45.33.12.7'] }, 'address must be a non-empty string'],
    ['a duration of 0', { ...BAN, durationMinutes: 0 }, 'durationMinutes must be a whole number from 1 to 525600'],
    ['a negative duration', { ...BAN, durationMinutes: -5 }, 'durationMinutes must be a whole number from 1 to 525600'],
    [
      'a fractional duration',
      { ...BAN, durationMinutes: 1.5 },
      'durationMinutes must be a whole number from 1 to 525600',
    ],
    ['a duration over a year', { ...BAN, durationMinutes: 525_601 }, 'durationMinutes must be a whole number from 1'],
    ['a duration as a string', { ...BAN, durationMinutes: '60' }, 'durationMinutes must be a whole number from 1'],
    ['a null duration', { ...BAN, durationMinutes: null }, 'durationMinutes must be a whole number from 1'],
    ['a duration on an unban', { ...BAN, action: 'unban' }, 'durationMinutes is only allowed with action "ban"'],
    ['a reason of 257 characters', { ...BAN, reason: 'r'.repeat(257) }, 'reason must be at most 256 characters'],
    ['a reason of 257 emoji', { ...BAN, reason: '😀'.repeat(257) }, 'reason must be at most 256 characters'],
    [
      'a reason over two lines',
      { ...BAN, reason: 'sshd\nban' },
      'reason must be one line of printable text, got U+000A',
    ],
    ['a reason with a terminal escape', { ...BAN, reason: '\u001b[2J' }, 'got U+001B (a control or bidi'],
    ['a reason that reads backwards', { ...BAN, reason: 'ok \u202egnp.exe' }, 'got U+202E (a control or bidi'],
    ['a reason that is an object', { ...BAN, reason: { text: 'x' } }, 'reason must be a string'],
    ['no source', { action: 'ban', address: BAN.address }, 'source is required'],
    ['an empty source', { ...BAN, source: '' }, 'source must be 1 to 64 characters'],
    ['a source with a space', { ...BAN, source: 'fail2ban web1' }, 'source must be 1 to 64 characters'],
    ['a source with a newline', { ...BAN, source: 'fail2ban\nweb1' }, 'source must be 1 to 64 characters'],
    ['a source of 65 characters', { ...BAN, source: 's'.repeat(65) }, 'source must be 1 to 64 characters'],
    // A tester's finding: the tier refusal did not echo what was sent, nor hint at the near misses.
    [
      'a tier that is an action',
      { ...BAN, tier: 'challenge' },
      'tier must be "block" or "neighbour" (got "challenge")',
    ],
    [
      'a tier in capitals',
      { ...BAN, tier: 'NEIGHBOUR' },
      'tier must be "block" or "neighbour" (got "NEIGHBOUR"); did you mean "neighbour"? Tiers are lower case',
    ],
    [
      'a capitalized tier',
      { ...BAN, tier: 'Neighbour' },
      'tier must be "block" or "neighbour" (got "Neighbour"); did you mean "neighbour"?',
    ],
    [
      'the American spelling',
      { ...BAN, tier: 'neighbor' },
      'tier must be "block" or "neighbour" (got "neighbor"); did you mean "neighbour"? The tier is spelt the British way',
    ],
    ['a tier that is a list', { ...BAN, tier: ['neighbour'] }, 'tier must be "block" or "neighbour" (got a list)'],
    ['a tier that is a number', { ...BAN, tier: 2 }, 'tier must be "block" or "neighbour" (got a number)'],
    [
      'a tier with a terminal escape, echoed escaped',
      { ...BAN, tier: 'neigh\u001b[2Jbour' },
      'tier must be "block" or "neighbour" (got "neigh\\u001b[2Jbour")',
    ],
    [
      'a tier on an unban',
      { action: 'unban', address: BAN.address, source: BAN.source, tier: 'neighbour' },
      'tier is only allowed with action "ban" (an unban ends every tier)',
    ],
  ])('%s', (_, message, problem) => {
    expect(problemOf(message)).toContain(problem);
  });

  it('an unban with a duration and a tier: names both', () => {
    // A tester's finding: only the duration was named, and the tier was refused on the next try.
    const problem = problemOf({ ...BAN, action: 'unban', tier: 'neighbour' });
    expect(problem).toBe(
      'durationMinutes is only allowed with action "ban"; tier is only allowed with action "ban" (an unban ends every tier)',
    );
  });

  it('names every problem of a message at once', () => {
    const problem = problemOf({ action: 'block', address: '', source: 'a b', ip: '1.2.3.4' });

    for (const key of ['action', 'address', 'source', 'unknown key "ip"']) expect(problem).toContain(key);
  });

  it('never quotes much of what it was sent, and stays one short line', () => {
    const garbage = 'Z'.repeat(5000);
    const problems = [
      problemOf({ ...BAN, [garbage]: 1 }),
      problemOf({ ...BAN, [`a\nb${garbage}`]: 1, [`${garbage}2`]: 2, [`${garbage}3`]: 3, [`${garbage}4`]: 4 }),
      problemOf({ ...BAN, address: garbage, source: garbage, reason: garbage }),
      problemOf(garbage),
    ];
    for (const problem of problems) {
      expect(problem.length).toBeLessThanOrEqual(300);
      expect(problem).not.toContain('Z'.repeat(100));
      expect(problem).not.toContain('\n');
    }
    expect(problems[1]).toContain('and 1 more');
  });

  it('a neighbour-tier ban on a stack without a neighbour tier, naming the address and the setting', () => {
    for (const deployment of [undefined, { neighbourTier: false }]) {
      const outcome = parseFeedMessage(JSON.stringify({ ...BAN, tier: 'neighbour' }), deployment);
      expect(outcome).toStrictEqual({
        problem:
          'tier "neighbour" for address "45.33.12.7": this stack has no neighbour tier ' +
          '(blocker.neighbourAction is BLOCK); leave tier out to block the range',
      });
    }
  });

  it('without a message text', () => {
    expect(parseFeedMessage(undefined)).toStrictEqual({ problem: 'no message text' });
    expect(parseFeedMessage({ action: 'ban' })).toStrictEqual({ problem: 'no message text' });
  });
});

describe('parseFeed', () => {
  it('reads the feed records of an event into actions, in order', () => {
    const unban = { action: 'unban', address: '45.33.12.7', source: 'fail2ban@web1' };

    expect(parseFeed({ Records: [record(JSON.stringify(BAN)), record(JSON.stringify(unban))] }, FEED)).toStrictEqual({
      actions: [BAN, unban],
      rejected: [],
    });
  });

  it('returns each bad message with its problem, message id and topic, beside the good ones', () => {
    const event = { Records: [record('{"action":"ban"', FEED, 'm-1'), record(JSON.stringify(BAN), FEED, 'm-2')] };

    expect(parseFeed(event, FEED)).toStrictEqual({
      actions: [BAN],
      rejected: [{ problem: 'not JSON', messageId: 'm-1', topicArn: FEED }],
    });
  });

  it('checks each message against the deployment it is given', () => {
    const challenge = { ...BAN, tier: 'neighbour' };
    const event = { Records: [record(JSON.stringify(challenge), FEED, 'm-1')] };
    expect(parseFeed(event, FEED, { neighbourTier: true })).toStrictEqual({
      actions: [{ ...BAN, tier: 'neighbour' }],
      rejected: [],
    });
    expect(parseFeed(event, FEED).rejected).toEqual([
      {
        problem: expect.stringContaining('this stack has no neighbour tier') as unknown,
        messageId: 'm-1',
        topicArn: FEED,
      },
    ]);
  });

  it('cuts a long or odd message id short', () => {
    const [rejected] = parseFeed({ Records: [record('x', FEED, `\u0007${'i'.repeat(500)}`)] }, FEED).rejected;

    expect(rejected?.messageId.length).toBeLessThanOrEqual(50);
    expect(rejected?.messageId).not.toContain('\u0007');
  });

  it('ignores messages from any other topic, valid or not', () => {
    const event = {
      Records: [
        record(JSON.stringify(BAN), OTHER_TOPIC),
        record('garbage', OTHER_TOPIC),
        record(JSON.stringify(BAN), ''),
      ],
    };

    expect(parseFeed(event, FEED)).toStrictEqual({ actions: [], rejected: [] });
  });

  it.each([
    ['no event', undefined],
    ['null', null],
    ['a string', 'Records'],
    ['records that are not a list', { Records: { Sns: {} } }],
    ['records without Sns', { Records: [null, 7, 'x', {}, { Sns: null }, { Sns: 'x' }] }],
    ['the schedule', { source: 'aws.events', 'detail-type': 'Scheduled Event' }],
  ])('finds nothing in %s', (_, event) => {
    expect(parseFeed(event, FEED)).toStrictEqual({ actions: [], rejected: [] });
  });
});

describe('parseFeed over generated input', () => {
  /** Values a publisher might get wrong: right, near-miss and wrong types, for each key. */
  const feedValue = {
    action: fc.oneof(fc.constantFrom('ban', 'unban', 'BAN', 'block', ''), fc.anything()),
    address: fc.oneof(fc.string({ maxLength: 120 }), fc.ipV4(), fc.ipV6(), fc.anything()),
    durationMinutes: fc.oneof(
      fc.integer({ min: -2, max: 525_602 }),
      fc.double(),
      fc.constantFrom(1, 525_600, 525_601, 0, Number.MAX_SAFE_INTEGER + 2),
      fc.anything(),
    ),
    reason: fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('😀'.repeat(256), '😀'.repeat(257), 'a\nb', 'a\u202eb', 'a\u0085b'),
      fc.anything(),
    ),
    source: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._@:/+-]{0,70}$/), fc.string(), fc.anything()),
    tier: fc.oneof(fc.constantFrom('block', 'neighbour', ' block', 'Block', 'challenge', ''), fc.anything()),
  };
  const validMessage = fc
    .record(
      {
        action: fc.constantFrom('ban', 'unban'),
        address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ minLength: 1, maxLength: 100 })),
        durationMinutes: fc.integer({ min: 1, max: MAX_FEED_DURATION_MINUTES }),
        reason: fc.string({ maxLength: 256 }),
        source: fc.stringMatching(/^[A-Za-z0-9._@:/+-]{1,64}$/),
      },
      { requiredKeys: ['action', 'address', 'source'] },
    )
    .map(({ durationMinutes, ...rest }) => (rest.action === 'ban' ? { ...rest, durationMinutes } : rest));
  /** A valid message with one key set to a near-miss value, removed, or one unknown key added. */
  const nearMessage = fc.oneof(
    validMessage,
    fc.tuple(validMessage, fc.constantFrom(...KEYS, 'duration', 'ip', '__proto__')).chain(([message, key]) =>
      fc
        .option(Object.hasOwn(feedValue, key) ? feedValue[key as keyof typeof feedValue] : fc.anything(), {
          nil: undefined,
        })
        .map((value) => {
          const copy: Record<string, unknown> = Object.fromEntries(Object.entries(message).filter(([k]) => k !== key));
          // defineProperty, not assignment: `__proto__` must become a key of the message, as JSON.parse makes it.
          if (value !== undefined)
            Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
          return copy;
        }),
    ),
  );

  it('accepts exactly the messages that follow the rules, and every action it returns follows them', () => {
    let accepted = 0;
    fc.assert(
      fc.property(nearMessage, (message) => {
        const text = JSON.stringify(message);
        const outcome = parseFeedMessage(text);
        // Compared after a JSON round trip: that is what the feed receives (undefined keys vanish, -0 is 0).
        expect('action' in outcome).toBe(oracleValid(JSON.parse(text)));
        if ('action' in outcome) {
          accepted += 1;
          expectWithinRules(outcome.action);
        } else {
          expect(outcome.problem).not.toBe('');
        }
      }),
      { numRuns: 2000 },
    );
    // Both sides of the rule were exercised, not only the rejections.
    expect(accepted).toBeGreaterThan(400);
    expect(accepted).toBeLessThan(1900);
  });

  it('never throws on any JSON, any value stringified or any string, and answers in one short line', () => {
    const texts = fc.oneof(
      fc.json(),
      // JSON.stringify gives undefined for some values (undefined, functions), whatever its type says.
      fc.anything().map((value) => (JSON.stringify(value) as string | undefined) ?? 'undefined'),
      fc.string({ unit: 'binary' }),
      fc.string(),
    );
    fc.assert(
      fc.property(texts, (text) => {
        const outcome = parseFeedMessage(text);
        if ('action' in outcome) {
          expectWithinRules(outcome.action);
        } else {
          expect(outcome.problem.length).toBeGreaterThan(0);
          expect(outcome.problem.length).toBeLessThanOrEqual(300);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on any event, and reads only records of the feed topic', () => {
    const sns = fc.record(
      {
        TopicArn: fc.oneof(fc.constant(FEED), fc.constant(OTHER_TOPIC), fc.anything()),
        MessageId: fc.oneof(fc.uuid(), fc.anything()),
        Message: fc.oneof(fc.json(), fc.string(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    const event = fc.oneof(
      fc.anything(),
      fc.record({ Records: fc.array(fc.oneof(fc.record({ Sns: sns }), fc.anything()), { maxLength: 5 }) }),
    );
    fc.assert(
      fc.property(event, (value) => {
        const { actions, rejected } = parseFeed(value, FEED);
        const records = (value as { Records?: unknown } | null)?.Records;
        const fromFeed = Array.isArray(records)
          ? records.filter((r) => (r as { Sns?: { TopicArn?: unknown } } | null)?.Sns?.TopicArn === FEED).length
          : 0;
        expect(actions.length + rejected.length).toBe(fromFeed);
        actions.forEach(expectWithinRules);
        for (const item of rejected) expect(item.topicArn).toBe(FEED);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the fail2ban example action', () => {
  /** The `[Definition]` and `[Init]` values of the action file, continuation lines joined as fail2ban does. */
  function readAction(): Record<string, string> {
    const values: Record<string, string> = {};
    let key: string | undefined;
    for (const line of readFileSync('examples/fail2ban/action.d/waf-autoblock.conf', 'utf8').split('\n')) {
      if (/^\s*(#|$)/.test(line) || line.startsWith('[')) continue;
      const continued = /^\s+(\S.*)$/.exec(line);
      if (continued && key !== undefined) {
        values[key] = `${values[key] ?? ''}\n${continued[1] ?? ''}`;
        continue;
      }
      const [, name, value = ''] = /^([\w-]+)\s*=\s*(.*)$/.exec(line) ?? [];
      if (name !== undefined) {
        key = name;
        values[name] = value;
      }
    }
    return values;
  }

  /** Runs an action command as fail2ban would, with the AWS CLI replaced by printing its --message. */
  function messageOf(command: 'actionban' | 'actionunban', tags: Record<string, string>): unknown {
    const values: Record<string, string> = {
      ...readAction(),
      topic_arn: FEED,
      'sh-hostname': 'web1',
      ip: '45.33.12.7',
      name: 'sshd',
      aws: 'print_message',
      ...tags,
    };
    let script = values[command] ?? '';
    // Tags may hold tags (<_publish> holds <aws>); fail2ban substitutes until none is left.
    for (let round = 0; round < 5; round++)
      script = script.replace(/<([^ <>]+)>/g, (tag, name: string) => values[name] ?? tag);
    const printer =
      'print_message() { while [ "$#" -gt 0 ]; do [ "$1" = --message ] && printf "%s" "$2"; shift; done; }';
    const output = execFileSync('sh', ['-c', `${printer}\n${script}`], { encoding: 'utf8' });
    return output === '' ? undefined : parseFeedMessage(output);
  }

  it.each([
    ['3600', 60],
    ['90', 2],
    ['30', 1],
    ['600.0', 10],
    ['99999999999', MAX_FEED_DURATION_MINUTES],
  ])('publishes a ban the feed accepts, bantime %s s giving %i minutes', (bantime, minutes) => {
    expect(messageOf('actionban', { bantime })).toStrictEqual({
      action: {
        action: 'ban',
        address: '45.33.12.7',
        durationMinutes: minutes,
        reason: 'fail2ban jail sshd',
        source: 'fail2ban@web1',
      },
    });
  });

  it('leaves the duration out of a permanent ban', () => {
    expect(messageOf('actionban', { bantime: '-1' })).toStrictEqual({
      action: { action: 'ban', address: '45.33.12.7', reason: 'fail2ban jail sshd', source: 'fail2ban@web1' },
    });
  });

  it('publishes unbans only when told to: a fail2ban unban would end the whole range everywhere', () => {
    expect(messageOf('actionunban', {})).toBeUndefined();
    expect(messageOf('actionunban', { publish_unban: 'true' })).toStrictEqual({
      action: { action: 'unban', address: '45.33.12.7', reason: 'fail2ban jail sshd', source: 'fail2ban@web1' },
    });
  });

  it("keeps the source within the feed's 64 characters, whatever the host name", () => {
    const message = messageOf('actionban', { bantime: '600', 'sh-hostname': 'h'.repeat(100) });
    expect(message).toStrictEqual({
      action: expect.objectContaining({ action: 'ban', source: `fail2ban@${'h'.repeat(55)}` }) as unknown,
    });
  });
});
