/** The benchmark smoke runs (SQLite and PostgreSQL) and the checks both make of their reports. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { expect } from 'vitest';
import type { BenchReport, PostgresBenchReport } from '../../bench/report.ts';
import { PROJECT_ROOT } from '../../src/db/project-paths.ts';

/**
 * `npm run bench -- --quick` with short rounds on a small S catalog (generating and copying it is most of the run;
 * numbers are not judged), caching into `cacheDir`, with `args` added (the engine).
 */
export function runQuickBench(cacheDir: string, args: readonly string[] = []): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [
      ...['--import', 'tsx', 'bench/run.ts', '--quick', '--round-seconds', '0.5', '--s-models', '400'],
      ...args,
      ...['--cache-dir', cacheDir],
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 560_000 },
  );
}

/** What a "the baseline is the fastest program" target measures: none, or each scenario that outran it and by how much. */
export const OUTRUN_SCENARIOS = /^(none|[\w-]+ \d+\.\d\d ×(, [\w-]+ \d+\.\d\d ×)*)$/;

/** Cacheable reads: the persisted list page executed, answered 304 and answered from the response cache, on S. */
export function expectRevalidationReported(report: BenchReport | PostgresBenchReport): void {
  expect(report.revalidation?.map((r) => r.catalog)).toEqual(['S']);
  for (const side of ['executed', 'revalidated', 'cached'] as const) {
    const measured = report.revalidation![0]![side];
    expect(measured.requests, side).toBeGreaterThan(0);
    expect(measured.errors, side).toBe(0);
    expect(measured.cpuMsPerRequest, side).toBeGreaterThan(0);
  }
  expect(report.targets.some((t) => t.target.includes('(304) costs ≤ 0.5 ms'))).toBe(true);
}
