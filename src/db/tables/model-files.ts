/**
 * ModelFiles: what its columns mean, stated once. Hashes are upper-case hex as Civitai publishes them, but rows
 * written by other tools may be lower-case: every look-up compares `upper(column)`, served by the expression indexes
 * of the AddLookupIndexes migration (which must match these expressions). A local copy is present when the row has
 * a path and its last check succeeded.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { HashAlgorithm } from '../../catalog/hash-lookup.ts';
import { type TableRef, table } from '../refs.ts';

export const files = table('ModelFiles', 'f');

/** The hash columns, by algorithm and by the name the scan and the API use. */
export const HASH_COLUMNS = {
  AUTOV1: 'HashAutoV1',
  AUTOV2: 'HashAutoV2',
  AUTOV3: 'HashAutoV3',
  SHA256: 'HashSHA256',
  CRC32: 'HashCRC32',
  BLAKE3: 'HashBLAKE3',
} as const satisfies Record<HashAlgorithm, string>;

export const HASH_FIELDS = {
  autoV1: 'HashAutoV1',
  autoV2: 'HashAutoV2',
  autoV3: 'HashAutoV3',
  sha256: 'HashSHA256',
  crc32: 'HashCRC32',
  blake3: 'HashBLAKE3',
} as const;
export type HashField = keyof typeof HASH_FIELDS;

/** The indexed expression an algorithm is matched on (an AutoV3 is found by its first 12 digits, as Civitai shows it). */
export function hashMatch(algorithm: HashAlgorithm, f: TableRef<'ModelFiles'> = files): RawBuilder<string> {
  if (algorithm === 'AUTOV3') return sql<string>`upper(substr(${f('HashAutoV3')}, 1, 12))`;
  return sql<string>`upper(${f(HASH_COLUMNS[algorithm])})`;
}

/** A present, verified local copy. */
export function localFilePresent(f: TableRef<'ModelFiles'> = files): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${f('LocalPath')} IS NOT NULL AND ${f('IsLocalFileValid')} = 1)`;
}
