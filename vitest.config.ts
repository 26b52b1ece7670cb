import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no database; `integration` runs against PGlite, and
// against PostgreSQL as well when DATABASE_URL is set (see test/integration/db.ts).
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
    ],
  },
});
