import { defineConfig } from 'vitest/config';

// Three projects: `unit` needs no database; `integration` runs against PGlite, and
// against PostgreSQL as well when DATABASE_URL is set (see test/integration/db.ts);
// `e2e` drives Chromium against a real server process on PGlite.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          // A real server and Chromium per file: one file at a time keeps a small machine responsive.
          globalSetup: ['test/e2e/global-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 150_000,
        },
      },
    ],
  },
});
