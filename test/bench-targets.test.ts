/**
 * The bench's "the baseline is the fastest program" check (`fastestBaselineCheck` in bench/report.ts): a mirror that
 * outruns the baseline by more than noise says the baseline is not the fastest program — except where the mirror is
 * the baseline's own program (the floor, thumbnails), where it measures two processes of one program.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ScenarioResult, startBenchServer } from '../bench/query-bench.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { fastestBaselineCheck, previousRatioCheck, type QueryRunReport, type SizeRun } from '../bench/report.ts';
import { OUTRUN_SCENARIOS } from './helpers/bench-report.ts';

const side = (requestsPerSecond: number) => ({ requestsPerSecond }) as ScenarioResult['ours'];

/** A run of scenarios by name: [ours, baseline, mirror] requests per second. */
function run(scenarios: Record<string, [number, number, number]>): SizeRun {
  return {
    catalog: { label: 'L' },
    scenarios: Object.entries(scenarios).map(([name, [ours, baseline, mirror]]) => ({
      name,
      ours: side(ours),
      baseline: side(baseline),
      mirror: side(mirror),
    })),
  } as unknown as SizeRun;
}

describe('the baseline-is-fastest check', () => {
  it('counts a mirror that outruns the baseline, but not where the mirror is the same program', () => {
    const measured = run({
      floor: [9_601, 18_789, 26_866],
      thumbnail: [3_276, 3_000, 3_600],
      hashes: [38, 38, 51],
      'search-name': [2_990, 4_268, 3_581],
    });
    const check = fastestBaselineCheck(measured, '', 'mirror');
    expect(check).toMatchObject({ measured: 'hashes 1.34 ×', met: false });
    expect(check.measured).toMatch(OUTRUN_SCENARIOS);
    expect(check.target).toBe('L: the baseline is the fastest program (no mirror above 1.15 × its throughput)');
  });

  it('still counts our own server outrunning the baseline anywhere, the floor and thumbnails included', () => {
    const measured = run({ floor: [20_000, 10_000, 10_000], thumbnail: [3_000, 3_000, 3_000] });
    expect(fastestBaselineCheck(measured, '', 'ours')).toMatchObject({ measured: 'floor 2.00 ×', met: false });
    expect(fastestBaselineCheck(run({ floor: [9_000, 18_000, 18_000] }), '', 'mirror')).toMatchObject({
      measured: 'none',
      met: true,
    });
  });
});

describe('the nothing-falls-below-its-previous-ratio check', () => {
  /** A run of scenarios by name: [ratio, lowest round, highest round]. */
  const ratios = (label: string, scenarios: Record<string, [number, number, number]>) =>
    ({
      catalog: { label },
      scenarios: Object.entries(scenarios).map(([name, [ratio, low, high]]) => ({
        name,
        ratio,
        ratioRange: [low, high],
      })),
    }) as unknown as SizeRun;
  const previous = {
    date: '2026-12-06T21:41:52.234Z',
    machine: { commit: '47c6bef' },
    sizes: [
      ratios('S', { hashes: [0.73, 0.68, 0.84], floor: [0.4, 0.39, 0.58] }),
      ratios('L', { hashes: [1.09, 0.93, 1.18] }),
    ],
  } as unknown as QueryRunReport;

  it("counts a scenario whose best round is under the previous run's worst, at its own size", () => {
    const now = [
      ratios('S', { hashes: [0.6, 0.47, 0.64], floor: [0.31, 0.28, 0.4] }),
      ratios('L', { hashes: [0.74, 0.69, 0.95] }),
    ];
    const check = previousRatioCheck(now, previous, 'PostgreSQL ');
    expect(check.met).toBe(false);
    expect(check.measured).toBe('S hashes 0.73 → 0.60 (rounds 0.68–0.84 → 0.47–0.64) (against 47c6bef, 2026-12-06)');
    expect(check.target).toMatch(/^PostgreSQL nothing falls below its previous ratio/);
  });

  it('passes overlapping rounds, new scenarios and a first run', () => {
    const now = [ratios('S', { hashes: [0.7, 0.6, 0.7], search: [0.1, 0.1, 0.1] })];
    expect(previousRatioCheck(now, previous)).toMatchObject({
      met: true,
      measured: 'none (against 47c6bef, 2026-12-06)',
    });
    expect(previousRatioCheck(now, undefined)).toMatchObject({ met: true, measured: 'no previous run' });
  });
});

describe("the bench's own servers", () => {
  it('run compiled (no TypeScript loader in the process), with the node flags `npm start` gives our server', async () => {
    const start = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts.start as string;
    const flags = start.match(/--[\w-]+=\S+/g) ?? [];
    expect(flags.length).toBeGreaterThan(0);
    const server = await startBenchServer('bench/yoga-floor-server.ts');
    try {
      const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of flags) expect(commandLine).toContain(flag);
      expect(commandLine.filter((arg) => /tsx|\.ts$/.test(arg))).toEqual([]);
      expect(commandLine.some((arg) => arg.endsWith('yoga-floor-server.mjs'))).toBe(true);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
