/** Asking the operator before a command removes much at once. */
import { createInterface } from 'node:readline/promises';
import { UsageError } from './errors';

/**
 * A yes/no prompt on a terminal: the question goes to `output` (stderr, so that stdout stays for
 * results), and only `y` or `yes` counts as yes.
 * @returns a confirm function that throws {@link UsageError} naming `flag` when `input` is not a
 *   terminal: a script must say what it wants, not hang on a question nobody sees.
 */
export function terminalConfirm(
  input: NodeJS.ReadableStream & { readonly isTTY?: boolean },
  output: NodeJS.WritableStream,
  flag: string,
): (question: string) => Promise<boolean> {
  return async (question) => {
    if (input.isTTY !== true) {
      throw new UsageError(`stdin is not a terminal, so nobody can answer "${question}": pass ${flag} to go ahead`);
    }
    const prompt = createInterface({ input, output, terminal: false });
    try {
      const answer = await prompt.question(`${question} `);
      return /^\s*y(es)?\s*$/i.test(answer);
    } finally {
      prompt.close();
    }
  };
}
