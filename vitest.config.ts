import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The test runner has its own config: the web app's vite config (SolidStart, nitro) is not
// loaded for tests. Projects: unit (no services; with the repository's architecture tests),
// integration (real PostgreSQL + Redis; each file gets its own fresh database; with the
// cross-package tests of tests/e2e), browser (Debian's Chromium via playwright-core).
const integrationGlobs = ['*/tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'];
// Browser tests: end to end, each starts the server in-process (tests/e2e/browser).
const browserGlobs = ['tests/e2e/browser/**/*.test.ts'];
// Integration files mostly wait (on servers, databases, restarts, timers), so they run three at a
// time even on two cores (vitest's default there is one); AEGIS_TEST_WORKERS overrides it.
const integrationWorkers = Number(process.env.AEGIS_TEST_WORKERS ?? 3);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // CPU-bound: one file per core. Projects with different worker counts run one after
          // another (groupOrder): unit, integration, browser.
          maxWorkers: Math.max(1, availableParallelism()),
          sequence: { groupOrder: 0 },
          include: [
            '*/src/**/*.test.ts',
            '*/tests/unit/**/*.test.ts',
            'tests/architecture/**/*.test.ts',
            'tools/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', ...integrationGlobs, ...browserGlobs],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: integrationGlobs,
          maxWorkers: integrationWorkers,
          sequence: { groupOrder: 1 },
          exclude: ['**/node_modules/**', 'tests/e2e/browser/**'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['./shared/src/testing/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'browser',
          include: browserGlobs,
          exclude: ['**/node_modules/**'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          globalSetup: ['./shared/src/testing/global-setup.ts'],
        },
      },
    ],
  },
});
