/** Creators by id and how many models each has. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { numberByKeyLoader, oneByKeyLoader } from './sql-batch.ts';

export function createCreatorLoaders(db: CatalogDatabase) {
  return {
    byId: oneByKeyLoader(
      db,
      `SELECT c."Id" AS "key", ${selectList('Creator', 'c')} FROM "Creators" c WHERE c."Id" IN ${JSON_LIST}`,
      rowMapper('Creator'),
    ),
    modelCount: numberByKeyLoader(
      db,
      `SELECT m."CreatorId" AS "key", COUNT(*) AS "value" FROM "Models" m WHERE m."CreatorId" IN ${JSON_LIST} GROUP BY m."CreatorId"`,
    ),
  };
}
