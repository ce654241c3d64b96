/**
 * The one place that picks the engine: every command and the server migrate, inspect and open the catalog through
 * these, with the target `resolveDatabaseTarget` (src/config.ts) made from `--database-url` / the environment.
 */
import { AppError } from '../errors.ts';
import type { DatabaseTarget } from '../config.ts';
import { type CatalogDatabase, type OpenCatalogOptions, openCatalogDatabase } from './catalog-database.ts';
import { type MigrateResult, type MigrationStatus, migrateDatabase, migrationStatus } from './migrations.ts';
import { openPostgresCatalog } from './postgres/catalog.ts';
import { migratePostgres, postgresMigrationStatus } from './postgres/migrations.ts';

/** Brings the catalog's schema up to date (creating it when empty); a no-op when current. */
export function migrateCatalog(
  target: DatabaseTarget,
  options: { log?: (line: string) => void } = {},
): Promise<MigrateResult> {
  return target.engine === 'sqlite' ? migrateDatabase(target.path, options) : migratePostgres(target, options);
}

/** Applied and pending migrations, without changing anything. */
export async function catalogMigrationStatus(target: DatabaseTarget): Promise<MigrationStatus> {
  return target.engine === 'sqlite' ? migrationStatus(target.path) : postgresMigrationStatus(target);
}

/** Opens an already migrated catalog on its engine. */
export function openCatalog(target: DatabaseTarget, options: OpenCatalogOptions = {}): Promise<CatalogDatabase> {
  return target.engine === 'sqlite' ? openCatalogDatabase(target.path, options) : openPostgresCatalog(target, options);
}

/** The SQLite file of `target`, for what exists only on SQLite; NOT_SUPPORTED_ON_ENGINE on PostgreSQL. */
export function requireSqliteFile(target: DatabaseTarget, what: string): string {
  if (target.engine === 'sqlite') return target.path;
  throw new AppError(
    'NOT_SUPPORTED_ON_ENGINE',
    `${what} works on SQLite catalogs only; ${target.display} is a PostgreSQL catalog.`,
    { engine: 'postgres' },
  );
}
