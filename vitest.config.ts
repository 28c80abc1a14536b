import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests, and integration/end-to-end tests that share one Temporal dev
// server (and other real services) started once per run by test/harness/global-setup.ts.

// On Node 20 the AWS SDK warns in every process that loads it (the test workers and every worker or API
// the tests start) that its 2027 releases need Node 22: useful to a user, noise here. Set before
// anything forks, so every process of the run inherits it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    // Components log JSON lines; keep test output to warnings unless asked (ORDINAL_LOG_LEVEL=info).
    env: { ORDINAL_LOG_LEVEL: process.env.ORDINAL_LOG_LEVEL ?? 'warn' },
    // Integration tests mostly wait (probes, timers, processes starting): run three files at once even
    // on two cores.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          // Replay tests need no server: recorded histories replay in-process (test/replay/replay.test.ts).
          include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
