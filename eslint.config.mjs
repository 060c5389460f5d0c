// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Layering (docs/architecture.md), enforced with the core rule `no-restricted-imports`:
 *   lambdas/contracts  <- lambdas/core  <- lambdas/adapters  <- lambdas/blocker, lambdas/notifier  <- cli
 *   lambdas/contracts, lambdas/core     <- lib (the CDK constructs), bin
 * The contracts import nothing outside their folder; the core imports no AWS SDK, no CDK and no
 * runtime folder; the functions never import lib, its config or the CLI. lib imports from lambdas
 * only #contracts/* and #core/*: the core too, because issue 10 made config validation use the
 * core's one address parser (#core/address-verdict, #core/allowlist), and the core is pure and
 * SDK-free, so the synth never loads an AWS SDK. Another folder is reached through its package.json
 * alias, never a ../ path, so that every import says which layer it crosses into.
 * A file matches one layer block: flat config replaces (does not merge) a rule's options per file.
 */

/** @typedef {{ group?: string[], regex?: string, message: string }} ImportPattern */

/** One entry per restriction, named for the test that proves it bites (test/layering.test.ts). */
export const IMPORT_RESTRICTIONS = {
  /** @type {ImportPattern} */
  awsSdk: {
    group: ['@aws-sdk/*', '@aws-lambda-powertools/*'],
    message: 'lambdas/core and lambdas/contracts are pure: no AWS SDK (talk to AWS in lambdas/adapters)',
  },
  /** @type {ImportPattern} */
  cdk: {
    group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    message: 'the CDK belongs to lib/ (infrastructure), never to the functions',
  },
  /** @type {ImportPattern} */
  outsideContracts: {
    regex: '^#',
    message: 'lambdas/contracts imports nothing outside lambdas/contracts',
  },
  /** @type {ImportPattern} */
  runtimeFromCore: {
    regex: '^#(adapters|blocker|notifier)/',
    message:
      'lambdas/core imports only #contracts/* (and itself): adapters and functions build on the core, not the reverse',
  },
  /** @type {ImportPattern} */
  runtimeFromShared: {
    regex: '^#(adapters|blocker|notifier)/',
    message:
      'lambdas/shared holds what every function uses (errors, AWS timestamps): it imports no adapter or function',
  },
  /** @type {ImportPattern} */
  functionsFromAdapters: {
    regex: '^#(blocker|notifier)/',
    message: 'lambdas/adapters wrap one AWS service each and never import a function',
  },
  /** @type {ImportPattern} */
  notifierFromBlocker: {
    regex: '^#notifier/',
    message: 'the blocker and the notifier share code only through #core, #adapters, #shared and #contracts',
  },
  /** @type {ImportPattern} */
  blockerFromNotifier: {
    regex: '^#blocker/',
    message: 'the blocker and the notifier share code only through #core, #adapters, #shared and #contracts',
  },
  /** @type {ImportPattern} */
  infrastructureFromLambdas: {
    regex: '^#config/|^(\\.{1,2}/)+(.*/)?(lib|cli|bin)(/|$)',
    message: 'lambdas never import lib (the infrastructure and its config) or the CLI',
  },
  /** @type {ImportPattern} */
  runtimeFromLib: {
    regex: '^#(adapters|blocker|notifier|shared)/',
    message: 'lib imports from lambdas only #contracts/* and the pure #core/*',
  },
  /** @type {ImportPattern} */
  cliFromLib: {
    regex: '^(\\.{1,2}/)+(.*/)?(cli|bin)(/|$)',
    message: 'lib never imports the CLI or bin/',
  },
  /** @type {ImportPattern} */
  relativeOutOfFolder: {
    regex: '^\\.\\./',
    message: 'reach another folder of lambdas/ through its alias (#core/..., #contracts/...), not a ../ path',
  },
  /** @type {ImportPattern} */
  relativeIntoAliased: {
    regex: '^(\\.{1,2}/)+(.*/)?(lambdas|lib/config)/',
    message:
      'import lambdas/ and lib/config through their aliases (#core/..., #contracts/..., #config/...), not a ../ path',
  },
};

const R = IMPORT_RESTRICTIONS;

/**
 * The layers: which files, which restrictions. Exported so that the test can lint snippets with
 * exactly these blocks.
 * @type {{ name: string, files: string[], patterns: ImportPattern[] }[]}
 */
export const LAYERS = [
  {
    name: 'contracts',
    files: ['lambdas/contracts/**/*.ts'],
    patterns: [R.awsSdk, R.cdk, R.outsideContracts, R.relativeOutOfFolder],
  },
  {
    name: 'core',
    files: ['lambdas/core/**/*.ts'],
    patterns: [R.awsSdk, R.cdk, R.runtimeFromCore, R.infrastructureFromLambdas, R.relativeOutOfFolder],
  },
  {
    name: 'shared',
    files: ['lambdas/shared/**/*.ts'],
    patterns: [R.cdk, R.runtimeFromShared, R.infrastructureFromLambdas, R.relativeOutOfFolder],
  },
  {
    name: 'adapters',
    files: ['lambdas/adapters/**/*.ts'],
    patterns: [R.cdk, R.functionsFromAdapters, R.infrastructureFromLambdas, R.relativeOutOfFolder],
  },
  {
    name: 'blocker',
    files: ['lambdas/blocker/**/*.ts'],
    patterns: [R.cdk, R.notifierFromBlocker, R.infrastructureFromLambdas, R.relativeOutOfFolder],
  },
  {
    name: 'notifier',
    files: ['lambdas/notifier/**/*.ts'],
    patterns: [R.cdk, R.blockerFromNotifier, R.infrastructureFromLambdas, R.relativeOutOfFolder],
  },
  { name: 'lib', files: ['lib/**/*.ts'], patterns: [R.runtimeFromLib, R.cliFromLib, R.relativeIntoAliased] },
  {
    name: 'entry points, benches and tests',
    files: ['bin/**/*.ts', 'cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', '*.ts'],
    patterns: [R.relativeIntoAliased],
  },
];

/** The layer blocks as flat config objects. */
export const layering = LAYERS.map(({ name, files, patterns }) => ({
  name: `layering/${name}`,
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', '**/*.js', '**/*.mjs', '**/*.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layering,
);
