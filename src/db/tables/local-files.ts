/**
 * LocalFiles: the scanner's index of files under the library roots, one row per absolute, symlink-free path, with
 * what the last scan saw (size, mtime, hashes) and the catalog file it was linked to. `MissingSince` is set when a
 * scan no longer finds the path; the row is kept so a move can be recognised.
 */
import path from 'node:path';
import { type SqlBool, sql } from 'kysely';
import type { CatalogQueries, CatalogTransaction } from '../catalog-database.ts';
import type { SqlDialect } from '../dialect.ts';
import { insertRowReturningAll, type Row, type RowValues, updateChanged } from '../row-writer.ts';
import { toStoredTimestamp } from '../timestamps.ts';
import { FILE_SIZE_BYTES, HASH_FIELDS, type OptionalFileColumns } from './model-files.ts';

export interface LocalFileRow {
  Id: number;
  Path: string;
  Size: number;
  MtimeMs: number;
  HashSHA256: string | null;
  HashAutoV1: string | null;
  HashAutoV2: string | null;
  HashAutoV3: string | null;
  HashCRC32: string | null;
  HashBLAKE3: string | null;
  MissingSince: string | null;
  SidecarMtimeMs: number | null;
  PreviewMtimeMs: number | null;
  ModelFileId: number | null;
}

/** The columns of a LocalFiles row that hold the file's hashes (named as the catalog's). */
const HASH_COLUMNS = Object.values(HASH_FIELDS);
type HashColumn = (typeof HASH_FIELDS)[keyof typeof HASH_FIELDS];

/** The hashes an unchanged file is known by; a row lacking one of them is hashed again (see `hashesOf`). */
export const REQUIRED_HASH_COLUMNS = ['HashSHA256', 'HashAutoV2', 'HashCRC32', 'HashBLAKE3'] as const;

/**
 * A LocalFiles row as a rescan reads it: without its hashes (`storedHashRows` reads them for the few files that
 * need them; 50,000 rows' hash texts were most of a rescan's read), with whether its catalog link is settled (see
 * `localFilesUnder`).
 */
export type IndexedLocalFile = Omit<LocalFileRow, HashColumn> & {
  /** 1 when linking the file again, unchanged, would write nothing but the time it was verified; else 0. */
  LinkSettled: number;
  /** 1 when the row was last seen at or after the `seenSince` the rows were read with; else 0. */
  SeenSince: number;
  /** 1 when the row holds every one of `REQUIRED_HASH_COLUMNS`; else 0. */
  HasHashes: number;
};

/**
 * LocalFiles rows below `root` (a prefix range on the unique Path index), in one statement: a rescan compares every
 * file it walks with these in memory and touches the database only for changes. `LinkSettled` is decided here, by
 * the database, so the linked catalog file's columns are not read into JavaScript for every file: the row is present and
 * linked to a catalog file that points back at this path and is valid, has this content by SHA-256 or BLAKE3 (what
 * the linker matches first), lacks none of the hashes the index has, and has the file's exact size where the catalog
 * has that column — what `linkToCatalog` would otherwise find and leave as it is.
 */
export async function localFilesUnder(
  db: CatalogQueries,
  root: string,
  columns: OptionalFileColumns,
  seenSince: Date,
): Promise<IndexedLocalFile[]> {
  const prefix = root.endsWith(path.sep) ? root : `${root}${path.sep}`;
  const lf = (column: string) => sql.ref(`lf.${column}`);
  const mf = (column: string) => sql.ref(`mf.${column}`);
  const conditions = [
    sql`${lf('MissingSince')} IS NULL`,
    sql`${mf('LocalPath')} = ${lf('Path')}`,
    sql`${mf('IsLocalFileValid')} = TRUE`,
    sql`(upper(${mf('HashSHA256')}) = ${lf('HashSHA256')} OR upper(${mf('HashBLAKE3')}) = ${lf('HashBLAKE3')})`,
    ...Object.values(HASH_FIELDS).map((column) => sql`(${mf(column)} IS NOT NULL OR ${lf(column)} IS NULL)`),
    ...(columns.fileSizeBytes ? [sql`${mf(FILE_SIZE_BYTES)} = ${lf('Size')}`] : []),
  ];
  return (await db
    .selectFrom('LocalFiles as lf')
    .leftJoin('ModelFiles as mf', 'mf.Id', 'lf.ModelFileId')
    .select([
      'lf.Id',
      'lf.Path',
      'lf.Size',
      'lf.MtimeMs',
      'lf.MissingSince',
      'lf.SidecarMtimeMs',
      'lf.PreviewMtimeMs',
      'lf.ModelFileId',
      // 1/0 from a condition that may be NULL (no linked row): a CASE, as PostgreSQL has no boolean → integer mix.
      sql<number>`CASE WHEN ${sql.join(conditions, sql` AND `)} THEN 1 ELSE 0 END`.as('LinkSettled'),
      // Compared by the database (SQLite: the one text format this table is written in sorts as time does).
      sql<number>`CASE WHEN ${lf('LastSeenAt')} >= ${seenSince} THEN 1 ELSE 0 END`.as('SeenSince'),
      sql<number>`CASE WHEN ${sql.join(
        REQUIRED_HASH_COLUMNS.map((column) => sql`${lf(column)} IS NOT NULL`),
        sql` AND `,
      )} THEN 1 ELSE 0 END`.as('HasHashes'),
    ])
    .where('lf.Path', '>=', prefix)
    .where('lf.Path', '<', `${prefix}\uffff`)
    .execute()) as unknown as IndexedLocalFile[];
}

