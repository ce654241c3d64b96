/** Models by id (and Civitai id), pages of models under a creator or a tag, and whether each has an update. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import {
  hasUpdateByModel,
  modelIdsByCivitaiId,
  modelPagesByCreator,
  modelPagesByTag,
  modelsById,
} from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { numberByKey, oneByKey, perPlan } from './batch.ts';
import { partitionedPages } from './pages.ts';

export function createModelLoaders(db: CatalogDatabase) {
  const map = rowMapper('Model');
  return {
    byId: perPlan((fields) => oneByKey(modelsById(db, fields), map)),
    idByCivitaiId: oneByKey(modelIdsByCivitaiId(db), (row) => Number(row.id)),
    pagesByCreator: partitionedPages(db, modelPagesByCreator, map),
    pagesByTag: partitionedPages(db, modelPagesByTag, map),
    hasUpdate: numberByKey(hasUpdateByModel(db)),
  };
}
