import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:faults`: each file starts its own PostgreSQL cluster and a real server
// process, then breaks something. One file at a time: they stop databases and kill servers.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/faults/**/*.test.ts'],
    // The servers run from the bundle `npm start` runs: built from the sources first.
    globalSetup: ['test/faults/support/build.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // The counts each test checked are the point of the suite: show them.
    silent: false,
    reporters: ['verbose'],
  },
});
