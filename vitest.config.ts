import { defineConfig } from 'vitest/config';
import type { TestUserConfig } from 'vitest/node';

// TestUserConfig: `project` (the default project filter) is a root option that InlineConfig does not list.
const test: TestUserConfig = {
  // Real servers (Prometheus, Alertmanager) take seconds to start; the runner must not starve them.
  pool: 'forks',
  reporters: ['default'],
  // The game day burns every core of the machine: it runs alone, after the rest (`npm test`), never
  // beside other test files. `vitest run --project gameday` runs it.
  project: ['!gameday'],
  projects: [
    {
      extends: true,
      test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 15_000 },
    },
    {
      extends: true,
      test: {
        name: 'integration',
        include: ['test/integration/**/*.test.ts'],
        testTimeout: 120_000,
        hookTimeout: 120_000,
      },
    },
    {
      extends: true,
      test: { name: 'cdk', include: ['test/cdk/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 },
    },
    {
      extends: true,
      test: {
        name: 'gameday',
        include: ['test/e2e/gameday/**/*.test.ts'],
        // One file at a time, and the scenarios one after the other.
        fileParallelism: false,
        testTimeout: 900_000,
        hookTimeout: 300_000,
      },
    },
  ],
};

export default defineConfig({ test });
