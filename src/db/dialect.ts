/**
 * What differs between database engines, in one small seam: how a list of keys becomes one parameter, how a
 * stored timestamp compares and sorts. Everything else is plain Kysely, whose builders compile per
 * engine.
 */
import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import { UTC_TIMESTAMP_FORMAT } from './timestamps.ts';

export type EngineName = 'sqlite' | 'postgres';

export interface SqlDialect {
  readonly name: EngineName;
  /**
   * `expression IN (values)` with the values as one parameter, so the statement text — and its prepared form —
   * is the same for any number of values (DataLoader batches vary in size).
   */
  inList(expression: Expression<unknown> | string, values: readonly (number | string)[]): RawBuilder<SqlBool>;
  /** The same, with the list as a parameter made by `listParameter` (or a slot for one: see `shaped.ts`). */
  inListParameter(expression: Expression<unknown> | string, parameter: unknown): RawBuilder<SqlBool>;
  /** The one parameter a list of values travels in. */
  listParameter(values: readonly (number | string)[]): unknown;
  /**
   * A timestamp column as something that sorts and compares as the instant it holds — also against an ISO-8601
   * parameter (`…Z`) — and whose MAX is comparable with it (see `timestamps.ts`).
   */
  utc(column: Expression<unknown> | string): RawBuilder<string>;
  /** The LIKE that ignores ASCII letter case, as SQLite's LIKE does. */
  readonly likeIgnoringCase: RawBuilder<unknown>;
  /** An aggregate joining a group's values with `separator`, in the order of `orderBy`. */
  groupConcat(value: Expression<unknown>, separator: string, orderBy: Expression<unknown>): RawBuilder<string>;
}

const expressionOf = (value: Expression<unknown> | string) => (typeof value === 'string' ? sql.ref(value) : value);

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  inList: (expression, values) => sqliteDialect.inListParameter(expression, sqliteDialect.listParameter(values)),
  inListParameter: (expression, parameter) =>
    sql<SqlBool>`${expressionOf(expression)} IN (SELECT value FROM json_each(${parameter}))`,
  listParameter: (values) => JSON.stringify(values),
  utc: (column) => sql<string>`strftime(${sql.lit(UTC_TIMESTAMP_FORMAT)}, ${expressionOf(column)})`,
  likeIgnoringCase: sql`LIKE`,
  groupConcat: (value, separator, orderBy) =>
    sql<string>`group_concat(${value}, ${sql.lit(separator)} ORDER BY ${orderBy})`,
};

/**
 * PostgreSQL: a list is one array parameter (`= ANY($1)`; pg sends a JS array as an array literal and the server
 * types it from the other side of the comparison). `utc()` is the `timestamptz` as the very text SQLite's gives
 * (`dn_utc_text`, an immutable function of the AddLookupIndexes migration, served by expression indexes of the same
 * names): orderings, filters and cursors are then the same on both engines, byte for byte.
 */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  inList: (expression, values) => postgresDialect.inListParameter(expression, postgresDialect.listParameter(values)),
  inListParameter: (expression, parameter) => sql<SqlBool>`${expressionOf(expression)} = ANY(${parameter})`,
  listParameter: (values) => [...values],
  utc: (column) => sql<string>`"dn_utc_text"(${expressionOf(column)})`,
  // ILIKE folds case by the database's character classes: ASCII only under LC_CTYPE C, as on SQLite.
  likeIgnoringCase: sql`ILIKE`,
  groupConcat: (value, separator, orderBy) =>
    sql<string>`string_agg(${value}, ${sql.lit(separator)} ORDER BY ${orderBy})`,
};
