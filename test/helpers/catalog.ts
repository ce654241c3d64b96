/**
 * A migrated, seeded catalog file in a temp data directory, plus a direct read-only SQL connection to check API
 * answers against what the database says.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { atFileEnd } from './file-end.ts';
import type { DatabaseTarget } from '../../src/config.ts';
import type { CatalogDatabase, OpenCatalogOptions } from '../../src/db/catalog-database.ts';
import { databasePathIn } from '../../src/db/data-dir.ts';
import { migrateDatabase } from '../../src/db/migrations.ts';
import { openCatalog } from '../../src/db/open-catalog.ts';
import { migratePostgres } from '../../src/db/postgres/migrations.ts';
import { seedCatalog, TEST_CATALOG, type CatalogSize, type SeedSummary } from '../../src/seed/catalog-generator.ts';
import { tempDir } from './temp.ts';
import { SEED_CACHE_ENV } from '../global-setup.ts';
import { CATALOG_TABLES, type CatalogHandle, catalogHandle } from './catalog-handle.ts';
import { freshPostgresDatabase, TEST_ENGINE } from './postgres.ts';

/** The table of each Prisma model: the physical names of the DiffusionNexus Core Database, as the desktop app made them. */
/** The metadata history's tables (change sets and changes, the payload archive). */
export const HISTORY_TABLES = ['ModelPayloads', 'MetadataChangeSets', 'MetadataChanges'];

export const TABLE_NAMES = {
  Creator: 'Creators',
  Model: 'Models',
  ModelVersion: 'ModelVersions',
  ModelFile: 'ModelFiles',
  ModelImage: 'ModelImages',
  Tag: 'Tags',
  ModelTag: 'ModelTags',
  TriggerWord: 'TriggerWords',
} as const;

export interface SeededCatalog {
  dataDir: string;
  databasePath: string;
  summary: SeedSummary;
  /** Direct SQL, read-only, integers as bigint where asked. */
  sql: Database.Database;
}

/**
 * A migrated catalog seeded with `size` and `seed` at `databasePath`. Seeding is deterministic, and the suite seeds
 * the same few sizes dozens of times (3,000 models take 7 s): the first seeding of each is kept for the run and
 * later ones copy its file, checkpointed, byte for byte. Each copy gets an epoch of its own, as every new database
 * does (`CatalogRevision`, see `src/db/revision.ts`), so two copies never share a line of revisions.
 */
async function seedInto(databasePath: string, size: CatalogSize, seed: number): Promise<SeedSummary> {
  const folder = process.env[SEED_CACHE_ENV];
  if (!folder) {
    await migrateDatabase(databasePath);
    return seedCatalog(databasePath, size, seed);
  }
  const key = createHash('sha256')
    .update(JSON.stringify([size, seed]))
    .digest('hex')
    .slice(0, 16);
  const kept = path.join(folder, `${key}.db`);
  const summaryFile = path.join(folder, `${key}.json`);
  if (!existsSync(summaryFile)) {
    // Two test files may seed the same size at once: each builds its own and renames it into place.
    const building = path.join(folder, `${key}-${process.pid}-${Date.now()}.db`);
    await migrateDatabase(building);
    const summary = await seedCatalog(building, size, seed);
    const direct = new Database(building);
    direct.pragma('wal_checkpoint(TRUNCATE)');
    direct.close();
    renameSync(building, kept);
    writeFileSync(`${summaryFile}.${process.pid}`, JSON.stringify(summary));
    renameSync(`${summaryFile}.${process.pid}`, summaryFile);
  }
  copyFileSync(kept, databasePath);
  const copy = new Database(databasePath);
  copy.prepare(`UPDATE "CatalogRevision" SET "Epoch" = lower(hex(randomblob(16))) WHERE "Id" = 1`).run();
  copy.close();
  return JSON.parse(readFileSync(summaryFile, 'utf8')) as SeedSummary;
}

export async function seededCatalog(size: Partial<CatalogSize> = {}, seed = 1): Promise<SeededCatalog> {
  const dataDir = path.join(tempDir('dn-catalog-'), 'data');
  mkdirSync(dataDir, { recursive: true });
  const databasePath = databasePathIn(dataDir);
  const summary = await seedInto(databasePath, { ...TEST_CATALOG, ...size }, seed);
  const sql = new Database(databasePath, { readonly: true });
  atFileEnd(() => sql.close());
  return { dataDir, databasePath, summary, sql };
}

