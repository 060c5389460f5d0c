/**
 * The layering rules in eslint.config.mjs bite: one offending import per rule, linted as if it were
 * in a file of that layer, is an error naming the layer's rule; imports that a layer may make pass.
 * The real config is used, with only `no-restricted-imports` run and no type information, so that
 * a snippet lints in milliseconds instead of building the TypeScript program.
 */
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  });
});

/** The messages of the layering rule for `import ... from '<specifier>'` in a file at `filePath`. */
async function restrictions(filePath: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { something } from '${specifier}';\nexport { something };\n`, {
    filePath: resolve(ROOT, filePath),
  });
  if (result === undefined) throw new Error(`ESLint returned no result for ${filePath}`);
  const fatal = result.messages.find((message) => message.fatal === true);
  if (fatal) throw new Error(`${filePath} did not parse: ${fatal.message}`);
  return result.messages.map((message) => `${message.ruleId ?? 'parser'}: ${message.message}`);
}

describe('layering: what each folder may not import', () => {
  it.each([
    ['lambdas/core/example.ts', '@aws-sdk/client-wafv2', 'no AWS SDK'],
    ['lambdas/core/example.ts', '@aws-lambda-powertools/logger', 'no AWS SDK'],
    ['lambdas/core/example.ts', 'aws-cdk-lib', 'The CDK belongs to lib/'],
    ['lambdas/core/example.ts', '#adapters/waf', 'lambdas/core imports only #contracts'],
    ['lambdas/core/example.ts', '#blocker/run', 'lambdas/core imports only #contracts'],
    ['lambdas/core/example.ts', '#notifier/render', 'lambdas/core imports only #contracts'],
    ['lambdas/core/example.ts', '#config/schema', 'lambdas never import lib'],
    ['lambdas/core/example.ts', '../adapters/waf', 'through its alias'],
    ['lambdas/contracts/example.ts', '@aws-sdk/client-sns', 'no AWS SDK'],
    ['lambdas/contracts/example.ts', 'aws-cdk-lib/aws-wafv2', 'The CDK belongs to lib/'],
    ['lambdas/contracts/example.ts', '#core/types', 'imports nothing outside lambdas/contracts'],
    ['lambdas/contracts/example.ts', '#shared/errors', 'imports nothing outside lambdas/contracts'],
    ['lambdas/contracts/example.ts', '../core/types', 'through its alias'],
    ['lambdas/shared/example.ts', '#adapters/waf', 'imports no adapter or function'],
    ['lambdas/adapters/example.ts', '#blocker/run', 'never import a function'],
    ['lambdas/blocker/example.ts', '#notifier/render', 'share code only through'],
    ['lambdas/notifier/example.ts', '#blocker/run', 'share code only through'],
    ['lambdas/blocker/example.ts', '#config/schema', 'lambdas never import lib'],
    ['lambdas/notifier/example.ts', '../../lib/notifier', 'lambdas never import lib'],
    ['lambdas/adapters/example.ts', '../../cli/main', 'lambdas never import lib'],
    ['lambdas/blocker/example.ts', 'constructs', 'The CDK belongs to lib/'],
    ['lib/example/index.ts', '#adapters/ledger', 'lib imports from lambdas only #contracts/* and the pure #core/*'],
    ['lib/example/index.ts', '#blocker/run', 'lib imports from lambdas only #contracts/* and the pure #core/*'],
    ['lib/example/index.ts', '#notifier/render', 'lib imports from lambdas only #contracts/* and the pure #core/*'],
    ['lib/example/index.ts', '#shared/errors', 'lib imports from lambdas only #contracts/* and the pure #core/*'],
    ['lib/example/index.ts', '../../lambdas/contracts/health', 'through their aliases'],
    ['lib/example/index.ts', '../../cli/main', 'lib never imports the CLI'],
    ['cli/example.ts', '../lambdas/core/types', 'through their aliases'],
    ['test/lib/example.test.ts', '../../lib/config/load', 'through their aliases'],
    ['bench/example.ts', '../lambdas/blocker/run', 'through their aliases'],
  ])('%s may not import %s', async (filePath, specifier, reason) => {
    const messages = await restrictions(filePath, specifier);
    expect(messages).toContainEqual(expect.stringMatching(/^no-restricted-imports: /));
    expect(messages.join('\n').toLowerCase()).toContain(reason.toLowerCase());
  });
});

describe('layering: what each folder may import', () => {
  it.each([
    ['lambdas/contracts/example.ts', './ranges'],
    ['lambdas/contracts/example.ts', 'zod/mini'],
    ['lambdas/core/example.ts', '#contracts/ip-set'],
    ['lambdas/core/example.ts', './types'],
    ['lambdas/shared/example.ts', '#contracts/environment'],
    ['lambdas/adapters/example.ts', '@aws-sdk/client-wafv2'],
    ['lambdas/adapters/example.ts', '#core/types'],
    ['lambdas/blocker/example.ts', '#adapters/waf'],
    ['lambdas/blocker/example.ts', '#contracts/blocker-environment'],
    ['lambdas/notifier/example.ts', '#adapters/telegram'],
    ['lib/example/index.ts', '#contracts/health'],
    ['lib/example/index.ts', '#core/address-verdict'],
    ['lib/example/index.ts', '#config/schema'],
    ['lib/example/index.ts', 'aws-cdk-lib/aws-wafv2'],
    ['lib/example/index.ts', '../autoblock-function'],
    ['cli/example.ts', '#blocker/run'],
    ['cli/example.ts', '#adapters/waf'],
    ['test/lib/example.test.ts', '#config/load'],
    ['test/lib/example.test.ts', '../../lib/waf-autoblock-stack'],
  ])('%s may import %s', async (filePath, specifier) => {
    expect(await restrictions(filePath, specifier)).toEqual([]);
  });
});
