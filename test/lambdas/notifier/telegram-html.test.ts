import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bold,
  clip,
  code,
  escapeHtml,
  htmlToPlainText,
  italic,
  packMessages,
  sanitize,
  text,
  toMessages,
  type Line,
  type Span,
} from '#notifier/telegram-html';
import { checkTelegramHtml, visibleText } from '../../support/telegram-server';
import { hostileText } from './fixtures';
import { TELEGRAM_FORMATS_AT_MOST, telegramEntities } from './telegram-entities';

describe('escaping and sanitizing', () => {
  it('escapes the characters Telegram HTML treats specially, and nothing else', () => {
    expect(escapeHtml('<b>&"x"</b> 👍 שלום')).toBe('&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt; 👍 שלום');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });

  it('keeps a span on one line and replaces what would break the message or reorder it', () => {
    expect(sanitize('a\nb\r\nc\td\u2028e')).toBe('a b  c d e');
    expect(sanitize('x\u0000y\u007fz')).toBe('x\uFFFDy\uFFFDz');
    // Right-to-left text stays; an override that would flip the text around it does not.
    expect(sanitize('שלום مرحبا')).toBe('שלום مرحبا');
    expect(sanitize('evil\u202Emoc.elgoog')).toBe('evil\uFFFDmoc.elgoog');
    // A lone surrogate cannot be sent as UTF-8; a pair (an emoji) is kept.
    expect(sanitize('a\uD800b\uDC00c 😀')).toBe('a\uFFFDb\uFFFDc 😀');
  });

  it('clips to a length without splitting a surrogate pair', () => {
    expect(clip('abcdef', 10)).toBe('abcdef');
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip('ab😀cd', 4)).toBe('ab…');
    expect(clip('ab😀cd', 5)).toBe('ab😀…');
    expect(() => clip('abc', 0)).toThrow(RangeError);
  });

  it('turns rendered HTML back into what the reader sees, for the plain-text fallback', () => {
    expect(htmlToPlainText('<b>a</b> &lt;b&gt; &amp;lt; <code>x&quot;</code>')).toBe('a <b> &lt; x"');
  });
});

describe('the checker the tests and the Telegram stand-in use', () => {
  it('accepts our tags and entities and refuses anything Telegram could misread', () => {
    expect(checkTelegramHtml('<b>a</b> <i>b</i> <code>&lt;&amp;&gt;&quot;</code> <pre>x</pre>')).toBeUndefined();
    expect(checkTelegramHtml('a < b')).toMatch(/raw "<"/);
    expect(checkTelegramHtml('a > b')).toMatch(/raw ">"/);
    expect(checkTelegramHtml('AT&T')).toMatch(/raw "&"/);
    expect(checkTelegramHtml('&nbsp;')).toMatch(/raw "&"/);
    expect(checkTelegramHtml('<a href="x">y</a>')).toMatch(/unsupported tag/);
    expect(checkTelegramHtml('<b><i>x</i></b>')).toMatch(/nested/);
    expect(checkTelegramHtml('<b>x</i>')).toMatch(/closes/);
    expect(checkTelegramHtml('<code>x')).toMatch(/never closed/);
  });
});

