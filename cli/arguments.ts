/**
 * Command lines read one way by every operator command: node's parseArgs, with errors of our own
 * wording, each one line (parseArgs's own run over three lines, or end in an open quote).
 *
 * An option that takes a value takes the next word whatever it starts with, as getopt does:
 * `--for -5` is the value "-5", which the option's own check refuses by name ("--for must be a
 * duration ..."), instead of parseArgs's "argument is ambiguous" advice to write `--for=-5`.
 * Only when the next word is itself one of the command's options is the value missing.
 *
 * Every value and argument follows the product's one whitespace rule (lambdas/core/value-space):
 * ASCII whitespace, U+00A0 and U+FEFF around it are trimmed (`--limit " 100"` is 100); any other
 * Unicode space in it is refused, naming the option and the character as U+XXXX.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { readValueText } from '#core/value-space';
import { UsageError } from './errors';
import { printable } from './format';

/**
 * Parses `args` against `options`: unknown options, a missing value, a value given to a flag and
 * an option given twice are errors; anything else, even text starting with "-", is an option's
 * value or a positional argument.
 *
 * @returns parseArgs's own result (`values` typed by `options`, and `positionals`), every string
 *   trimmed of surrounding whitespace.
 * @throws {UsageError} one line naming the option and what was wrong with it.
 */
export function parseCommandLine<const Options extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: Options,
) {
  const inlined = inlineValues(args, options);
  let parsed;
  try {
    parsed = parseArgs({ args: inlined, options, allowPositionals: true, strict: true });
  } catch (cause) {
    // inlineValues has refused everything strict parsing refuses; this is a case it does not know.
    throw new UsageError(firstLine(cause), { cause });
  }
  const values = parsed.values as Record<string, unknown>;
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string') values[name] = trimmedValue(`--${name}`, value);
    else if (Array.isArray(value)) values[name] = value.map((item: unknown) => trimmedItem(`--${name}`, item));
  }
  parsed.positionals = parsed.positionals.map((word) => trimmedValue('the argument', word));
  return parsed;
}

/**
 * `text` trimmed by the whitespace rule.
 * @throws {UsageError} naming `what` and the value when it holds a space that is not trimmed.
 */
function trimmedValue(what: string, text: string): string {
  const reading = readValueText(text);
  if ('value' in reading) return reading.value;
  throw new UsageError(`${what} "${printable(abbreviated(text))}" ${reading.problem}`);
}

function trimmedItem(what: string, item: unknown): unknown {
  return typeof item === 'string' ? trimmedValue(what, item) : item;
}

/**
 * `args` with every option value written inline (`--for=-5`), after checking each option against
 * `options`, so that strict parsing neither refuses a value for its leading dash nor meets an
 * error it would word in several lines.
 */
function inlineValues(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const known = new Map(Object.entries(options));
  const isOption = (word: string): boolean => {
    const name = /^--([^=]+)/.exec(word)?.[1];
    return name !== undefined && known.has(name);
  };
  // Non-strict parsing gives every option word as a token, with the next word as its value.
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const seen = new Set<string>();
  const rewritten: (string | undefined)[] = [...args];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = known.get(token.name);
    if (option === undefined) throw new UsageError(unknownOption(token.rawName, known));
    if (option.multiple !== true && seen.has(token.name)) {
      throw new UsageError(`${token.rawName} is given twice; give it once`);
    }
    seen.add(token.name);
    if (option.type === 'boolean') {
      if (token.value !== undefined) {
        throw new UsageError(`${token.rawName} takes no value, got "${printable(abbreviated(token.value))}"`);
      }
      continue;
    }
    if (token.value === undefined || (!token.inlineValue && isOption(token.value))) {
      throw new UsageError(`${token.rawName} needs a value, as in "${token.rawName} <value>"`);
    }
    // A value after a group of short flags (`-xf 5`) keeps its place: strict parsing reads it.
    if (!token.inlineValue && args[token.index] === token.rawName) {
      rewritten[token.index] = `--${token.name}=${token.value}`;
      rewritten[token.index + 1] = undefined;
    }
  }
  return rewritten.filter((word) => word !== undefined);
}

function unknownOption(rawName: string, known: ReadonlyMap<string, unknown>): string {
  const names = [...known.keys()].map((name) => `--${name}`);
  return `unknown option ${printable(abbreviated(rawName))}; this command takes ${names.join(', ')}`;
}

/** Long text (a pasted log line) is cut: the message must stay one readable line. */
function abbreviated(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * The positional arguments, checked against how many the command takes.
 * @throws {UsageError} naming the missing argument or the extra ones.
 */
export function positionalArguments(positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) throw new UsageError(`missing the ${names[positionals.length]} argument`);
  if (positionals.length > names.length) {
    const extra = positionals.slice(names.length);
    throw new UsageError(
      names.length === 0
        ? `takes no arguments, got ${printable(abbreviated(extra.join(' ')))}`
        : `expected ${names.join(' ')}, got also ${printable(abbreviated(extra.join(' ')))}`,
    );
  }
  return [...positionals];
}
