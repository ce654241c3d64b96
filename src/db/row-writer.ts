/**
 * Writing rows with raw SQL in the formats both apps read: booleans 0/1, timestamps as ISO-8601 text (Prisma's
 * `…T…+00:00` form), 64-bit integers as bigint. Updates write only columns whose value really changed (compared as
 * instants for timestamps, so the desktop app's format is not rewritten needlessly), which is what makes a
 * repeated import a true no-op.
 */
import type { CatalogDatabase } from './catalog-database.ts';
import { parseStoredTimestamp, toStoredTimestamp } from './timestamps.ts';

export type SqlValue = string | number | bigint | boolean | Date | Uint8Array | null;
export type RowValues = Record<string, SqlValue>;


export function toSqlValue(value: SqlValue): string | number | bigint | Uint8Array | null {
  if (value instanceof Date) return toStoredTimestamp(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

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

function quoted(column: string): string {
  return `"${column.replace(/"/g, '""')}"`;
}

/** Inserts a row; returns its id. */
export function insertRow(db: CatalogDatabase, table: string, values: RowValues): number {
  const columns = Object.keys(values);
  const sql = `INSERT INTO ${quoted(table)} (${columns.map(quoted).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  return Number(db.statement(sql).run(...columns.map((c) => toSqlValue(values[c]!))).lastInsertRowid);
}

/** Updates the columns of `values` that differ from `stored`; returns whether anything was written. */
export function updateChanged(
  db: CatalogDatabase,
  table: string,
  id: number,
  stored: Record<string, unknown>,
  values: RowValues,
): boolean {
  const changed = Object.keys(values).filter((column) => !sameValue(stored[column], values[column]!));
  if (changed.length === 0) return false;
  const sql = `UPDATE ${quoted(table)} SET ${changed.map((c) => `${quoted(c)} = ?`).join(', ')} WHERE "Id" = ?`;
  db.statement(sql).run(...changed.map((c) => toSqlValue(values[c]!)), id);
  return true;
}
