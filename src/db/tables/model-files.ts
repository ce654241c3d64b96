/**
 * ModelFiles: what its columns mean, stated once. Hashes are upper-case hex as Civitai publishes them, but rows
 * written by other tools may be lower-case: every look-up compares `upper(column)`, served by the expression indexes
 * of the AddLookupIndexes migration (which must match these expressions). A local copy is present when the row has
 * a path and its last check succeeded.
 */
import { PostgresAdapter, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { HashAlgorithm } from '../../catalog/hash-lookup.ts';
import type { CatalogQueries, CatalogTransaction } from '../catalog-database.ts';
import type { SqlDialect } from '../dialect.ts';
import { type TableRef, table } from '../refs.ts';
import { runShaped, slot } from '../shaped.ts';
import type { Row, RowValues } from '../row-writer.ts';

/** A new file row's facts that a payload may leave out (Civitai omits `primary` for the files that are not). */
export const NEW_FILE_DEFAULTS = {
  SizeKB: 0,
  FileType: 'Model',
  IsPrimary: false,
  Format: 'Unknown',
  Precision: 'Unknown',
  SizeType: 'Unknown',
  PickleScanResult: 'Pending',
  VirusScanResult: 'Pending',
} as const satisfies RowValues;

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

/**
 * `FileSizeBytes`, a file's exact size: a column the desktop app adds in its newer databases (its AddFileSizeBytes
 * migration) that our schema does not declare, so a catalog may or may not have it. `SizeKB`, in every catalog, is
 * Civitai's figure for a Civitai file.
 */
export const FILE_SIZE_BYTES = 'FileSizeBytes';

/** Which optional desktop-app columns of ModelFiles this database has. */
export interface OptionalFileColumns {
  readonly fileSizeBytes: boolean;
}

/**
 * Asked again by every caller (a scan asks once when it starts): the desktop app may add the column to a file this
 * process already has open, and one look at the table's columns costs next to nothing beside a scan.
 */
export async function optionalFileColumns(db: CatalogQueries): Promise<OptionalFileColumns> {
  // The desktop app's columns exist only in SQLite files it shares; a PostgreSQL catalog has the schema's columns.
  if (db.getExecutor().adapter instanceof PostgresAdapter) return { fileSizeBytes: false };
  const { rows } = await sql<{
    name: string;
  }>`SELECT name FROM pragma_table_info(${'ModelFiles'}) WHERE name = ${FILE_SIZE_BYTES}`.execute(db);
  return { fileSizeBytes: rows.length > 0 };
}

/** The exact-size column set to `bytes`, where the database has it; nothing where it does not. */
export function exactSizeValues(bytes: number, columns: OptionalFileColumns): RowValues {
  return columns.fileSizeBytes ? { [FILE_SIZE_BYTES]: BigInt(bytes) } : {};
}

/** A present, verified local copy. */
export function localFilePresent(f: TableRef<'ModelFiles'> = files): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${f('LocalPath')} IS NOT NULL AND ${f('IsLocalFileValid')} = TRUE)`;
}

/** A version's rows of one file: by Civitai id, else (files Civitai gave no id) by name. Several when it was downloaded twice. */
export function filesOfVersion(
  trx: CatalogTransaction,
  versionId: number,
  file: { civitaiId: number | null; fileName: string },
): Promise<Row[]> {
  const byId = file.civitaiId !== null;
  const build = () => {
    const query = trx.selectFrom('ModelFiles').selectAll().where('ModelVersionId', '=', slot<number>('versionId'));
    return byId
      ? query.where('CivitaiId', '=', slot<number>('civitaiId'))
      : query.where('CivitaiId', 'is', null).where('FileName', '=', slot('fileName'));
  };
  const values = byId ? { versionId, civitaiId: file.civitaiId } : { versionId, fileName: file.fileName };
  return runShaped<Row>(trx, `filesOfVersion|${byId}`, build, values);
}

/** For each of `civitaiIds` held by a version other than `versionId`: that version (one statement). */
export async function versionsHoldingFiles(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  civitaiIds: readonly number[],
): Promise<Map<number, number[]>> {
  const holders = new Map<number, number[]>();
  if (civitaiIds.length === 0) return holders;
  const build = () =>
    trx
      .selectFrom('ModelFiles')
      .select(['CivitaiId', 'ModelVersionId'])
      .where(dialect.inListParameter('CivitaiId', slot('ids')))
      .orderBy('Id');
  const rows = await runShaped<{ CivitaiId: number; ModelVersionId: number }>(
    trx,
    `${dialect.name}|versionsHoldingFiles`,
    build,
    { ids: dialect.listParameter(civitaiIds) },
  );
  for (const row of rows) {
    const list = holders.get(row.CivitaiId);
    if (list) list.push(row.ModelVersionId);
    else holders.set(row.CivitaiId, [row.ModelVersionId]);
  }
  return holders;
}

export function fileById(trx: CatalogTransaction, id: number): Promise<Row | undefined> {
  return trx.selectFrom('ModelFiles').selectAll().where('Id', '=', id).executeTakeFirst();
}

/** What `hashMatch(algorithm)` computes, in JavaScript: upper-case as SQL's upper() does (ASCII letters only). */
export function hashKey(algorithm: HashAlgorithm, row: Row): string | null {
  const value = row[HASH_COLUMNS[algorithm]] as string | null;
  if (value === null) return null;
  return (algorithm === 'AUTOV3' ? value.slice(0, 12) : value).replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

/**
 * Catalog files matching any of `wanted` (upper-case hex, an AutoV3 by its first 12 digits: see `hashMatch`), by id,
 * in one statement: each branch of the OR is served by its expression index. `hashKey` tells which branch a row
 * matched.
 */
export function filesWithAnyHash(db: CatalogQueries, wanted: Partial<Record<HashAlgorithm, string>>): Promise<Row[]> {
  const branches = Object.entries(wanted) as [HashAlgorithm, string][];
  return db
    .selectFrom(files.item)
    .selectAll()
    .where((eb) => eb.or(branches.map(([algorithm, value]) => eb(hashMatch(algorithm), '=', value))))
    .orderBy(files('Id'))
    .execute();
}

/** The catalog file `id` when its model was created from a local file alone (no Civitai identity). */
export function localOnlyModelFile(db: CatalogQueries, id: number): Promise<Row | undefined> {
  return db
    .selectFrom('ModelFiles as f')
    .innerJoin('ModelVersions as v', 'v.Id', 'f.ModelVersionId')
    .innerJoin('Models as m', 'm.Id', 'v.ModelId')
    .selectAll('f')
    .where('f.Id', '=', id)
    .where('m.Source', '=', 'LocalFile')
    .where('m.CivitaiId', 'is', null)
    .executeTakeFirst();
}

export async function versionOfFile(db: CatalogQueries, id: number): Promise<number | null> {
  const row = await db.selectFrom('ModelFiles').select('ModelVersionId').where('Id', '=', id).executeTakeFirst();
  return row?.ModelVersionId ?? null;
}
