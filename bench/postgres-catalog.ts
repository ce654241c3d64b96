/**
 * The benchmark catalogs on PostgreSQL (`npm run bench -- --engine postgres`): each cached SQLite catalog copied into
 * its own database on the server at `--postgres-url` (default: the local cluster), migrated, analyzed, and kept
 * between runs while the SQLite catalog it came from and the PostgreSQL migrations are unchanged (the catalog's
 * folder name, which carries its cache key, and a hash of the migrations are the database's comment; a copy that
 * did not finish has none and is made again). Database names carry the size and a hash of the cache folder, so a
 * test run with its own cache folder never replaces `npm run bench`'s.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { resolveDatabaseTarget } from '../src/config.ts';
import { transferCatalog } from '../src/db/transfer/transfer.ts';
import { POSTGRES_MIGRATIONS_DIR } from '../src/db/project-paths.ts';
import type { BenchCatalog } from './catalog.ts';

export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The PostgreSQL migrations' contents: a database made by other migrations is made again. */
function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const entry of readdirSync(POSTGRES_MIGRATIONS_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort())
    hash.update(path.relative(POSTGRES_MIGRATIONS_DIR, entry)).update(readFileSync(entry));
  return hash.digest('hex').slice(0, 16);
}

/** The database of one catalog size cached in `cacheDir`. */
export function benchDatabaseName(label: string, cacheDir: string): string {
  const folder = createHash('sha256').update(path.resolve(cacheDir)).digest('hex').slice(0, 8);
  return `dn_bench_${label.toLowerCase()}_${folder}`;
}

function urlOf(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The database URL holding `catalog`'s rows, made (or made again) when missing or from another catalog. */
export async function ensurePostgresCatalog(
  catalog: BenchCatalog,
  adminUrl: string,
  cacheDir: string,
  log: (line: string) => void,
): Promise<string> {
  const key = `${path.basename(catalog.dataDir)} ${migrationsHash()}`;
  const database = benchDatabaseName(catalog.label, cacheDir);
  const url = urlOf(adminUrl, database);
  const current = await withAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [database],
    );
    if (rows[0]?.comment === key) return true;
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    // C collation: names order by bytes as on SQLite, so both engines give the same answers.
    await client.query(`CREATE DATABASE "${database}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    return false;
  });
  if (current) return url;
  log(`copying catalog ${catalog.label} to PostgreSQL (${database}) …`);
  const started = performance.now();
  const target = resolveDatabaseTarget({ databaseUrl: url }, {});
  if (target.engine !== 'postgres') throw new Error(`not a PostgreSQL URL: ${url}`);
  await transferCatalog({ engine: 'sqlite', path: catalog.databasePath, dataDir: null }, target);
  await withAdmin(url, async (client) => {
    await client.query('VACUUM ANALYZE');
    await client.query(`COMMENT ON DATABASE "${database}" IS '${key.replaceAll("'", "''")}'`);
  });
  log(`  copied in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return url;
}
