/**
 * Query scenarios against a catalog: both servers up, answers verified equal, then alternating timed rounds
 * (ours, baseline, ours, baseline …) so drift in the machine's state hits both sides alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { BenchCatalog } from './catalog.ts';
import {
  fetchOnce, latencyOf, peakRssMiB, probeLatency, resetPeakRss, runLoad, sampleLatencies, startServerProcess, type LatencyResult, type LoadResult, type ServerProcess,
} from './load.ts';
import { LIST_QUERY, readScenarioInputs, scenarios, type Scenario, type ScenarioInputs } from './scenarios.ts';

export interface SideResult extends LoadResult {
  peakRssMiB: number | null;
}

export interface ScenarioResult {
  name: string;
  title: string;
  ours: SideResult;
  baseline: SideResult;
  /** ours / baseline throughput. */
  ratio: number;
  /** One request at a time (no queueing): ours and baseline. */
  single: { ours: LatencyResult; baseline: LatencyResult };
}

export interface QueryBenchResult {
  results: ScenarioResult[];
  inputs: ScenarioInputs;
}

export interface QueryBenchOptions {
  connections: number;
  /** Seconds per timed round; each side gets `rounds` of them. */
  roundSeconds: number;
  rounds: number;
  warmupSeconds: number;
  /** Seconds of one-at-a-time requests per side for the latency probe. */
  probeSeconds: number;
  log: (line: string) => void;
}

/** Our server exactly as `npm start` runs it (same node flags), on the catalog's data directory and a free port. */
export function startOurServer(catalog: BenchCatalog): Promise<ServerProcess> {
  const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [command, ...args] = scripts.start!.split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs "${command}", expected node`);
  return startServerProcess([...args, '--data-dir', catalog.dataDir, '--port', '0'], { NODE_ENV: 'production' });
}

export function startBaselineServer(catalog: BenchCatalog): Promise<ServerProcess> {
  return startServerProcess(['--import', 'tsx', 'bench/baseline-server.ts', catalog.databasePath], { NODE_ENV: 'production' });
}

/** `after` cursors of the first `pages` list pages, read from our own API (null = the first page). */
async function listCursors(url: string, pages: number): Promise<(string | null)[]> {
  const cursors: (string | null)[] = [null];
  while (cursors.length < pages) {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LIST_QUERY, variables: { first: 20, after: cursors.at(-1) } }),
    });
    const body = await response.json() as { data: { models: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } } };
    const { endCursor, hasNextPage } = body.data.models.pageInfo;
    if (!hasNextPage || !endCursor) break;
    cursors.push(endCursor);
  }
  return cursors;
}

const withoutOrigin = (text: string, url: string) => text.replaceAll(url, 'http://host');

/** Both sides must give the same answer before their speed is compared. */
export async function verifySameAnswers(scenario: Scenario, ours: ServerProcess, baseline: ServerProcess, samples = 3): Promise<void> {
  for (let i = 0; i < samples; i++) {
    const [a, b] = await Promise.all([fetchOnce(ours.url, scenario.ours(i)), fetchOnce(baseline.url, scenario.baseline(i))]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`${scenario.name}: HTTP ${a.status} (ours) / ${b.status} (baseline): ${a.text.slice(0, 300)}`);
    const same = scenario.json
      ? isDeepStrictEqual(JSON.parse(withoutOrigin(a.text, ours.url)), JSON.parse(withoutOrigin(b.text, baseline.url)))
      : a.bytes.equals(b.bytes);
    if (!same) {
      throw new Error(`${scenario.name}: our answer differs from the baseline's for input ${i}:\nours:     ${a.text.slice(0, 600)}\nbaseline: ${b.text.slice(0, 600)}`);
    }
    if (scenario.json && JSON.parse(a.text).errors) throw new Error(`${scenario.name}: GraphQL errors: ${a.text.slice(0, 600)}`);
  }
}

/** The median of the rounds (one disturbed round does not move it), the sums of requests and errors. */
function combine(results: LoadResult[], peak: number | null): SideResult {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  };
  return {
    requests: results.reduce((s, r) => s + r.requests, 0),
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    peakRssMiB: peak,
  };
}

