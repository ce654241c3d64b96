/**
 * Applies `prisma/migrations` to a SQLite file the way `prisma migrate deploy` does (same `_prisma_migrations`
 * rows and checksums), and adopts databases created by the desktop app: those already hold the InitialCreate
 * schema under EF Core's own DDL, so InitialCreate is recorded as applied without running it and only the later,
 * additive migrations run. Nothing here drops or rewrites tables or columns it does not own.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../errors.ts';
import { classifySqliteError, databaseError } from './database-errors.ts';
import { MIGRATIONS_DIR, PRISMA_SCHEMA_PATH } from './project-paths.ts';
import { missingOwnedObjects, type OwnedObject, ownedObjects, repairMissingObjects } from './schema-repair.ts';
import {
  engineMessage,
  SCHEMA_FILTERS,
  openSchemaEngine,
  type MigrationList,
  type SchemaEngine,
  type SchemaFiles,
} from './schema-engine.ts';

export const INITIAL_MIGRATION_SUFFIX = '_InitialCreate';
export const MIGRATION_LOCK_FILE = 'migration_lock.toml';
const PRISMA_HISTORY_TABLE = '_prisma_migrations';
const EF_HISTORY_TABLE = '__EFMigrationsHistory';

export interface MigrationFileInfo {
  /** Directory name, e.g. `20260101000000_InitialCreate`. */
  name: string;
  sql: string;
  /** sha256 hex of the file, as Prisma records it. */
  checksum: string;
}

export interface MigrationsSource {
  dir: string;
  schema: SchemaFiles;
}

export function defaultMigrationsSource(): MigrationsSource {
  return {
    dir: MIGRATIONS_DIR,
    schema: { schemaPath: PRISMA_SCHEMA_PATH, schemaText: readFileSync(PRISMA_SCHEMA_PATH, 'utf8') },
  };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The migration directories in apply order (names start with a sortable timestamp). */
export function listMigrations(dir: string): MigrationFileInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isDirectory() && existsSync(path.join(dir, name, 'migration.sql')))
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: sha256Hex(sql) };
    });
}

export function toEngineMigrationList(dir: string, migrations: readonly MigrationFileInfo[]): MigrationList {
  const lockPath = path.join(dir, MIGRATION_LOCK_FILE);
  return {
    baseDir: dir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
    })),
  };
}

export interface AppliedMigrationRow {
  name: string;
  checksum: string;
  finishedAt: string | null;
  rolledBackAt: string | null;
  logs: string | null;
}

export type DatabaseKind =
  /** No tables at all: InitialCreate creates everything. */
  | 'empty'
  /** Has `_prisma_migrations`: ours (or adopted before). */
  | 'managed'
  /** Has the catalog tables but no Prisma history: written by the desktop app (EF Core) or another tool. */
  | 'adoptable'
  /** Has tables, but not all the catalog's: refuse rather than guess. */
  | 'foreign';

export interface DatabaseInspection {
  kind: DatabaseKind;
  tables: string[];
  hasEfHistory: boolean;
  applied: AppliedMigrationRow[];
  /** Objects of applied migrations the database lacks (managed databases only). */
  missing?: OwnedObject[];
}

export interface MigrationStatus {
  databasePath: string;
  kind: DatabaseKind;
  applied: string[];
  pending: string[];
  /** Applied, but the file's checksum no longer matches what was recorded. */
  edited: string[];
  /** Started and never finished nor rolled back: must be resolved by hand. */
  failed: string[];
  /** Recorded in the database but absent from `prisma/migrations` (a newer version wrote this file). */
  unknown: string[];
  /**
   * What applied migrations added that the database no longer has (e.g. `column ModelFiles.HashAutoV3`): removed by
   * another program, re-created by the next `migrate` or start (see `schema-repair.ts`).
   */
  missing: string[];
}

