/**
 * Telegram's HTML parse mode, made safe by construction: a message is a list of lines, a line a list
 * of spans, a span plain text with at most one style. Text is sanitized and escaped here and nowhere
 * else, every tag opens and closes inside its span, so any line boundary (and any span boundary) is a
 * safe place to split a message that is too long. No AWS imports.
 */

import { TELEGRAM_ENTITY_LIMIT } from '#contracts/telegram-limits';

/** Telegram refuses messages longer than this (we count UTF-16 units of the HTML, which is stricter). */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

/** At most this many messages per notification, so that a huge input cannot flood a chat. */
export const MAX_PARTS = 5;

/** The only tags we emit; all of them are in Telegram's allowed set. */
export type Style = 'b' | 'i' | 'code';

export interface Span {
  readonly text: string;
  readonly style?: Style;
}

/** One line of a message; an empty array is a blank line. */
export type Line = readonly Span[];

/** Plain text span. */
export const text = (value: string): Span => ({ text: value });
export const bold = (value: string): Span => ({ text: value, style: 'b' });
export const italic = (value: string): Span => ({ text: value, style: 'i' });
export const code = (value: string): Span => ({ text: value, style: 'code' });

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Escapes the characters Telegram's HTML parser treats specially (`"` too, for attribute safety). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"]/g, (char) => ENTITIES[char] ?? char);
}

// Lone surrogates cannot be encoded as UTF-8 (Telegram would refuse the whole message); line breaks and
// other controls inside a span would break the one-line-per-line layout; bidi overrides and isolates
// would let attacker text reorder what the reader sees around it. All become U+FFFD or a space.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const LINE_BREAKS = /[\t\n\r\u2028\u2029\u0085]/g;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

/** Makes any string safe to put in one span: well-formed UTF-16, single-line, no bidi controls. */
export function sanitize(value: string): string {
  return value
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(LINE_BREAKS, ' ')
    .replace(CONTROL, '\uFFFD')
    .replace(BIDI_CONTROLS, '\uFFFD');
}

/**
 * Cuts `value` to at most `max` UTF-16 units, never inside a surrogate pair, marking a cut with `…`.
 * @throws {RangeError} when `max` is less than 1.
 */
