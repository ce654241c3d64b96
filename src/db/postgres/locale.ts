/**
 * A PostgreSQL catalog answers exactly as a SQLite one only when its database compares text as SQLite does: by bytes
 * (collation C or POSIX), with case folding of ASCII letters only (character classes C or POSIX). Any other locale
 * still works, but names order by that locale's rules (an ICU or language collation puts `B` right after `b`) and
 * `lower()` folds non-ASCII letters too, so lists sorted by name and their cursors can differ from the same catalog
 * on SQLite. The locale is fixed when the database is created, so this is a warning with the way to fix it.
 */
import type pg from 'pg';

/** Collations that order by bytes (C.UTF-8 orders by code point, which is byte order in UTF-8). */
const BYTE_ORDER_COLLATIONS = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8']);
/** Character classes whose lower() and upper() change ASCII letters only, as SQLite's do. */
const ASCII_CTYPES = new Set(['C', 'POSIX']);

export interface DatabaseLocale {
  provider: 'libc' | 'icu';
  collate: string;
  ctype: string;
  icuLocale: string | null;
}

/** The locale of the database `pool` connects to. */
export async function databaseLocale(pool: Pick<pg.Pool, 'query'>): Promise<DatabaseLocale> {
  const { rows } = await pool.query<{ provider: string; collate: string; ctype: string; icu: string | null }>(
    `SELECT datlocprovider AS provider, datcollate AS collate, datctype AS ctype, daticulocale AS icu
     FROM pg_database WHERE datname = current_database()`,
  );
  const row = rows[0]!;
  return {
    provider: row.provider === 'i' ? 'icu' : 'libc',
    collate: row.collate,
    ctype: row.ctype,
    icuLocale: row.icu,
  };
}

/** The warning for a database whose text comparison is not SQLite's, or null. */
export function localeWarning(locale: DatabaseLocale, display: string): string | null {
  const collation = locale.provider === 'icu' ? `ICU ${locale.icuLocale}` : locale.collate;
  const byteOrder = locale.provider === 'libc' && BYTE_ORDER_COLLATIONS.has(locale.collate);
  const asciiCase = ASCII_CTYPES.has(locale.ctype);
  if (byteOrder && asciiCase) return null;
  const differences = [
    ...(byteOrder ? [] : ['names sort by that locale, not byte by byte']),
    ...(asciiCase ? [] : ['lower() folds non-ASCII letters']),
  ];
  return (
    `warning: ${display} uses collation ${collation} and character classes ${locale.ctype}, not C: ` +
    `${differences.join(' and ')}, so ` +
    'lists ordered by name can differ from the same catalog on SQLite. For identical answers, create the database ' +
    "with `CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'` and transfer the catalog into it."
  );
}