export interface MigrateResult extends MigrationStatus {
  /** Migrations applied by this call. */
  appliedNow: string[];
  /** Objects of applied migrations this call re-created (see `missing`). */
  repaired: string[];
  /** Set when InitialCreate was recorded as applied without running (adopted desktop database). */
  baselined: string | null;
}

/** Table → columns required by our InitialCreate, derived by running it on a scratch in-memory database. */
export function requiredColumns(initialSql: string): Map<string, string[]> {
  const scratch = new Database(':memory:');
  try {
    scratch.exec(initialSql);
    return new Map(userTables(scratch).map((table) => [table, columnNames(scratch, table)]));
  } finally {
    scratch.close();
  }
}

function userTables(db: Database.Database): string[] {
  const rows = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}

function columnNames(db: Database.Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name);
}

function readAppliedRows(db: Database.Database): AppliedMigrationRow[] {
  return db
    .prepare(
      `SELECT migration_name AS name, checksum, finished_at AS finishedAt, rolled_back_at AS rolledBackAt, logs
       FROM ${PRISMA_HISTORY_TABLE} ORDER BY started_at, migration_name`,
    )
    .all() as AppliedMigrationRow[];
}

export function inspectDatabase(db: Database.Database, catalogTables: readonly string[]): DatabaseInspection {
  const tables = userTables(db);
  const hasEfHistory = tables.includes(EF_HISTORY_TABLE);
  if (tables.includes(PRISMA_HISTORY_TABLE))
    return { kind: 'managed', tables, hasEfHistory, applied: readAppliedRows(db) };
  if (tables.length === 0) return { kind: 'empty', tables, hasEfHistory, applied: [] };
  const kind = catalogTables.every((t) => tables.includes(t)) ? 'adoptable' : 'foreign';
  return { kind, tables, hasEfHistory, applied: [] };
}

export function statusFrom(
  databasePath: string,
  inspection: DatabaseInspection,
  migrations: readonly MigrationFileInfo[],
): MigrationStatus {
  const live = inspection.applied.filter((row) => row.rolledBackAt === null);
  const finished = new Map(live.filter((row) => row.finishedAt !== null).map((row) => [row.name, row]));
  const known = new Set(migrations.map((m) => m.name));
  return {
    databasePath,
    kind: inspection.kind,
    applied: migrations.filter((m) => finished.has(m.name)).map((m) => m.name),
    pending: migrations.filter((m) => !finished.has(m.name)).map((m) => m.name),
    edited: migrations
      .filter((m) => finished.has(m.name) && finished.get(m.name)!.checksum !== m.checksum)
      .map((m) => m.name),
    failed: live.filter((row) => row.finishedAt === null).map((row) => row.name),
    unknown: [...finished.keys()].filter((name) => !known.has(name)),
    missing: (inspection.missing ?? []).map(describeOwned),
  };
}

const describeOwned = (object: OwnedObject) => `${object.kind} ${object.name} (${object.migration})`;

function finishedMigrations(applied: readonly AppliedMigrationRow[]): Set<string> {
  return new Set(applied.filter((row) => row.rolledBackAt === null && row.finishedAt !== null).map((row) => row.name));
}

function initialMigration(migrations: readonly MigrationFileInfo[]): MigrationFileInfo {
  const initial = migrations[0];
  if (!initial?.name.endsWith(INITIAL_MIGRATION_SUFFIX)) {
    throw new AppError(
      'MIGRATION_FAILED',
      `The first migration must be *${INITIAL_MIGRATION_SUFFIX}; found ${initial?.name ?? 'none'}.`,
    );
  }
  return initial;
}

