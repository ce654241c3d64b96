/**
 * `npm run bench`: the query scenarios at S (1,000 models) and L (10,000 models), import, hashing and download throughput,
 * start-up, and library scans of 5,000 and 50,000 files, each against its baseline in the same run; writes
 * BENCHMARKS.md and bench-results.json.
 * `npm run bench -- --quick`: S only, short rounds, small import and hash file (a smoke run for CI, under two
 * minutes once the S catalog is cached); its results go to quick-results.json in the cache folder.
 * `--round-seconds N`: rounds, warm-ups and latency probes of N seconds (the test suite's smoke runs use 0.5).
 * `--processes N`: server processes per side in the query scenarios, taking the timed rounds in turn (default 2, 1
 * with --quick; the SQLite smoke run uses 2 so the turns are exercised).
 * `--s-models N`: the S catalog's models (the test suite's smoke runs use 400: generating 1,000 and copying them to
 * PostgreSQL took them a minute; every scenario still has the inputs it rotates through).
 * `--cache-dir DIR`: where catalogs and input files are cached between runs (default `.bench-cache/`); the test suite
 * passes a temp folder it removes, so `npm test` leaves nothing in the clone.
 * `--engine postgres [--postgres-url URL]`: the query scenarios on the same catalogs copied to PostgreSQL, against a
 * raw-`pg` baseline, plus one vs two API instances on one database; writes bench-results.postgres.json and
 * BENCHMARKS.md (both engines' latest runs).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureBuilt } from '../scripts/build.mjs';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { DEFAULT_CACHE_DIR, catalogSize, ensureCatalog, pruneCatalogCache, type BenchCatalog } from './catalog.ts';
import { runDownloadBench } from './download-bench.ts';
import { runHashingBench } from './hashing-bench.ts';
import { runImportBench } from './import-bench.ts';
import { runInstancesBench } from './instances-bench.ts';
import { DEFAULT_POSTGRES_ADMIN_URL, ensurePostgresCatalog } from './postgres-catalog.ts';
import { runQueryBench } from './query-bench.ts';
import { runRevalidationBench } from './revalidation-bench.ts';
import { runScanBench } from './scan-bench.ts';
import { runStartupBench } from './startup-bench.ts';
import {
  type BenchReport,
  checkPostgresTargets,
  checkRevalidationTargets,
  checkTargets,
  previousRatioCheck,
  machineInfo,
  markdown,
  type PostgresBenchReport,
  type SizeRun,
} from './report.ts';
import { measureSearchCost } from './search-cost.ts';
import { countStatements } from './statements.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'cache-dir': { type: 'string' },
    engine: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string', default: DEFAULT_POSTGRES_ADMIN_URL },
    'round-seconds': { type: 'string' },
    's-models': { type: 'string', default: '1000' },
    processes: { type: 'string' },
  },
});
const quick = values.quick ?? false;
if (values.engine !== 'sqlite' && values.engine !== 'postgres') {
  console.error(`--engine must be sqlite or postgres, not ${values.engine}`);
  process.exit(2);
}
const cacheDir = path.resolve(values['cache-dir'] ?? DEFAULT_CACHE_DIR);
const log = (line: string) => console.log(line);

const settings = quick
  ? {
      connections: 10,
      roundSeconds: 2,
      rounds: 1,
      processesPerSide: 1,
      warmupSeconds: 1,
      probeSeconds: 1,
      scalingRounds: 1,
      importModels: 100,
      importRounds: 1,
      hashMiB: 64,
      hashRounds: 2,
      downloadMiB: 64,
      downloadRounds: 2,
      startupRounds: 3,
      startupWithTsx: false,
      scanFiles: [500],
      scanRounds: 3,
    }
  : {
      connections: 10,
      roundSeconds: 4,
      rounds: 6,
      processesPerSide: 2,
      warmupSeconds: 5,
      probeSeconds: 3,
      scalingRounds: 3,
      importModels: 1000,
      importRounds: 5,
      hashMiB: 1024,
      hashRounds: 3,
      downloadMiB: 1024,
      downloadRounds: 3,
      startupRounds: 9,
      startupWithTsx: true,
      scanFiles: [5000, 50_000],
      scanRounds: 5,
    };
// Shorter rounds, warm-ups and probes than the mode's own (the test suite's smoke runs check that everything runs and
// agrees, not how fast): the figures of such a run say little, and the report states the lengths used.
const roundSeconds = values['round-seconds'] === undefined ? undefined : Number(values['round-seconds']);
if (roundSeconds !== undefined) {
  if (!(roundSeconds > 0 && roundSeconds <= 60)) {
    console.error(`--round-seconds must be a number of seconds in (0, 60], not ${values['round-seconds']}`);
    process.exit(2);
  }
  Object.assign(settings, { roundSeconds, warmupSeconds: roundSeconds, probeSeconds: roundSeconds });
}
if (values.processes !== undefined) {
  const processes = Number(values.processes);
  if (!(Number.isInteger(processes) && processes >= 1 && processes <= 4)) {
    console.error(`--processes must be a whole number from 1 to 4, not ${values.processes}`);
    process.exit(2);
  }
  // Every process gets as many timed rounds as the others.
  Object.assign(settings, { processesPerSide: processes, rounds: Math.ceil(settings.rounds / processes) * processes });
}
const smallModels = Number(values['s-models']);
if (!(Number.isInteger(smallModels) && smallModels >= 400 && smallModels <= 10_000)) {
  console.error(`--s-models must be a whole number from 400 to 10000, not ${values['s-models']}`);
  process.exit(2);
}
const sizes: [string, number][] = quick
  ? [['S', smallModels]]
  : [
      ['S', smallModels],
      ['L', 10_000],
    ];

const started = performance.now();
// dist/ brought up to date once, before servers start: each of them (ours run through the bin, the bench's own
// servers importing dist/) would otherwise rebuild a stale dist/ at the same time as the others.
await ensureBuilt();
/** Read before anything runs: the commit measured is the one the servers start from. */
const machine = machineInfo();
const catalogs: BenchCatalog[] = [];
for (const [label, models] of sizes) catalogs.push(await ensureCatalog(cacheDir, label, catalogSize(models), log));
if (!quick) pruneCatalogCache(cacheDir, catalogs);

