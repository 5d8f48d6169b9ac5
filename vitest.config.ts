import { defineConfig } from 'vitest/config';

// Two projects:
//   unit         beside the code, fakes only, fast and silent; runs anywhere.
//   integration  test/, real Docker engine and real processes; files run one at a time and the
//                run fails (never skips) when Docker is unreachable.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{src,master,agent,router,cmd,scripts}/**/*.test.ts'],
          environment: 'node',
          // Temporary directories of a run go under one directory, removed at its end.
          globalSetup: ['test/support/unit-tmp.ts'],
          // Silent: components take their logger as a dependency and unit tests pass
          // silentLogger() from src/util/logger.ts; nothing may print to stdout.
          testTimeout: 5_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          env: {
            // Ryuk's image cannot be pulled here; tests remove their own containers by label.
            TESTCONTAINERS_RYUK_DISABLED: 'true',
          },
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // Real Docker and real ports: one file at a time, in child processes.
          pool: 'forks',
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
