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
  resetPeakRss,
  runLoad,
  sampleLatencies,
  startServerProcess,
  type LatencyResult,
  type LoadResult,
  type ServerProcess,
} from './load.ts';
import type { BaselineKind } from './baseline-server.ts';
import { type BenchServer, compiledBenchServer } from './compiled-servers.ts';
import {
  type HttpRequest,
  FLOOR_SCENARIO,
  LIST_QUERY,
  readScenarioInputs,
  scenarios,
  type Scenario,
  type ScenarioInputs,
} from './scenarios.ts';

/** The servers of one catalog, in the order each round measures them (PostgreSQL catalogs have no mirror). */
const SIDES = ['ours', 'baseline', 'mirror'] as const;
type Side = (typeof SIDES)[number] | 'yoga';
const sidesOf = (catalog: BenchCatalog): readonly Side[] => (catalog.databaseUrl ? ['ours', 'baseline'] : SIDES);

/** The sides a scenario is measured on: the floor also on bare yoga (`yoga-floor-server.ts`). */
const sidesFor = (served: ServedCatalog, scenario: Scenario): readonly Side[] =>
  scenario.name === FLOOR_SCENARIO && served.servers.yoga ? [...served.sides, 'yoga'] : served.sides;

/** Both baselines answer the same routes; bare yoga the same GraphQL request as ours. */
const requestsOf = (scenario: Scenario, side: Side): ((i: number) => HttpRequest) =>
  side === 'ours' || side === 'yoga' ? scenario.ours : scenario.baseline;

export interface SideResult extends LoadResult {
  peakRssMiB: number | null;
  /** How many server processes of this side the timed rounds took turns on. */
  processes?: number;
}

export interface ScenarioResult {
  name: string;
  title: string;
  ours: SideResult;
  /** The physical-limit baseline (`honest-baseline.ts`). */
  baseline: SideResult;
  /**
   * Our SQL strategy without GraphQL (`baseline.ts`): splits the gap into SQL strategy and GraphQL overhead. SQLite
   * catalogs only.
   */
  mirror?: SideResult;
  /**
   * ours / baseline throughput: the median over rounds of each round's pair (ours and the baseline measured right
   * after it), so a machine that slows down for a while moves both halves of a pair alike.
   */
  ratio: number;
  /** The lowest and highest of those per-round ratios: how noisy the machine was. */
  ratioRange: [number, number];
  /** ours / mirror, paired the same way. */
  mirrorRatio?: number;
  /**
   * The floor scenario only: a bare `createYoga` answering the same request (`yoga-floor-server.ts`). Over the
   * baseline, it is the ceiling of a server handing every request to yoga whole; ours over it compares our request
   * path with yoga's (ours skips yoga's fetch layer for plain JSON queries: `src/server/direct-answer.ts`).
   */
  yoga?: SideResult;
  /** bare yoga / baseline, paired the same way. */
  yogaRatio?: number;
  /** One request at a time (no queueing). */
  single: { ours: LatencyResult; baseline: LatencyResult; mirror?: LatencyResult };
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
  /** Only the scenarios of these names (all when absent): for measuring one lever at a time. */
  only?: readonly string[];
  /**
   * Server processes started per side; round r times process r mod this. Two processes of one program differ by up
   * to 15 % here (and once 1.43 × on the floor), so one process per side measures its process as much as its program.
   */
  processesPerSide: number;
}

