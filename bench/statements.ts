/**
 * SQL statements per request, counted in-process on both sides for the same HTTP request at two sizes (list page
 * 10 vs 20 models, hash batch 100 vs 1,000): the count must not grow with the page.
 */
import { resolveServerConfig } from '../src/config.ts';
import { startServer } from '../src/server/start.ts';
import { startBaselineHttp } from './baseline-server.ts';
import type { BenchCatalog } from './catalog.ts';
import { fetchOnce } from './load.ts';
import { scenarios, type ScenarioInputs } from './scenarios.ts';

export interface StatementCounts {
  /** Per scenario: statements at the small and the large size, ours and baseline. */
  [scenario: string]: { ours: [number, number]; baseline: [number, number] };
}

export async function countStatements(catalog: BenchCatalog, inputs: ScenarioInputs): Promise<StatementCounts> {
  let ours = 0;
  const server = await startServer(
    resolveServerConfig(
      { port: '0', dataDir: catalog.dataDir, databaseUrl: catalog.databaseUrl },
      { NODE_ENV: 'production' },
    ),
    {
      onStatement: () => {
        ours++;
      },
    },
  );
  const origin = new URL(server.url).origin;
  const baseline = catalog.databaseUrl
    ? await startBaselineHttp(catalog.databaseUrl, 'postgres')
    : await startBaselineHttp(catalog.databasePath);
  try {
    await server.searchIndexReady;
    const sizes = [
      scenarios(inputs, { listPageSize: 10, hashBatch: 100 }),
      scenarios(inputs, { listPageSize: 20, hashBatch: 1000 }),
    ];
    const counts: StatementCounts = {};
    for (let s = 0; s < sizes[0]!.length; s++) {
      const entry = { ours: [0, 0] as [number, number], baseline: [0, 0] as [number, number] };
      // Once first, the same request: a connection's one-time setup (prepared statements) and what is kept
      // per catalog revision (a search word's estimate: `src/search/cost.ts`) are not per-request costs.
      await fetchOnce(origin, sizes[0]![s]!.ours(1));
      for (let size = 0; size < 2; size++) {
        const scenario = sizes[size]![s]!;
        const before = ours;
        await fetchOnce(origin, scenario.ours(1));
        entry.ours[size] = ours - before;
        const baselineBefore = baseline.baseline.statements();
        await fetchOnce(baseline.url, scenario.baseline(1));
        entry.baseline[size] = baseline.baseline.statements() - baselineBefore;
      }
      counts[sizes[0]![s]!.name] = entry;
    }
    return counts;
  } finally {
    await Promise.all([server.stop(), baseline.close()]);
  }
}