for (const catalog of catalogs)
  log(
    `${catalog.label}: ${catalog.summary.models} models, database ${(catalog.databaseBytes / 2 ** 20).toFixed(0)} MiB`,
  );
/** The load settings the reports state. */
const reportedSettings = {
  connections: settings.connections,
  roundSeconds: settings.roundSeconds,
  rounds: settings.rounds,
  processesPerSide: settings.processesPerSide,
  // The baselines and bare yoga run compiled, with our node flags and (SQLite) our page cache: compiled-servers.ts.
  compiledServers: 1,
  // Every other round takes the sides in reverse order (query-bench.ts).
  reversedRounds: 1,
  warmupSeconds: settings.warmupSeconds,
  probeSeconds: settings.probeSeconds,
  scalingRounds: settings.scalingRounds,
};
/**
 * Where this run writes its results, and so where the previous run of its kind left them: a quick run's go to the
 * cache folder (the clone keeps the last full run's).
 */
const resultsPath = quick ? path.join(cacheDir, 'quick-results.json') : path.join(PROJECT_ROOT, 'bench-results.json');
const postgresResultsPath = quick
  ? path.join(cacheDir, 'quick-results.postgres.json')
  : path.join(PROJECT_ROOT, 'bench-results.postgres.json');
const readReport = <T>(file: string): T | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;

if (values.engine === 'postgres') {
  await runOnPostgres();
  process.exit(0);
}

