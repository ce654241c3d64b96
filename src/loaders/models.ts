/** Models by id, and pages of models under a creator or a tag. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { numberByKeyLoader, oneByKeyLoader } from './sql-batch.ts';
import { hasUpdateSql } from '../resolvers/model-query.ts';
import { partitionedPages } from './pages.ts';

export function createModelLoaders(db: CatalogDatabase) {
  const map = rowMapper('Model');
  const columns = selectList('Model', 'm');
  return {
    byId: oneByKeyLoader(db, `SELECT m."Id" AS "key", ${columns} FROM "Models" m WHERE m."Id" IN ${JSON_LIST}`, map),
    pagesByCreator: partitionedPages(db, { select: columns, from: `"Models" m`, parent: 'm."CreatorId"', map }),
    hasUpdate: numberByKeyLoader(db, `SELECT m."Id" AS "key", ${hasUpdateSql('m')} AS "value" FROM "Models" m WHERE m."Id" IN ${JSON_LIST}`),
    pagesByTag: partitionedPages(db, { select: columns, from: `"ModelTags" mt JOIN "Models" m ON m."Id" = mt."ModelId"`, parent: 'mt."TagId"', map }),
  };
}
