/**
 * Connections to a PostgreSQL catalog: pools whose values come back as the SQLite path yields them, so one Kysely
 * type (generated from the SQLite schema) and one row mapping serve both engines, and errors as coded AppErrors
 * that never carry the URL's password.
 */
import pg from 'pg';
import { AppError } from '../../errors.ts';

/** OIDs of the built-in types whose text form is converted here (see `pg_type`). */
const OID = { bool: 16, bytea: 17, char: 18, int8: 20, numeric: 1700, timestamptz: 1184, timestamp: 1114 } as const;

/**
 * `timestamptz` text (the session runs in UTC: `2025-12-22 19:53:09.123+00`) as the desktop app's stored format
 * (`2025-12-22 19:53:09.123+00:00`, see `timestamps.ts`): what a SQLite read of the same row returns.
 */
export function storedTimestampFromPg(text: string): string {
  return /[+-]\d\d$/.test(text) ? `${text}:00` : text;
}

/** 64-bit integers (COUNT, SUM of int4) as numbers like better-sqlite3 returns them; exact bigints past 2^53. */
function int8(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

const PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  // Booleans as 0/1: SQLite stores them so, and queries compare `= 1` (the row mapping turns them into booleans).
  [OID.bool]: (text) => (text === 't' ? 1 : 0),
  [OID.int8]: int8,
  [OID.numeric]: (text) => Number(text),
  [OID.timestamptz]: storedTimestampFromPg,
  // The schema engine reads `pg_catalog` columns of type "char", which `@prisma/adapter-pg` cannot describe.
  [OID.char]: (text) => text,
};

/** Per-pool type parsers (never pg's global registry: other pools in the process keep pg's defaults). */
export const catalogTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const parser = PARSERS[oid];
    if (parser && format !== 'binary') return parser;
    return (pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** How long a new connection may take before DATABASE_UNREACHABLE. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface PoolSettings {
  url: string;
  /** The URL without its password, for messages. */
  display: string;
  /** The flag that named the URL, when not --database-url / DIFFUSION_NEXUS_DATABASE_URL (see DatabaseTarget). */
  setting?: string | undefined;
  max: number;
  /** Shown in `pg_stat_activity`. */
  applicationName: string;
  /**
   * How long a statement waits for a lock another connection holds (`lock_timeout`; unset: as long as it is held).
   * Set for the catalog's own connections, as a SQLite statement waits for the file's lock: without a bound, a table
   * or row another program keeps locked holds a request, a start-up or every later write of the process forever.
   */
  lockWaitMs?: number | undefined;
}

export function catalogPool(settings: PoolSettings): pg.Pool {
  const lockTimeout =
    settings.lockWaitMs === undefined ? '' : ` -c lock_timeout=${Math.max(1, Math.round(settings.lockWaitMs))}`;
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.max,
    types: catalogTypes,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: settings.applicationName,
    // Timestamps read as ISO UTC text (see storedTimestampFromPg) whatever the server's defaults; comparisons do
    // not depend on it. Named statements (see driver.ts) keep the plan made without their values: by default the
    // server planned each anew for its values at its first five runs, and at every run where that looked cheaper,
    // which for our short reads cost more than running them (10,000 models, generic against default: details
    // +41 %, wide list pages +24 %, names +44 %). Statements whose best plan depends on the value are written so
    // that one plan suits every value (per-model probes, LATERAL look-ups: see search-postings.ts).
    options: `-c TimeZone=UTC -c DateStyle=ISO -c plan_cache_mode=force_generic_plan${lockTimeout}`,
  });
  // An idle connection dropped by the server is removed by the pool; the next query opens a new one.
  pool.on('error', () => {});
  return pool;
}

/** SQLSTATE classes and codes that mean "no usable connection" rather than a failed statement. */
// 57P01/57P02: the server ended the connection (an administrator's pg_terminate_backend, a shutdown, a crash).
const CONNECTION_SQLSTATES = new Set([
  '28000',
  '28P01',
  '3D000',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

/** True when `error` says the server could not be reached or refused us (not a failed statement). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_SQLSTATES.has(code) || CONNECTION_ERRNOS.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout expired|Connection terminated|connect ECONNREFUSED/i.test(message);
}

/** Removes every occurrence of the URL's password from a driver message (pg quotes user names, not passwords, but be sure). */
export function withoutPassword(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // No parsable password: nothing to hide beyond the URL itself.
  }
  let text = message.split(url).join('(the database URL)');
  if (password) text = text.split(password).join('***');
  return text;
}

/** DATABASE_UNREACHABLE for a connection failure, naming the setting and the redacted URL. */
export function unreachableError(
  error: unknown,
  settings: Pick<PoolSettings, 'url' | 'display' | 'setting'>,
): AppError {
  const reason = withoutPassword(error instanceof Error ? error.message : String(error), settings.url);
  return new AppError(
    'DATABASE_UNREACHABLE',
    `Cannot connect to the PostgreSQL catalog ${settings.display} (${settings.setting ?? 'DIFFUSION_NEXUS_DATABASE_URL / --database-url'}): ${reason}`,
  );
}

/**
 * DATABASE_LOCKED for a statement that waited `waitedMs` for a lock another connection holds (lock_timeout ran
 * out): another server or the CLI writing the same rows, or a tool holding a transaction open.
 */
export function lockedError(settings: Pick<PoolSettings, 'display'>, waitedMs: number): AppError {
  return new AppError(
    'DATABASE_LOCKED',
    `Rows or tables needed in the PostgreSQL catalog ${settings.display} are locked by another connection ` +
      `(another DiffusionNexus Core server or the CLI in the middle of a write, or a database tool with a transaction ` +
      `open); waited ${waitedMs / 1000} s. Let that program finish, then try again.`,
  );
}

/** True when `error` is a lock wait that ran past `lock_timeout` (SQLSTATE lock_not_available). */
export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03';
}

/** Opens one connection and closes it: the server answers and lets us in, or DATABASE_UNREACHABLE. */
export async function assertReachable(
  pool: pg.Pool,
  settings: Pick<PoolSettings, 'url' | 'display' | 'setting'>,
): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unreachableError(error, settings);
  }
  client.release();
}
