/** A model's tags (by name) and how many models carry each tag. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { manyByKeyLoader, numberByKeyLoader } from './sql-batch.ts';

export function createTagLoaders(db: CatalogDatabase) {
  return {
    byModel: manyByKeyLoader(
      db,
      `SELECT mt."ModelId" AS "key", ${selectList('Tag', 't')} FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
      WHERE mt."ModelId" IN ${JSON_LIST} ORDER BY t."NormalizedName"`,
      rowMapper('Tag'),
    ),
    modelCount: numberByKeyLoader(
      db,
      `SELECT mt."TagId" AS "key", COUNT(*) AS "value" FROM "ModelTags" mt WHERE mt."TagId" IN ${JSON_LIST} GROUP BY mt."TagId"`,
    ),
  };
}
