/**
 * ModelImages: a thumbnail is the BLOB with its stored MIME type and size (the MIME type can be wrong — rows written
 * by older tools say image/jpeg for WebP — so it is sniffed from the bytes when it matters). Lists read its facts
 * (`length()`, never the BLOB); clearing a thumbnail clears all four columns.
 */
import { type AliasedRawBuilder, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { CatalogTransaction } from '../catalog-database.ts';
import { type AnyDb, type TableRef, table } from '../refs.ts';
import { physicalColumns } from '../row-mapping.ts';
import { runShaped, slot } from '../shaped.ts';
import type { Row } from '../row-writer.ts';

/** Columns that describe an image's thumbnail without reading it (select them beside `id`). */
export function THUMBNAIL_FACTS(i: TableRef<'ModelImages'>): AliasedRawBuilder<unknown, string>[] {
  return [
    sql`length(${i('ThumbnailData')})`.as('thumbnailByteSize'),
    sql`${i('ThumbnailWidth')}`.as('thumbnailWidth'),
    sql`${i('ThumbnailHeight')}`.as('thumbnailHeight'),
    sql`${i('ThumbnailMimeType')}`.as('thumbnailMimeType'),
  ];
}

/** What a removed thumbnail leaves: nothing of it. */
export const NO_THUMBNAIL = {
  ThumbnailData: null,
  ThumbnailMimeType: null,
  ThumbnailWidth: null,
  ThumbnailHeight: null,
} as const;

/** Previews that are videos (Civitai serves them as .mp4/.webm); a primary image should be a still. */
export function IS_STILL_IMAGE(i: TableRef<'ModelImages'>): RawBuilder<SqlBool> {
  const url = sql`lower(${i('Url')})`;
  return sql<SqlBool>`(${url} NOT GLOB '*.mp4' AND ${url} NOT GLOB '*.webm' AND ${url} NOT GLOB '*.mov' AND ${url} NOT GLOB '*.m4v')`;
}

const images = table('ModelImages', 'i');

/** A version's image by Civitai id, else (images Civitai gave no id) by URL; 64-bit columns read exactly. */
export async function imageOfVersion(
  trx: CatalogTransaction,
  versionId: number,
  image: { civitaiId: number | null; url: string },
): Promise<Row | undefined> {
  const byId = image.civitaiId !== null;
  const build = () =>
    (trx as unknown as AnyDb)
      .selectFrom(images.item)
      .select(physicalColumns('ModelImage', 'i'))
      .where(sql<SqlBool>`${images('ModelVersionId')} = ${slot('versionId')}`)
      .where(
        byId
          ? sql<SqlBool>`${images('CivitaiId')} = ${slot('civitaiId')}`
          : sql<SqlBool>`${images('CivitaiId')} IS NULL AND ${images('Url')} = ${slot('url')}`,
      )
      .orderBy(images('Id'))
      .limit(1);
  const values = byId ? { versionId, civitaiId: image.civitaiId } : { versionId, url: image.url };
  const [row] = await runShaped<Row>(trx, `imageOfVersion|${byId}`, build, values);
  return row;
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
