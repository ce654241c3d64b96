/**
 * Benchmark catalogs: the tests' deterministic generator at the issue's sizes, migrated and search-indexed, cached
 * in a cache folder (`.bench-cache/` unless `--cache-dir` names another) and reused while the generator, the
 * migrations and the size are unchanged.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { refreshSearchIndex } from '../src/search/search-index.ts';
import { seedCatalog, type CatalogSize, type SeedSummary } from '../src/seed/catalog-generator.ts';

/** Where `npm run bench` keeps its catalogs and input files between runs (the test suite passes a temp folder). */
export const DEFAULT_CACHE_DIR = path.join(PROJECT_ROOT, '.bench-cache');

const SHAPE = { versionsPerModel: 5, filesPerVersion: 2, imagesPerVersion: 5, thumbnails: 'realistic' } as const;

/** The storage-table sizes: S and L differ only in how many models (and so creators and tags) there are. */
export function catalogSize(models: number): CatalogSize {
  return {
    models,
    ...SHAPE,
    creators: Math.max(10, Math.round(models / 10)),
    tags: Math.max(30, Math.round(models / 50)),
  };
}

export interface BenchCatalog {
  label: string;
  size: CatalogSize;
  dataDir: string;
  databasePath: string;
  summary: SeedSummary;
  /** Database file size in bytes (after a checkpoint). */
  databaseBytes: number;
  /** Seconds the generator took, or null when the cached file was reused. */
  seedSeconds: number | null;
  /** `--engine postgres`: the PostgreSQL database holding the same rows, which our server and the baseline read. */
  databaseUrl?: string;
}

/** The generator's sources: the catalog's bytes depend on them (and on the migrations and the size). */
const GENERATOR_FILES = [
  'src/seed/catalog-generator.ts',
  'src/seed/random.ts',
  'src/seed/thumbnail-pool.ts',
  'src/db/seed-writer.ts',
];

function cacheKey(size: CatalogSize): string {
  const hash = createHash('sha256').update(JSON.stringify(size));
  for (const file of GENERATOR_FILES) hash.update(file).update(readFileSync(path.join(PROJECT_ROOT, file)));
  const migrations = path.join(PROJECT_ROOT, 'prisma', 'migrations');
  for (const entry of readdirSync(migrations, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort()) {
    hash.update(path.relative(migrations, entry)).update(readFileSync(entry));
  }
  return hash.digest('hex').slice(0, 16);
}

export async function ensureCatalog(
  cacheDir: string,
  label: string,
  size: CatalogSize,
  log: (line: string) => void,
): Promise<BenchCatalog> {
  const dataDir = path.join(cacheDir, `${label}-${size.models}-${cacheKey(size)}`);
  const databasePath = databasePathIn(dataDir);
  const summaryPath = path.join(dataDir, 'seed-summary.json');
  let seedSeconds: number | null = null;
  if (!existsSync(summaryPath)) {
    // Built beside the final folder and renamed, so an interrupted run never leaves a half-seeded cache.
    const building = `${dataDir}.building`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const buildingDb = databasePathIn(building);
    log(`generating catalog ${label} (${size.models} models) …`);
    const started = performance.now();
    await migrateDatabase(buildingDb, { log: () => {} });
    const summary = await seedCatalog(buildingDb, size);
    const db = await openCatalogDatabase(buildingDb);
    await refreshSearchIndex(db);
    await db.close();
    const direct = new Database(buildingDb);
    direct.pragma('wal_checkpoint(TRUNCATE)');
    direct.close();
    seedSeconds = (performance.now() - started) / 1000;
    log(`  ${summary.models} models, ${summary.images} images in ${seedSeconds.toFixed(1)} s`);
    writeFileSync(path.join(building, 'seed-summary.json'), JSON.stringify(summary));
    rmSync(dataDir, { recursive: true, force: true });
    renameSync(building, dataDir);
  }
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as SeedSummary;
  return { label, size, dataDir, databasePath, summary, databaseBytes: statSync(databasePath).size, seedSeconds };
}

/** Removes cached catalogs other than the ones in use (old generator or migration versions). */
export function pruneCatalogCache(cacheDir: string, keep: readonly BenchCatalog[]): void {
  if (!existsSync(cacheDir)) return;
  const kept = new Set(keep.map((c) => path.basename(c.dataDir)));
  for (const entry of readdirSync(cacheDir)) {
    if (/^[A-Z]+-\d+-[0-9a-f]{16}(\.building)?$/.test(entry) && !kept.has(entry))
      rmSync(path.join(cacheDir, entry), { recursive: true, force: true });
  }
}
