/**
 * Migrations of a PostgreSQL catalog: `prisma/postgres/migrations` applied by Prisma's WASM schema engine through
 * `@prisma/adapter-pg`, which writes `_prisma_migrations` exactly as `prisma migrate deploy` does. A PostgreSQL
 * catalog is always made by these migrations (nothing to adopt, nothing shared with the desktop app), so this is
 * simpler than the SQLite path: apply what is pending, report the rest.
 */
import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { AppError } from '../../errors.ts';
import { POSTGRES_EXTERNAL_TABLES } from '../external-tables.ts';
import {
  type DatabaseInspection,
  listMigrations,
  type MigrateResult,
  type MigrationStatus,
  type MigrationsSource,
  statusFrom,
  toEngineMigrationList,
} from '../migrations.ts';
import { POSTGRES_MIGRATIONS_DIR, POSTGRES_SCHEMA_PATH } from '../project-paths.ts';
import { engineMessage, type SchemaEngine, type SchemaFilter, schemaEngineGlue } from '../schema-engine.ts';
import { BUSY_TIMEOUT_MS } from '../database-errors.ts';
import {
  assertReachable,
  catalogPool,
  isConnectionError,
  isLockTimeout,
  lockedError,
  unreachableError,
  withoutPassword,
} from './connection.ts';
import type { PostgresTarget } from './catalog.ts';
import { type DatabaseLocale, databaseLocale, localeWarning } from './locale.ts';

export const PRISMA_HISTORY_TABLE = '_prisma_migrations';
/**
 * Tables Prisma must leave alone on PostgreSQL: the search tables (see external-tables.ts). The engine wants them
 * schema-qualified here; the catalog lives in Prisma's default schema, public.
 */
export const POSTGRES_SCHEMA_FILTERS: SchemaFilter = {
  externalTables: POSTGRES_EXTERNAL_TABLES.map((name) => `public.${name}`),
  externalEnums: [],
};
/** `pg_type` OIDs: the catalog column type "char", and text. */
const CHAR_OID = 18;
const TEXT_OID = 25;

export function postgresMigrationsSource(): MigrationsSource {
  return {
    dir: POSTGRES_MIGRATIONS_DIR,
    schema: { schemaPath: POSTGRES_SCHEMA_PATH, schemaText: readFileSync(POSTGRES_SCHEMA_PATH, 'utf8') },
  };
}

type Target = Pick<PostgresTarget, 'url' | 'display'>;

/**
 * The engine describes the live schema by reading `pg_catalog`, whose "char" columns (OID 18) `@prisma/adapter-pg`
 * cannot type and refuses. This pool reports them as text, which is what their values are.
 */
class EnginePool extends pg.Pool {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.then((value: { fields?: { dataTypeID: number }[] }) => {
        for (const field of value?.fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
        return value;
      }) as never;
    }
    return result as never;
  }
}