/** Throws with the GraphQL errors when a response has any; returns its data. */
export function dataOf<T>(response: { data?: T | null; errors?: { message: string }[] }): T {
  if (response.errors?.length) throw new Error(`GraphQL errors: ${response.errors.map((e) => e.message).join('; ')}`);
  return response.data as T;
}

export function firstErrorCode(response: { errors?: { extensions?: Record<string, unknown> }[] }): unknown {
  return response.errors?.[0]?.extensions?.code;
}

/** An empty migrated catalog, opened; `database` and `handle` say where it is and read it directly. */
export interface EmptyCatalog {
  dataDir: string;
  /** The SQLite file (on PostgreSQL: where it would be; nothing is there). */
  databasePath: string;
  database: DatabaseTarget;
  db: CatalogDatabase;
  handle: CatalogHandle;
  /** The flags that point a CLI command at it (see `cliArgsFor`). */
  args: string[];
}

/**
 * An empty migrated catalog on the suite's engine (a SQLite file in a temp data directory, or in the `postgres`
 * project a fresh PostgreSQL database), opened, closed after the file's tests. `engine: 'sqlite'` for tests about
 * the SQLite file itself; `open` as for `openCatalog` (e.g. `onStatement`).
 */
export async function emptyCatalog(
  options: { engine?: 'sqlite' | 'postgres'; open?: OpenCatalogOptions } = {},
): Promise<EmptyCatalog> {
  const engine = options.engine ?? TEST_ENGINE;
  const dataDir = path.join(tempDir('dn-empty-'), 'data');
  mkdirSync(dataDir, { recursive: true });
  const databasePath = databasePathIn(dataDir);
  let database: DatabaseTarget;
  if (engine === 'postgres') {
    const target = await freshPostgresDatabase();
    await migratePostgres(target);
    database = target;
  } else {
    await migrateDatabase(databasePath);
    database = { engine: 'sqlite', path: databasePath, dataDir };
  }
  const db = await openCatalog(database, options.open);
  const handle = catalogHandle({ databasePath, database });
  atFileEnd(() => db.close());
  return { dataDir, databasePath, database, db, handle, args: cliArgsFor(dataDir, database) };
}

/**
 * Every row of every catalog table, for before/after comparisons — and `sqlite_sequence`, where an AUTOINCREMENT
 * id spent by an insert that wrote no row (INSERT … ON CONFLICT DO NOTHING) still shows.
 */
export function dumpCatalog(sql: Database.Database): Record<string, unknown[]> {
  const tables = [...CATALOG_TABLES, 'sqlite_sequence'];
  return Object.fromEntries(
    tables.map((table) => [table, sql.prepare(`SELECT * FROM "${table}" ORDER BY 1, 2`).safeIntegers(true).all()]),
  );
}

/** A catalog for CLI commands (real processes) on the suite's engine, with the flags that point them at it. */
export interface CliCatalog {
  dataDir: string;
  /** `--data-dir DIR`, and on PostgreSQL `--database-url URL` (which wins over the data directory's file). */
  args: string[];
  /** The SQLite file or the PostgreSQL database, for `catalogHandle`. */
  location: { databasePath: string; database: DatabaseTarget };
}

/** `--data-dir DIR`, and for a PostgreSQL catalog `--database-url URL` (which wins over the data directory's file). */
export function cliArgsFor(dataDir: string, database: DatabaseTarget | undefined): string[] {
  return database?.engine === 'postgres'
    ? ['--data-dir', dataDir, '--database-url', database.url]
    : ['--data-dir', dataDir];
}

/**
 * A data directory in a fresh temp folder and, in the `postgres` project, a fresh empty PostgreSQL database: nothing
 * is created or migrated, as for a user's first command.
 */
export async function cliCatalog(): Promise<CliCatalog> {
  const dataDir = path.join(tempDir('dn-cli-'), 'data');
  const databasePath = databasePathIn(dataDir);
  if (TEST_ENGINE === 'postgres') {
    const database = await freshPostgresDatabase();
    return {
      dataDir,
      args: ['--data-dir', dataDir, '--database-url', database.url],
      location: { databasePath, database },
    };
  }
  return {
    dataDir,
    args: ['--data-dir', dataDir],
    location: { databasePath, database: { engine: 'sqlite', path: databasePath, dataDir } },
  };
}
