/**
 * Writing rows in the formats both apps read: the driver stores booleans as 0/1 and instants as ISO-8601 text (see
 * `toSqlite`); 64-bit integers go in as bigint. Updates write only columns whose value really changed (compared as
 * instants for timestamps, so the desktop app's format is not rewritten needlessly), which is what makes a repeated
 * import a true no-op.
 */
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

/** Inserts a row; returns its id. Built once per table and set of columns (see `shaped.ts`). */
export async function insertRow(trx: CatalogTransaction, table: CatalogTable, values: RowValues): Promise<number> {
  const columns = Object.keys(values);
  const build = () => trx.insertInto(table).values(Object.fromEntries(columns.map((c) => [c, slot(c)])) as never);
  const { insertId } = await executeShaped(trx, `insert|${table}|${columns.join(',')}`, build, values);
  return Number(insertId);
}

/** Updates the columns of `values` that differ from `stored`; returns whether anything was written. */
export async function updateChanged(
  trx: CatalogTransaction,
  table: CatalogTable,
  id: number,
  stored: Row,
  values: RowValues,
): Promise<boolean> {
  const changed = Object.entries(values).filter(([column, value]) => !sameValue(stored[column], value));
  if (changed.length === 0) return false;
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
