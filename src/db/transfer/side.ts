/**
 * What a transfer needs of each engine: read a table in key order, a batch at a time (a source, and a target
 * reading back what it wrote), and for a target, insert rows and set where its id sequences continue. Batches keep
 * memory bounded: at most `batchRows` rows, fewer when rows are large (thumbnails, payloads), so a 70,000-model
 * catalog is never held at once.
 */
import { AppError } from '../../errors.ts';
import type { ColumnKind, PlannedTable } from './plan.ts';
import { type Canonical, canonical, InvalidValue, sizeOf } from './values.ts';

export interface ReadSide {
  /** How messages name the catalog (a path, or a URL without its password). */
  readonly label: string;
  count(table: PlannedTable): Promise<number>;
  /** Rows whose key comes after `after` (from the start when null), in key order, at most `limit`, as the driver returns them. */
  rowsAfter(table: PlannedTable, after: readonly unknown[] | null, limit: number): Promise<unknown[][]>;
  /** The id the table's sequence would hand out next, or null when it has none (or never handed one out). */
  nextId(table: PlannedTable): Promise<number | null>;
}

export interface WriteSide extends ReadSide {
  insert(table: PlannedTable, rows: readonly (readonly Canonical[])[]): Promise<void>;
  /** Makes the table's sequence hand out `next` (or more) next: new rows never reuse a copied id. */
  setNextId(table: PlannedTable, next: number): Promise<void>;
}

/** Most bytes of values one batch holds (checked after each batch; the next one is made smaller when it was more). */
export const BATCH_BYTES = 16 * 2 ** 20;
/** Rows per batch unless `--batch-size` says otherwise. */
export const DEFAULT_BATCH_ROWS = 1000;
/** More rows per batch only make batches of large rows heavier (the byte budget caps them anyway). */
export const MAX_BATCH_ROWS = 100_000;

export interface Batch {
  rows: Canonical[][];
  /** What the rows' values weigh (`sizeOf`). */
  bytes: number;
}

/**
 * The rows as the target's parameters (`convert` is the target engine's `toPostgres`/`toSqlite`); a value the target
 * cannot take is INVALID_SOURCE_ROW naming the source's row.
 */
export function convertRows(
  source: string,
  table: PlannedTable,
  rows: readonly (readonly Canonical[])[],
  convert: (kind: ColumnKind, value: Canonical) => unknown,
): unknown[][] {
  return rows.map((row) =>
    table.columns.map((column, i) => {
      try {
        return convert(column.kind, row[i]!);
      } catch (error) {
        if (!(error instanceof InvalidValue)) throw error;
        throw invalidRow(source, table, row, `${column.name}: ${error.message}`);
      }
    }),
  );
}

/** `SELECT` of a batch: the table's columns, after a key (`(a, b) > (…)`) when `after`, in key order, `LIMIT`. */
export function batchSelect(table: PlannedTable, after: boolean, parameter: (position: number) => string): string {
  const quote = (name: string) => `"${name}"`;
  const key = table.key.map(quote).join(', ');
  const where = after ? ` WHERE (${key}) > (${table.key.map((_, i) => parameter(i + 1)).join(', ')})` : '';
  const limit = parameter(after ? table.key.length + 1 : 1);
  return `SELECT ${table.columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(table.name)}${where} ORDER BY ${key} LIMIT ${limit}`;
}

/** `1 row`, `60 rows`: counts in messages. */
export function rowsText(count: number | bigint): string {
  return `${count} row${Number(count) === 1 ? '' : 's'}`;
}

/** A row's key for messages: `Id 42`, `ModelId 3, TagId 7`. */
export function keyText(table: PlannedTable, row: readonly unknown[]): string {
  return table.key.map((name, i) => `${name} ${String(row[table.keyIndexes[i]!])}`).join(', ');
}

export function invalidRow(side: string, table: PlannedTable, row: readonly unknown[], detail: string): AppError {
  return new AppError(
    'INVALID_SOURCE_ROW',
    `${side}: ${table.name} row ${keyText(table, row)}: ${detail}. Nothing was kept; fix the row and run again.`,
    { table: table.name },
  );
}

/** Every row of `table` on `side`, in key order, canonical, a bounded batch at a time. */
export async function* canonicalBatches(side: ReadSide, table: PlannedTable, batchRows: number): AsyncGenerator<Batch> {
  let after: unknown[] | null = null;
  let limit = batchRows;
  for (;;) {
    const raw = await side.rowsAfter(table, after, limit);
    if (raw.length === 0) return;
    let bytes = 0;
    const rows = raw.map((values) =>
      table.columns.map((column, i) => {
        try {
          const value = canonical(column.kind, values[i]);
          bytes += sizeOf(value);
          return value;
        } catch (error) {
          if (!(error instanceof InvalidValue)) throw error;
          throw invalidRow(side.label, table, values, `${column.name}: ${error.message}`);
        }
      }),
    );
    yield { rows, bytes };
    if (raw.length < limit) return;
    const last = raw[raw.length - 1]!;
    after = table.keyIndexes.map((i) => last[i]);
    limit =
      bytes > BATCH_BYTES
        ? Math.max(1, Math.floor((raw.length * BATCH_BYTES) / bytes))
        : Math.min(batchRows, limit * 2);
  }
}
