/** The catalog at a glance, with the database's size on disk (see `databaseBytes`). */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type CatalogCounts, catalogCounts, databaseBytes } from '../db/stats.ts';

export interface LibraryStats extends CatalogCounts {
  databaseBytes: number;
}

export async function libraryStats(db: CatalogDatabase): Promise<LibraryStats> {
  const counts = await catalogCounts(db);
  return {
    ...counts,
    localBytes: Math.round(counts.localBytes),
    databaseBytes: await databaseBytes(db, { wal: true }),
  };
}
