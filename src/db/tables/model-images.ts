/**
 * ModelImages: a thumbnail is the BLOB with its stored MIME type and size (the MIME type can be wrong — rows written
 * by older tools say image/jpeg for WebP — so it is sniffed from the bytes when it matters). Lists read its facts
 * (`length()`, never the BLOB); clearing a thumbnail clears all four columns.
 */
import { type AliasedRawBuilder, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { TableRef } from '../refs.ts';

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
export const NO_THUMBNAIL = { ThumbnailData: null, ThumbnailMimeType: null, ThumbnailWidth: null, ThumbnailHeight: null } as const;

/** Previews that are videos (Civitai serves them as .mp4/.webm); a primary image should be a still. */
export function IS_STILL_IMAGE(i: TableRef<'ModelImages'>): RawBuilder<SqlBool> {
  const url = sql`lower(${i('Url')})`;
  return sql<SqlBool>`(${url} NOT GLOB '*.mp4' AND ${url} NOT GLOB '*.webm' AND ${url} NOT GLOB '*.mov' AND ${url} NOT GLOB '*.m4v')`;
}
