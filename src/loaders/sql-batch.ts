/**
 * Batch functions over the raw connection. Every one is a single statement with the batch's keys passed as one
 * JSON array (`JSON_LIST`), so the statement text — and its prepared form — is the same for any batch size.
 */
import DataLoader from 'dataloader';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { rowFieldsKey, type RowFields } from './row-fields.ts';
import { yieldIfBusy } from '../db/request-scope.ts';

export type RawRow = Record<string, unknown>;

function rows(db: CatalogDatabase, sql: string, params: unknown[], safeIntegers: boolean): RawRow[] {
  const statement = db.statement(sql);
  return (safeIntegers ? statement.safeIntegers(true) : statement.safeIntegers(false)).all(...params) as RawRow[];
}

function keyOf(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

export interface BatchOptions {
  /** Read integers as bigint (tables with 64-bit columns). */
  safeIntegers?: boolean;
}

/** One row per key (or null). `sql` selects a `"key"` column and has one `${JSON_LIST}`. */
export function oneByKeyLoader<T>(
  db: CatalogDatabase,
  sql: string,
  map: (row: RawRow) => T,
  options: BatchOptions = {},
): DataLoader<number, T | null> {
  return new DataLoader(async (keys) => {
    await yieldIfBusy();
    const found = new Map<number, T>();
    for (const row of rows(db, sql, [JSON.stringify(keys)], options.safeIntegers ?? false))
      found.set(keyOf(row.key), map(row));
    return keys.map((key) => found.get(key) ?? null);
  });
}

/** Every row per key, in the statement's order. `sql` selects a `"key"` column and has one `${JSON_LIST}`. */
export function manyByKeyLoader<T>(
  db: CatalogDatabase,
  sql: string,
  map: (row: RawRow) => T,
  options: BatchOptions = {},
): DataLoader<number, T[]> {
  return new DataLoader(async (keys) => {
    await yieldIfBusy();
    const grouped = new Map<number, T[]>();
    for (const row of rows(db, sql, [JSON.stringify(keys)], options.safeIntegers ?? false)) {
      const key = keyOf(row.key);
      let list = grouped.get(key);
      if (!list) grouped.set(key, (list = []));
      list.push(map(row));
    }
    return keys.map((key) => grouped.get(key) ?? []);
  });
}

/** A number per key (0 when absent): `sql` is a scoped `SELECT … AS "key", … AS "value" … GROUP BY`. */
export function numberByKeyLoader(db: CatalogDatabase, sql: string): DataLoader<number, number> {
  return new DataLoader(async (keys) => {
    await yieldIfBusy();
    const found = new Map<number, number>();
    for (const row of rows(db, sql, [JSON.stringify(keys)], false)) found.set(keyOf(row.key), Number(row.value));
    return keys.map((key) => found.get(key) ?? 0);
  });
}

export function allRows(db: CatalogDatabase, sql: string, params: unknown[], options: BatchOptions = {}): RawRow[] {
  return rows(db, sql, params, options.safeIntegers ?? false);
}

/**
 * A family of loaders, one per row-field plan (made on first use, per request): rows read for one plan never
 * answer a query that needs another. Called without a plan, it reads every column.
 */
export function perPlan<L>(make: (fields: RowFields) => L): (fields?: RowFields) => L {
  const made = new Map<string, L>();
  return (fields = null) => {
    const key = rowFieldsKey(fields);
    let loader = made.get(key);
    if (!loader) made.set(key, (loader = make(fields)));
    return loader;
  };
}
