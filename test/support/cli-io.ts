/** Runs the operator CLI in-process, as `bin/waf-autoblock.mjs` would, with its output captured. */
import { join } from 'node:path';
import type { CliIo } from '../../cli/command';
import { main } from '../../cli/main';

/** The project root: where `cdk.json` and `examples/` are, and the CLI's default working directory here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** What a CLI run printed, and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `main(argv)` with stdout and stderr captured (stderr is not a terminal) in the project root.
 * @param extra - replaces any part of the io, e.g. `aws` clients, `now` or `cwd`.
 */
export async function runCli(argv: readonly string[], extra: Partial<CliIo> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    cwd: PROJECT_ROOT,
    ...extra,
  };
  const code = await main([...argv], io);
  return { code, stdout, stderr };
}
