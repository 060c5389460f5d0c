/**
 * `waf-autoblock <command> [options]`: the operator CLI. Dispatches to one module per command
 * (see `cli/commands/index.ts`) and turns their errors into exit codes: 0 ok, 1 failure, 2 usage.
 *
 * Run it from the checkout as `npx waf-autoblock ...` (bin/waf-autoblock.mjs) or `npx tsx cli/main.ts ...`;
 * elsewhere after `npm link`, or as `node <checkout>/bin/waf-autoblock.mjs` (outside the checkout a bare npx
 * would fetch whatever the public npm registry holds under that name).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliIo, Command } from './command';
import { COMMANDS } from './commands/index';
import { CommandError, UsageError } from './errors';
import { printable } from './format';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function topLevelHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: waf-autoblock <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -V, --version  print the version of waf-autoblock',
    '',
    'Run "waf-autoblock <command> --help" for the options of a command.',
    'Exit codes: 0 ok, 1 failure, 2 usage error, 3 replay of a damaged gzip file (the lines before the damage).',
    '',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (the arguments after the program name).
 *
 * @returns the process exit code; never throws for an expected failure, which is printed on stderr.
 */
export async function main(argv: readonly string[], io: CliIo = processIo(), commands = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(topLevelHelp(commands));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`waf-autoblock ${packageVersion()}\n`);
    return EXIT_OK;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr.write(
      `waf-autoblock: unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')} (see --help)\n`,
    );
    return EXIT_USAGE;
  }
  // Before the command reads its options: they are the same words after every command.
  const options = optionWords(rest);
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout.write(command.help);
    return EXIT_OK;
  }
  if (options.includes('--version') || options.includes('-V')) {
    io.stdout.write(`waf-autoblock ${packageVersion()}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      // One line: what was wrong, and where the right way is written.
      // printable: a value quoted in the message may hold a line break; the message stays one line.
      io.stderr.write(
        `waf-autoblock ${command.name}: ${printable(error.message)} (see "waf-autoblock ${command.name} --help")\n`,
      );
      return EXIT_USAGE;
    }
    if (error instanceof CommandError) {
      io.stderr.write(`waf-autoblock ${command.name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    // A bug, not an operator mistake: keep the stack so that it can be reported.
    io.stderr.write(
      `waf-autoblock ${command.name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_FAILURE;
  }
}

/** The words before a `--` (after it, every word is an argument, even `-h`). */
function optionWords(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

/**
 * The `version` of the package.json beside `cli/`. The CLI runs from its sources (tsx, see
 * bin/waf-autoblock.mjs), never bundled, so the file is always there; read only when asked.
 */
function packageVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${fileURLToPath(file)} has no "version"`);
  return version;
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

/** True when this module is the program (`tsx cli/main.ts`), not imported by the bin script or a test. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    // argv[1] is not a file (e.g. `node -e`): then this module is not the program.
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
