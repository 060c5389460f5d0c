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
// `npm run bench -- first-block attack-mode`: only the suites named.
const only = process.argv.slice(2);

console.log(
  'Figures, not pass/fail: each target is printed beside its figure, and docs/testing.md says what each one measures. ' +
    'Wall times depend on the machine and its load: compare runs side by side.',
);
for (const suite of suites.filter((s) => only.length === 0 || only.includes(s.slice(2, -3)))) {
  console.log(`\n# ${suite.replace('./', '').replace('.ts', '')}`);
  const mod = (await import(suite)) as { default: () => Promise<void> };
  await mod.default();
}
