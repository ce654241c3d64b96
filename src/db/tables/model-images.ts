/**
 * ModelImages: a thumbnail is the BLOB with its stored MIME type and size (the MIME type can be wrong — rows written
 * by older tools say image/jpeg for WebP — so it is sniffed from the bytes when it matters). Lists read its facts
 * (`length()`, never the BLOB); clearing a thumbnail clears all four columns.
 */
import { type AliasedRawBuilder, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { CatalogTransaction } from '../catalog-database.ts';
import { type AnyDb, type TableRef, table } from '../refs.ts';
import { physicalColumns, selectColumns } from '../row-mapping.ts';
import { runShaped, slot } from '../shaped.ts';
import type { Row } from '../row-writer.ts';

/** The thumbnail's length, null without one (SQLite reads it from the row's header, not the BLOB). */
export function THUMBNAIL_BYTE_SIZE(i: TableRef<'ModelImages'>): AliasedRawBuilder<unknown, string> {
  return sql`length(${i('ThumbnailData')})`.as('thumbnailByteSize');
}

/** The row fields that follow the BLOB in the row and IX_ModelImages_VersionPage also holds. */
export const THUMBNAIL_FIELDS_INDEXED = ['thumbnailWidth', 'thumbnailHeight', 'thumbnailMimeType'] as const;

/**
 * Thumbnail facts that follow the BLOB in the row (SQLite reads them by walking the BLOB's overflow pages), also
 * held by the IX_ModelImages_VersionPage index, under the row fields' names: those of `fields` (null: all).
 */
export function THUMBNAIL_FACTS_INDEXED(
  i: TableRef<'ModelImages'>,
  fields: readonly string[] | null = null,
): AliasedRawBuilder<unknown, string>[] {
  const wanted = THUMBNAIL_FIELDS_INDEXED.filter((field) => fields === null || fields.includes(field));
  return selectColumns('ModelImage', i.alias, wanted);
}

/** Columns that describe an image's thumbnail without reading it (select them beside `id`). */
export function THUMBNAIL_FACTS(i: TableRef<'ModelImages'>): AliasedRawBuilder<unknown, string>[] {
  return [THUMBNAIL_BYTE_SIZE(i), sql`${i('BlurHash')}`.as('blurHash'), ...THUMBNAIL_FACTS_INDEXED(i)];
}

/** What a removed thumbnail leaves: nothing of it. */
export const NO_THUMBNAIL = {
  ThumbnailData: null,
  ThumbnailMimeType: null,
  ThumbnailWidth: null,
  ThumbnailHeight: null,
} as const;

/**
 * Previews that are videos (Civitai serves them as .mp4/.webm); a primary image should be a still. LIKE on the
 * lower-cased URL means the same on both engines (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
 */
export function IS_STILL_IMAGE(i: TableRef<'ModelImages'>): RawBuilder<SqlBool> {
  const url = sql`lower(${i('Url')})`;
  return sql<SqlBool>`(${url} NOT LIKE '%.mp4' AND ${url} NOT LIKE '%.webm' AND ${url} NOT LIKE '%.mov' AND ${url} NOT LIKE '%.m4v')`;
}

const images = table('ModelImages', 'i');

/**
 * How an import recognises a stored image of a version: by Civitai id, else (images Civitai gave no id) by URL.
 * Where several rows share a key, the first (lowest Id) is the one.
 */
export function imageKey(image: { civitaiId: number | bigint | null; url: string }): string {
  return image.civitaiId !== null ? `id:${image.civitaiId}` : `url:${image.url}`;
}

/** A version's images by `imageKey`, without their thumbnails; 64-bit columns read exactly. */
export async function imagesOfVersionByKey(trx: CatalogTransaction, versionId: number): Promise<Map<string, Row>> {
  const build = () =>
    (trx as unknown as AnyDb)
      .selectFrom(images.item)
      .select(physicalColumns('ModelImage', 'i'))
      .where(sql<SqlBool>`${images('ModelVersionId')} = ${slot('versionId')}`)
      .orderBy(images('Id'));
  const rows = await runShaped<Row>(trx, 'imagesOfVersionByKey', build, { versionId });
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = imageKey({ civitaiId: row.CivitaiId as number | bigint | null, url: row.Url as string });
    if (!byKey.has(key)) byKey.set(key, row);
  }
  return byKey;
}

/** A version's images in display order, every column (the BLOB too), 64-bit columns read exactly. */
export function imagesOfVersion(trx: CatalogTransaction, versionId: number): Promise<Row[]> {
  return (trx as unknown as AnyDb)
    .selectFrom(images.item)
    .select(physicalColumns('ModelImage', 'i', []))
    .where(sql<SqlBool>`${images('ModelVersionId')} = ${versionId}`)
    .orderBy(sql`${images('SortOrder')}, ${images('Id')}`)
    .execute();
}

/** The highest SortOrder of a version's images (-1 without any). */
export async function lastSortOrder(trx: CatalogTransaction, versionId: number): Promise<number> {
  const row = await trx
    .selectFrom('ModelImages')
    .select(sql<number>`COALESCE(MAX(${sql.ref('SortOrder')}), -1)`.as('last'))
    .where('ModelVersionId', '=', versionId)
    .executeTakeFirstOrThrow();
  return Number(row.last);
}

/** One image row, every column (the BLOB too), 64-bit columns read exactly. */
export function imageRow(trx: CatalogTransaction, id: number): Promise<Row | undefined> {
  return (trx as unknown as AnyDb)
    .selectFrom(images.item)
    .select(physicalColumns('ModelImage', 'i', []))
    .where(sql<SqlBool>`${images('Id')} = ${id}`)
    .executeTakeFirst();
}

export async function deleteImageRow(trx: CatalogTransaction, id: number): Promise<boolean> {
  const { numDeletedRows } = await trx.deleteFrom('ModelImages').where('Id', '=', id).executeTakeFirst();
  return numDeletedRows > 0n;
}
