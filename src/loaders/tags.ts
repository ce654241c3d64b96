/** A model's tags (by name), tags by normalized name, and how many models carry each tag. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { modelCountByTag, tagIdsByNormalizedName, tagsById, tagsByModel } from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { manyByKey, numberByKey, oneByKey } from './batch.ts';

export function createTagLoaders(db: CatalogDatabase) {
  return {
    byId: oneByKey(tagsById(db), rowMapper('Tag')),
    byModel: manyByKey(tagsByModel(db), rowMapper('Tag')),
    idByNormalizedName: oneByKey<number, string>(tagIdsByNormalizedName(db), (row) => Number(row.id)),
    modelCount: numberByKey(modelCountByTag(db)),
  };
}
