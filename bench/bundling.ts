/** The esbuild options NodejsFunction derives from lib/autoblock-function's bundling props, for the bundle benches. */
import { resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { ESM_REQUIRE_BANNER, EXTERNAL_MODULES } from '../lib/autoblock-function';

export const ROOT = resolve(import.meta.dirname, '..');

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
