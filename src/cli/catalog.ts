/** Finding and opening the catalog the way every data command does: resolve the engine, migrate, open. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type DatabaseTarget, resolveDatabaseTarget, resolveDataDirSetting } from '../config.ts';
import { databasePathIn, ensureDataDir } from '../db/data-dir.ts';
import type { CliIo } from './command.ts';

/** The catalog options every data command takes (see DATA_DIR_OPTION). */
export interface CatalogFlags {
  'data-dir'?: string | undefined;
  'database-url'?: string | undefined;
}

/**
 * The catalog file for a command's `--data-dir` flag (else the environment, else the platform default).
 * `create` makes the directory for commands that may create the database; the others leave the disk alone.
 */
export function catalogPathForCli(dataDirFlag: string | undefined, options: { create: boolean }): string {
  const dataDir = resolveDataDirSetting(dataDirFlag);
  return databasePathIn(options.create ? ensureDataDir(dataDir) : dataDir);
}

/**
 * The catalog of a command: `--database-url` (else DIFFUSION_NEXUS_DATABASE_URL) when it names PostgreSQL or a
 * file, else the SQLite file of `--data-dir` as `catalogPathForCli` finds it.
 */
export function catalogTargetForCli(flags: CatalogFlags, options: { create: boolean }): DatabaseTarget {
  const target = resolveDatabaseTarget({ databaseUrl: flags['database-url'], dataDir: flags['data-dir'] });
  if (target.engine === 'sqlite' && target.dataDir !== null && options.create) ensureDataDir(target.dataDir);
  return target;
}

export async function openCatalogForCli(flags: CatalogFlags, io: CliIo): Promise<CatalogDatabase> {
  const target = catalogTargetForCli(flags, { create: true });
  // Loaded here, not at the top: `--help` and usage errors need none of the data layer (see src/cli/main.ts).
  const { migrateCatalog, openCatalog } = await import('../db/open-catalog.ts');
  await migrateCatalog(target, { log: io.out });
  return openCatalog(target);
}
