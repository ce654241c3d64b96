/**
 * Timestamps are TEXT in SQLite, written in two formats: the desktop app's `2025-12-22 19:53:09.1234567+00:00`
 * and Prisma's `2026-01-02T03:04:05.678+00:00`. Compared as text, a space sorts before `T`, so rows of the two
 * formats misorder within a day and `>`/`<` filters are wrong. Every SQL comparison or ORDER BY on a timestamp
 * column therefore goes through `utcTimestampSql`, which both formats (and any offset) normalise to the same
 * sortable UTC text. Never let Prisma generate `where`/`orderBy` on a DateTime column.
 */

/** Sortable UTC form: `YYYY-MM-DDTHH:MM:SS.SSSZ`. NULL (or unparsable text) stays NULL. */
export const UTC_TIMESTAMP_FORMAT = '%Y-%m-%dT%H:%M:%fZ';

/** SQL expression normalising a (trusted, quoted) column reference, e.g. `utcTimestampSql('m."CreatedAt"')`. */
export function utcTimestampSql(columnSql: string): string {
  return `strftime('${UTC_TIMESTAMP_FORMAT}', ${columnSql})`;
}

/** The same normal form computed in JS, for parameters compared against `utcTimestampSql(...)`. */
export function utcTimestampParam(date: Date): string {
  return date.toISOString();
}
