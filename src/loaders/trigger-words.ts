/** A version's trigger words in their order. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { manyByKeyLoader } from './sql-batch.ts';

export function createTriggerWordLoaders(db: CatalogDatabase) {
  return {
    byVersion: manyByKeyLoader(
      db,
      `SELECT w."ModelVersionId" AS "key", ${selectList('TriggerWord', 'w')} FROM "TriggerWords" w
      WHERE w."ModelVersionId" IN ${JSON_LIST} ORDER BY w."Order", w."Id"`,
      rowMapper('TriggerWord'),
    ),
  };
}
