/**
 * Images. A version's page (the LIMIT applied per version by a window function) reads its rows with the columns
 * the query's plan names and the thumbnail facts, in one statement (`length()`, never the BLOB). For a version's or
 * model's primary image SQL picks the id with the thumbnail facts, and the row is then read by plan, so long prompt
 * texts and the BLOB are read only when asked for.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import {
  imageCountByVersion,
  imageIdsByCivitaiId,
  imagePagesByVersion,
  imagesById,
  primaryImageByModel,
  primaryImageByVersion,
} from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { numberByKey, oneByKey, perPlan, type RawRow } from './batch.ts';
import { partitionedPages } from './pages.ts';

export interface PickedImage {
  id: number;
}

export function createImageLoaders(db: CatalogDatabase, primeThumbnails: (rows: readonly RawRow[]) => void) {
  const pick = (row: RawRow): PickedImage => ({ id: Number(row.id) });
  const pickAndPrime = (row: RawRow): PickedImage => {
    primeThumbnails([row]);
    return pick(row);
  };
  return {
    pagesByVersion: partitionedPages(db, imagePagesByVersion, rowMapper('ModelImage')),
    countByVersion: numberByKey(imageCountByVersion(db)),
    primaryByVersion: oneByKey(primaryImageByVersion(db), pickAndPrime),
    /** The primary image of the newest version that has images. */
    primaryByModel: oneByKey(primaryImageByModel(db), pickAndPrime),
    /** Images with exactly the columns a row-field plan names (every column but the BLOB without one). */
    rows: perPlan((fields) => oneByKey(imagesById(db, fields), rowMapper('ModelImage'))),
    /** The oldest image row with a Civitai id (the same Civitai image can be stored under two versions). */
    idByCivitaiId: oneByKey(imageIdsByCivitaiId(db), (row) => Number(row.id)),
  };
}