/** The rows of `ids` with their size and hashes (for `hashesOf`), in one statement. */
export function storedHashRows(
  db: CatalogQueries,
  dialect: SqlDialect,
  ids: readonly number[],
): Promise<Pick<LocalFileRow, 'Id' | 'Size' | HashColumn>[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('LocalFiles')
    .select(['Id', 'Size', ...HASH_COLUMNS])
    .where(dialect.inList('Id', ids))
    .execute() as Promise<Pick<LocalFileRow, 'Id' | 'Size' | HashColumn>[]>;
}

/**
 * What a rescan records of files it found as it left them, in two statements for any number: the index rows were
 * seen now, their catalog files verified now (the same as linking each again would write; `LocalFileVerifiedAt`
 * is not history).
 */
export async function markSeenUnchanged(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  localFileIds: readonly number[],
  modelFileIds: readonly number[],
  now: Date,
): Promise<void> {
  const stamp = toStoredTimestamp(now);
  if (localFileIds.length > 0)
    await trx.updateTable('LocalFiles').set({ LastSeenAt: stamp }).where(dialect.inList('Id', localFileIds)).execute();
  if (modelFileIds.length > 0)
    await trx
      .updateTable('ModelFiles')
      .set({ LocalFileVerifiedAt: stamp })
      .where(dialect.inList('Id', modelFileIds))
      .execute();
}

export function localFileAt(db: CatalogQueries, filePath: string): Promise<LocalFileRow | undefined> {
  return db.selectFrom('LocalFiles').selectAll().where('Path', '=', filePath).executeTakeFirst() as Promise<
    LocalFileRow | undefined
  >;
}

/** Inserts or updates the row of `filePath` with `values`; returns the row as stored. */
export async function upsertLocalFile(
  trx: CatalogTransaction,
  filePath: string,
  values: RowValues,
  firstSeenAt: Date,
): Promise<LocalFileRow> {
  const existing = await localFileAt(trx, filePath);
  if (!existing)
    return insertRowReturningAll<LocalFileRow & Row>(trx, 'LocalFiles', {
      ...values,
      Path: filePath,
      FirstSeenAt: firstSeenAt,
    });
  await updateChanged(trx, 'LocalFiles', existing.Id, { ...existing }, values);
  return (await localFileAt(trx, filePath))!;
}

export async function setPreviewMtime(
  trx: CatalogTransaction,
  id: number,
  previewMtimeMs: number | null,
): Promise<void> {
  await trx.updateTable('LocalFiles').set({ PreviewMtimeMs: previewMtimeMs }).where('Id', '=', id).execute();
}

export async function linkLocalFile(trx: CatalogTransaction, id: number, modelFileId: number): Promise<void> {
  await trx.updateTable('LocalFiles').set({ ModelFileId: modelFileId }).where('Id', '=', id).execute();
}

/** The path is gone: its index row and the catalog files that pointed at it are marked. */
export async function markPathMissing(
  trx: CatalogTransaction,
  row: Pick<LocalFileRow, 'Id' | 'Path'>,
  now: Date,
): Promise<void> {
  const stamp = toStoredTimestamp(now);
  await trx.updateTable('LocalFiles').set({ MissingSince: stamp }).where('Id', '=', row.Id).execute();
  await trx
    .updateTable('ModelFiles')
    .set({ IsLocalFileValid: 0, LocalFileVerifiedAt: stamp })
    .where('LocalPath', '=', row.Path)
    .execute();
}

/** Present, hashed files grouped by content (size and SHA-256), the contents held more than once. */
function duplicatedGroups(db: CatalogQueries) {
  return db
    .selectFrom('LocalFiles')
    .where('MissingSince', 'is', null)
    .where('HashSHA256', 'is not', null)
    .groupBy(['Size', 'HashSHA256'])
    .having(sql<SqlBool>`COUNT(*) > 1`);
}

/** Contents (size and SHA-256) present more than once, the most bytes wasted on extra copies first. */
export function duplicatedContents(db: CatalogQueries, limit: number): Promise<{ size: string; sha256: string }[]> {
  return duplicatedGroups(db)
    .select([
      sql<string>`CAST(${sql.ref('Size')} AS TEXT)`.as('size'),
      sql<string>`${sql.ref('HashSHA256')}`.as('sha256'),
    ])
    .orderBy(sql`${sql.ref('Size')} * (COUNT(*) - 1) DESC, ${sql.ref('HashSHA256')}`)
    .limit(limit)
    .execute();
}

/** All of `duplicatedContents` counted: how many contents are held more than once, and the copies beyond the first. */
export async function duplicateTotals(db: CatalogQueries): Promise<{ contents: number; extraCopies: number }> {
  const row = await db
    .selectFrom(duplicatedGroups(db).select(sql<number>`COUNT(*)`.as('copies')).as('d'))
    .select([
      sql<number>`COUNT(*)`.as('contents'),
      sql<number>`COALESCE(SUM(${sql.ref('d.copies')} - 1), 0)`.as('extraCopies'),
    ])
    .executeTakeFirstOrThrow();
  return { contents: Number(row.contents), extraCopies: Number(row.extraCopies) };
}

/** The present copies of one content, by path. */
export function copiesOf(
  db: CatalogQueries,
  size: string,
  sha256: string,
): Promise<Pick<LocalFileRow, 'Path' | 'MtimeMs' | 'ModelFileId'>[]> {
  return db
    .selectFrom('LocalFiles')
    .select(['Path', 'MtimeMs', 'ModelFileId'])
    .where(sql<SqlBool>`${sql.ref('Size')} = CAST(${size} AS INTEGER)`)
    .where('HashSHA256', '=', sha256)
    .where('MissingSince', 'is', null)
    .orderBy('Path')
    .execute();
}
