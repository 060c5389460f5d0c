/**
 * Splits a JSON document fed in chunks into its entries without holding the document: the
 * objects of a top-level array (a Logs Insights export, `jq -s` output), the objects of the
 * `events` array of a top-level object (`aws logs filter-log-events` output, also several pages
 * one after the other), and otherwise each top-level object itself (pretty-printed records one
 * after the other, `jq .` output). Memory holds one entry at a time, at most
 * {@link MAX_ENTRY_CHARS}; a larger entry is skipped and counted.
 *
 * Only the structure is tracked here (strings, nesting, the keys of top-level objects); each entry
 * is handed on as text for `JSON.parse`, which judges whether it is valid.
 */

/** Entries larger than this many characters are skipped: a WAF record is a few kilobytes. */
export const MAX_ENTRY_CHARS = 16 * 1024 * 1024;

/** What the scanner saw besides entries, to say what a document is when it holds no WAF record. */
export interface DocumentOutline {
  /** The kind of the first top-level value, if any. */
  firstTopLevel: 'array' | 'object' | undefined;
  /** `events` arrays of top-level objects seen (one per filter-log-events page). */
  eventsArrays: number;
  /** Whether a top-level array held an item that is not an object (`[1, 2]`): never an entry. */
  valueItems: boolean;
}

