/**
 * The contract between `main` and one command module: each command is one file in
 * `cli/commands/` that exports a {@link Command}, and one line in `cli/commands/index.ts`.
 */

/** Where a command writes. The real process streams in production, buffers in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
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
