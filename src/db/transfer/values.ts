/**
 * One value of a catalog column in three forms: as a driver returns it (better-sqlite3 with safe integers, or a
 * catalog pool, `postgres/connection.ts`), in a canonical form both engines' values reduce to (what checksums
 * hash), and as the target engine takes it. Conversion is strict: a value that does not fit its column — a 2 in a
 * boolean, text in an integer column, a timestamp nobody can parse, text with NUL for PostgreSQL — is refused
 * (`InvalidValue`) rather than coerced, so "the checksums agree" also means "nothing was changed on the way".
 *
 * Canonical forms: integers and booleans as decimal text (`1`/`0`), doubles as JavaScript's shortest round-trip
 * text (PostgreSQL 12+ prints float8 the same way, so they parse back to the same double), timestamps as UTC text
 * to the microsecond (`utcMicrosText`), text as itself, bytes as a Buffer, NULL as null.
 */
import { storedFromUtcMicros, utcMicrosText } from '../timestamps.ts';
import type { ColumnKind } from './plan.ts';

export type Canonical = string | Buffer | null;

/** Why a value cannot be copied; the caller adds the table, column and row. */
export class InvalidValue extends Error {}

const INT4_MIN = -(2n ** 31n);
const INT4_MAX = 2n ** 31n - 1n;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

function wholeNumber(raw: unknown, min: bigint, max: bigint, what: string): string {
  let value: bigint;
  if (typeof raw === 'bigint') value = raw;
  else if (typeof raw === 'number' && Number.isSafeInteger(raw)) value = BigInt(raw);
  else throw new InvalidValue(`${describe(raw)} is not a whole number`);
  if (value < min || value > max) throw new InvalidValue(`${value} does not fit ${what}`);
  return value.toString();
}

/** A value for messages: short, and never a whole thumbnail. */
export function describe(raw: unknown): string {
  if (Buffer.isBuffer(raw)) return `${raw.length} bytes`;
  if (typeof raw === 'string') return JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);
  return String(raw);
}

/** A driver's value as its canonical form; throws InvalidValue when it does not fit the column. */
export function canonical(kind: ColumnKind, raw: unknown): Canonical {
  if (raw === null || raw === undefined) return null;
  switch (kind) {
    case 'int4':
      return wholeNumber(raw, INT4_MIN, INT4_MAX, 'a 32-bit integer column');
    case 'int8':
      return wholeNumber(raw, INT8_MIN, INT8_MAX, 'a 64-bit integer column');
    case 'float8': {
      if (typeof raw === 'number') return String(raw);
      if (typeof raw === 'bigint' && Number.isSafeInteger(Number(raw))) return String(Number(raw));
      throw new InvalidValue(`${describe(raw)} is not a number`);
    }
    case 'boolean':
      // 0/1 as SQLite stores booleans and the catalog pools read them (never true/false or 2).
      if (raw === 0 || raw === 0n) return '0';
      if (raw === 1 || raw === 1n) return '1';
      throw new InvalidValue(`${describe(raw)} is not a boolean (0 or 1)`);
    case 'timestamp': {
      const text =
        typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'bigint' ? utcMicrosText(raw) : null;
      if (text === null) throw new InvalidValue(`${describe(raw)} is not a timestamp`);
      return text;
    }
    case 'text':
      if (typeof raw === 'string') return raw;
      throw new InvalidValue(`${describe(raw)} is not text`);
    case 'bytes':
      if (Buffer.isBuffer(raw)) return raw;
      if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      throw new InvalidValue(`${describe(raw)} is not bytes`);
  }
}

/** The canonical value as a `pg` parameter (elements of the typed arrays `postgres-side.ts` inserts). */
export function toPostgres(kind: ColumnKind, value: Canonical): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'boolean':
      return value === '1';
    case 'int4':
    case 'float8':
      return Number(value);
    case 'text':
      // PostgreSQL text cannot hold NUL. Refused rather than stripped: the copy would silently differ.
      if ((value as string).includes('\u0000'))
        throw new InvalidValue('text with a NUL character, which PostgreSQL cannot store');
      return value;
    default:
      // int8 as decimal text (exact past 2^53), timestamps as UTC text, bytes as a Buffer.
      return value;
  }
}

/** The canonical value as a better-sqlite3 parameter, in the forms the desktop app writes. */
export function toSqlite(kind: ColumnKind, value: Canonical): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'boolean':
      return value === '1' ? 1 : 0;
    case 'int4':
    case 'float8':
      return Number(value);
    case 'int8':
      return BigInt(value as string);
    case 'timestamp':
      return storedFromUtcMicros(value as string);
    default:
      return value;
  }
}

/** Bytes a canonical value holds, for keeping batches within a memory budget. */
export function sizeOf(value: Canonical): number {
  return value === null ? 1 : value.length + 8;
}
