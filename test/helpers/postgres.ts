/**
 * Fresh PostgreSQL databases for tests: one per call (normally one per test file), created on the server at
 * DIFFUSION_NEXUS_TEST_POSTGRES_URL (default: the local cluster, `postgres` user, trust auth) and dropped after the
 * file's tests. No server is a failure, never a skip: the `postgres` project exists to run on PostgreSQL.
 *
 * Databases use the C collation and character classes, so ORDER BY and lower() behave like SQLite's (byte order,
 * ASCII case folding) and both engines give the same answers.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { resolveDatabaseTarget, type DatabaseTarget } from '../../src/config.ts';
import { migratePostgres } from '../../src/db/postgres/migrations.ts';
import { transferCatalog } from '../../src/db/transfer/transfer.ts';

/** Which engine the suite runs on: the `postgres` vitest project sets DIFFUSION_NEXUS_TEST_ENGINE=postgres. */
export const TEST_ENGINE: 'sqlite' | 'postgres' =
  process.env.DIFFUSION_NEXUS_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

export const POSTGRES_ADMIN_URL =
  process.env.DIFFUSION_NEXUS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type PostgresTarget = DatabaseTarget & { engine: 'postgres' };

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `No PostgreSQL server for the postgres test project at ${POSTGRES_ADMIN_URL} (${(error as Error).message}). ` +
        'Start it (.ci/run does) or set DIFFUSION_NEXUS_TEST_POSTGRES_URL.',
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of `database` on the admin URL's server. */
export function urlOf(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Databases this test file created, dropped after all its tests. */
const created: string[] = [];

// Registered when a test file imports this module (while vitest collects it): a hook registered later, from inside a
// beforeAll or a test, is not reliably run, and the databases would outlive the run.
afterAll(async () => {
  if (created.length === 0) return;
  await admin(async (client) => {
    for (const name of created.splice(0)) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
});

/**
 * An empty database (no tables), dropped after the file's tests; `locale` is the CREATE DATABASE locale clause (byte
 * order by default, as the suite needs for answers identical to SQLite's).
 */
export async function freshPostgresDatabase(locale = "LC_COLLATE 'C' LC_CTYPE 'C'"): Promise<PostgresTarget> {
  const name = `dn_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' ${locale}`));
  created.push(name);
  return resolveDatabaseTarget({ databaseUrl: urlOf(name) }, {}) as PostgresTarget;
}

/** A fresh, migrated PostgreSQL catalog holding every row of the SQLite catalog `sqlitePath` (when it exists). */
export async function postgresCopyOf(sqlitePath: string): Promise<PostgresTarget> {
  const target = await freshPostgresDatabase();
  if (existsSync(sqlitePath)) await transferCatalog({ engine: 'sqlite', path: sqlitePath, dataDir: null }, target);
  else await migratePostgres(target);
  return target;
}

/**
 * Runs a statement on the catalog a test server uses — its SQLite file, or its PostgreSQL database — for tests
 * that change rows behind the server's back. The two texts say the same in each engine's SQL.
 */
export async function runOnCatalog<R = Record<string, unknown>>(
  config: { databasePath: string; database?: DatabaseTarget | undefined },
  text: { sqlite: string; postgres: string },
  parameters: readonly unknown[] = [],
): Promise<R[]> {
  if (config.database?.engine === 'postgres') {
    const client = new pg.Client({ connectionString: config.database.url });
    await client.connect();
    try {
      return (await client.query(text.postgres, [...parameters])).rows as R[];
    } finally {
      await client.end();
    }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(config.databasePath);
  try {
    const statement = db.prepare(text.sqlite);
    if (statement.reader) return statement.all(...parameters) as R[];
    statement.run(...parameters);
    return [];
  } finally {
    db.close();
  }
}

/** One statement on `url`'s database over a connection of its own (tests reading rows behind a server's back). */
export async function queryPostgres<R = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}
