/** Versions by id, newest-first pages per model, and per-model aggregates (count, downloads). */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { numberByKeyLoader, oneByKeyLoader } from './sql-batch.ts';
import { partitionedPages } from './pages.ts';

export function createVersionLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelVersion');
  const columns = selectList('ModelVersion', 'v');
  return {
    byId: oneByKeyLoader(db, `SELECT v."Id" AS "key", ${columns} FROM "ModelVersions" v WHERE v."Id" IN ${JSON_LIST}`, map),
    pagesByModel: partitionedPages(db, { select: columns, from: `"ModelVersions" v`, parent: 'v."ModelId"', map }),
    countByModel: numberByKeyLoader(db, `SELECT v."ModelId" AS "key", COUNT(*) AS "value" FROM "ModelVersions" v WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`),
    downloadsByModel: numberByKeyLoader(db, `SELECT v."ModelId" AS "key", SUM(v."DownloadCount") AS "value" FROM "ModelVersions" v WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`),
  };
}
