/**
 * `npm run bench`: every benchmark of the project, one after another (`npm run bench -- <name>...`:
 * only those). Figures, not pass/fail: the targets are printed beside them and discussed in the
 * issue notes.
 */
export {};

const suites = [
  './core.ts',
  './waf-round-trips.ts',
  './first-block.ts',
  './bundle.ts',
  './notifier.ts',
  './replay.ts',
  './attack-mode.ts',
];
const nameOf = (suite: string): string => suite.slice(2, -3);
// `npm run bench -- first-block attack-mode`: only the suites named.
const only = process.argv.slice(2);
const unknown = only.filter((name) => !suites.some((suite) => nameOf(suite) === name));
if (unknown.length > 0) {
  throw new Error(`no bench named ${unknown.join(', ')}; the benches are ${suites.map(nameOf).join(', ')}`);
}
const chosen = suites.filter((suite) => only.length === 0 || only.includes(nameOf(suite)));
// Every suite loaded before any runs: a suite reads its settings (FIRST_BLOCK_SAMPLES, ...) as it
// loads, and a bad one then stops the bench at once, not after the suites before it have run.
const loaded = await Promise.all(
  chosen.map(async (suite) => ({ suite, mod: (await import(suite)) as { default: () => Promise<void> } })),
);

console.log(
  'Figures, not pass/fail: each target is printed beside its figure, and docs/testing.md says what each one measures. ' +
    'Wall times depend on the machine and its load: compare runs side by side.',
);
for (const { suite, mod } of loaded) {
  console.log(`\n# ${nameOf(suite)}`);
  await mod.default();
}
