/**
 * Fresh PostgreSQL databases for tests: one per call (normally one per test file), created on the server at
 * DIFFUSION_NEXUS_TEST_POSTGRES_URL (default: the local cluster, `postgres` user, trust auth) and dropped after the
 * file's tests. No server is a failure, never a skip: the `postgres` project exists to run on PostgreSQL.
 *
 * Databases use the C collation and character classes, so ORDER BY and lower() behave like SQLite's (byte order,
 * ASCII case folding) and both engines give the same answers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { atFileEnd } from './file-end.ts';
import { resolveDatabaseTarget, type DatabaseTarget } from '../../src/config.ts';
import { listMigrations } from '../../src/db/migrations.ts';
import { migratePostgres, postgresMigrationsSource } from '../../src/db/postgres/migrations.ts';
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

/** Drops a database this test file created, after its tests. */
function dropAtFileEnd(name: string): void {
  atFileEnd(() => admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
}

const C_LOCALE = "LC_COLLATE 'C' LC_CTYPE 'C'";

/** A name for a database this file creates. */
const newDatabaseName = () => `dn_${process.pid}_${randomBytes(4).toString('hex')}`;

/**
 * An empty database (no tables), dropped after the file's tests; `locale` is the CREATE DATABASE locale clause (byte
 * order by default, as the suite needs for answers identical to SQLite's).
 */
export async function freshPostgresDatabase(locale = C_LOCALE): Promise<PostgresTarget> {
  const name = newDatabaseName();
  await admin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' ${locale}`));
  dropAtFileEnd(name);
  return resolveDatabaseTarget({ databaseUrl: urlOf(name) }, {}) as PostgresTarget;
}

/**
 * Migrating a database takes the schema engine a second or two, and the suite makes a few hundred: it is done once
 * into a template database per state of the PostgreSQL migrations (`dn_tpl_<hash>`, kept between runs), which
 * CREATE DATABASE … TEMPLATE copies in a fraction of that. Made under an advisory lock, as two test files may ask at
 * once; templates of other migration states are dropped when a new one is made (one in use stays, and is made again
 * by whoever needs it next).
 */
async function migratedTemplate(client: pg.Client): Promise<string> {
  const migrations = listMigrations(postgresMigrationsSource().dir);
  const hash = createHash('sha256')
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join('|'))
    .digest('hex')
    .slice(0, 16);
  const template = `dn_tpl_${hash}`;
  if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])).rowCount === 1) return template;
  const building = `${template}_building`;
  await client.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${building}" TEMPLATE template0 ENCODING 'UTF8' ${C_LOCALE}`);
  await migratePostgres(resolveDatabaseTarget({ databaseUrl: urlOf(building) }, {}) as PostgresTarget);
  // Its connections are closed by now; a rename makes the finished template appear at once.
  await client.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
  const stale = await client.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'dn\\_tpl\\_%' AND datname <> $1",
    [template],
  );
  for (const { datname } of stale.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => {});
  return template;
}

/** A migrated catalog with no rows (a copy of the template), dropped after the file's tests. */
export async function migratedPostgresDatabase(): Promise<PostgresTarget> {
  const name = newDatabaseName();
  await admin(async (client) => {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['dn_test_template']);
    try {
      const template = await migratedTemplate(client);
      await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['dn_test_template']);
    }
  });
  dropAtFileEnd(name);
  const target = resolveDatabaseTarget({ databaseUrl: urlOf(name) }, {}) as PostgresTarget;
  // Each database names its own line of revisions (a copy would share the template's).
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`UPDATE "CatalogRevision" SET "Epoch" = md5(gen_random_uuid()::text) WHERE "Id" = 1`);
  } finally {
    await client.end();
  }
  return target;
}

/**
 * A fresh, migrated PostgreSQL catalog holding every row of the SQLite catalog `sqlitePath` (when it exists), its
 * search index built as `transfer` builds it (or left for a server to build: `searchIndex: false`).
 */
export async function postgresCopyOf(
  sqlitePath: string,
  options: { searchIndex?: boolean } = {},
): Promise<PostgresTarget> {
  const target = await migratedPostgresDatabase();
  if (existsSync(sqlitePath))
    await transferCatalog({ engine: 'sqlite', path: sqlitePath, dataDir: null }, target, options);
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

/**
 * Holds `table` of `url`'s database exclusively locked from a session of its own while `body` runs, so that a
 * server's statements on it wait on the database server — a stand-in for any long statement a busy catalog has.
 * `body` may release the lock early; it is released (rolled back) at the latest when `body` settles.
 */
export async function withTableLocked<T>(
  url: string,
  table: string,
  body: (release: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const locker = new pg.Client({ connectionString: url });
  // A test may terminate sessions on the database (a restart's stand-in): the locker's loss is not the test's error.
  locker.on('error', () => {});
  await locker.connect();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
  };
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
    return await body(release);
  } finally {
    await release();
  }
}
