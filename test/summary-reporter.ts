// Prints one plain closing line after the run, counting every failure vitest knows of:
//
//   Tests: 806 passed, 0 failed, 8 skipped; 16 files: passed
//   Tests: 806 passed, 0 failed, 8 skipped; 16 files, 1 failed; 1 error outside tests: FAILED
//
// A file can fail with no failed test (an import that throws, a failed hook, an error after
// its tests) and an error can belong to no file at all (an unhandled rejection); each of
// those counts, so the line says FAILED whenever vitest exits with a failure.
import type { Reporter, TestModule } from 'vitest/node';

/** What the count reads of a test module: the part of vitest's TestModule it uses. */
export interface ModuleLike {
  state(): string;
  errors(): readonly unknown[];
  children: {
    allTests(): Iterable<{ result(): { state: string } }>;
    allSuites(): Iterable<{ errors(): readonly unknown[] }>;
  };
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** Tests collected but never finished (an interrupted run, a file that died mid-way). */
  notRun: number;
  files: number;
  failedFiles: number;
  /** Errors in no test: a file's or a suite's own errors, and unhandled errors. */
  errorsOutsideTests: number;
  interrupted: boolean;
  ok: boolean;
}

export function summarize(modules: ReadonlyArray<ModuleLike>, unhandledErrors: ReadonlyArray<unknown>, reason: string): Summary {
  const s: Summary = {
    passed: 0, failed: 0, skipped: 0, notRun: 0, files: modules.length, failedFiles: 0,
    errorsOutsideTests: unhandledErrors.length, interrupted: reason === 'interrupted', ok: false,
  };
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') s.passed++;
      else if (state === 'failed') s.failed++;
      else if (state === 'skipped') s.skipped++;
      else s.notRun++;
    }
    s.errorsOutsideTests += m.errors().length;
    for (const suite of m.children.allSuites()) s.errorsOutsideTests += suite.errors().length;
    const state = m.state();
    if (state !== 'passed' && state !== 'skipped') s.failedFiles++;
  }
  s.ok = s.failed === 0 && s.notRun === 0 && s.failedFiles === 0 && s.errorsOutsideTests === 0 && !s.interrupted && reason !== 'failed';
  return s;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function summaryLine(s: Summary): string {
  const tests = `Tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped${s.notRun ? `, ${s.notRun} not run` : ''}`;
  const files = `${plural(s.files, 'file')}${s.failedFiles ? `, ${s.failedFiles} failed` : ''}`;
  const outside = s.errorsOutsideTests ? `; ${plural(s.errorsOutsideTests, 'error')} outside tests` : '';
  const verdict = s.ok ? 'passed' : s.interrupted ? 'INTERRUPTED' : 'FAILED';
  return `${tests}; ${files}${outside}: ${verdict}`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>, reason: string): void {
    process.stdout.write(`\n${summaryLine(summarize(modules, unhandledErrors, reason))}\n`);
  }
}
