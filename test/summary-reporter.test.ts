/**
 * The closing line of test/summary-reporter.ts on synthetic runs: every way vitest can fail
 * (a failed test, a file that fails with no test or with only skipped ones, a failed hook,
 * an unhandled error, an interrupted run) makes the line say so, with exact counts.
 */
import { describe, it, expect } from 'vitest';
import { summarize, summaryLine, ModuleLike } from './summary-reporter.js';

const err = (message: string): { message: string } => ({ message });

/** A module in `state` holding tests of the given states, its own errors and suites with errors. */
function mod(state: string, tests: string[], own: unknown[] = [], suiteErrors: unknown[][] = []): ModuleLike {
  return {
    state: () => state,
    errors: () => own,
    children: {
      allTests: () => tests.map((s) => ({ result: () => ({ state: s }) })),
      allSuites: () => suiteErrors.map((e) => ({ errors: () => e })),
    },
  };
}

describe('the summary line counts every failure', () => {
  it('a clean run: the counts, and passed', () => {
    const s = summarize([mod('passed', ['passed', 'passed', 'skipped']), mod('passed', ['passed'], [], [[]])], [], 'passed');
    expect(s).toMatchObject({ passed: 3, failed: 0, skipped: 1, notRun: 0, files: 2, failedFiles: 0, errorsOutsideTests: 0, ok: true });
    expect(summaryLine(s)).toBe('Tests: 3 passed, 0 failed, 1 skipped; 2 files: passed');
  });

  it('a failed test', () => {
    const s = summarize([mod('failed', ['passed', 'failed']), mod('passed', ['passed'])], [], 'failed');
    expect(summaryLine(s)).toBe('Tests: 2 passed, 1 failed, 0 skipped; 2 files, 1 failed: FAILED');
  });

  it('a file that throws on import has no tests: it counts as a failed file with its error', () => {
    const s = summarize([mod('failed', [], [err('boom')]), mod('passed', ['passed'])], [], 'failed');
    expect(s).toMatchObject({ failed: 0, failedFiles: 1, errorsOutsideTests: 1, ok: false });
    expect(summaryLine(s)).toBe('Tests: 1 passed, 0 failed, 0 skipped; 2 files, 1 failed; 1 error outside tests: FAILED');
  });

  it('a failed file whose tests were all skipped (the browser tests with no browser) is not a clean run', () => {
    const s = summarize([mod('failed', Array(8).fill('skipped'), [err('no chromium')])], [], 'failed');
    expect(summaryLine(s)).toBe('Tests: 0 passed, 0 failed, 8 skipped; 1 file, 1 failed; 1 error outside tests: FAILED');
  });

  it('a failed beforeAll: its suite\'s error counts, though no test failed', () => {
    const s = summarize([mod('failed', ['skipped', 'skipped'], [], [[err('hook')]])], [], 'failed');
    expect(s).toMatchObject({ failed: 0, failedFiles: 1, errorsOutsideTests: 1, ok: false });
  });

  it('an unhandled error fails a run whose tests all passed', () => {
    const s = summarize([mod('passed', ['passed', 'passed'])], [err('late')], 'failed');
    expect(summaryLine(s)).toBe('Tests: 2 passed, 0 failed, 0 skipped; 1 file; 1 error outside tests: FAILED');
  });

  it('an interrupted run: tests never finished count as not run', () => {
    const s = summarize([mod('passed', ['passed']), mod('pending', ['passed', 'pending', 'pending'])], [], 'interrupted');
    expect(s).toMatchObject({ passed: 2, notRun: 2, failedFiles: 1, interrupted: true, ok: false });
    expect(summaryLine(s)).toBe('Tests: 2 passed, 0 failed, 0 skipped, 2 not run; 2 files, 1 failed: INTERRUPTED');
  });

  it('vitest\'s own verdict is never overruled: a run it calls failed is FAILED', () => {
    expect(summaryLine(summarize([mod('passed', ['passed'])], [], 'failed'))).toMatch(/: FAILED$/);
  });

  it('a run with no files and no tests is clean only if vitest says so', () => {
    expect(summaryLine(summarize([], [], 'passed'))).toBe('Tests: 0 passed, 0 failed, 0 skipped; 0 files: passed');
  });
});