export async function runQueryScenarios(catalog: BenchCatalog, options: QueryBenchOptions): Promise<QueryBenchResult> {
  process.chdir(PROJECT_ROOT);
  const [ours, baseline] = await Promise.all([startOurServer(catalog), startBaselineServer(catalog)]);
  try {
    const inputs = readScenarioInputs(catalog.databasePath, await listCursors(ours.url, 16));
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios(inputs)) {
      await verifySameAnswers(scenario, ours, baseline);
      const load = { connections: options.connections, durationSeconds: options.warmupSeconds };
      await runLoad(ours.url, scenario.ours, load);
      await runLoad(baseline.url, scenario.baseline, load);
      resetPeakRss(ours.pid);
      resetPeakRss(baseline.pid);
      const oursRounds: LoadResult[] = [];
      const baselineRounds: LoadResult[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const timed = { connections: options.connections, durationSeconds: options.roundSeconds };
        oursRounds.push(await runLoad(ours.url, scenario.ours, timed));
        baselineRounds.push(await runLoad(baseline.url, scenario.baseline, timed));
      }
      const oursPeak = peakRssMiB(ours.pid);
      const baselinePeak = peakRssMiB(baseline.pid);
      const single = {
        ours: await probeLatency(ours.url, scenario.ours, options.probeSeconds),
        baseline: await probeLatency(baseline.url, scenario.baseline, options.probeSeconds),
      };
      const result: ScenarioResult = {
        name: scenario.name,
        title: scenario.title,
        ours: combine(oursRounds, oursPeak),
        baseline: combine(baselineRounds, baselinePeak),
        ratio: 0,
        single,
      };
      result.ratio = result.ours.requestsPerSecond / result.baseline.requestsPerSecond;
      options.log(`  ${catalog.label} ${scenario.name.padEnd(10)} ours ${result.ours.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${result.ours.p50Ms.toFixed(1)} ms` +
        ` | baseline ${result.baseline.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${result.baseline.p50Ms.toFixed(1)} ms | ratio ${result.ratio.toFixed(2)}` +
        ` | single p50 ${single.ours.p50Ms.toFixed(2)} / ${single.baseline.p50Ms.toFixed(2)} ms`);
      if (result.ours.errors || result.baseline.errors) throw new Error(`${scenario.name}: ${result.ours.errors} errors (ours), ${result.baseline.errors} (baseline)`);
      results.push(result);
    }
    return { results, inputs };
  } finally {
    await Promise.all([ours.stop(), baseline.stop()]);
  }
}

export interface ScalingResult {
  name: string;
  title: string;
  small: LatencyResult;
  large: LatencyResult;
  /** large p50 / small p50. */
  ratio: number;
}

/**
 * L-vs-S latency with both catalogs served at once and probed in alternation (S, L, S, L …), so a machine that
 * slows down or speeds up during the run affects both sizes alike.
 */
export async function runScalingProbe(small: { catalog: BenchCatalog; inputs: ScenarioInputs }, large: { catalog: BenchCatalog; inputs: ScenarioInputs },
  options: { roundSeconds: number; rounds: number; log: (line: string) => void }): Promise<ScalingResult[]> {
  process.chdir(PROJECT_ROOT);
  const [smallServer, largeServer] = await Promise.all([startOurServer(small.catalog), startOurServer(large.catalog)]);
  try {
    const smallScenarios = scenarios(small.inputs);
    const largeScenarios = scenarios(large.inputs);
    const results: ScalingResult[] = [];
    for (let s = 0; s < smallScenarios.length; s++) {
      const smallTimes: number[] = [];
      const largeTimes: number[] = [];
      // Warm-up on both, then alternate.
      await sampleLatencies(smallServer.url, smallScenarios[s]!.ours, 0.5);
      await sampleLatencies(largeServer.url, largeScenarios[s]!.ours, 0.5);
      for (let round = 0; round < options.rounds; round++) {
        smallTimes.push(...await sampleLatencies(smallServer.url, smallScenarios[s]!.ours, options.roundSeconds, smallTimes.length));
        largeTimes.push(...await sampleLatencies(largeServer.url, largeScenarios[s]!.ours, options.roundSeconds, largeTimes.length));
      }
      const result = { name: smallScenarios[s]!.name, title: smallScenarios[s]!.title, small: latencyOf(smallTimes), large: latencyOf(largeTimes), ratio: 0 };
      result.ratio = result.large.p50Ms / result.small.p50Ms;
      options.log(`  L/S ${result.name.padEnd(10)} p50 ${result.small.p50Ms.toFixed(2)} → ${result.large.p50Ms.toFixed(2)} ms | ratio ${result.ratio.toFixed(2)}`);
      results.push(result);
    }
    return results;
  } finally {
    await Promise.all([smallServer.stop(), largeServer.stop()]);
  }
}
