/**
 * Runs once in vitest's main process, before any test file; test workers and the processes they
 * start (`cdk synth`, the CLI) inherit the environment set here.
 *
 * - A temp dir of the run's own: CDK apps without an outdir, asset bundling and `cdk synth -o`
 *   all write under os.tmpdir() (5 MB per run); TMPDIR points it here and teardown removes it, so a
 *   run leaves nothing behind, and concurrent runs never delete each other's files.
 * - The AWS SDK's NodeVersionSupportWarning: below Node.js 22 every test process that creates an
 *   SDK client printed it (9 lines, about 20 times a run). The SDK's documented opt-out silences it
 *   for the tests, after one line that says so; the Lambdas (Node.js 22) never get the variable.
 *   `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false npm test` shows the warning again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SDK_WARNING_OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
/** The Node.js major version below which the SDK prints its warning. */
const SDK_SUPPORTED_NODE_MAJOR = 22;

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'vitest-waf-autoblock-'));
  const previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = runDir;

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < SDK_SUPPORTED_NODE_MAJOR && process.env[SDK_WARNING_OPT_OUT] === undefined) {
    process.env[SDK_WARNING_OPT_OUT] = 'true';
    console.warn(
      `Node.js ${process.versions.node}: the AWS SDK's NodeVersionSupportWarning (SDK releases after January 2027 need Node.js ${SDK_SUPPORTED_NODE_MAJOR}) is silenced in tests; ${SDK_WARNING_OPT_OUT}=false shows it.`,
    );
  }

  return () => {
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    rmSync(runDir, { recursive: true, force: true });
  };
}
