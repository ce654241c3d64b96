/** A version's files (primary first, then by id). */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { JSON_LIST } from '../db/sql.ts';
import { manyByKeyLoader, oneByKeyLoader } from './sql-batch.ts';

export function createFileLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelFile');
  const columns = selectList('ModelFile', 'f');
  return {
    byId: oneByKeyLoader(db, `SELECT f."Id" AS "key", ${columns} FROM "ModelFiles" f WHERE f."Id" IN ${JSON_LIST}`, map),
    byVersion: manyByKeyLoader(db, `SELECT f."ModelVersionId" AS "key", ${columns} FROM "ModelFiles" f
      WHERE f."ModelVersionId" IN ${JSON_LIST} ORDER BY f."IsPrimary" DESC, f."Id"`, map),
  };
}
