/**
 * The PostgreSQL engine itself, on a real server: choosing it (URL checks, coded errors, no password in any output),
 * the schema and its migrations (agreement with the SQLite schema, what `migrate` creates, `status`, re-runs), and
 * the open catalog (statement hook, request stops, transactions, refusals of SQLite-only features).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DATABASE_POOL_SIZE, redactDatabaseUrl, resolveDatabaseTarget } from '../src/config.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { catalogMigrationStatus, migrateCatalog, openCatalog } from '../src/db/open-catalog.ts';
import { storedTimestampFromPg } from '../src/db/postgres/connection.ts';
import {
  POSTGRES_SCHEMA_FILTERS,
  postgresMigrationsSource,
  withPostgresSchemaEngine,
} from '../src/db/postgres/migrations.ts';
import { listMigrations, sha256Hex } from '../src/db/migrations.ts';
import { PRISMA_SCHEMA_PATH, POSTGRES_SCHEMA_PATH } from '../src/db/project-paths.ts';
import { RequestScope } from '../src/db/request-scope.ts';
import { AppError } from '../src/errors.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { freshPostgresDatabase, type PostgresTarget } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

const SECRET = 's3cret-pw';
/** Port 1 on loopback: nothing listens there, so the connection is refused at once. */
const UNREACHABLE = `postgres://dn_user:${SECRET}@127.0.0.1:1/catalog`;

function appErrorOf(work: () => unknown): AppError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError');
}

