import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A temp dir per run, removed at the end; the SDK's Node.js version warning said once (see the file).
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    // CDK synthesis and bundling are CPU-heavy; a 2-core CI machine needs room, not a race.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    allowOnly: false,
  },
});
