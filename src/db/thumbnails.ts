/**
 * Stored thumbnails as maintenance and the thumbnail route see them: totals, the bytes of one, which images lack
 * one, which are beyond a version's first N or over a byte budget, and rows whose version is gone.
 */
import { type SqlBool, sql } from 'kysely';
import type { CatalogQueries, CatalogTransaction } from './catalog-database.ts';
import { runShaped, slot } from './shaped.ts';
import { NO_THUMBNAIL } from './tables/model-images.ts';

const data = sql.ref('ThumbnailData');
const bytesOf = sql<number>`COALESCE(SUM(length(${data})), 0)`;

export async function thumbnailTotals(db: CatalogQueries) {
  const totals = await db
    .selectFrom('ModelImages')
    .select([
      sql<number>`COUNT(*)`.as('images'),
      sql<number>`COUNT(${data})`.as('withThumbnail'),
      bytesOf.as('totalBytes'),
      sql<number>`COALESCE(MAX(length(${data})), 0)`.as('largestBytes'),
    ])
    .executeTakeFirstOrThrow();
  return totals;
}

/** The first bytes (enough to sniff the format) and the size of every stored thumbnail. */
export function thumbnailHeads(db: CatalogQueries): Promise<{ head: Buffer; bytes: number }[]> {
  return db
    .selectFrom('ModelImages')
    .select([sql<Buffer>`substr(${data}, 1, 16)`.as('head'), sql<number>`length(${data})`.as('bytes')])
    .where('ThumbnailData', 'is not', null)
    .execute();
}

/** Cached image files of images that have no thumbnail. */
export async function cachedFilesWithoutThumbnail(db: CatalogQueries): Promise<string[]> {
  const rows = await db
    .selectFrom('ModelImages')
    .select('LocalCachePath')
    .where('ThumbnailData', 'is', null)
    .where('LocalCachePath', 'is not', null)
    .execute();
  return rows.map((row) => row.LocalCachePath!);
}

/** Images to make a thumbnail for: those without one, or (`all`) every image. */
export function imageSources(
  db: CatalogQueries,
  all: boolean,
): Promise<{ id: number; url: string; cachePath: string | null }[]> {
  const query = db
    .selectFrom('ModelImages')
    .select(['Id as id', 'Url as url', 'LocalCachePath as cachePath'])
    .orderBy('Id');
  return (all ? query : query.where('ThumbnailData', 'is', null)).execute();
}

/** A thumbnail's bytes and stored MIME type (undefined: no such image). Built once (see `shaped.ts`). */
export async function thumbnailOf(
  db: CatalogQueries,
  id: number,
): Promise<{ bytes: Buffer | null; mimeType: string | null } | undefined> {
  const build = () =>
    db
      .selectFrom('ModelImages')
      .select([sql<Buffer | null>`${data}`.as('bytes'), 'ThumbnailMimeType as mimeType'])
      .where('Id', '=', slot<number>('id'));
  const [row] = await runShaped<{ bytes: Buffer | null; mimeType: string | null }>(db, 'thumbnailOf', build, { id });
  return row;
}

export async function clearThumbnail(trx: CatalogTransaction, id: number): Promise<void> {
  await trx.updateTable('ModelImages').set(NO_THUMBNAIL).where('Id', '=', id).execute();
}

const orphaned = sql<SqlBool>`${sql.ref('ModelVersionId')} NOT IN (SELECT ${sql.ref('Id')} FROM ${sql.table('ModelVersions')})`;

/** Image rows whose version is gone (possible in files written with foreign keys off): deleted; count and bytes. */
export async function deleteOrphanImages(trx: CatalogTransaction): Promise<{ n: number; bytes: number }> {
  const stats = await trx
    .selectFrom('ModelImages')
    .select([sql<number>`COUNT(*)`.as('n'), bytesOf.as('bytes')])
    .where(orphaned)
    .executeTakeFirstOrThrow();
  if (stats.n > 0) await trx.deleteFrom('ModelImages').where(orphaned).execute();
  return stats;
}

/** Drops the thumbnails of images past the first `keep` (by SortOrder) of each version; count and bytes. */
export async function dropThumbnailsBeyond(
  trx: CatalogTransaction,
  keep: number,
): Promise<{ n: number; bytes: number }> {
  const beyond = sql<SqlBool>`${sql.ref('Id')} IN (SELECT ${sql.ref('Id')} FROM (SELECT ${sql.ref('Id')}, ROW_NUMBER() OVER (
    PARTITION BY ${sql.ref('ModelVersionId')} ORDER BY ${sql.ref('SortOrder')}, ${sql.ref('Id')}) AS ${sql.ref('rank')}
    FROM ${sql.table('ModelImages')} WHERE ${data} IS NOT NULL) WHERE ${sql.ref('rank')} > ${keep})`;
  const stats = await trx
    .selectFrom('ModelImages')
    .select([sql<number>`COUNT(*)`.as('n'), bytesOf.as('bytes')])
    .where(beyond)
    .executeTakeFirstOrThrow();
  await trx.updateTable('ModelImages').set(NO_THUMBNAIL).where(beyond).execute();
  return stats;
}

/** Thumbnails larger than `maxBytes`. */
export function thumbnailsOver(db: CatalogQueries, maxBytes: number): Promise<{ id: number; bytes: Buffer }[]> {
  return db
    .selectFrom('ModelImages')
    .select(['Id as id', sql<Buffer>`${data}`.as('bytes')])
    .where(sql<SqlBool>`length(${data}) > ${maxBytes}`)
    .execute();
}
