/**
 * Column references checked against the schema: `const m = table('Models', 'm'); m('Name')` is `m."Name"` in SQL,
 * and `m('Nmae')` fails `npm run typecheck`. Used where queries are written as SQL templates (window functions,
 * correlated subqueries, full-text search) rather than with Kysely's builder, which checks its own references.
 */
import { type AliasedRawBuilder, type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Database } from './schema.ts';

export type ColumnOf<T extends keyof Database> = Extract<keyof Database[T], string>;

export interface TableRef<T extends keyof Database> {
  (column: ColumnOf<T>): RawBuilder<unknown>;
  readonly tableName: T;
  readonly alias: string;
  /** The table as a FROM or JOIN item: `"Name" AS alias`. */
  readonly item: AliasedRawBuilder<unknown, string>;
}

export function table<T extends keyof Database>(name: T, alias: string): TableRef<T> {
  const ref = (column: ColumnOf<T>) => sql.ref(`${alias}.${column}`);
  return Object.assign(ref, { tableName: name, alias, item: sql`${sql.table(name)}`.as(alias) });
}

/**
 * Queries assembled by generic code (pages over any list, batches by key) are built untyped: the pieces they are
 * given — table refs, sort keys, filters — are what is checked, where each list is defined.
 */
// biome-ignore lint/suspicious/noExplicitAny: generic assembly of queries whose pieces are typed where defined
export type AnyDb = Kysely<any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
export type AnySelect = SelectQueryBuilder<any, any, any>;
