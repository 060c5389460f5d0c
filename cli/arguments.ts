/** Command lines read one way by every operator command: node's parseArgs, strict, errors as UsageError. */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from './errors';

/**
 * Parses `args` against `options` (unknown flags and missing values are errors).
 * @throws {UsageError} with parseArgs's own message, which names the flag.
 */
export function parseCommandLine<const Options extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: Options,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (cause) {
    // parseArgs names the flag ("Unknown option '--bogus'", "Option '--for <value>' argument missing").
    throw new UsageError(cause instanceof Error ? cause.message : String(cause), { cause });
  }
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
        ? `takes no arguments, got ${extra.join(' ')}`
        : `expected ${names.join(' ')}, got also ${extra.join(' ')}`,
    );
  }
  return [...positionals];
}
