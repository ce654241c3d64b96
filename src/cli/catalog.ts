/** Finding and opening the catalog the way every data command does: resolve the directory, migrate, open. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { resolveDataDirSetting } from '../config.ts';
import { databasePathIn, ensureDataDir } from '../db/data-dir.ts';
import type { CliIo } from './command.ts';

/**
 * The catalog file for a command's `--data-dir` flag (else the environment, else the platform default).
 * `create` makes the directory for commands that may create the database; the others leave the disk alone.
 */
export function catalogPathForCli(dataDirFlag: string | undefined, options: { create: boolean }): string {
  const dataDir = resolveDataDirSetting(dataDirFlag);
  return databasePathIn(options.create ? ensureDataDir(dataDir) : dataDir);
}

export async function openCatalogForCli(dataDirFlag: string | undefined, io: CliIo): Promise<CatalogDatabase> {
  const databasePath = catalogPathForCli(dataDirFlag, { create: true });
  // Loaded here, not at the top: `--help` and usage errors need none of the data layer (see src/cli/main.ts).
  const [{ migrateDatabase }, { openCatalogDatabase }] = await Promise.all([
    import('../db/migrations.ts'),
    import('../db/catalog-database.ts'),
  ]);
  await migrateDatabase(databasePath, { log: io.out });
  return openCatalogDatabase(databasePath);
}
