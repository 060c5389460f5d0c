/**
 * The contract between `main` and one command module: each command is one file in
 * `cli/commands/` that exports a {@link Command}, and one line in `cli/commands/index.ts`.
 */
import type { AwsClients } from './aws';

/** Where a command writes, and what it may ask of its surroundings. The real process in production, fakes in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /**
   * Creates the AWS clients the operator commands use, for `region` (undefined: the SDK's default
   * region, from AWS_REGION or the profile). Tests point them at local servers and mocks.
   * @default real clients, see `createAwsClients`
   */
  readonly aws?: (region: string | undefined) => AwsClients;
  /**
   * Asks a yes/no question and says whether the answer was yes.
   * @default a prompt on the terminal, see `terminalConfirm`
   * @throws UsageError when there is nobody to ask (stdin is not a terminal).
   */
  readonly confirm?: (question: string) => Promise<boolean>;
  /**
   * The clock, epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Who runs the command; a ban is recorded with the source `cli:<user>`.
   * @default the operating system's user name
   */
  readonly user?: string;
}

export interface Command {
  /** The word after `waf-autoblock`, e.g. `replay`. */
  readonly name: string;
  /** One line for the command list in `waf-autoblock --help`. */
  readonly summary: string;
  /** Full `--help` text of the command: usage line, arguments, options, examples. */
  readonly help: string;
  /**
   * Runs the command with the arguments after its name.
   *
   * @returns the exit code (0 unless the command defines another success code).
   * @throws UsageError when the arguments are wrong (exit 2), CommandError when the work fails (exit 1).
   */
  run(args: readonly string[], io: CliIo): Promise<number>;
}
