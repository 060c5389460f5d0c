/**
 * Lists whose entries must differ: a repeated entry is always a slip (a chat notified twice per
 * message, a log filter condition written twice), so it is refused naming the later entry.
 */
import { quoteConfigValue, type ConfigProblem } from './config-error';

/**
 * The entries of `list` that repeat an earlier one, one problem each naming `[...path, index]`.
 * @param why said after "repeats <key>[N]", e.g. `: each chat would get every message twice`.
 */
export function repeatedEntryProblems(
  list: readonly string[],
  path: readonly (string | number)[],
  why: string,
): ConfigProblem[] {
  const seen = new Map<string, number>();
  return list.flatMap((entry, index) => {
    const first = seen.get(entry);
    if (first === undefined) {
      seen.set(entry, index);
      return [];
    }
    const key = `${path.join('.')}[${first}]`;
    return [{ path: [...path, index], message: `repeats ${key} (${quoteConfigValue(entry)})${why}; list it once` }];
  });
}
