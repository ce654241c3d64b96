/**
 * `npm run bench -- --quick` end to end: both servers give byte-identical answers for every scenario (the run
 * stops otherwise), the import writes the same rows as its baseline, hashing agrees with sha256sum, and the
 * results file has every scenario. Numbers are not judged here (BENCHMARKS.md is where they are reported).
 * The run caches into a temp folder that is removed afterwards: `npm test` must not leave the benchmark's
 * catalogs (hundreds of MB) in the clone, nor touch the cache `npm run bench` keeps in `.bench-cache/`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CACHE_DIR } from '../bench/catalog.ts';
import type { BenchReport } from '../bench/report.ts';
import { tempDir } from './helpers/temp.ts';
import { expectRevalidationReported, OUTRUN_SCENARIOS, runQuickBench } from './helpers/bench-report.ts';

/** Every entry under a folder with its size and modification time (null when the folder does not exist). */
function listing(dir: string): string[] | null {
  if (!existsSync(dir)) return null;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((entry) => {
      const info = statSync(path.join(dir, entry));
      return `${entry} ${info.size} ${info.mtimeMs}`;
    });
}

describe('npm run bench -- --quick', () => {
  const cacheDir = tempDir('dn-bench-cache-');

  it('runs every scenario against its baseline and reports ratios, caching only in a temp folder', () => {
    const projectCacheBefore = listing(DEFAULT_CACHE_DIR);
    // Two processes per side: the timed rounds take them in turn (the PostgreSQL smoke run keeps one).
    const run = runQuickBench(cacheDir, ['--processes', '2']);
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(listing(DEFAULT_CACHE_DIR)).toEqual(projectCacheBefore);
    const report = JSON.parse(readFileSync(path.join(cacheDir, 'quick-results.json'), 'utf8')) as BenchReport;
    expect(report.quick).toBe(true);
    const [small] = report.sizes;
    expect(small!.scenarios.map((s) => s.name)).toEqual([
      'list',
      'list-wide',
      'detail',
      'hashes',
      'thumbnail',
      'search',
      'search-name',
      'floor',
    ]);
    for (const scenario of small!.scenarios) {
      expect(scenario.ours.requests, scenario.name).toBeGreaterThan(0);
      for (const side of ['ours', 'baseline', 'mirror'] as const)
        expect(scenario[side]?.processes, `${scenario.name} ${side}`).toBe(2);
      expect(scenario.baseline.requests, scenario.name).toBeGreaterThan(0);
      expect(scenario.mirror?.requests, scenario.name).toBeGreaterThan(0);
      expect(scenario.mirrorRatio, scenario.name).toBeGreaterThan(0);
      expect(scenario.ours.errors + scenario.baseline.errors, scenario.name).toBe(0);
      expect(scenario.ratio, scenario.name).toBeGreaterThan(0);
      expect(scenario.ratioRange[0], scenario.name).toBeLessThanOrEqual(scenario.ratio);
      expect(scenario.ratioRange[1], scenario.name).toBeGreaterThanOrEqual(scenario.ratio);
      // Bare yoga answers the floor only (the same GraphQL request as ours, its answer compared before timing).
      if (scenario.name === 'floor') {
        expect(scenario.yoga?.requests).toBeGreaterThan(0);
        expect(scenario.yoga?.errors).toBe(0);
        expect(scenario.yoga?.processes).toBe(2);
        expect(scenario.yogaRatio).toBeGreaterThan(0);
      } else expect(scenario.yoga, scenario.name).toBeUndefined();
    }
    for (const [name, counts] of Object.entries(small!.statements))
      expect(counts.ours[0], `${name} statements`).toBe(counts.ours[1]);
    // The FTS5 cost split: ranking cannot be cheaper than counting the same matches, and the common words match more.
    const [common, names] = report.searchCost;
    expect(common!.matches).toBeGreaterThan(names!.matches);
    for (const row of report.searchCost) expect(row.rankedTop20Ms, row.inputs).toBeGreaterThan(0);
    expectRevalidationReported(report);
    expect(report.import.ratio).toBeGreaterThan(0);
    expect(report.hashing.oursMiBPerSecond).toBeGreaterThan(0);
    expect(report.download.oursMiBPerSecond).toBeGreaterThan(0);
    // Start-up through the bin against `node -e ''`, and a scan of 500 files against `find -printf`.
    expect(report.startup.map((r) => r.name)).toEqual(['help', 'serve']);
    for (const row of report.startup) expect(row.oursMs, row.name).toBeGreaterThan(row.nodeMs);
    expect(report.scan).toHaveLength(1);
    const [scan] = report.scan;
    expect(scan!.files).toBe(500);
    expect(scan!.firstScanSeconds).toBeGreaterThan(scan!.rescanSeconds);
    expect(scan!.refreshSeconds).toBeGreaterThan(0);
    expect(scan!.firstScanSeconds).toBeGreaterThan(scan!.refreshSeconds);
    expect(scan!.rescanStatements).toBeLessThanOrEqual(12);
    expect(report.targets.length).toBeGreaterThan(0);
    // Whether the baseline is the fastest program is checked against the mirror in every run (a finding of issue 14:
    // the mirror once answered a model's name 1.35-1.84 x faster than the baseline did).
    // And against our own server (on PostgreSQL, ours once answered common words 1.30 x faster than its baseline).
    for (const by of ['no mirror', 'ours never']) {
      const fastest = report.targets.find((t) => t.target.startsWith(`S: the baseline is the fastest program (${by}`));
      expect(fastest?.measured, JSON.stringify(report.targets)).toMatch(OUTRUN_SCENARIOS);
    }
    // Each GraphQL scenario's ceiling: our throughput for a request that reads nothing over its baseline (a finding
    // of issue 14: yoga alone answers `{ __typename }` slower than the baseline answers a model's name), and bare
    // yoga's, the ceiling of a server handing every request to yoga whole.
    const floor = small!.scenarios.find((s) => s.name === 'floor')!;
    for (const name of ['list', 'search', 'search-name']) {
      const scenario = small!.scenarios.find((s) => s.name === name)!;
      const [ceiling, yoga] = [floor.ours, floor.yoga!].map(
        (side) => side.requestsPerSecond / scenario.baseline.requestsPerSecond,
      );
      const target = report.targets.find((t) => t.target === `S: ${name} throughput ≥ 0.5 × baseline`);
      expect(target?.measured, name).toBe(
        `${scenario.ratio.toFixed(2)} × (ceiling ${ceiling!.toFixed(2)}; bare yoga ${yoga!.toFixed(2)})`,
      );
    }
    const thumbnail = report.targets.find((t) => t.target === 'S: thumbnail route ≥ 0.5 × baseline');
    expect(thumbnail?.measured).not.toContain('ceiling');
  }, 600_000);
});
