/** Opening the catalog the way every data command does: resolve the directory, migrate, open. */
import { openCatalogDatabase, type CatalogDatabase } from '../db/catalog-database.ts';
import { databasePathIn, ensureDataDir, resolveDataDir } from '../db/data-dir.ts';
import { migrateDatabase } from '../db/migrations.ts';
import type { CliIo } from './command.ts';

export async function openCatalogForCli(dataDirFlag: string | undefined, io: CliIo): Promise<CatalogDatabase> {
  const databasePath = databasePathIn(ensureDataDir(resolveDataDir({ flag: dataDirFlag })));
  await migrateDatabase(databasePath, { log: io.out });
  return openCatalogDatabase(databasePath);
}
