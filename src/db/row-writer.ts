/**
 * Writing rows in the formats both apps read: the driver stores booleans as 0/1 and instants as ISO-8601 text (see
 * `toSqlite`); 64-bit integers go in as bigint. Updates write only columns whose value really changed (compared as
 * instants for timestamps, so the desktop app's format is not rewritten needlessly), which is what makes a repeated
 * import a true no-op.
 */
import { sql } from 'kysely';
import type { CatalogTransaction } from './catalog-database.ts';
import type { Database } from './schema.ts';
import { executeShaped, slot } from './shaped.ts';
import { parseStoredTimestamp } from './timestamps.ts';

export type SqlValue = string | number | bigint | boolean | Date | Uint8Array | null;
export type RowValues = Record<string, SqlValue>;
export type Row = Record<string, unknown>;
export type CatalogTable = keyof Database;

/** Whether a stored cell already holds `next` (timestamps compared as instants, numbers across bigint/number). */
export function sameValue(stored: unknown, next: SqlValue): boolean {
  if (next === null || stored === null || stored === undefined) return (stored ?? null) === next;
  if (next instanceof Date) return parseStoredTimestamp(stored as string)?.getTime() === next.getTime();
  if (typeof next === 'boolean') return Number(stored) === (next ? 1 : 0);
  if (typeof next === 'bigint' || typeof stored === 'bigint')
    return BigInt(stored as number) === BigInt(next as number);
  if (next instanceof Uint8Array) return Buffer.isBuffer(stored) && Buffer.compare(stored, next) === 0;
  return stored === next;
}

/**
 * Inserts a row; returns its id (`RETURNING "Id"`: PostgreSQL has no last-insert id). Built once per table and set
 * of columns (see `shaped.ts`).
 */
export async function insertRow(trx: CatalogTransaction, table: CatalogTable, values: RowValues): Promise<number> {
  return Number((await insertReturning<{ Id: number }>(trx, table, values, 'id')).Id);
}

/** Inserts a row; returns it as stored, every column (one statement, no read after it). */
export function insertRowReturningAll<R extends Row>(
  trx: CatalogTransaction,
  table: CatalogTable,
  values: RowValues,
): Promise<R> {
  return insertReturning<R>(trx, table, values, 'all');
}

async function insertReturning<R>(
  trx: CatalogTransaction,
  table: CatalogTable,
  values: RowValues,
  returning: 'id' | 'all',
): Promise<R> {
  const columns = Object.keys(values);
  const build = () => {
    const insert = trx.insertInto(table).values(Object.fromEntries(columns.map((c) => [c, slot(c)])) as never);
    return returning === 'id' ? insert.returning(sql.ref('Id').as('Id')) : insert.returningAll();
  };
  const shape = `insert|${returning}|${table}|${columns.join(',')}`;
  const { rows } = await executeShaped<R>(trx, shape, build, values);
  return rows[0]!;
}

/**
 * Most parameters one multi-row INSERT takes: well below SQLite's (32,766) and PostgreSQL's (65,535) limits, and few
 * enough that the statements built once per row count stay few.
 */
const MAX_INSERT_PARAMETERS = 2000;

/**
 * Inserts rows that all set the same columns, many per statement (a version's images: one statement instead of one
 * per image, which was most of an import's statements).
 */
export async function insertRows(
  trx: CatalogTransaction,
  table: CatalogTable,
  rows: readonly RowValues[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.max(1, Math.floor(MAX_INSERT_PARAMETERS / Math.max(1, columns.length)));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const values: Record<string, unknown> = {};
    chunk.forEach((row, r) => {
      for (const column of columns) {
        if (!(column in row)) throw new Error(`insertRows(${table}): row ${start + r} lacks ${column}.`);
        values[`${r}:${column}`] = row[column];
      }
    });
    const build = () =>
      trx
        .insertInto(table)
        .values(chunk.map((_, r) => Object.fromEntries(columns.map((c) => [c, slot(`${r}:${c}`)]))) as never);
    await executeShaped(trx, `insertRows|${table}|${chunk.length}|${columns.join(',')}`, build, values);
  }
}

/** Told of each column an update changes, before it is written (the metadata history listens here). */
export type ColumnChangeSink = (
  table: CatalogTable,
  id: number,
  column: string,
  stored: unknown,
  next: SqlValue,
) => void;

/** Updates the columns of `values` that differ from `stored`; returns whether anything was written. */
export async function updateChanged(
  trx: CatalogTransaction,
  table: CatalogTable,
  id: number,
  stored: Row,
  values: RowValues,
  onChange?: ColumnChangeSink,
): Promise<boolean> {
  const changed = Object.entries(values).filter(([column, value]) => !sameValue(stored[column], value));
  if (changed.length === 0) return false;
  if (onChange) for (const [column, value] of changed) onChange(table, id, column, stored[column], value);
  const columns = changed.map(([column]) => column);
  const build = () =>
    trx
      .updateTable(table)
      .set(Object.fromEntries(columns.map((c) => [c, slot(`set:${c}`)])) as never)
      .where('Id' as never, '=', slot('id') as never);
  const slotValues: Record<string, unknown> = { id };
  for (const [column, value] of changed) slotValues[`set:${column}`] = value;
  await executeShaped(trx, `update|${table}|${columns.join(',')}`, build, slotValues);
  return true;
}
