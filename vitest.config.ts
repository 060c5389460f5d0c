import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // CDK synthesis and bundling are CPU-heavy; a 2-core CI machine needs room, not a race.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    allowOnly: false,
  },
});
