/** A version's trigger words in their order. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { triggerWordsById, triggerWordsByVersion } from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { manyByKey, oneByKey } from './batch.ts';

export function createTriggerWordLoaders(db: CatalogDatabase) {
  const map = rowMapper('TriggerWord');
  return { byId: oneByKey(triggerWordsById(db), map), byVersion: manyByKey(triggerWordsByVersion(db), map) };
}