function openReadOnly(databasePath: string): Database.Database {
  try {
    return new Database(databasePath, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (error) {
    throw databaseError(error, databasePath, 'Opening');
  }
}

function inspectFile(databasePath: string, migrations: readonly MigrationFileInfo[]): DatabaseInspection {
  if (!existsSync(databasePath)) return { kind: 'empty', tables: [], hasEfHistory: false, applied: [] };
  const db = openReadOnly(databasePath);
  try {
    const catalogTables = [...requiredColumns(initialMigration(migrations).sql).keys()];
    const inspection = inspectDatabase(db, catalogTables);
    if (inspection.kind !== 'managed') return inspection;
    const missing = missingOwnedObjects(db, ownedObjects(migrations), finishedMigrations(inspection.applied));
    return { ...inspection, missing };
  } catch (error) {
    throw databaseError(error, databasePath, 'Reading');
  } finally {
    db.close();
  }
}

export function migrationStatus(
  databasePath: string,
  source: MigrationsSource = defaultMigrationsSource(),
): MigrationStatus {
  const migrations = listMigrations(source.dir);
  return statusFrom(databasePath, inspectFile(databasePath, migrations), migrations);
}

/** Lists every required table/column the file lacks, e.g. `ModelFiles.HashBLAKE3`. */
export function missingCatalogColumns(databasePath: string, initialSql: string): string[] {
  const db = openReadOnly(databasePath);
  try {
    const missing: string[] = [];
    for (const [table, columns] of requiredColumns(initialSql)) {
      const present = new Set(columnNames(db, table));
      if (present.size === 0) missing.push(table);
      else missing.push(...columns.filter((c) => !present.has(c)).map((c) => `${table}.${c}`));
    }
    return missing;
  } finally {
    db.close();
  }
}

function assertMigratable(status: MigrationStatus, inspection: DatabaseInspection, databasePath: string): void {
  if (inspection.kind === 'foreign') {
    throw new AppError(
      'DATABASE_INCOMPATIBLE',
      `${databasePath} is a SQLite database, but not a DiffusionNexus catalog: it has ` +
        `tables (${inspection.tables.slice(0, 8).join(', ')}${inspection.tables.length > 8 ? ', …' : ''}) and lacks the catalog's. ` +
        'Refusing to add tables to it; choose another --data-dir.',
    );
  }
  if (status.failed.length > 0) {
    throw new AppError(
      'MIGRATION_FAILED',
      `Migration ${status.failed.join(', ')} started earlier and did not finish in ${databasePath}. ` +
        'Restore a backup, or fix the database by hand and mark it rolled back in _prisma_migrations.',
    );
  }
}

export interface MigrateOptions {
  source?: MigrationsSource;
  log?: (line: string) => void;
}

/** Brings the file up to date; creates it when missing. Safe to call at every start (a no-op when current). */
export async function migrateDatabase(databasePath: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const source = options.source ?? defaultMigrationsSource();
  const log = options.log ?? (() => {});
  const migrations = listMigrations(source.dir);
  const initial = initialMigration(migrations);
  const inspection = inspectFile(databasePath, migrations);
  const before = statusFrom(databasePath, inspection, migrations);
  assertMigratable(before, inspection, databasePath);
  for (const name of before.edited)
    log(`warning: migration ${name} was edited after it was applied (checksum differs)`);
  for (const name of before.unknown)
    log(
      `warning: the database records migration ${name}, which this version does not have (written by a newer version?)`,
    );
  if (before.pending.length === 0) {
    const repaired = repairSchema(databasePath, migrations, log, inspection.missing);
    return {
      ...(repaired.length > 0 ? migrationStatus(databasePath, source) : before),
      appliedNow: [],
      baselined: null,
      repaired,
    };
  }

  let baselined: string | null = null;
  if (inspection.kind === 'adoptable') {
    const missing = missingCatalogColumns(databasePath, initial.sql);
    if (missing.length > 0) {
      throw new AppError(
        'DATABASE_INCOMPATIBLE',
        `${databasePath} looks like a DiffusionNexus database but lacks ${missing.join(', ')}. ` +
          'Open it once with the current desktop app to upgrade it, or restore a newer backup.',
        { missing },
      );
    }
    baselined = initial.name;
  }

  if (baselined) createHistoryTable(databasePath, await engineHistoryTableDdl(source.schema));
  const appliedNow = await withSchemaEngine(databasePath, source.schema, async (engine) => {
    const migrationsList = toEngineMigrationList(source.dir, migrations);
    if (baselined) {
      log(`adopting existing database: recording ${baselined} as applied without running it`);
      await engine.markMigrationApplied({ migrationName: baselined, migrationsList });
    }
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: SCHEMA_FILTERS });
    return appliedMigrationNames;
  });
  for (const name of appliedNow) log(`applied migration ${name}`);
  const repaired = repairSchema(databasePath, migrations, log);
  return { ...migrationStatus(databasePath, source), appliedNow, baselined, repaired };
}

