/** Versions by id (and Civitai id), newest-first pages per model, and per-model aggregates (count, downloads). */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import {
  downloadsByModel,
  versionCountByModel,
  versionIdsByCivitaiId,
  versionPagesByModel,
  versionsById,
} from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { numberByKey, oneByKey, perPlan } from './batch.ts';
import { partitionedPages } from './pages.ts';

export function createVersionLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelVersion');
  return {
    byId: perPlan((fields) => oneByKey(versionsById(db, fields), map)),
    idByCivitaiId: oneByKey(versionIdsByCivitaiId(db), (row) => Number(row.id)),
    pagesByModel: partitionedPages(db, versionPagesByModel, map),
    countByModel: numberByKey(versionCountByModel(db)),
    downloadsByModel: numberByKey(downloadsByModel(db)),
  };
}
