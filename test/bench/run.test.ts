/**
 * `npm run bench`'s driver: a bench name it does not know, or a bad setting of a bench named
 * later, stops it before any bench has run (a whole `npm run bench` takes minutes).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

/** `tsx bench/run.ts ...names` with `env` added; its exit code and output. */
async function bench(names: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', ...names],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run bench', () => {
  it('refuses a bench name it does not know, naming the benches it has, and runs none', async () => {
    const result = await bench(['core', 'first-blok']);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('no bench named first-blok; the benches are core, waf-round-trips, first-block');
    expect(result.stdout).not.toContain('# core');
  });

  it.each([
    ['FIRST_BLOCK_SAMPLES', 'many', 'FIRST_BLOCK_SAMPLES must be a whole number from 1 to 99, got "many"'],
    ['FIRST_BLOCK_PRIMED', 'yes', 'FIRST_BLOCK_PRIMED must be 1 (primed, the default), 0 (not) or unset, got "yes"'],
    ['FIRST_BLOCK_LAYOUT', 'random', 'FIRST_BLOCK_LAYOUT must be siblings (the default) or scattered, got "random"'],
  ])('stops on a bad %s of a later bench, naming it, before the first bench runs', async (name, value, refusal) => {
    const result = await bench(['core', 'first-block'], { [name]: value });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(refusal);
    expect(result.stdout).not.toContain('# core');
  });
});