/** The arguments `npm start` gives node: its flags, then the script and its own arguments. */
function npmStartArgs(): string[] {
  const scripts = (
    JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const [command, ...args] = scripts.start!.split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs "${command}", expected node`);
  return args;
}

/**
 * The node flags `npm start` runs our server with (its young generation's size and heap growth: a 1,000-hash look-up
 * costs half again as much CPU without them, ARCHITECTURE.md). Every server the bench compares runs with them, so
 * a ratio compares programs, not garbage collector settings.
 */
export function serverNodeFlags(): string[] {
  const args = npmStartArgs();
  const script = args.findIndex((arg) => !arg.startsWith('-'));
  return script < 0 ? args : args.slice(0, script);
}

/**
 * Our server exactly as `npm start` runs it (same node flags), on the catalog's data directory (and its PostgreSQL
 * database, if it has one) and a free port.
 */
export function startOurServer(catalog: BenchCatalog, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const database = catalog.databaseUrl ? ['--database-url', catalog.databaseUrl] : [];
  return startServerProcess([...npmStartArgs(), '--data-dir', catalog.dataDir, ...database, '--port', '0'], {
    NODE_ENV: 'production',
    ...env,
  });
}

/** One of the bench's own servers (a baseline, bare yoga), compiled as ours is and with our server's node flags. */
export async function startBenchServer(server: BenchServer, args: string[] = []): Promise<ServerProcess> {
  return startServerProcess([...serverNodeFlags(), await compiledBenchServer(server), ...args], {
    NODE_ENV: 'production',
  });
}

export function startBaselineServer(catalog: BenchCatalog, kind: BaselineKind): Promise<ServerProcess> {
  const database = kind === 'postgres' ? catalog.databaseUrl! : catalog.databasePath;
  return startBenchServer('bench/baseline-server.ts', [database, kind]);
}

/** `after` cursors of the first `pages` list pages, read from our own API (null = the first page). */
export async function listCursors(url: string, pages: number): Promise<(string | null)[]> {
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
export function combine(results: LoadResult[], peak: number | null): SideResult {
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
  sides: readonly Side[];
  /** Each side's processes (bare yoga's only when the floor scenario is measured). */
  servers: Partial<Record<Side, ServerProcess[]>>;
  inputs: ScenarioInputs;
  scenarios: Scenario[];
}

/** The processes of one side (every side measured has at least one). */
const serversOf = (served: ServedCatalog, side: Side): ServerProcess[] => served.servers[side]!;

/** The highest peak over a side's processes (each is one server as `npm start` or the baseline runs it). */
const peakOf = (servers: readonly ServerProcess[]): number | null => {
  const peaks = servers.map((server) => peakRssMiB(server.pid)).filter((peak) => peak !== null);
  return peaks.length > 0 ? Math.max(...peaks) : null;
};

/** One request at a time on each process of a side in turn, `seconds` in all. */
async function probeSide(
  servers: readonly ServerProcess[],
  request: (i: number) => HttpRequest,
  seconds: number,
): Promise<LatencyResult> {
  const times: number[] = [];
  for (const server of servers)
    times.push(...(await sampleLatencies(server.url, request, seconds / servers.length, times.length)));
  return latencyOf(times);
}

/** Our server and the baselines on one catalog; whatever started is stopped again if the rest fails. */
async function serve(catalog: BenchCatalog, processes: number, only?: readonly string[]): Promise<ServedCatalog> {
  const sides: Side[] = [...sidesOf(catalog)];
  if (!only || only.includes(FLOOR_SCENARIO)) sides.push('yoga');
  const start: Record<Side, () => Promise<ServerProcess>> = {
    ours: () => startOurServer(catalog),
    baseline: () => startBaselineServer(catalog, catalog.databaseUrl ? 'postgres' : 'honest'),
    mirror: () => startBaselineServer(catalog, 'mirror'),
    yoga: () => startBenchServer('bench/yoga-floor-server.ts'),
  };
  const order = sides.flatMap((side) => Array.from({ length: processes }, () => side));
  const started = await Promise.allSettled(order.map((side) => start[side]()));
  try {
    const servers: Partial<Record<Side, ServerProcess[]>> = {};
    for (const [k, s] of started.entries()) {
      if (s.status === 'rejected') throw s.reason;
      (servers[order[k]!] ??= []).push(s.value);
    }
    const inputs = readScenarioInputs(catalog.databasePath, await listCursors(servers.ours![0]!.url, 16));
    return {
      catalog,
      sides: sidesOf(catalog),
      servers,
      inputs,
      scenarios: scenarios(inputs).filter((s) => !only || only.includes(s.name)),
    };
  } catch (error) {
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    throw error;
  }
}

/**
 * Every catalog is served at once (ours and baseline for each), and each scenario's timed rounds alternate over
 * sides and sizes (S ours, S baseline, L ours, L baseline, S ours …): a machine that drifts during the run moves
 * every column alike instead of whichever size happened to run first (every other round takes the sides in reverse
 * order, so none is always first). Each side runs `processesPerSide` processes
 * and the rounds take them in turn (a round's pair is the same turn of each side).
 */
export async function runQueryBench(
  catalogs: BenchCatalog[],
  options: QueryBenchOptions,
): Promise<{ sizes: SizeResults[]; scaling: ScalingResult[] }> {
  process.chdir(PROJECT_ROOT);
  if (!(Number.isInteger(options.processesPerSide) && options.processesPerSide >= 1))
    throw new Error(`processesPerSide must be a whole number of at least 1, not ${options.processesPerSide}`);
  const started = await Promise.allSettled(
    catalogs.map((catalog) => serve(catalog, options.processesPerSide, options.only)),
  );
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
        const ours = serversOf(s, 'ours');
        for (const [p, server] of ours.entries()) {
          await verifySameAnswers(scenarioOf(s), server, serversOf(s, 'baseline')[p]!);
          if (s.servers.mirror) await verifySameAnswers(scenarioOf(s), server, s.servers.mirror[p]!);
          // Bare yoga answers the same GraphQL request as ours (as instances-bench compares two of our servers).
          if (sidesFor(s, scenarioOf(s)).includes('yoga'))
            await verifySameAnswers({ ...scenarioOf(s), baseline: scenarioOf(s).ours }, server, s.servers.yoga![p]!);
        }
        for (const side of sidesFor(s, scenarioOf(s)))
          for (const server of serversOf(s, side)) {
            await runLoad(server.url, requestsOf(scenarioOf(s), side), warmup);
            resetPeakRss(server.pid);
          }
      }
      const rounds = served.map(() => ({
        ours: [] as LoadResult[],
        baseline: [] as LoadResult[],
        mirror: [] as LoadResult[],
        yoga: [] as LoadResult[],
      }));
      /** The processes each side's rounds were timed on (what the report states, as measured). */
      const timedOn = served.map(() => new Map<Side, Set<number>>());
      const timed = { connections: options.connections, durationSeconds: options.roundSeconds };
      for (let round = 0; round < options.rounds; round++) {
        for (const [k, s] of served.entries()) {
          // Every other round the other way round: no side is always timed first in its round.
          const sides = sidesFor(s, scenarioOf(s));
          for (const side of round % 2 ? [...sides].reverse() : sides) {
            const servers = serversOf(s, side);
            const server = servers[round % servers.length]!;
            const pids = timedOn[k]!.get(side) ?? new Set<number>();
            timedOn[k]!.set(side, pids.add(server.pid));
            rounds[k]![side].push(await runLoad(server.url, requestsOf(scenarioOf(s), side), timed));
          }
        }
      }
      for (const [k, s] of served.entries()) {
        const scenario = scenarioOf(s);
        const sideResult = (side: Side): SideResult => {
          const servers = serversOf(s, side);
          return { ...combine(rounds[k]![side], peakOf(servers)), processes: timedOn[k]!.get(side)?.size ?? 0 };
        };
        const [ours, baseline] = (['ours', 'baseline'] as const).map(sideResult);
        const mirror = s.servers.mirror ? sideResult('mirror') : undefined;
        const yoga = rounds[k]!.yoga.length > 0 ? sideResult('yoga') : undefined;
        const single = {
          ours: await probeSide(serversOf(s, 'ours'), scenario.ours, options.probeSeconds),
          baseline: await probeSide(serversOf(s, 'baseline'), scenario.baseline, options.probeSeconds),
          ...(s.servers.mirror
            ? { mirror: await probeSide(s.servers.mirror, scenario.baseline, options.probeSeconds) }
            : {}),
        };
        const pairRatios = (other: LoadResult[], over = rounds[k]!.ours) =>
          over.map((round, r) => round.requestsPerSecond / other[r]!.requestsPerSecond);
        const baselinePairs = pairRatios(rounds[k]!.baseline);
        const result: ScenarioResult = {
          name: scenario.name,
          title: scenario.title,
          ours: ours!,
          baseline: baseline!,
          ...(mirror ? { mirror, mirrorRatio: median(pairRatios(rounds[k]!.mirror)) } : {}),
          ...(yoga ? { yoga, yogaRatio: median(pairRatios(rounds[k]!.baseline, rounds[k]!.yoga)) } : {}),
          single,
          ratio: median(baselinePairs),
          ratioRange: [Math.min(...baselinePairs), Math.max(...baselinePairs)],
        };
        options.log(
          `  ${s.catalog.label} ${scenario.name.padEnd(12)} ours ${result.ours.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${result.ours.p50Ms.toFixed(1)} ms` +
            ` | baseline ${result.baseline.requestsPerSecond.toFixed(0).padStart(6)} req/s p50 ${result.baseline.p50Ms.toFixed(1)} ms | ratio ${result.ratio.toFixed(2)} (${result.ratioRange.map((r) => r.toFixed(2)).join('–')})` +
            (result.mirror
              ? ` | mirror ${result.mirror.requestsPerSecond.toFixed(0).padStart(6)} req/s, ratio ${result.mirrorRatio!.toFixed(2)}`
              : '') +
            (result.yoga
              ? ` | bare yoga ${result.yoga.requestsPerSecond.toFixed(0).padStart(6)} req/s, ratio ${result.yogaRatio!.toFixed(2)}`
              : '') +
            ` | single p50 ${single.ours.p50Ms.toFixed(2)} / ${single.baseline.p50Ms.toFixed(2)}${single.mirror ? ` / ${single.mirror.p50Ms.toFixed(2)}` : ''} ms`,
        );
        const measured = sidesFor(s, scenario);
        const errors = measured.map((side) => result[side]!.errors);
        if (errors.some((e) => e > 0))
          throw new Error(`${scenario.name}: errors (${measured.join(', ')}): ${errors.join(', ')}`);
        sizes[k]!.results.push(result);
      }
      if (served.length === 2) scaling.push(await probeScaling(served[0]!, served[1]!, index, options));
    }
    return { sizes, scaling };
  } finally {
    await Promise.all(
      served.flatMap((s) => Object.values(s.servers).flatMap((servers) => servers.map((server) => server.stop()))),
    );
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
    const ofRound = (served: ServedCatalog) => {
      const ours = serversOf(served, 'ours');
      return ours[round % ours.length]!.url;
    };
    smallTimes.push(
      ...(await sampleLatencies(ofRound(small), smallScenario.ours, options.probeSeconds, smallTimes.length)),
    );
    largeTimes.push(
      ...(await sampleLatencies(ofRound(large), largeScenario.ours, options.probeSeconds, largeTimes.length)),
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