export function clip(value: string, max: number): string {
  if (max < 1) throw new RangeError(`clip needs room for at least one character, got ${max}`);
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…`;
}

function open(style: Style | undefined): string {
  return style ? `<${style}>` : '';
}

function close(style: Style | undefined): string {
  return style ? `</${style}>` : '';
}

function renderSpan(span: Span): string {
  if (span.text === '') return '';
  return `${open(span.style)}${escapeHtml(sanitize(span.text))}${close(span.style)}`;
}

/** One line as Telegram HTML. */
export function renderLine(line: Line): string {
  return line.map(renderSpan).join('');
}

/** The inverse of the escaping, for the plain-text fallback: tags dropped, entities decoded. */
export function htmlToPlainText(html: string): string {
  return html
    .replace(/<\/?(?:b|i|code|pre)>/g, '')
    .replace(/&(lt|gt|quot|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[name] ?? '');
}

/** A rendered piece of a line, and how many Telegram entities (tagged spans) it holds. */
interface Piece {
  readonly html: string;
  readonly entities: number;
}

/**
 * Renders `line` into pieces of at most `limit` units and `maxEntities` tagged spans each: spans
 * are kept whole where they fit; a span that does not is cut between code points (never inside an
 * entity or a surrogate pair), its tag closed at the end of one piece and reopened at the start of
 * the next. One pass over the text.
 *
 * @throws {RangeError} when `limit` cannot hold even one tagged character.
 */
function splitLongLine(line: Line, limit: number, maxEntities: number): Piece[] {
  const pieces: Piece[] = [];
  let current = '';
  let entities = 0;
  const endPiece = (): void => {
    if (current !== '') pieces.push({ html: current, entities });
    current = '';
    entities = 0;
  };
  for (const span of line) {
    if (span.text === '') continue;
    const tagged = span.style === undefined ? 0 : 1;
    if (entities + tagged > maxEntities) endPiece();
    const rendered = renderSpan(span);
    if (current.length + rendered.length <= limit) {
      current += rendered;
      entities += tagged;
      continue;
    }
    const opening = open(span.style);
    const closing = close(span.style);
    let chunk = '';
    for (const char of sanitize(span.text)) {
      const escaped = ENTITIES[char] ?? char;
      if (current.length + opening.length + chunk.length + escaped.length + closing.length > limit) {
        if (chunk !== '') {
          current += `${opening}${chunk}${closing}`;
          entities += tagged;
        }
        chunk = '';
        endPiece();
        if (opening.length + escaped.length + closing.length > limit) {
          throw new RangeError(`a message limit of ${limit} cannot hold one character`);
        }
      }
      chunk += escaped;
    }
    if (chunk !== '') {
      current += `${opening}${chunk}${closing}`;
      entities += tagged;
    }
  }
  endPiece();
  return pieces;
}

/** Options of {@link toMessages}; the defaults are Telegram's. */
export interface MessageLimits {
  /** UTF-16 units of HTML per message. @default 4096 */
  readonly limit?: number;
  /** @default 5 */
  readonly maxParts?: number;
  /** Entities (tagged spans) per message, at least 2. @default 100 ({@link TELEGRAM_ENTITY_LIMIT}) */
  readonly maxEntities?: number;
}

/** One message being packed: its lines as rendered, and the entities they hold. */
interface Part {
  readonly lines: string[];
  entities: number;
}

/** What {@link packMessages} made of some lines. */
export interface PackedMessages {
  /** At least one message, each non-empty and well-formed. */
  readonly messages: string[];
  /**
   * Lines (with something visible) that did not fit in `maxParts` messages, counted in the note
   * that ends the last one; 0 when everything fits.
   */
  readonly omittedLines: number;
}

/**
 * Packs lines into as few messages as possible, each at most `limit` UTF-16 units of HTML and
 * `maxEntities` entities, split only between lines (a single line longer than a message, or with
 * more entities, is split between or inside its spans, with tags reopened). Blank lines at the
 * edges of a message are dropped. When the text needs more than `maxParts` messages, the last one
 * ends with a note of how many lines were left out.
 *
 * @returns at least one message, each non-empty and well-formed.
 * @throws {RangeError} when `maxEntities` is not an integer of at least 2 (a span and the note).
 */
export function toMessages(lines: readonly Line[], limits: MessageLimits = {}): string[] {
  return packMessages(lines, limits).messages;
}

/**
 * {@link toMessages}, and how many lines did not fit: a caller that can say less (a shorter list)
 * uses it to try again rather than lose the end of its text.
 *
 * @throws {RangeError} when `maxEntities` is not an integer of at least 2 (a span and the note).
 */
export function packMessages(lines: readonly Line[], limits: MessageLimits = {}): PackedMessages {
  const limit = limits.limit ?? TELEGRAM_MESSAGE_LIMIT;
  const maxParts = limits.maxParts ?? MAX_PARTS;
  const maxEntities = limits.maxEntities ?? TELEGRAM_ENTITY_LIMIT;
  if (!Number.isInteger(maxEntities) || maxEntities < 2) {
    throw new RangeError(`maxEntities must be an integer of at least 2, got ${maxEntities}`);
  }
  // Room kept in the last allowed part for the "left out" note (at Telegram's limit, 80 units),
  // which is one <i> entity.
  const noteReserve = Math.min(80, Math.floor(limit / 4));
  const rendered = lines.map((line) => splitLongLine(line, limit - noteReserve, maxEntities - 1));

  const parts: Part[] = [{ lines: [], entities: 0 }];
  let length = 0;
  let omitted = 0;
  const lastAllowed = () => parts.length >= maxParts;
  const partLimit = () => (lastAllowed() ? limit - noteReserve : limit);
  const entityLimit = () => (lastAllowed() ? maxEntities - 1 : maxEntities);

  outer: for (const [index, rendering] of rendered.entries()) {
    const pieces: readonly Piece[] = rendering.length > 0 ? rendering : [{ html: '', entities: 0 }];
    for (const piece of pieces) {
      const current = parts[parts.length - 1] as Part;
      const added = (current.lines.length > 0 ? 1 : 0) + piece.html.length;
      if (length + added <= partLimit() && current.entities + piece.entities <= entityLimit()) {
        current.lines.push(piece.html);
        current.entities += piece.entities;
        length += added;
        continue;
      }
      if (lastAllowed()) {
        // A line shown only in part counts as left out: its end is missing.
        omitted = rendered.slice(index).filter((rest) => rest.some((p) => isVisible(p.html))).length;
        break outer;
      }
      parts.push({ lines: [piece.html], entities: piece.entities });
      length = piece.html.length;
    }
  }

  const packed = parts
    .map((part) => ({ html: trimBlankLines(part.lines).join('\n'), entities: part.entities }))
    .filter((part) => part.html !== '');
  const messages = packed.map((part) => part.html);
  if (omitted > 0) {
    const full = `<i>… ${omitted} more line${omitted === 1 ? '' : 's'} left out (message too long)</i>`;
    const note = full.length <= limit ? full : '<i>…</i>';
    const last = packed.at(-1);
    messages.pop();
    // The reserves keep room for the note at Telegram's limits; tiny test limits may not have it.
    const fits = last !== undefined && last.html.length + 1 + note.length <= limit && last.entities < maxEntities;
    messages.push(fits ? `${last.html}\n${note}` : note);
  }
  return { messages: messages.length > 0 ? messages : ['<i>(empty message)</i>'], omittedLines: omitted };
}

/** True when a rendered line shows something once Telegram has parsed it (not only tags and spaces). */
function isVisible(rendered: string): boolean {
  return htmlToPlainText(rendered).trim() !== '';
}

function trimBlankLines(part: readonly string[]): string[] {
  let start = 0;
  let end = part.length;
  while (start < end && !isVisible(part[start] ?? '')) start += 1;
  while (end > start && !isVisible(part[end - 1] ?? '')) end -= 1;
  return part.slice(start, end);
}
