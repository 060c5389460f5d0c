/** The esbuild options NodejsFunction derives from lib/autoblock-function's bundling props, for the bundle benches. */
import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BuildOptions } from 'esbuild';
import { ESM_REQUIRE_BANNER, EXTERNAL_MODULES } from '../lib/autoblock-function';

export const ROOT = resolve(import.meta.dirname, '..');

const run = promisify(execFile);

/** Bundles `entry` (relative to the project root) as the stack does; run from the project root as CDK does. */
export function lambdaBuildOptions(entry: string) {
  return {
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: EXTERNAL_MODULES,
    logLevel: 'warning',
  } satisfies BuildOptions;
}

/**
 * The AWS SDK stays external, as in Lambda where the runtime provides it: node resolves bare imports
 * from the importing file's folder upwards (not from cwd or NODE_PATH for ESM), so the bundle's folder
 * gets a node_modules link to the project's.
 */
export async function linkNodeModules(dir: string): Promise<void> {
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/** Where the import child's own figure starts: the module's init may log lines of its own before it. */
const IMPORT_MARK = 'bench-import-ms:';

/** Imports the bundle, checks that it exports the handler, and prints how long the import took. */
const IMPORT_SCRIPT = `
const started = performance.now();
const module = await import(process.env.BENCH_BUNDLE_URL);
const elapsed = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write('\\n${IMPORT_MARK}' + String(elapsed) + '\\n');
`;

/**
 * One fresh process importing `bundle` with `env` (plus PATH): the import as timed inside it (its
 * top-level awaits included: the blocker's priming), the process from spawn to exit, and the `ms`
 * of the blocker's `decision path primed` line when the init logged one.
 * @throws Error quoting the child's output when it printed no import time.
 */
export async function importOnce(
  bundle: string,
  env: NodeJS.ProcessEnv,
): Promise<{ importMs: number; processMs: number; primingMs?: number }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, ['--no-warnings', '--input-type=module', '--eval', IMPORT_SCRIPT], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, BENCH_BUNDLE_URL: pathToFileURL(bundle).href },
  });
  const processMs = performance.now() - started;
  const lines = stdout.split('\n');
  const marked = lines.find((line) => line.startsWith(IMPORT_MARK));
  const importMs = marked === undefined ? Number.NaN : Number(marked.slice(IMPORT_MARK.length));
  if (!Number.isFinite(importMs)) throw new Error(`the import child printed ${JSON.stringify(stdout)}`);
  const primingMs = lines.map(primingMsOf).find((ms) => ms !== undefined);
  return { importMs, processMs, ...(primingMs === undefined ? {} : { primingMs }) };
}

/** The `ms` of a `decision path primed` log line (lambdas/blocker/handler.ts); undefined for any other line. */
function primingMsOf(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line) as { message?: unknown; ms?: unknown };
    return record.message === 'decision path primed' && typeof record.ms === 'number' ? record.ms : undefined;
  } catch {
    return undefined;
  }
}

/** `median ms [min-max]` of a set of samples. */
export function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `${median.toFixed(0)} ms [${(sorted[0] ?? Number.NaN).toFixed(0)}-${(sorted.at(-1) ?? Number.NaN).toFixed(0)}]`;
}
