/** A version's files (primary first, then by id), and files by id, each reading the columns its plan names. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { filesById, filesByVersion } from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { manyByKey, oneByKey, perPlan } from './batch.ts';

export function createFileLoaders(db: CatalogDatabase) {
  const map = rowMapper('ModelFile');
  return {
    byId: perPlan((fields) => oneByKey(filesById(db, fields), map)),
    byVersion: perPlan((fields) => manyByKey(filesByVersion(db, fields), map)),
  };
}