/**
 * Re-creates what applied migrations added and the file lacks (see `schema-repair.ts`); returns what it re-created.
 * `known`: what an inspection of the file just found missing — when nothing, the file is not opened again.
 */
function repairSchema(
  databasePath: string,
  migrations: readonly MigrationFileInfo[],
  log: (line: string) => void,
  known?: readonly OwnedObject[],
): string[] {
  if (known?.length === 0) return [];
  let db: Database.Database;
  try {
    db = new Database(databasePath, { fileMustExist: true, timeout: 5000 });
  } catch (error) {
    throw databaseError(error, databasePath, 'Opening');
  }
  try {
    const applied = finishedMigrations(readAppliedRows(db));
    const repaired = repairMissingObjects(db, ownedObjects(migrations), applied).map(describeOwned);
    if (repaired.length > 0)
      log(
        `repaired the schema: re-created ${repaired.join(', ')} — removed by another program (a desktop-app ` +
          'migration that rebuilt a table?); re-created columns start empty',
      );
    return repaired;
  } catch (error) {
    throw databaseError(error, databasePath, 'Repairing');
  } finally {
    db.close();
  }
}

/**
 * The engine refuses to apply migrations to a non-empty database without history (Prisma's P3005) and its
 * markMigrationApplied does not create the history table. So the table is created first, with the DDL the engine
 * itself writes: taken from a scratch database the engine initialised, never typed here.
 */
export async function engineHistoryTableDdl(schema: SchemaFiles): Promise<string> {
  const scratchDir = mkdtempSync(path.join(tmpdir(), 'dn-history-'));
  const scratchDb = path.join(scratchDir, 'scratch.db');
  try {
    await withSchemaEngine(scratchDb, schema, (engine) =>
      engine.applyMigrations({
        migrationsList: toEngineMigrationList(scratchDir, []),
        filters: SCHEMA_FILTERS,
      }),
    );
    const db = new Database(scratchDb, { readonly: true });
    try {
      return (
        db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`).get(PRISMA_HISTORY_TABLE) as {
          sql: string;
        }
      ).sql;
    } finally {
      db.close();
    }
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

function createHistoryTable(databasePath: string, ddl: string): void {
  const db = new Database(databasePath, { fileMustExist: true, timeout: 5000 });
  try {
    db.exec(ddl);
  } finally {
    db.close();
  }
}

/** Runs `work` with an engine on the file and always frees it (the engine holds an exclusive lock while open). */
export async function withSchemaEngine<T>(
  databasePath: string,
  schema: SchemaFiles,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const opened = await openSchemaEngine(databasePath, schema);
  try {
    return await work(opened.engine);
  } catch (error) {
    if (error instanceof AppError) throw error;
    // A lock held by another program is not a failed migration: say so (nothing was applied).
    const classified = classifySqliteError(new Error(engineMessage(error)), databasePath);
    if (classified?.code === 'DATABASE_LOCKED') throw classified;
    throw new AppError('MIGRATION_FAILED', `Prisma's schema engine failed on ${databasePath}: ${engineMessage(error)}`);
  } finally {
    await opened.close();
  }
}
