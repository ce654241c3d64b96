/**
 * Images. SQL decides *which* images — a version's page in display order (the LIMIT applied per version by a
 * window function), a version's or model's primary image — and reads their thumbnail facts in the same statement
 * (`length()`, never the BLOB; outside the window, which would otherwise copy every candidate's BLOB into its
 * sorter). The rows are then read with exactly the columns the query's plan names, so long prompt texts and the
 * BLOB are read only when asked for.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { JSON_LIST } from '../db/sql.ts';
import { needsSafeIntegers, rowMapper, selectFields } from '../db/row-mapping.ts';
import { utcTimestampSql } from '../db/timestamps.ts';
import { numberByKeyLoader, oneByKeyLoader, perPlan, type RawRow } from './sql-batch.ts';
import { partitionedPages } from './pages.ts';
import { THUMBNAIL_META_COLUMNS } from './thumbnails.ts';

/** Previews that are videos (Civitai serves them as .mp4/.webm); a primary image should be a still. */
const IS_STILL_IMAGE = `lower(i."Url") NOT GLOB '*.mp4' AND lower(i."Url") NOT GLOB '*.webm' AND lower(i."Url") NOT GLOB '*.mov' AND lower(i."Url") NOT GLOB '*.m4v'`;
const PRIMARY_RANK = `(i."IsNsfw" = 0 AND ${IS_STILL_IMAGE}) DESC, i."SortOrder", i."Id"`;

/** What SQL picks: the image id, plus what the thumbnail fields need. */
const PICKED_COLUMNS = `i."Id" AS "id", i."ThumbnailWidth" AS "thumbnailWidth", i."ThumbnailHeight" AS "thumbnailHeight",
  i."ThumbnailMimeType" AS "thumbnailMimeType", ${THUMBNAIL_META_COLUMNS}`;

export interface PickedImage {
  id: number;
}

const mapImage = rowMapper('ModelImage');

export function createImageLoaders(db: CatalogDatabase, primeThumbnails: (rows: readonly RawRow[]) => void) {
  const pick = (row: RawRow): PickedImage => ({ id: Number(row.id) });
  const pickAndPrime = (row: RawRow): PickedImage => {
    primeThumbnails([row]);
    return pick(row);
  };
  return {
    pagesByVersion: partitionedPages<PickedImage>(db, {
      select: PICKED_COLUMNS,
      from: `"ModelImages" i`,
      parent: 'i."ModelVersionId"',
      rows: { table: '"ModelImages" i', id: 'i."Id"' },
      map: pick,
      onNodes: primeThumbnails,
    }),
    countByVersion: numberByKeyLoader(
      db,
      `SELECT i."ModelVersionId" AS "key", COUNT(*) AS "value" FROM "ModelImages" i
      WHERE i."ModelVersionId" IN ${JSON_LIST} GROUP BY i."ModelVersionId"`,
    ),
    primaryByVersion: oneByKeyLoader(
      db,
      `SELECT p."key", ${PICKED_COLUMNS} FROM (SELECT i."ModelVersionId" AS "key", i."Id" AS "imageId",
        ROW_NUMBER() OVER (PARTITION BY i."ModelVersionId" ORDER BY ${PRIMARY_RANK}) AS "rank"
      FROM "ModelImages" i WHERE i."ModelVersionId" IN ${JSON_LIST}) p JOIN "ModelImages" i ON i."Id" = p."imageId" WHERE p."rank" = 1`,
      pickAndPrime,
    ),
    /** The primary image of the newest version that has images. */
    primaryByModel: oneByKeyLoader(
      db,
      `SELECT p."key", ${PICKED_COLUMNS} FROM (SELECT v."ModelId" AS "key", i."Id" AS "imageId",
        ROW_NUMBER() OVER (PARTITION BY v."ModelId" ORDER BY ${utcTimestampSql('v."CreatedAt"')} DESC, v."Id" DESC, ${PRIMARY_RANK}) AS "rank"
      FROM "ModelVersions" v JOIN "ModelImages" i ON i."ModelVersionId" = v."Id" WHERE v."ModelId" IN ${JSON_LIST}) p
      JOIN "ModelImages" i ON i."Id" = p."imageId" WHERE p."rank" = 1`,
      pickAndPrime,
    ),
    /** Images with exactly the columns a row-field plan names (every column but the BLOB without one). */
    rows: perPlan((fields) =>
      oneByKeyLoader(
        db,
        `SELECT i."Id" AS "key", ${selectFields('ModelImage', 'i', fields)} FROM "ModelImages" i
      WHERE i."Id" IN ${JSON_LIST}`,
        mapImage,
        { safeIntegers: needsSafeIntegers('ModelImage', fields) },
      ),
    ),
    /** The oldest image row with a Civitai id (the same Civitai image can be stored under two versions). */
    idByCivitaiId: oneByKeyLoader(
      db,
      `SELECT i."CivitaiId" AS "key", MIN(i."Id") AS "id" FROM "ModelImages" i
      WHERE i."CivitaiId" IN ${JSON_LIST} GROUP BY i."CivitaiId"`,
      (row) => Number(row.id),
    ),
  };
}