describe('choosing the engine', () => {
  it('takes SQLite when unset or file:, PostgreSQL for postgres:// and postgresql://', () => {
    const dataDir = tempDir('dn-engine-');
    expect(resolveDatabaseTarget({ dataDir }, {})).toMatchObject({ engine: 'sqlite', dataDir });
    expect(resolveDatabaseTarget({ dataDir, databaseUrl: 'file:' }, {})).toMatchObject({ engine: 'sqlite', dataDir });
    expect(resolveDatabaseTarget({ databaseUrl: 'file:/tmp/x/catalog.db' }, {})).toEqual({
      engine: 'sqlite',
      path: '/tmp/x/catalog.db',
      dataDir: null,
    });
    for (const scheme of ['postgres', 'postgresql']) {
      const target = resolveDatabaseTarget({}, { DIFFUSION_NEXUS_DATABASE_URL: `${scheme}://u:${SECRET}@db:5433/cat` });
      expect(target).toMatchObject({ engine: 'postgres', poolSize: DEFAULT_DATABASE_POOL_SIZE });
      expect(target.engine === 'postgres' && target.display).toBe(`${scheme}://u:***@db:5433/cat`);
    }
    // The flag wins over the environment; the pool size comes from the environment.
    expect(
      resolveDatabaseTarget(
        { databaseUrl: 'postgres://h/flag' },
        { DIFFUSION_NEXUS_DATABASE_URL: 'postgres://h/env', DIFFUSION_NEXUS_DATABASE_POOL_SIZE: '3' },
      ),
    ).toMatchObject({ url: 'postgres://h/flag', poolSize: 3 });
  });

  it('refuses other schemes and bad URLs with INVALID_DATABASE_URL naming the setting, never the password', () => {
    for (const [raw, setting] of [
      [`mysql://root:${SECRET}@127.0.0.1/x`, '--database-url'],
      [`postgres://u:${SECRET}@/nodb`, '--database-url'],
      [`postgres://u:${SECRET}@host:5432`, '--database-url'],
      [`postgres://u:${SECRET}@host:99999999/x`, '--database-url'],
      ['catalog.db', '--database-url'],
    ] as const) {
      const error = appErrorOf(() => resolveDatabaseTarget({ databaseUrl: raw }, {}));
      expect(error.code, raw).toBe('INVALID_DATABASE_URL');
      expect(error.message, raw).toContain(setting);
      expect(error.message, raw).not.toContain(SECRET);
    }
    const fromEnv = appErrorOf(() => resolveDatabaseTarget({}, { DIFFUSION_NEXUS_DATABASE_URL: 'redis://x' }));
    expect(fromEnv.message).toContain('DIFFUSION_NEXUS_DATABASE_URL');
    const pool = appErrorOf(() =>
      resolveDatabaseTarget({ databaseUrl: 'postgres://h/x' }, { DIFFUSION_NEXUS_DATABASE_POOL_SIZE: '0' }),
    );
    expect(pool.code).toBe('BAD_USER_INPUT');
    expect(redactDatabaseUrl(`postgres://h/x?password=${SECRET}`)).not.toContain(SECRET);
  });

  it('an unreachable server is DATABASE_UNREACHABLE for every command, without the password or a stack trace', async () => {
    const dataDir = tempDir('dn-unreachable-');
    const runs = await Promise.all([
      cli(['migrate', '--database-url', UNREACHABLE]),
      cli(['status', '--database-url', UNREACHABLE]),
      cli(['import', '-', '--data-dir', dataDir], '{}', { DIFFUSION_NEXUS_DATABASE_URL: UNREACHABLE }),
      cli(['serve', '--port', '0', '--database-url', UNREACHABLE]),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('DATABASE_UNREACHABLE');
      expect(run.stderr).toContain('postgres://dn_user:***@127.0.0.1:1/catalog');
      expect(run.stderr + run.stdout).not.toContain(SECRET);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    await expect(openCatalog(resolveDatabaseTarget({ databaseUrl: UNREACHABLE }, {}))).rejects.toSatisfy(
      (error: unknown) =>
        error instanceof AppError && error.code === 'DATABASE_UNREACHABLE' && !error.message.includes(SECRET),
    );
  });

  it('a database that does not exist is DATABASE_UNREACHABLE too', async () => {
    const missing = resolveDatabaseTarget({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/dn_no_such_db' }, {});
    await expect(migrateCatalog(missing)).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE' });
  });
});

/** A schema file's models with what the two engines must share: no comments, generators or native types. */
function modelsOf(schemaPath: string): string[] {
  const text = readFileSync(schemaPath, 'utf8')
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').replace(/@db\.\w+(\([^)]*\))?/g, ''))
    .join('\n');
  return [...text.matchAll(/^model \w+ \{[^}]*\}/gm)].map((block) =>
    block[0]
      .split('\n')
      .map((line) => line.trim().replace(/\s+/g, ' '))
      .filter((line) => line !== '')
      .join('\n'),
  );
}

describe('schema and migrations', () => {
  let target: PostgresTarget;
  let client: pg.Client;

  beforeAll(async () => {
    target = await freshPostgresDatabase();
    client = new pg.Client({ connectionString: target.url });
    await client.connect();
    return () => client.end();
  });

  it('the PostgreSQL schema has the same models, names, fields, nullability and indexes as the SQLite one', () => {
    const sqlite = modelsOf(PRISMA_SCHEMA_PATH);
    const postgres = modelsOf(POSTGRES_SCHEMA_PATH);
    expect(sqlite.length).toBeGreaterThan(10);
    expect(postgres).toEqual(sqlite);
    // Only timestamps carry a native type, and every one of them is timestamptz.
    const pgText = readFileSync(POSTGRES_SCHEMA_PATH, 'utf8');
    expect([...pgText.matchAll(/@db\.(\w+)/g)].map((m) => m[1])).toEqual(
      [...pgText.matchAll(/\bDateTime\??\s/g)].map(() => 'Timestamptz'),
    );
  });

  it('migrate creates every table with PostgreSQL types, the look-up indexes, and history rows as Prisma writes them', async () => {
    const lines: string[] = [];
    const first = await migrateCatalog(target, { log: (line) => lines.push(line) });
    const migrations = listMigrations(postgresMigrationsSource().dir);
    expect(first.appliedNow).toEqual(migrations.map((m) => m.name));
    expect(lines).toEqual(migrations.map((m) => `applied migration ${m.name}`));

    const { rows: columns } = await client.query<{ table: string; column: string; type: string; nullable: string }>(
      `SELECT table_name AS table, column_name AS column, data_type AS type, is_nullable AS nullable
       FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const column = (table: string, name: string) => columns.find((c) => c.table === table && c.column === name);
    expect(column('Models', 'CreatedAt')).toMatchObject({ type: 'timestamp with time zone', nullable: 'NO' });
    expect(column('Models', 'LastSyncedAt')).toMatchObject({ type: 'timestamp with time zone', nullable: 'YES' });
    expect(column('Models', 'IsNsfw')).toMatchObject({ type: 'boolean', nullable: 'NO' });
    expect(column('ModelImages', 'Seed')?.type).toBe('bigint');
    expect(column('ModelImages', 'ThumbnailData')?.type).toBe('bytea');
    expect(column('LocalFiles', 'Size')?.type).toBe('bigint');
    expect(column('ModelFiles', 'SizeKB')?.type).toBe('double precision');
    expect(column('TriggerWords', 'Order')?.type).toBe('integer');
    expect(columns.filter((c) => c.type === 'timestamp without time zone')).toEqual([]);
    const tables = new Set(columns.map((c) => c.table));
    for (const table of ['Creators', 'Models', 'ModelVersions', 'ModelFiles', 'ModelImages', 'Tags', 'ModelTags']) {
      expect(tables.has(table), table).toBe(true);
    }

    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const definition = (name: string) => indexes.find((i) => i.name === name)?.definition;
    for (const kind of ['AutoV1', 'AutoV2', 'SHA256', 'CRC32', 'BLAKE3']) {
      expect(definition(`IX_ModelFiles_Hash${kind}_Upper`), kind).toContain(`upper("Hash${kind}")`);
    }
    expect(definition('IX_ModelFiles_HashAutoV3_Prefix')).toContain('upper(substr("HashAutoV3", 1, 12))');
    expect(definition('IX_Models_NameLower')).toContain('lower("Name")');
    expect(definition('IX_Creators_UsernameLower')).toContain('lower("Username")');
    expect(definition('IX_Models_CreatedAtUtc')).toContain('dn_utc_text("CreatedAt")');
    expect(definition('IX_Models_UpdatedAtUtc')).toContain('dn_utc_text("UpdatedAt")');
    expect(definition('IX_ModelVersions_CreatedAtUtc')).toContain('dn_utc_text("CreatedAt")');
    expect(definition('IX_ModelVersions_ModelId_CreatedAtUtc')).toContain('"ModelId", dn_utc_text("CreatedAt")');
    expect(definition('IX_Models_CivitaiId')).toContain('UNIQUE');

    const { rows: history } = await client.query<{ name: string; checksum: string; steps: number }>(
      `SELECT migration_name AS name, checksum, applied_steps_count AS steps FROM _prisma_migrations
       WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
    );
    expect(history).toEqual(migrations.map((m) => ({ name: m.name, checksum: sha256Hex(m.sql), steps: 1 })));
  });

  it('status says up to date, a second migrate changes nothing, and migrations agree with the schema (no drift)', async () => {
    const status = await catalogMigrationStatus(target);
    expect(status).toMatchObject({ kind: 'managed', pending: [], failed: [], edited: [], unknown: [] });
    const again = await migrateCatalog(target);
    expect(again.appliedNow).toEqual([]);
    const run = await cli(['status', '--database-url', target.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('up to date');
    // The engine reads the live schema (pg_catalog) and diffs it against schema.prisma: nothing to do.
    const source = postgresMigrationsSource();
    const drift = await withPostgresSchemaEngine(target, source, (engine) =>
      engine.diff({
        from: {
          tag: 'schemaDatasource',
          files: [{ path: source.schema.schemaPath, content: source.schema.schemaText }],
          configDir: path.dirname(source.schema.schemaPath),
        },
        to: { tag: 'schemaDatamodel', files: [{ path: source.schema.schemaPath, content: source.schema.schemaText }] },
        script: true,
        exitCode: null,
        filters: POSTGRES_SCHEMA_FILTERS,
      }),
    );
    expect((drift.stdout ?? '').trim()).toBe('-- This is an empty migration.');
  });

  it('migrate warns, with the fix, when the database does not compare text as SQLite does (collation not C)', async () => {
    const warnings = async (locale: string) => {
      const db = await freshPostgresDatabase(locale);
      const run = await cli(['migrate', '--database-url', db.url]);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.split('\n').filter((line) => line.startsWith('warning:'));
    };
    const icu = await warnings("LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
    expect(icu).toHaveLength(1);
    expect(icu[0]).toContain('collation ICU en-US');
    expect(icu[0]).toContain('names sort by that locale');
    expect(icu[0]).toContain("LC_COLLATE 'C' LC_CTYPE 'C'");
    // Code-point order is byte order for UTF-8, but lower() still folds letters such as É.
    const utf8 = await warnings("LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
    expect(utf8).toHaveLength(1);
    expect(utf8[0]).not.toContain('names sort by that locale');
    expect(utf8[0]).toContain('lower() folds non-ASCII letters');
    expect(await warnings("LC_COLLATE 'C' LC_CTYPE 'C'")).toEqual([]);
  });

  it('migrate as a command exits as soon as its work is done', async () => {
    // The schema engine (WASM) starts a 10 s timer while it migrates and never clears it; a command that waited for
    // it would sit 10 s after its last line. Measured from the last line to the exit, so a slow start does not count.
    const fresh = await freshPostgresDatabase();
    const child = spawnCli(['migrate', '--database-url', fresh.url]);
    let lastLineAt = 0;
    child.stdout.on('data', () => {
      lastLineAt = Date.now();
    });
    const run = await outcome(child);
    const exitedAfter = Date.now() - lastLineAt;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('applied migration');
    expect(exitedAfter).toBeLessThan(5000);
  });

  it('refuses to migrate a database holding other tables', async () => {
    const other = await freshPostgresDatabase();
    const c = new pg.Client({ connectionString: other.url });
    await c.connect();
    await c.query('CREATE TABLE unrelated (id int)');
    await c.end();
    await expect(migrateCatalog(other)).rejects.toMatchObject({ code: 'DATABASE_INCOMPATIBLE' });
  });
});

describe('the open catalog', () => {
  let db: CatalogDatabase;
  let target: PostgresTarget;
  const statements: string[] = [];

  beforeAll(async () => {
    target = await freshPostgresDatabase();
    await migrateCatalog(target);
    db = await openCatalog(target, { onStatement: (sql) => statements.push(sql) });
    return () => db.close();
  });

  it('reads values as the SQLite path does: booleans 0/1, timestamps in the stored format, counts as numbers', async () => {
    const created = new Date('2026-01-02T03:04:05.678Z');
    const id = await db.write(async (trx) => {
      const creator = await trx
        .insertInto('Creators')
        .values({ Username: 'Ann', CreatedAt: created as never })
        .returning('Id')
        .executeTakeFirstOrThrow();
      return creator.Id;
    });
    const row = await db.kysely.selectFrom('Creators').selectAll().where('Id', '=', id).executeTakeFirstOrThrow();
    expect(row.CreatedAt).toBe('2026-01-02 03:04:05.678+00:00');
    expect(storedTimestampFromPg('2026-01-02 03:04:05+00')).toBe('2026-01-02 03:04:05+00:00');
    const { n } = await db.kysely
      .selectFrom('Creators')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(n).toBe(1);
    const { yes } = await db.kysely.selectNoFrom(sql<number>`TRUE`.as('yes')).executeTakeFirstOrThrow();
    expect(yes).toBe(1);
  });

  it('a write that throws commits nothing; the statement hook sees every statement', async () => {
    const before = statements.length;
    await expect(
      db.write(async (trx) => {
        await trx.insertInto('Tags').values({ Name: 'kept?', NormalizedName: 'kept?' }).execute();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(statements.slice(before).some((s) => s.startsWith('insert into "Tags"'))).toBe(true);
    const tags = await db.kysely.selectFrom('Tags').select('Id').where('NormalizedName', '=', 'kept?').execute();
    expect(tags).toEqual([]);
  });

  it('a stopped request runs no further statement', async () => {
    const scope = new RequestScope(null);
    const request = db.forRequest(scope);
    await request.kysely.selectFrom('Models').select('Id').execute();
    scope.stop('CLIENT_GONE');
    const before = statements.length;
    await expect(request.kysely.selectFrom('Models').select('Id').execute()).rejects.toMatchObject({
      code: 'CLIENT_GONE',
    });
    expect(() => request.write(async () => 1)).toThrow(expect.objectContaining({ code: 'CLIENT_GONE' }));
    expect(statements.length).toBe(before);
  });

  it('plans a named statement once per connection, without its values, and never again at a run', async () => {
    // A finding of issue 14: by default PostgreSQL plans a prepared statement anew for its values at its first five
    // runs and whenever their plans look cheaper than the generic one: on the benchmark's catalogs our search
    // statements were re-planned at every run (0.5-1 ms of a 1.3 ms name search), and details lost a third.
    const single = await openCatalog({ ...target, poolSize: 1 });
    try {
      await single.write((trx) =>
        trx.insertInto('Tags').values({ Name: 'Planned', NormalizedName: 'planned' }).execute(),
      );
      const read = single.kysely.selectFrom('Tags').select('Id').where('NormalizedName', '=', 'planned').compile();
      for (let run = 0; run < 8; run++) expect((await single.kysely.executeQuery(read)).rows).toHaveLength(1);
      const { rows } = await sql<{ generic: number; custom: number }>`
        SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
        WHERE statement = ${read.sql}`.execute(single.kysely);
      expect(rows).toEqual([{ generic: 8, custom: 0 }]);
    } finally {
      await single.close();
    }
  });

  it('lists of keys travel as one array parameter', async () => {
    const ids = await db.write(async (trx) => {
      const rows = await trx
        .insertInto('Tags')
        .values([
          { Name: 'a', NormalizedName: 'a' },
          { Name: 'b', NormalizedName: 'b' },
          { Name: 'c', NormalizedName: 'c' },
        ])
        .returning('Id')
        .execute();
      return rows.map((r) => r.Id);
    });
    const compiled = db.kysely
      .selectFrom('Tags')
      .select('Id')
      .where(db.dialect.inList('Id', [ids[0]!, ids[2]!]))
      .orderBy('Id')
      .compile();
    expect(compiled.sql).toContain('= ANY($1)');
    const rows = await db.kysely.executeQuery(compiled);
    expect(rows.rows).toEqual([{ Id: ids[0] }, { Id: ids[2] }]);
  });
});
