/**
 * Hash look-ups for a whole request in one statement per algorithm present (at most six), each matching every
 * requested value at once through the algorithm's index.
 */
import DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowMapper, selectFields } from '../db/row-mapping.ts';
import { unionRowFields, type RowFields } from './row-fields.ts';
import { JSON_LIST } from '../db/sql.ts';
import type { ModelFile } from '../generated/prisma/client.ts';
import {
  HASH_ALGORITHMS,
  HASH_MATCH_SQL,
  matchValues,
  type HashAlgorithm,
  type HashQuery,
} from '../catalog/hash-lookup.ts';
import { allRows, perPlan } from './sql-batch.ts';
import { yieldIfBusy } from '../db/request-scope.ts';

export interface MatchedFile {
  file: ModelFile;
  algorithm: HashAlgorithm;
}

/** Present, verified local files first: that is the copy a script looking up its own files wants. */
function preference(match: MatchedFile): [number, number] {
  return [match.file.localPath !== null && match.file.isLocalFileValid ? 0 : 1, match.file.id];
}

function byPreference(a: MatchedFile, b: MatchedFile): number {
  const [pa, ia] = preference(a);
  const [pb, ib] = preference(b);
  return pa - pb || ia - ib;
}

/** What ranking and exact AutoV3 matching read, whatever the query selects. */
const MATCHING_FIELDS = ['id', 'localPath', 'isLocalFileValid', 'hashAutoV3'];

function createHashLoader(db: CatalogDatabase, fields: RowFields) {
  const map = rowMapper('ModelFile');
  const columns = selectFields('ModelFile', 'f', fields === null ? null : unionRowFields(fields, MATCHING_FIELDS));
  const sqlFor = (algorithm: HashAlgorithm) =>
    `SELECT ${columns}, ${HASH_MATCH_SQL[algorithm]} AS "matchKey" FROM "ModelFiles" f WHERE ${HASH_MATCH_SQL[algorithm]} IN ${JSON_LIST}`;

  return new DataLoader<HashQuery, MatchedFile[], string>(
    async (queries) => {
      await yieldIfBusy();
      const wanted = new Map<HashAlgorithm, Set<string>>();
      for (const query of queries) {
        for (const algorithm of query.algorithms) {
          let values = wanted.get(algorithm);
          if (!values) wanted.set(algorithm, (values = new Set()));
          for (const value of matchValues(algorithm, query.hash)) values.add(value);
        }
      }
      const found = new Map<HashAlgorithm, Map<string, ModelFile[]>>();
      for (const algorithm of HASH_ALGORITHMS) {
        const values = wanted.get(algorithm);
        if (!values) continue;
        const byKey = new Map<string, ModelFile[]>();
        for (const row of allRows(db, sqlFor(algorithm), [JSON.stringify([...values])])) {
          const key = row.matchKey as string;
          let list = byKey.get(key);
          if (!list) byKey.set(key, (list = []));
          list.push(map(row));
        }
        found.set(algorithm, byKey);
      }
      return queries.map((query) => {
        const matches = new Map<number, MatchedFile>();
        for (const algorithm of query.algorithms) {
          for (const value of matchValues(algorithm, query.hash)) {
            for (const file of found.get(algorithm)?.get(value) ?? []) {
              const exact =
                algorithm !== 'AUTOV3' || query.hash.length === 12 || file.hashAutoV3?.toUpperCase() === query.hash;
              if (exact && !matches.has(file.id)) matches.set(file.id, { file, algorithm });
            }
          }
        }
        return [...matches.values()].sort(byPreference);
      });
    },
    { cacheKeyFn: (query) => `${query.algorithms.join(',')}|${query.hash}` },
  );
}

export function createHashLoaders(db: CatalogDatabase) {
  /** Matches per hash query, best first, each file with the columns of the plan (plus what matching reads). */
  return { byQuery: perPlan((fields) => createHashLoader(db, fields)) };
}
