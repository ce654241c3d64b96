/**
 * The bench's "the baseline is the fastest program" check (`fastestBaselineCheck` in bench/report.ts): a mirror that
 * outruns the baseline by more than noise says the baseline is not the fastest program — except where the mirror is
 * the baseline's own program (the floor, thumbnails), where it measures two processes of one program.
 */
import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../bench/query-bench.ts';
import { fastestBaselineCheck, type SizeRun } from '../bench/report.ts';
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
