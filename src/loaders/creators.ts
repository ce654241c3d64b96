/** Creators by id and by username (case-insensitive), and how many models each has. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { creatorIdsByUsername, creatorsById, modelCountByCreator } from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { numberByKey, oneByKey } from './batch.ts';

export function createCreatorLoaders(db: CatalogDatabase) {
  return {
    byId: oneByKey(creatorsById(db), rowMapper('Creator')),
    /** By lower-cased username: the oldest such creator. */
    idByUsername: oneByKey<number, string>(creatorIdsByUsername(db), (row) => Number(row.id)),
    modelCount: numberByKey(modelCountByCreator(db)),
  };
}