describe('toMessages', () => {
  it('renders spans with their tags and lines with newlines', () => {
    expect(toMessages([[bold('Title'), text(' & '), code('<x>')], [], [italic('note')]])).toEqual([
      '<b>Title</b> &amp; <code>&lt;x&gt;</code>\n\n<i>note</i>',
    ]);
  });

  it('splits between lines, never inside one that fits, and drops blank lines at the edges', () => {
    const lines: Line[] = [[text('a'.repeat(30))], [], [text('b'.repeat(30))], [text('c'.repeat(30))]];
    expect(toMessages(lines, { limit: 100, maxParts: 5 })).toEqual([
      `${'a'.repeat(30)}\n\n${'b'.repeat(30)}\n${'c'.repeat(30)}`,
    ]);
    expect(toMessages(lines, { limit: 60, maxParts: 5 })).toEqual(['a'.repeat(30), 'b'.repeat(30), 'c'.repeat(30)]);
  });

  it('splits a line longer than a message inside a span, closing and reopening its tag', () => {
    const messages = toMessages([[text('see '), code('x'.repeat(250))]], { limit: 100, maxParts: 5 });
    // Pieces of a line are cut at the limit less the room kept for a "left out" note (a quarter here).
    expect(messages).toEqual([
      `see <code>${'x'.repeat(58)}</code>`,
      `<code>${'x'.repeat(62)}</code>`,
      `<code>${'x'.repeat(62)}</code>`,
      `<code>${'x'.repeat(62)}</code>\n<code>${'x'.repeat(6)}</code>`,
    ]);
  });

  it('never splits an entity', () => {
    const messages = toMessages([[text('&'.repeat(100))]], { limit: 27, maxParts: 100 });
    for (const message of messages) {
      expect(message.length).toBeLessThanOrEqual(27);
      expect(checkTelegramHtml(message)).toBeUndefined();
    }
    expect(messages.map(visibleText).join('')).toBe('&'.repeat(100));
  });

  it('stops at maxParts and says how many lines were left out', () => {
    const lines: Line[] = Array.from({ length: 50 }, (_, i) => [text(`line ${i} `.padEnd(40, '.'))]);
    const messages = toMessages(lines, { limit: 200, maxParts: 2 });
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatch(/<i>… 4\d more lines left out \(message too long\)<\/i>$/);
    for (const message of messages) expect(message.length).toBeLessThanOrEqual(200);
  });

  it('tells a caller how many lines it left out, so that it can say less instead', () => {
    const lines: Line[] = Array.from({ length: 50 }, (_, i) => [text(`line ${i} `.padEnd(40, '.'))]);

    const cut = packMessages(lines, { limit: 200, maxParts: 2 });
    const whole = packMessages(lines.slice(0, 6), { limit: 200, maxParts: 2 });

    expect(cut.messages[1]).toContain(`<i>… ${cut.omittedLines} more lines left out (message too long)</i>`);
    expect(cut.omittedLines).toBe(
      50 -
        cut.messages
          .join('\n')
          .split('\n')
          .filter((l) => l.startsWith('line')).length,
    );
    expect(whole).toEqual({ messages: toMessages(lines.slice(0, 6), { limit: 200, maxParts: 2 }), omittedLines: 0 });
    expect(whole.messages.join('\n')).not.toContain('left out');
  });

  it('starts a new message before the 101st entity, which Telegram would show unformatted', () => {
    const lines: Line[] = Array.from({ length: 150 }, (_, i) => [text('• '), code(`45.33.${i}.0/24`)]);

    const messages = toMessages(lines);

    expect(messages.map(telegramEntities)).toEqual([100, 50]);
    expect(messages[0]?.length).toBeLessThan(3000);
    expect(messages[0]).toMatch(/\n• <code>45\.33\.99\.0\/24<\/code>$/);
    expect(messages[1]).toMatch(/^• <code>45\.33\.100\.0\/24<\/code>\n/);
  });

  it('splits one line of more than 100 entities between its spans, keeping every character', () => {
    const line: Line = Array.from({ length: 250 }, (_, i) => (i % 2 === 0 ? bold(`${i}`) : code(`${i}`)));

    const messages = toMessages([line]);

    expect(messages.map(telegramEntities)).toEqual([99, 99, 52]);
    expect(messages.map(visibleText).join('')).toBe(Array.from({ length: 250 }, (_, i) => i).join(''));
  });

  it('keeps room for the "left out" note within the entities of the last message', () => {
    const lines: Line[] = Array.from({ length: 30 }, (_, i) => [italic(`${i}`)]);

    const messages = toMessages(lines, { maxParts: 2, maxEntities: 10 });

    expect(messages).toHaveLength(2);
    expect(messages.map(telegramEntities)).toEqual([10, 10]);
    expect(messages[1]).toMatch(/<i>18<\/i>\n<i>… 11 more lines left out \(message too long\)<\/i>$/);
  });

  it('refuses an entity limit that cannot hold a span and the note', () => {
    expect(() => toMessages([[bold('x')]], { maxEntities: 1 })).toThrow(RangeError);
  });

  it('never returns an empty message', () => {
    expect(toMessages([])).toEqual(['<i>(empty message)</i>']);
    expect(toMessages([[], [text('  ')], [italic(' ')]])).toEqual(['<i>(empty message)</i>']);
  });
});

const span: fc.Arbitrary<Span> = fc.record(
  { text: hostileText, style: fc.constantFrom('b' as const, 'i' as const, 'code' as const) },
  { requiredKeys: ['text'] },
);

describe('toMessages, for any input', () => {
  it('gives well-formed messages within the limits that keep every visible character, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(span, { maxLength: 30 }), { maxLength: 20 }),
        fc.integer({ min: 200, max: 4096 }),
        fc.integer({ min: 2, max: TELEGRAM_FORMATS_AT_MOST }),
        (lines, limit, maxEntities) => {
          const messages = toMessages(lines, { limit, maxParts: Number.MAX_SAFE_INTEGER, maxEntities });
          expect(messages.length).toBeGreaterThan(0);
          for (const message of messages) {
            expect(message.length).toBeLessThanOrEqual(limit);
            expect(telegramEntities(message)).toBeLessThanOrEqual(maxEntities);
            expect(checkTelegramHtml(message)).toBeUndefined();
            expect(visibleText(message).trim()).not.toBe('');
          }
          const squash = (value: string) => value.replace(/\s/g, '');
          const expected = squash(lines.flatMap((line) => line.map((s) => sanitize(s.text))).join(''));
          const actual = squash(messages.map(visibleText).join(''));
          expect(actual).toBe(expected === '' ? '(emptymessage)' : expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("stays within Telegram's 100 entities and 4,096 characters by default, however many parts are cut", () => {
    const short: fc.Arbitrary<Span> = fc.record({
      text: fc.string({ minLength: 1, maxLength: 3 }),
      style: fc.constantFrom('b' as const, 'i' as const, 'code' as const),
    });
    fc.assert(
      fc.property(
        // Short spans: thousands of characters of them hold hundreds of entities.
        fc.array(fc.array(short, { minLength: 1, maxLength: 5 }), { maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 6 }),
        (lines, maxParts) => {
          const messages = toMessages(lines, { maxParts });
          expect(messages.length).toBeLessThanOrEqual(maxParts);
          for (const message of messages) {
            expect(message.length).toBeLessThanOrEqual(4096);
            expect(telegramEntities(message)).toBeLessThanOrEqual(TELEGRAM_FORMATS_AT_MOST);
            expect(checkTelegramHtml(message)).toBeUndefined();
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
