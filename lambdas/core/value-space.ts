/**
 * The one whitespace rule for every value a person or a host writes: config (cdk.json, the
 * `-c config=` file, `-c` values), CLI flags and arguments, ban feed messages, replay's flags.
 *
 * - Around a value, the {@link isSurroundingSpace} set is trimmed: ASCII whitespace (space, tab,
 *   LF, VT, FF, CR), the no-break space U+00A0 and the byte order mark U+FEFF. These are what
 *   copying from a terminal, a web page, a spreadsheet or a Windows editor adds.
 * - Any other Unicode space ({@link OTHER_SPACES}: the em, thin, ideographic ... spaces, the line
 *   and paragraph separators, and the invisible zero-width space and word joiner), inside or
 *   around a value, is refused, naming the character as U+XXXX: it looks like a space or like
 *   nothing, so a value holding one is not what its writer sees.
 *
 * Inside a value, characters of the trimmed set are left to the value's own syntax (an address
 * holds none; a reason may hold a space). JavaScript's `trim()` is not used anywhere for values:
 * it trims a wider set (every Unicode space), which made `--for` accept what `ban` refused.
 */

/** True for a character trimmed around every value: ASCII whitespace, U+00A0 and U+FEFF. */
export function isSurroundingSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0xfeff;
}

/** `text` without the {@link isSurroundingSpace} characters at its start and end. */
export function trimSurroundingSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSurroundingSpace(text.charCodeAt(start))) start++;
  while (end > start && isSurroundingSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Spaces that are refused anywhere in a value, with their Unicode names: every character with
 * Unicode's White_Space property outside the trimmed set, and the zero-width space, word joiner
 * and Mongolian vowel separator, which show as nothing. (Zero-width joiners are not among them:
 * emoji and several scripts need them.)
 */
export const OTHER_SPACES: ReadonlyMap<number, string> = new Map([
  [0x85, 'next line'],
  [0x1680, 'ogham space mark'],
  [0x180e, 'Mongolian vowel separator'],
  [0x2000, 'en quad'],
  [0x2001, 'em quad'],
  [0x2002, 'en space'],
  [0x2003, 'em space'],
  [0x2004, 'three-per-em space'],
  [0x2005, 'four-per-em space'],
  [0x2006, 'six-per-em space'],
  [0x2007, 'figure space'],
  [0x2008, 'punctuation space'],
  [0x2009, 'thin space'],
  [0x200a, 'hair space'],
  [0x200b, 'zero width space'],
  [0x2028, 'line separator'],
  [0x2029, 'paragraph separator'],
  [0x202f, 'narrow no-break space'],
  [0x205f, 'medium mathematical space'],
  [0x2060, 'word joiner'],
  [0x3000, 'ideographic space'],
]);

/** The first {@link OTHER_SPACES} character in `text`, as a code point, or undefined. */
export function otherSpaceIn(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (OTHER_SPACES.has(code)) return code;
  }
  return undefined;
}

/**
 * The refusal of a value holding `code` (one of {@link OTHER_SPACES}), as a phrase that follows
 * the quoted value: `holds U+3000 (ideographic space), a space that is not trimmed; write the
 * value without it`.
 */
export function describeOtherSpace(code: number): string {
  const name = OTHER_SPACES.get(code) ?? 'a space';
  return `holds U+${code.toString(16).toUpperCase().padStart(4, '0')} (${name}), a space that is not trimmed; write the value without it`;
}

/**
 * Reads a value by the rule of this module.
 *
 * @returns the value trimmed, or the refusal phrase of {@link describeOtherSpace}.
 */
export function readValueText(text: string): { readonly value: string } | { readonly problem: string } {
  const code = otherSpaceIn(text);
  return code === undefined ? { value: trimSurroundingSpace(text) } : { problem: describeOtherSpace(code) };
}
