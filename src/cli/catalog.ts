/** Finding and opening the catalog the way every data command does: resolve the engine, migrate, open. */
import { existsSync, statSync } from 'node:fs';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type DatabaseTarget, resolveDatabaseTarget, resolveDataDirSetting } from '../config.ts';
import { DATA_DIR_ENV, DATABASE_FILE_NAME, databasePathIn, ensureDataDir } from '../db/data-dir.ts';
import { AppError } from '../errors.ts';
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

/**
 * The catalog of a command that only works on one already there (backup, payloads, thumbnails): nothing is
 * created, and without a catalog it is NOT_FOUND naming where it looked. Such a command used to make and migrate an
 * empty catalog — in the platform's app-data folder when none was named — and then report on that.
 */
export function existingCatalogForCli(flags: CatalogFlags): DatabaseTarget {
  const target = catalogTargetForCli(flags, { create: false });
  // A PostgreSQL catalog is a database named outright (a missing one is DATABASE_UNREACHABLE on connecting).
  // An empty file is no catalog either (`status` calls it "missing or empty"; a read would migrate it into one).
  if (target.engine === 'postgres' || (existsSync(target.path) && statSync(target.path).size > 0)) return target;
  throw new AppError(
    'NOT_FOUND',
    target.dataDir === null
      ? `There is no catalog at ${target.path} (named by --database-url or DIFFUSION_NEXUS_DATABASE_URL).`
      : `There is no catalog in ${target.dataDir} (no ${DATABASE_FILE_NAME}). Name the folder holding it with ` +
          `--data-dir or ${DATA_DIR_ENV}; migrate, import or seed creates one.`,
    { dataDir: target.dataDir, path: target.path },
  );
}

/** Opens (migrating) the catalog of a command; with `existing`, only one already there (`existingCatalogForCli`). */
export async function openCatalogForCli(
  flags: CatalogFlags,
  io: CliIo,
  options: { existing?: boolean } = {},
): Promise<CatalogDatabase> {
  const target = options.existing ? existingCatalogForCli(flags) : catalogTargetForCli(flags, { create: true });
  // Loaded here, not at the top: `--help` and usage errors need none of the data layer (see src/cli/main.ts).
  const { migrateCatalog, openCatalog } = await import('../db/open-catalog.ts');
  await migrateCatalog(target, { log: io.out });
  return openCatalog(target);
}