/** Runs `work` with the schema engine on `target`; always frees the engine and closes its connections. */
export async function withPostgresSchemaEngine<T>(
  target: Target,
  source: MigrationsSource,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const glue = await schemaEngineGlue();
  const pool = new EnginePool({ connectionString: target.url, max: 2, options: '-c TimeZone=UTC' });
  pool.on('error', () => {});
  const factory = new PrismaPg(pool, { disposeExternalPool: true });
  let engine: SchemaEngine | undefined;
  try {
    engine = await glue.SchemaEngine.new(
      { datamodels: [[source.schema.schemaPath, source.schema.schemaText]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await work(engine);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (isConnectionError(error)) throw unreachableError(error, target);
    throw new AppError(
      'MIGRATION_FAILED',
      `Prisma's schema engine failed on ${target.display}: ${withoutPassword(engineMessage(error), target.url)}`,
    );
  } finally {
    engine?.free();
    await pool.end().catch(() => {});
  }
}

/**
 * What the database holds — no tables (empty), our history table (managed), or other tables (foreign) — and its
 * locale, read on the same connection.
 */
async function inspect(target: Target): Promise<DatabaseInspection & { locale: DatabaseLocale }> {
  // A table another program holds locked (the history table under a schema change) is named after the wait a
  // SQLite start-up gives the file's lock, not waited for in silence.
  const pool = catalogPool({
    ...target,
    max: 1,
    applicationName: 'diffusion-nexus-migrate',
    lockWaitMs: BUSY_TIMEOUT_MS,
  });
  try {
    await assertReachable(pool, target);
    const { rows: tables } = await pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const names = tables.map((t) => t.name);
    const locale = await databaseLocale(pool);
    if (!names.includes(PRISMA_HISTORY_TABLE))
      return {
        kind: names.length === 0 ? 'empty' : 'foreign',
        tables: names,
        hasEfHistory: false,
        applied: [],
        locale,
      };
    const { rows } = await pool.query(
      `SELECT migration_name AS name, checksum, finished_at AS "finishedAt", rolled_back_at AS "rolledBackAt", logs
       FROM "${PRISMA_HISTORY_TABLE}" ORDER BY started_at, migration_name`,
    );
    return { kind: 'managed', tables: names, hasEfHistory: false, applied: rows, locale };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (isConnectionError(error)) throw unreachableError(error, target);
    if (isLockTimeout(error)) throw lockedError(target, BUSY_TIMEOUT_MS);
    throw error;
  } finally {
    await pool.end();
  }
}

export async function postgresMigrationStatus(
  target: Target,
  source: MigrationsSource = postgresMigrationsSource(),
): Promise<MigrationStatus> {
  return statusFrom(target.display, await inspect(target), listMigrations(source.dir));
}

/** A database holding tables but no catalog (no `_prisma_migrations`): nothing is added to it. */
export function foreignDatabaseError(display: string, tables: readonly string[]): AppError {
  return new AppError(
    'DATABASE_INCOMPATIBLE',
    `${display} holds tables (${tables.slice(0, 8).join(', ')}) but no DiffusionNexus catalog. ` +
      'Refusing to add tables to it; create an empty database for the catalog.',
  );
}

/** Applies pending migrations (a no-op when current); refuses a database holding other tables or a failed migration. */
export async function migratePostgres(
  target: Target,
  options: { source?: MigrationsSource; log?: (line: string) => void } = {},
): Promise<MigrateResult> {
  const source = options.source ?? postgresMigrationsSource();
  const log = options.log ?? (() => {});
  const migrations = listMigrations(source.dir);
  const inspection = await inspect(target);
  const before = statusFrom(target.display, inspection, migrations);
  if (inspection.kind === 'foreign') throw foreignDatabaseError(target.display, inspection.tables);
  if (before.failed.length > 0)
    throw new AppError(
      'MIGRATION_FAILED',
      `Migration ${before.failed.join(', ')} started earlier and did not finish in ${target.display}. ` +
        'Fix the database by hand and mark it rolled back in _prisma_migrations.',
    );
  for (const name of before.edited)
    log(`warning: migration ${name} was edited after it was applied (checksum differs)`);
  const warning = localeWarning(inspection.locale, target.display);
  if (warning) log(warning);
  if (before.pending.length === 0) return { ...before, appliedNow: [], repaired: [], baselined: null };
  const appliedNow = await withPostgresSchemaEngine(target, source, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: toEngineMigrationList(source.dir, migrations),
      filters: POSTGRES_SCHEMA_FILTERS,
    });
    return appliedMigrationNames;
  });
  for (const name of appliedNow) log(`applied migration ${name}`);
  return { ...(await postgresMigrationStatus(target, source)), appliedNow, repaired: [], baselined: null };
}

/** The SQL that creates `schema.prisma` from nothing (the Init migration), diffed by the engine. */
export async function postgresInitialSql(target: Target, source = postgresMigrationsSource()): Promise<string> {
  return withPostgresSchemaEngine(target, source, async (engine) => {
    const result = await engine.diff({
      from: { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: source.schema.schemaPath, content: source.schema.schemaText }] },
      script: true,
      exitCode: null,
      filters: POSTGRES_SCHEMA_FILTERS,
    });
    return (result.stdout ?? '').trim();
  });
}
