/** The catalog at a glance, with the database's size on disk (its file and its write-ahead log). */
import { statSync } from 'node:fs';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type CatalogCounts, catalogCounts } from '../db/stats.ts';

export interface LibraryStats extends CatalogCounts {
  databaseBytes: number;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export async function libraryStats(db: CatalogDatabase): Promise<LibraryStats> {
  const counts = await catalogCounts(db);
  return {
    ...counts,
    localBytes: Math.round(counts.localBytes),
    // The WAL holds recent writes not yet checkpointed into the main file.
    databaseBytes: fileSize(db.path) + fileSize(`${db.path}-wal`),
  };
}