/** Receives what the scanner finds, with the 1-based line it starts on. */
export interface EntrySink {
  /** An entry's text. */
  entry(text: string, line: number): void;
  /**
   * Text outside any JSON value, an entry over {@link MAX_ENTRY_CHARS} (`oversized`), or one the
   * document's end cut.
   */
  stray(line: number, oversized: boolean): void;
  /** An item of the top-level array that is not an object (`1`, `"a"`, `[...]`): it holds no record. */
  valueItem?(line: number): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** A character that escapes nothing, an even run of backslashes, a quote: the end of a string. */
const STRING_END = /[^\\](?:\\\\)*"/g;
/** The same at the start of a chunk that continues a string (its first character escapes nothing). */
const STRING_END_AT_START = /(?:^|[^\\])(?:\\\\)*"/g;
/** Keys of top-level objects longer than this are never `events`: they are not kept whole. */
const KEY_CHARS = 16;

/** Feed with {@link JsonEntryScanner.push} chunk by chunk, then {@link JsonEntryScanner.end}; see the module header. */
export class JsonEntryScanner {
  readonly outline: DocumentOutline = {
    firstTopLevel: undefined,
    eventsArrays: 0,
    valueItems: false,
  };
  private line = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Depth at which the entry being captured started (its opening brace's depth), or -1. */
  private entryDepth = -1;
  private entryLine = 0;
  private entryParts: string[] = [];
  private entryChars = 0;
  private oversized = false;
  /** Whether the top-level value is an object (keys are tracked) or an array (its objects are entries). */
  private topIsObject = false;
  /** Depth of an open `events` array of a top-level object, or -1. */
  private eventsDepth = -1;
  /** The last string at depth 1 of a top-level object, cut to {@link KEY_CHARS}, and the key it became. */
  private lastString = '';
  private key = '';
  /** The start of such a string that a chunk's end cut, while it is still open. */
  private stringHead: string | undefined;
  private strayLine = 0;
  /** Inside a scalar item (`123`, `true`) of the top-level array, which ends at its comma. */
  private inScalarItem = false;

  constructor(private readonly sink: EntrySink) {}

  /** The 1-based line the scanner has reached. */
  get currentLine(): number {
    return this.line;
  }

  /** Scans the next chunk; entries that end in it go to the sink. */
  push(text: string): void {
    // Where the open entry's text, and the open depth-1 string, start in this chunk.
    let start = this.entryDepth >= 0 ? 0 : -1;
    let stringStart = this.stringHead === undefined ? -1 : 0;
    let i = 0;
    while (i < text.length) {
      if (this.inString) {
        const close = this.closingQuote(text, i);
        if (close === -1) break;
        this.inString = false;
        if (stringStart >= 0) {
          this.lastString = ((this.stringHead ?? '') + text.slice(stringStart, close)).slice(0, KEY_CHARS);
        }
        this.stringHead = undefined;
        stringStart = -1;
        i = close + 1;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === NEWLINE) {
        this.line++;
      } else if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 0) this.noteStray();
        else if (this.depth === 1 && this.topIsObject) {
          stringStart = i + 1;
          this.stringHead = '';
        } else if (this.depth === 1) this.noteValueItem();
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.depth === 0) {
          this.openTopLevel(c === OPEN_BRACE);
        } else if (c === OPEN_BRACKET && this.depth === 1 && this.topIsObject && this.key === 'events') {
          this.openEvents();
          start = -1;
        } else if (c === OPEN_BRACE && this.entryDepth < 0 && this.isEntryContainer()) {
          this.openEntry(this.depth);
        } else if (c === OPEN_BRACKET && this.depth === 1 && !this.topIsObject) {
          this.noteValueItem();
        }
        if (this.entryDepth >= 0 && start < 0) start = i;
        this.depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth === 0) {
          this.noteStray();
        } else {
          this.depth--;
          if (this.depth === this.entryDepth) {
            this.closeEntry(text.slice(start, i + 1));
            start = -1;
          }
          if (this.depth === this.eventsDepth) this.eventsDepth = -1;
        }
      } else if (c === COLON) {
        if (this.depth === 1 && this.topIsObject) this.key = this.lastString;
      } else if (this.depth <= 1 && c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) {
        if (this.depth === 0) this.noteStray();
        else if (this.topIsObject) {
          // A value of the top-level object: not an entry.
        } else if (c === COMMA) this.inScalarItem = false;
        else if (!this.inScalarItem) {
          this.inScalarItem = true;
          this.noteValueItem();
        }
      }
      i++;
    }
    if (stringStart >= 0) this.stringHead = ((this.stringHead ?? '') + text.slice(stringStart)).slice(0, KEY_CHARS);
    if (this.entryDepth >= 0 && start >= 0) this.keepPart(text.slice(start));
  }

  /**
   * The index of the quote that ends the open string, searched from `from`, or -1 when the chunk
   * ends first (then whether its last character escapes the next chunk's first is remembered).
   * Strings are most of a document (a log event's message is one, full of escaped quotes), so a
   * regular expression finds their end rather than a loop over characters.
   */
  private closingQuote(text: string, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      // The escaped character stands where the expression expects one that escapes nothing.
      if (text.charCodeAt(i) === BACKSLASH) return this.closingQuoteStepwise(text, i + 1);
      i++;
    }
    // `i - 1` is the opening quote or an escaped character, never one that escapes `i`.
    const end = i === 0 ? STRING_END_AT_START : STRING_END;
    end.lastIndex = Math.max(0, i - 1);
    const match = end.exec(text);
    if (match !== null) return match.index + match[0].length - 1;
    this.escaped = trailingBackslashes(text, i) % 2 === 1;
    return -1;
  }

  /** {@link closingQuote} from a position that follows an escaped backslash (rare: a chunk's start). */
  private closingQuoteStepwise(text: string, from: number): number {
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i;
    }
    this.escaped = trailingBackslashes(text, from) % 2 === 1;
    return -1;
  }

  /** Ends the document: an entry still open is incomplete and counted as stray. */
  end(): void {
    if (this.entryDepth >= 0) this.sink.stray(this.entryLine, this.oversized);
    this.entryDepth = -1;
    this.entryParts = [];
  }

  private openTopLevel(isObject: boolean): void {
    this.outline.firstTopLevel ??= isObject ? 'object' : 'array';
    this.topIsObject = isObject;
    this.key = '';
    // A top-level object is an entry itself, until it turns out to hold an `events` array.
    if (isObject) this.openEntry(0);
  }

  private openEvents(): void {
    this.outline.eventsArrays++;
    this.eventsDepth = 1;
    // The object around the events is an envelope, not an entry.
    this.entryDepth = -1;
    this.entryParts = [];
  }

  /** Whether an object opening at the current depth is an entry: in a top-level array, or in `events`. */
  private isEntryContainer(): boolean {
    return (this.depth === 1 && !this.topIsObject) || (this.eventsDepth === 1 && this.depth === 2);
  }

  private openEntry(depth: number): void {
    this.entryDepth = depth;
    this.entryLine = this.line;
    this.entryParts = [];
    this.entryChars = 0;
    this.oversized = false;
  }

  private keepPart(part: string): void {
    if (this.oversized) return;
    this.entryChars += part.length;
    if (this.entryChars > MAX_ENTRY_CHARS) {
      this.oversized = true;
      this.entryParts = [];
    } else {
      this.entryParts.push(part);
    }
  }

  private closeEntry(lastPart: string): void {
    this.keepPart(lastPart);
    const line = this.entryLine;
    const text = this.oversized ? undefined : this.entryParts.join('');
    this.entryDepth = -1;
    this.entryParts = [];
    if (text === undefined) this.sink.stray(line, true);
    else this.sink.entry(text, line);
  }

  /**
   * An item of the top-level array that is not an object (`1`, `"a"`, `[...]`, however deeply
   * nested): no record, so counted as a malformed entry, one per item, like a malformed line.
   */
  private noteValueItem(): void {
    this.outline.valueItems = true;
    this.sink.valueItem?.(this.line);
  }

  private noteStray(): void {
    // One per line of stray text, not one per character.
    if (this.strayLine === this.line) return;
    this.strayLine = this.line;
    this.sink.stray(this.line, false);
  }
}

/** How many backslashes end `text`, counted back no further than `from`. */
function trailingBackslashes(text: string, from: number): number {
  let k = text.length - 1;
  while (k >= from && text.charCodeAt(k) === BACKSLASH) k--;
  return text.length - 1 - k;
}
