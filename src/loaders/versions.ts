/** Versions by id, newest-first pages per model, and per-model aggregates (count, downloads). */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectFields } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { numberByKeyLoader, oneByKeyLoader, perPlan } from './sql-batch.ts';
import { partitionedPages } from './pages.ts';

export function createVersionLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelVersion');
  return {
    byId: perPlan((fields) =>
      oneByKeyLoader(
        db,
        `SELECT v."Id" AS "key", ${selectFields('ModelVersion', 'v', fields)} FROM "ModelVersions" v WHERE v."Id" IN ${JSON_LIST}`,
        map,
      ),
    ),
    pagesByModel: partitionedPages(db, (fields) => ({
      select: selectFields('ModelVersion', 'v', fields),
      from: `"ModelVersions" v`,
      parent: 'v."ModelId"',
      rows: { table: '"ModelVersions" v', id: 'v."Id"' },
      map,
    })),
    countByModel: numberByKeyLoader(
      db,
      `SELECT v."ModelId" AS "key", COUNT(*) AS "value" FROM "ModelVersions" v WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`,
    ),
    downloadsByModel: numberByKeyLoader(
      db,
      `SELECT v."ModelId" AS "key", SUM(v."DownloadCount") AS "value" FROM "ModelVersions" v WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`,
    ),
  };
}
