/**
 * Images. SQL decides *which* images — a version's page in display order (the LIMIT applied per version by a
 * window function), a version's or model's primary image — and reads their thumbnail facts in the same statement
 * (`length()`, never the BLOB). Prisma then loads those rows with exactly the columns the query selected
 * (ModelImage is a `select`-mode Pothos type), so long prompt texts and the BLOB are read only when asked for.
 */
import DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { JSON_LIST } from '../db/sql.ts';
import { utcTimestampSql } from '../db/timestamps.ts';
import type { ModelImage } from '../generated/prisma/client.ts';
import { numberByKeyLoader, oneByKeyLoader, type RawRow } from './sql-batch.ts';
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

/** A Prisma query for ModelImage as plugin-prisma planned it (`select` of the requested columns). */
export type ImageQuery = { select?: Record<string, unknown> };

export function createImageLoaders(db: CatalogDatabase, primeThumbnails: (rows: readonly RawRow[]) => void) {
  const pick = (row: RawRow): PickedImage => ({ id: Number(row.id) });
  const pickAndPrime = (row: RawRow): PickedImage => {
    primeThumbnails([row]);
    return pick(row);
  };
  const byQuery = new Map<string, DataLoader<number, ModelImage | null>>();
  return {
    pagesByVersion: partitionedPages<PickedImage>(db, {
      select: PICKED_COLUMNS, from: `"ModelImages" i`, parent: 'i."ModelVersionId"', map: pick, onNodes: primeThumbnails,
    }),
    countByVersion: numberByKeyLoader(db, `SELECT i."ModelVersionId" AS "key", COUNT(*) AS "value" FROM "ModelImages" i
      WHERE i."ModelVersionId" IN ${JSON_LIST} GROUP BY i."ModelVersionId"`),
    primaryByVersion: oneByKeyLoader(db, `SELECT * FROM (SELECT i."ModelVersionId" AS "key", ${PICKED_COLUMNS},
        ROW_NUMBER() OVER (PARTITION BY i."ModelVersionId" ORDER BY ${PRIMARY_RANK}) AS "rank"
      FROM "ModelImages" i WHERE i."ModelVersionId" IN ${JSON_LIST}) WHERE "rank" = 1`, pickAndPrime),
    /** The primary image of the newest version that has images. */
    primaryByModel: oneByKeyLoader(db, `SELECT * FROM (SELECT v."ModelId" AS "key", ${PICKED_COLUMNS},
        ROW_NUMBER() OVER (PARTITION BY v."ModelId" ORDER BY ${utcTimestampSql('v."CreatedAt"')} DESC, v."Id" DESC, ${PRIMARY_RANK}) AS "rank"
      FROM "ModelVersions" v JOIN "ModelImages" i ON i."ModelVersionId" = v."Id" WHERE v."ModelId" IN ${JSON_LIST}) WHERE "rank" = 1`, pickAndPrime),
    /** Loads picked images through Prisma with a planned selection; one loader (one statement) per distinct selection. */
    rows(query: ImageQuery): DataLoader<number, ModelImage | null> {
      const key = JSON.stringify(query);
      let loader = byQuery.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const select = query.select ? { ...query.select, id: true } : undefined;
          const found = await db.prisma.modelImage.findMany({ ...(select ? { select } : {}), where: { id: { in: [...ids] } } }) as ModelImage[];
          const byId = new Map(found.map((image) => [image.id, image]));
          return ids.map((id) => byId.get(id) ?? null);
        });
        byQuery.set(key, loader);
      }
      return loader;
    },
  };
}
