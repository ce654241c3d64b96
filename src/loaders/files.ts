/** A version's files (primary first, then by id), and files by id, each reading the columns its plan names. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectFields } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { manyByKeyLoader, oneByKeyLoader, perPlan } from './sql-batch.ts';

export function createFileLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelFile');
  return {
    byId: perPlan((fields) =>
      oneByKeyLoader(
        db,
        `SELECT f."Id" AS "key", ${selectFields('ModelFile', 'f', fields)} FROM "ModelFiles" f WHERE f."Id" IN ${JSON_LIST}`,
        map,
      ),
    ),
    byVersion: perPlan((fields) =>
      manyByKeyLoader(
        db,
        `SELECT f."ModelVersionId" AS "key", ${selectFields('ModelFile', 'f', fields)} FROM "ModelFiles" f
      WHERE f."ModelVersionId" IN ${JSON_LIST} ORDER BY f."IsPrimary" DESC, f."Id"`,
        map,
      ),
    ),
  };
}
