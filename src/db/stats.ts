/** The catalog at a glance: counts, local files present and missing, thumbnails and their bytes. */
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
