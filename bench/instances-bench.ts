/**
 * Several API instances on one PostgreSQL database (`--engine postgres`): the same load (connections and rounds as
 * the query scenarios) on one server, then split evenly over two servers of the same database, rounds alternating.
 * The two servers share the machine's cores with PostgreSQL and the load generator, so this measures what a second
 * process adds here, not what a second machine would.
 */
import type { BenchCatalog } from './catalog.ts';
import { median, runLoad, type ServerProcess } from './load.ts';
import { startOurServer, verifySameAnswers } from './query-bench.ts';
import { readScenarioInputs, scenarios } from './scenarios.ts';

export interface InstancesResult {
  name: string;
  title: string;
  /** Median req/s of the rounds: all connections on one server, and split over two. */
  oneInstance: number;
  twoInstances: number;
  /** two / one, the median of adjacent rounds' ratios. */
  ratio: number;
  errors: number;
}

export interface InstancesOptions {
  connections: number;
  roundSeconds: number;
  rounds: number;
  warmupSeconds: number;
  /** The scenarios to run (by name). */
  only: readonly string[];
  log: (line: string) => void;
}

export async function runInstancesBench(catalog: BenchCatalog, options: InstancesOptions): Promise<InstancesResult[]> {
  if (!catalog.databaseUrl) throw new Error('the instances benchmark needs a PostgreSQL catalog');
  const started = await Promise.allSettled([startOurServer(catalog), startOurServer(catalog)]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const inputs = readScenarioInputs(catalog.databasePath, [null]);
    const results: InstancesResult[] = [];
    for (const scenario of scenarios(inputs).filter((s) => options.only.includes(s.name))) {
      // Both instances answer alike (the same rows through the same code), checked as every comparison is.
      await verifySameAnswers({ ...scenario, baseline: scenario.ours }, a, b);
      const half = Math.max(1, Math.floor(options.connections / 2));
      const load = (server: ServerProcess, connections: number, seconds: number) =>
        runLoad(server.url, scenario.ours, { connections, durationSeconds: seconds });
      await Promise.all([load(a, half, options.warmupSeconds), load(b, half, options.warmupSeconds)]);
      const one: number[] = [];
      const two: number[] = [];
      let errors = 0;
      for (let round = 0; round < options.rounds; round++) {
        const single = await load(a, options.connections, options.roundSeconds);
        const split = await Promise.all([load(a, half, options.roundSeconds), load(b, half, options.roundSeconds)]);
        one.push(single.requestsPerSecond);
        two.push(split[0].requestsPerSecond + split[1].requestsPerSecond);
        errors += single.errors + split[0].errors + split[1].errors;
      }
      const result: InstancesResult = {
        name: scenario.name,
        title: scenario.title,
        oneInstance: median(one),
        twoInstances: median(two),
        ratio: median(one.map((value, round) => two[round]! / value)),
        errors,
      };
      options.log(
        `  instances ${scenario.name.padEnd(10)} one ${result.oneInstance.toFixed(0)} req/s | two ${result.twoInstances.toFixed(0)} req/s | ratio ${result.ratio.toFixed(2)}`,
      );
      if (errors > 0) throw new Error(`instances ${scenario.name}: ${errors} errors`);
      results.push(result);
    }
    return results;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
