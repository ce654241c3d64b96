/**
 * Query scenarios against the catalogs: every server up, answers verified equal, then timed rounds alternating
 * over sides and sizes so drift in the machine's state hits every column alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { BenchCatalog } from './catalog.ts';
import {
  fetchOnce,
  latencyOf,
  median,
  peakRssMiB,
  probeLatency,
  resetPeakRss,
  runLoad,
  sampleLatencies,
  startServerProcess,
  type LatencyResult,
  type LoadResult,
  type ServerProcess,
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
  /**
   * ours / baseline throughput: the median over rounds of each round's pair (ours and the baseline measured right
   * after it), so a machine that slows down for a while moves both halves of a pair alike.
   */
  ratio: number;
  /** The lowest and highest of those per-round ratios: how noisy the machine was. */
  ratioRange: [number, number];
  /** One request at a time (no queueing): ours and baseline. */
  single: { ours: LatencyResult; baseline: LatencyResult };
}

export interface QueryBenchOptions {
  connections: number;
  /** Seconds per timed round; each side gets `rounds` of them. */
  roundSeconds: number;
  rounds: number;
  warmupSeconds: number;
  /** Seconds of one-at-a-time requests per side for the latency probe. */
  probeSeconds: number;
  /** Alternating S/L rounds of the L-vs-S probe (each `probeSeconds` per size). */
  scalingRounds: number;
  log: (line: string) => void;
}

/** Our server exactly as `npm start` runs it (same node flags), on the catalog's data directory and a free port. */
export function startOurServer(catalog: BenchCatalog): Promise<ServerProcess> {
  const scripts = (
    JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const [command, ...args] = scripts.start!.split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs "${command}", expected node`);
  return startServerProcess([...args, '--data-dir', catalog.dataDir, '--port', '0'], { NODE_ENV: 'production' });
}

export function startBaselineServer(catalog: BenchCatalog): Promise<ServerProcess> {
  return startServerProcess(['--import', 'tsx', 'bench/baseline-server.ts', catalog.databasePath], {
    NODE_ENV: 'production',
  });
}

/** `after` cursors of the first `pages` list pages, read from our own API (null = the first page). */
async function listCursors(url: string, pages: number): Promise<(string | null)[]> {
  const cursors: (string | null)[] = [null];
  while (cursors.length < pages) {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LIST_QUERY, variables: { first: 20, after: cursors.at(-1) } }),
    });
    const body = (await response.json()) as {
      data: { models: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
    };
    const { endCursor, hasNextPage } = body.data.models.pageInfo;
    if (!hasNextPage || !endCursor) break;
    cursors.push(endCursor);
  }
  return cursors;
}

const withoutOrigin = (text: string, url: string) => text.replaceAll(url, 'http://host');

/** Both sides must give the same answer before their speed is compared. */
export async function verifySameAnswers(
  scenario: Scenario,
  ours: ServerProcess,
  baseline: ServerProcess,
  samples = 3,
): Promise<void> {
  for (let i = 0; i < samples; i++) {
    const [a, b] = await Promise.all([
      fetchOnce(ours.url, scenario.ours(i)),
      fetchOnce(baseline.url, scenario.baseline(i)),
    ]);
    if (a.status !== 200 || b.status !== 200)
      throw new Error(`${scenario.name}: HTTP ${a.status} (ours) / ${b.status} (baseline): ${a.text.slice(0, 300)}`);
    const same = scenario.json
      ? isDeepStrictEqual(JSON.parse(withoutOrigin(a.text, ours.url)), JSON.parse(withoutOrigin(b.text, baseline.url)))
      : a.bytes.equals(b.bytes);
    if (!same) {
      throw new Error(
        `${scenario.name}: our answer differs from the baseline's for input ${i}:\nours:     ${a.text.slice(0, 600)}\nbaseline: ${b.text.slice(0, 600)}`,
      );
    }
    if (scenario.json && JSON.parse(a.text).errors)
      throw new Error(`${scenario.name}: GraphQL errors: ${a.text.slice(0, 600)}`);
  }
}

/** The median of the rounds (one disturbed round does not move it), the sums of requests and errors. */
function combine(results: LoadResult[], peak: number | null): SideResult {
  return {
    requests: results.reduce((s, r) => s + r.requests, 0),
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    peakRssMiB: peak,
  };
}

export interface SizeResults {
  catalog: BenchCatalog;
  inputs: ScenarioInputs;
  results: ScenarioResult[];
}

interface ServedCatalog {
  catalog: BenchCatalog;
  ours: ServerProcess;
  baseline: ServerProcess;
  inputs: ScenarioInputs;
  scenarios: Scenario[];
}

