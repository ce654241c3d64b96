/** The catalog at a glance: counts, local files present and missing, thumbnails and their bytes. */
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import type { CatalogDatabase } from './catalog-database.ts';
import { removedFromCivitai } from './lists.ts';
import { table } from './refs.ts';
import { localFilePresent } from './tables/model-files.ts';

export interface CatalogCounts {
  models: number;
  versions: number;
  files: number;
  localFilesValid: number;
  localFilesMissing: number;
  localBytes: number;
  images: number;
  thumbnails: number;
  thumbnailBytes: number;
  /** Models gone from Civitai (see `removedFromCivitai`). */
  removedFromCivitai: number;
  byBaseModel: { value: string; count: number }[];
}

export async function catalogCounts(db: CatalogDatabase): Promise<CatalogCounts> {
  const f = table('ModelFiles', 'f');
  const i = table('ModelImages', 'i');
  const v = table('ModelVersions', 'v');
  const m = table('Models', 'm');
  const counts = await sql<Omit<CatalogCounts, 'byBaseModel'>>`SELECT
      (SELECT COUNT(*) FROM ${sql.table('Models')}) AS models,
      (SELECT COUNT(*) FROM ${m.item} WHERE ${removedFromCivitai(m)}) AS "removedFromCivitai",
      (SELECT COUNT(*) FROM ${v.item}) AS versions,
      (SELECT COUNT(*) FROM ${f.item}) AS files,
      (SELECT COUNT(*) FROM ${f.item} WHERE ${localFilePresent(f)}) AS "localFilesValid",
      (SELECT COUNT(*) FROM ${f.item} WHERE ${f('LocalPath')} IS NOT NULL AND ${f('IsLocalFileValid')} = FALSE) AS "localFilesMissing",
      (SELECT COALESCE(SUM(${f('SizeKB')}), 0) * 1024 FROM ${f.item} WHERE ${localFilePresent(f)}) AS "localBytes",
      (SELECT COUNT(*) FROM ${i.item}) AS images,
      (SELECT COUNT(${i('ThumbnailData')}) FROM ${i.item}) AS thumbnails,
      (SELECT COALESCE(SUM(length(${i('ThumbnailData')})), 0) FROM ${i.item}) AS "thumbnailBytes"`.execute(db.heavy);
  const byBaseModel = await db.heavy
    .selectFrom('ModelVersions')
    .select(['BaseModel as value', sql<number>`COUNT(*)`.as('count')])
    .groupBy('BaseModel')
    .orderBy('count', 'desc')
    .orderBy('value')
    .execute();
  return { ...counts.rows[0]!, byBaseModel };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The catalog's size on disk: SQLite's file (with `wal`, also its write-ahead log, which holds recent writes not
 * yet checkpointed into the file), or the PostgreSQL database's size as the server reports it.
 */
export async function databaseBytes(db: CatalogDatabase, options: { wal: boolean }): Promise<number> {
  if (db.dialect.name === 'sqlite') return fileSize(db.path) + (options.wal ? fileSize(`${db.path}-wal`) : 0);
  const { bytes } = await db.probe
    .selectNoFrom(sql<number>`pg_database_size(current_database())`.as('bytes'))
    .executeTakeFirstOrThrow();
  return Number(bytes);
}
