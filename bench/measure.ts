/** Small timing helpers for `npm run bench`: medians over repeated runs, printed one line per figure. */
import { performance } from 'node:perf_hooks';

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly runs: number;
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed, and returns the median. */
export async function time(fn: () => unknown, runs = 30, warmup = 5): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return {
    medianMs: samples[Math.floor(samples.length / 2)] ?? Number.NaN,
    minMs: samples[0] ?? Number.NaN,
    maxMs: samples[samples.length - 1] ?? Number.NaN,
    runs,
  };
}

/** Prints one benchmark figure with its target, if any, in a stable, greppable form. */
export function report(name: string, value: string, target?: string): void {
  console.log(`${name.padEnd(58)} ${value.padStart(14)}${target ? `   (target ${target})` : ''}`);
}
