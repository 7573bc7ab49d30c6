import { defineConfig } from 'vitest/config';

/**
 * The tests of the benchmark: its --quick smoke run (two to three minutes) and the checks of
 * its report. `npm run test:bench` runs them (project "bench"); `npm test` runs every other
 * test file (project "unit"); `npx vitest run` runs both.
 */
export const BENCH_TESTS = ['test/bench.test.ts', 'test/training-report.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // `npm run test:relaxed` starts vitest under node --experimental-wasm-relaxed-simd: the
    // test processes get the same flag, so that the runtime picks the relaxed build there.
    execArgv: process.execArgv.filter((a) => a.startsWith('--experimental-wasm')),
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: BENCH_TESTS } },
      { extends: true, test: { name: 'bench', include: BENCH_TESTS } },
    ],
  },
});
