/**
 * `npm run bench -- --quick` end to end: both servers give byte-identical answers for every scenario (the run
 * stops otherwise), the import writes the same rows as its baseline, hashing agrees with sha256sum, and the
 * results file has every scenario. Numbers are not judged here (BENCHMARKS.md is where they are reported).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { BenchReport } from '../bench/report.ts';

const RESULTS = path.join(PROJECT_ROOT, '.bench-cache', 'quick-results.json');

describe('npm run bench -- --quick', () => {
  it('runs every scenario against its baseline and reports ratios', () => {
    rmSync(RESULTS, { force: true });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 280_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchReport;
    expect(report.quick).toBe(true);
    const [small] = report.sizes;
    expect(small!.scenarios.map((s) => s.name)).toEqual([
      'list',
      'detail',
      'hashes',
      'thumbnail',
      'search',
      'search-name',
    ]);
    for (const scenario of small!.scenarios) {
      expect(scenario.ours.requests, scenario.name).toBeGreaterThan(0);
      expect(scenario.baseline.requests, scenario.name).toBeGreaterThan(0);
      expect(scenario.ours.errors + scenario.baseline.errors, scenario.name).toBe(0);
      expect(scenario.ratio, scenario.name).toBeGreaterThan(0);
      expect(scenario.ratioRange[0], scenario.name).toBeLessThanOrEqual(scenario.ratio);
      expect(scenario.ratioRange[1], scenario.name).toBeGreaterThanOrEqual(scenario.ratio);
    }
    for (const [name, counts] of Object.entries(small!.statements))
      expect(counts.ours[0], `${name} statements`).toBe(counts.ours[1]);
    // The FTS5 cost split: ranking cannot be cheaper than counting the same matches, and the common words match more.
    const [common, names] = report.searchCost;
    expect(common!.matches).toBeGreaterThan(names!.matches);
    for (const row of report.searchCost) expect(row.rankedTop20Ms, row.inputs).toBeGreaterThan(0);
    expect(report.import.ratio).toBeGreaterThan(0);
    expect(report.hashing.oursMiBPerSecond).toBeGreaterThan(0);
    expect(report.targets.length).toBeGreaterThan(0);
  }, 300_000);
});
