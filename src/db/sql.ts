/** Small SQL building blocks shared by the loaders and the query modules. */

/** A piece of trusted SQL with its `?` parameters in order. */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * A list passed as one JSON-array parameter: `x IN ${JSON_LIST}` with `JSON.stringify(values)`. SQLite still uses
 * the index on `x`, and the statement text stays the same for any list length (one prepared statement).
 */
export const JSON_LIST = `(SELECT value FROM json_each(?))`;

export function whereClause(fragments: readonly SqlFragment[]): SqlFragment {
  return fragments.length === 0
    ? { sql: '', params: [] }
    : { sql: `WHERE ${fragments.map((f) => f.sql).join(' AND ')}`, params: fragments.flatMap((f) => f.params) };
}
