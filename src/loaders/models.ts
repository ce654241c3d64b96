/** Models by id, and pages of models under a creator or a tag, each reading the columns its plan names. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectFields } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { numberByKeyLoader, oneByKeyLoader, perPlan } from './sql-batch.ts';
import { hasUpdateSql } from '../catalog/model-query.ts';
import { partitionedPages } from './pages.ts';

const MODEL_ROWS = { table: '"Models" m', id: 'm."Id"' };

export function createModelLoaders(db: CatalogDatabase) {
  const map = rowMapper('Model');
  return {
    byId: perPlan((fields) =>
      oneByKeyLoader(
        db,
        `SELECT m."Id" AS "key", ${selectFields('Model', 'm', fields)} FROM "Models" m WHERE m."Id" IN ${JSON_LIST}`,
        map,
      ),
    ),
    pagesByCreator: partitionedPages(db, (fields) => ({
      select: selectFields('Model', 'm', fields),
      from: `"Models" m`,
      parent: 'm."CreatorId"',
      rows: MODEL_ROWS,
      map,
    })),
    hasUpdate: numberByKeyLoader(
      db,
      `SELECT m."Id" AS "key", ${hasUpdateSql('m')} AS "value" FROM "Models" m WHERE m."Id" IN ${JSON_LIST}`,
    ),
    pagesByTag: partitionedPages(db, (fields) => ({
      select: selectFields('Model', 'm', fields),
      from: `"ModelTags" mt JOIN "Models" m ON m."Id" = mt."ModelId"`,
      parent: 'mt."TagId"',
      rows: MODEL_ROWS,
      map,
    })),
  };
}
