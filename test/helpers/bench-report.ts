/** Checks both benchmark smoke runs (SQLite and PostgreSQL) make of their reports. */
import { expect } from 'vitest';
import type { BenchReport, PostgresBenchReport } from '../../bench/report.ts';

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
