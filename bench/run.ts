/**
 * `npm run bench`: every benchmark of the project, one after another. Figures, not pass/fail: the
 * targets are printed beside them and discussed in the issue notes.
 */
export {};

const suites = ['./core.ts', './waf-round-trips.ts', './bundle.ts', './notifier.ts', './replay.ts', './attack-mode.ts'];

for (const suite of suites) {
  console.log(`\n# ${suite.replace('./', '').replace('.ts', '')}`);
  const mod = (await import(suite)) as { default: () => Promise<void> };
  await mod.default();
}