/** Both servers on one catalog; whatever started is stopped again if the rest fails. */
async function serve(catalog: BenchCatalog): Promise<ServedCatalog> {
  const [ours, baseline] = await Promise.allSettled([startOurServer(catalog), startBaselineServer(catalog)]);
  try {
    if (ours.status === 'rejected') throw ours.reason;
    if (baseline.status === 'rejected') throw baseline.reason;
    const inputs = readScenarioInputs(catalog.databasePath, await listCursors(ours.value.url, 16));
    return { catalog, ours: ours.value, baseline: baseline.value, inputs, scenarios: scenarios(inputs) };
  } catch (error) {
    await Promise.all([ours, baseline].flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    throw error;
  }
}

/**
 * Every catalog is served at once (ours and baseline for each), and each scenario's timed rounds alternate over
 * sides and sizes (S ours, S baseline, L ours, L baseline, S ours …): a machine that drifts during the run moves
 * every column alike instead of whichever size happened to run first.
 */
export async function runQueryBench(
  catalogs: BenchCatalog[],
  options: QueryBenchOptions,
): Promise<{ sizes: SizeResults[]; scaling: ScalingResult[] }> {
  process.chdir(PROJECT_ROOT);
  const started = await Promise.allSettled(catalogs.map(serve));
  const served = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const sizes: SizeResults[] = served.map((s) => ({ catalog: s.catalog, inputs: s.inputs, results: [] }));
    const scaling: ScalingResult[] = [];
    for (let index = 0; index < served[0]!.scenarios.length; index++) {
      const scenarioOf = (s: ServedCatalog) => s.scenarios[index]!;
      const warmup = { connections: options.connections, durationSeconds: options.warmupSeconds };
      for (const s of served) {
        await verifySameAnswers(scenarioOf(s), s.ours, s.baseline);
        await runLoad(s.ours.url, scenarioOf(s).ours, warmup);
        await runLoad(s.baseline.url, scenarioOf(s).baseline, warmup);
        resetPeakRss(s.ours.pid);
        resetPeakRss(s.baseline.pid);
      }
      const rounds = served.map(() => ({ ours: [] as LoadResult[], baseline: [] as LoadResult[] }));
      const timed = { connections: options.connections, durationSeconds: options.roundSeconds };
      for (let round = 0; round < options.rounds; round++) {
        for (const [k, s] of served.entries()) {
          rounds[k]!.ours.push(await runLoad(s.ours.url, scenarioOf(s).ours, timed));
          rounds[k]!.baseline.push(await runLoad(s.baseline.url, scenarioOf(s).baseline, timed));
        }
      }
      for (const [k, s] of served.entries()) {
        const scenario = scenarioOf(s);
        const oursPeak = peakRssMiB(s.ours.pid);
        const baselinePeak = peakRssMiB(s.baseline.pid);
        const single = {
          ours: await probeLatency(s.ours.url, scenario.ours, options.probeSeconds),
          baseline: await probeLatency(s.baseline.url, scenario.baseline, options.probeSeconds),
        };
        const ours = combine(rounds[k]!.ours, oursPeak);
        const baseline = combine(rounds[k]!.baseline, baselinePeak);
        const pairRatios = rounds[k]!.ours.map(
          (round, r) => round.requestsPerSecond / rounds[k]!.baseline[r]!.requestsPerSecond,
        );
        const result: ScenarioResult = {
          name: scenario.name,
          title: scenario.title,
          ours,
          baseline,
          single,
          ratio: median(pairRatios),
          ratioRange: [Math.min(...pairRatios), Math.max(...pairRatios)],
        };
        options.log(
          `  ${s.catalog.label} ${scenario.name.padEnd(12)} ours ${ours.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${ours.p50Ms.toFixed(1)} ms` +
            ` | baseline ${baseline.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${baseline.p50Ms.toFixed(1)} ms | ratio ${result.ratio.toFixed(2)} (${result.ratioRange.map((r) => r.toFixed(2)).join('–')})` +
            ` | single p50 ${single.ours.p50Ms.toFixed(2)} / ${single.baseline.p50Ms.toFixed(2)} ms`,
        );
        if (ours.errors || baseline.errors)
          throw new Error(`${scenario.name}: ${ours.errors} errors (ours), ${baseline.errors} (baseline)`);
        sizes[k]!.results.push(result);
      }
      if (served.length === 2) scaling.push(await probeScaling(served[0]!, served[1]!, index, options));
    }
    return { sizes, scaling };
  } finally {
    await Promise.all(served.flatMap((s) => [s.ours.stop(), s.baseline.stop()]));
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
 * L-vs-S latency of one scenario on our two running servers, probed one request at a time in alternation
 * (S, L, S, L …), so a machine that slows down or speeds up affects both sizes alike.
 */
async function probeScaling(
  small: ServedCatalog,
  large: ServedCatalog,
  index: number,
  options: { probeSeconds: number; scalingRounds: number; log: (line: string) => void },
): Promise<ScalingResult> {
  const smallScenario = small.scenarios[index]!;
  const largeScenario = large.scenarios[index]!;
  const smallTimes: number[] = [];
  const largeTimes: number[] = [];
  for (let round = 0; round < options.scalingRounds; round++) {
    smallTimes.push(
      ...(await sampleLatencies(small.ours.url, smallScenario.ours, options.probeSeconds, smallTimes.length)),
    );
    largeTimes.push(
      ...(await sampleLatencies(large.ours.url, largeScenario.ours, options.probeSeconds, largeTimes.length)),
    );
  }
  const result = {
    name: smallScenario.name,
    title: smallScenario.title,
    small: latencyOf(smallTimes),
    large: latencyOf(largeTimes),
    ratio: 0,
  };
  result.ratio = result.large.p50Ms / result.small.p50Ms;
  options.log(
    `  L/S ${result.name.padEnd(12)} p50 ${result.small.p50Ms.toFixed(2)} → ${result.large.p50Ms.toFixed(2)} ms | ratio ${result.ratio.toFixed(2)}`,
  );
  return result;
}