async function runOnPostgres(): Promise<void> {
  const adminUrl = values['postgres-url']!;
  for (const catalog of catalogs) catalog.databaseUrl = await ensurePostgresCatalog(catalog, adminUrl, cacheDir, log);
  const { runs, scaling } = await runQueries();
  const revalidation = await runRevalidations();
  log('one vs two instances on one database');
  const instances = await runInstancesBench(catalogs[0]!, { ...settings, log, only: ['list', 'detail'] });
  const report: PostgresBenchReport = {
    date: new Date().toISOString(),
    quick,
    machine: { ...machine, postgres: await postgresVersion(adminUrl) },
    settings: reportedSettings,
    sizes: runs,
    scaling,
    revalidation,
    instances,
    targets: [
      ...checkPostgresTargets(runs, scaling),
      ...checkRevalidationTargets(revalidation, 'PostgreSQL '),
      previousRatioCheck(runs, readReport<PostgresBenchReport>(postgresResultsPath), 'PostgreSQL '),
    ],
  };
  log('');
  for (const check of report.targets) log(`${check.met ? 'met ' : 'MISS'}  ${check.target}: ${check.measured}`);
  writeFileSync(postgresResultsPath, `${JSON.stringify(report, null, 2)}\n`);
  if (!quick) {
    const sqlite = readReport<BenchReport>(resultsPath);
    if (sqlite) writeFileSync(path.join(PROJECT_ROOT, 'BENCHMARKS.md'), markdown(sqlite, report));
    log(`wrote bench-results.postgres.json${sqlite ? ' and BENCHMARKS.md' : ''}`);
  }
  log(`benchmark finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** The query scenarios on every catalog (on its engine), with each size's statements per request. */
async function runQueries() {
  const { sizes: measured, scaling } = await runQueryBench(catalogs, { ...settings, log });
  const runs: SizeRun[] = [];
  for (const size of measured)
    runs.push({
      catalog: size.catalog,
      scenarios: size.results,
      statements: await countStatements(size.catalog, size.inputs),
    });
  return { measured, runs, scaling };
}

/** The persisted list page executed, revalidated (304) and served from the response cache, per catalog. */
async function runRevalidations() {
  log('cacheable reads: the persisted list page executed, revalidated and cached');
  const results = [];
  for (const catalog of catalogs) results.push(await runRevalidationBench(catalog, { ...settings, cacheDir, log }));
  return results;
}

/** The server's version (the report names it). */
async function postgresVersion(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

const { measured, runs, scaling } = await runQueries();
const revalidation = await runRevalidations();
const searchCost = measured.flatMap((size) => measureSearchCost(size.catalog, size.inputs, quick ? 3 : 20));
const importResult = await runImportBench(cacheDir, settings.importModels, settings.importRounds, log);
const hashing = await runHashingBench(cacheDir, settings.hashMiB, settings.hashRounds, log);
const download = await runDownloadBench(cacheDir, settings.downloadMiB, settings.downloadRounds, log);
const startup = await runStartupBench(cacheDir, settings.startupRounds, settings.startupWithTsx, log);
const scan = await runScanBench(cacheDir, settings.scanFiles, settings.scanRounds, log);

const report: BenchReport = {
  date: new Date().toISOString(),
  quick,
  machine,
  settings: reportedSettings,
  sizes: runs,
  scaling,
  revalidation,
  searchCost,
  import: importResult,
  hashing,
  download,
  startup,
  scan,
  targets: [
    ...checkTargets(runs, scaling, startup, scan),
    ...checkRevalidationTargets(revalidation),
    previousRatioCheck(runs, readReport<BenchReport>(resultsPath)),
  ],
};

log('');
for (const check of report.targets) log(`${check.met ? 'met ' : 'MISS'}  ${check.target}: ${check.measured}`);
writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
if (!quick) {
  writeFileSync(
    path.join(PROJECT_ROOT, 'BENCHMARKS.md'),
    markdown(report, readReport<PostgresBenchReport>(postgresResultsPath)),
  );
  log('wrote BENCHMARKS.md and bench-results.json');
}
log(`benchmark finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
