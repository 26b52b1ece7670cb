import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The browser tests need Chromium (Debian's at /usr/bin/chromium, or CHROMIUM_PATH). Where it
// is missing, `npm test` runs everything else and says so; CI (which installs it) never skips.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const browserTests = existsSync(chromiumPath) || process.env.CI === 'true';
if (!browserTests) {
  process.stderr.write(
    `\n  Browser tests (test/e2e) SKIPPED: no Chromium at ${chromiumPath}.\n` +
      `  Install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH, then run them with:\n` +
      `    npx vitest run --project e2e\n\n`,
  );
}

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
      ...(browserTests ? [e2eProject()] : []),
    ],
  },
});

function e2eProject() {
  return {
    test: {
      name: 'e2e',
      include: ['test/e2e/**/*.test.ts'],
      environment: 'node',
      // A real server and Chromium per file: one file at a time keeps a small machine responsive.
      globalSetup: ['test/e2e/global-setup.ts'],
      pool: 'forks' as const,
      fileParallelism: false,
      testTimeout: 90_000,
      hookTimeout: 150_000,
    },
  };
}
