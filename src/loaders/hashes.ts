/**
 * Hash look-ups in one statement per algorithm present (at most six), each matching every requested value at once
 * through the algorithm's index: a request's `fileByHash` fields together (a DataLoader), a `filesByHashes` batch
 * by itself.
 */
import DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { filesByHash } from '../db/reads.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { unionRowFields, type RowFields } from './row-fields.ts';
import type { ModelFile } from '../generated/prisma/client.ts';
import { HASH_ALGORITHMS, matchValues, type HashAlgorithm, type HashQuery } from '../catalog/hash-lookup.ts';
import { perPlan } from './batch.ts';

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

const mapFile = rowMapper('ModelFile');

/** What ranking and exact AutoV3 matching read, whatever the query selects. */
const MATCHING_FIELDS = ['id', 'localPath', 'isLocalFileValid', 'hashAutoV3'];

/** Matches for a batch of hash queries, in their order: one statement per algorithm present. */
function hashMatcher(db: CatalogDatabase, fields: RowFields) {
  const planned = fields === null ? null : unionRowFields(fields, MATCHING_FIELDS);

  return async (queries: readonly HashQuery[]): Promise<MatchedFile[][]> => {
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
      for (const row of await filesByHash(db, algorithm, [...values], planned)) {
        const key = row.matchKey as string;
        let list = byKey.get(key);
        if (!list) byKey.set(key, (list = []));
        list.push(mapFile(row));
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
  };
}

export function createHashLoaders(db: CatalogDatabase) {
  return {
    /** Matches per hash query, best first, each file with the columns of the plan (plus what matching reads). */
    byQuery: perPlan(
      (fields) =>
        new DataLoader<HashQuery, MatchedFile[], string>(hashMatcher(db, fields), {
          cacheKeyFn: (query) => `${query.algorithms.join(',')}|${query.hash}`,
        }),
    ),
    /**
     * The same for a whole batch at once (`filesByHashes`, up to a thousand queries): without a DataLoader's promise
     * and cache entry per query, which were a tenth of what a 1,000-hash look-up allocated.
     */
    byQueries: (fields: RowFields, queries: readonly HashQuery[]) => hashMatcher(db, fields)(queries),
  };
}
