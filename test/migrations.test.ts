/**
 * Offline migrations through Prisma's WASM schema engine: no drift between migrations and schema.prisma, history
 * recorded like `prisma migrate deploy`, idempotent re-runs, status reporting, and authoring new migrations.
 */
import { cpSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  defaultMigrationsSource,
  listMigrations,
  migrateDatabase,
  migrationStatus,
  sha256Hex,
  type MigrationsSource,
} from '../src/db/migrations.ts';
import {
  createMigration,
  destructiveStatements,
  diffMigrationsToSchema,
  EMPTY_MIGRATION_SQL,
} from '../src/db/migration-authoring.ts';
import { MIGRATIONS_DIR, PROJECT_ROOT } from '../src/db/project-paths.ts';
import { tempDir } from './helpers/temp.ts';

/** A private copy of prisma/ so a test can edit the schema and add migrations. */
function copyOfPrismaDir(): MigrationsSource {
  const dir = path.join(tempDir('dn-prisma-'), 'prisma');
  cpSync(path.join(PROJECT_ROOT, 'prisma'), dir, { recursive: true, filter: (src) => !src.endsWith('.db') });
  const schemaPath = path.join(dir, 'schema.prisma');
  return { dir: path.join(dir, 'migrations'), schema: { schemaPath, schemaText: readFileSync(schemaPath, 'utf8') } };
}

function withSchemaText(source: MigrationsSource, edit: (text: string) => string): MigrationsSource {
  const schemaText = edit(source.schema.schemaText);
  writeFileSync(source.schema.schemaPath, schemaText);
  return { ...source, schema: { ...source.schema, schemaText } };
}

describe('migrations directory', () => {
  it('starts with InitialCreate and has a lock file', () => {
    const migrations = listMigrations(MIGRATIONS_DIR);
    expect(migrations[0]?.name).toMatch(/^\d{14}_InitialCreate$/);
    expect(readFileSync(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8')).toMatch(/provider = "sqlite"/);
  });

  it('has no drift: applying every migration yields exactly what schema.prisma describes', async () => {
    expect(await diffMigrationsToSchema()).toBe(EMPTY_MIGRATION_SQL);
  });
});

describe('tables Prisma does not model', () => {
  it('are exactly the declared external ones (so the drift check cannot miss or drop any)', async () => {
    const file = path.join(tempDir(), 'external.db');
    await migrateDatabase(file);
    const db = new Database(file, { readonly: true });
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    db.close();
    const { TABLE_NAMES, HISTORY_TABLES } = await import('./helpers/catalog.ts');
    const { EXTERNAL_TABLES } = await import('../src/db/external-tables.ts');
    const modelled = new Set([
      ...Object.values(TABLE_NAMES),
      'CivitaiLookups',
      'LocalFiles',
      '_prisma_migrations',
      ...HISTORY_TABLES,
      'Downloads',
      'CatalogRevision',
      'CatalogModelChanges',
      '_prisma_migrations',
    ]);
    expect(tables.filter((t) => !modelled.has(t)).sort()).toEqual([...EXTERNAL_TABLES].sort());
  });
});

describe('migrateDatabase', () => {
  it('creates the file, records history like prisma migrate deploy, and is a no-op the second time', async () => {
    const file = path.join(tempDir(), 'catalog.db');
    const first = await migrateDatabase(file);
    const migrations = listMigrations(MIGRATIONS_DIR);
    expect(first.appliedNow).toEqual(migrations.map((m) => m.name));
    expect(first.pending).toEqual([]);

    const db = new Database(file, { readonly: true });
    const columns = (
      db.prepare(`SELECT name FROM pragma_table_info('_prisma_migrations')`).all() as { name: string }[]
    ).map((c) => c.name);
    expect(columns).toEqual([
      'id',
      'checksum',
      'finished_at',
      'migration_name',
      'logs',
      'rolled_back_at',
      'started_at',
      'applied_steps_count',
    ]);
    const rows = db
      .prepare(
        `SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`,
      )
      .all() as { migration_name: string; checksum: string; finished_at: string | null; applied_steps_count: number }[];
    expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(
        sha256Hex(readFileSync(path.join(MIGRATIONS_DIR, migrations[i]!.name, 'migration.sql'), 'utf8')),
      );
      expect(row.finished_at).not.toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    db.close();

    const second = await migrateDatabase(file);
    expect(second.appliedNow).toEqual([]);
    expect(second.applied).toEqual(migrations.map((m) => m.name));
  });

  it('reports pending, edited, failed and unknown migrations', async () => {
    const source = copyOfPrismaDir();
    const file = path.join(tempDir(), 'status.db');
    expect(migrationStatus(file, source)).toMatchObject({ kind: 'empty', applied: [] });
    await migrateDatabase(file, { source });
    const all = listMigrations(source.dir).map((m) => m.name);
    const initial = all[0]!;

    writeFileSync(
      path.join(source.dir, initial, 'migration.sql'),
      `${readFileSync(path.join(source.dir, initial, 'migration.sql'), 'utf8')}\n-- edited\n`,
    );
    const db = new Database(file);
    db.prepare(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('x', 'y', '29990101000000_Broken', '2999-01-01', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ('z', 'y', '29990101000001_FromTheFuture', '2999-01-01', '2999-01-01', 1)`,
    ).run();
    db.close();

    const status = migrationStatus(file, source);
    expect(status).toMatchObject({
      kind: 'managed',
      applied: all,
      pending: [],
      edited: [initial],
      failed: ['29990101000000_Broken'],
      unknown: ['29990101000001_FromTheFuture'],
    });
    await expect(migrateDatabase(file, { source })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      message: expect.stringContaining('29990101000000_Broken'),
    });
  });

  it('refuses a SQLite file that is not a catalog, and changes nothing in it', async () => {
    const file = path.join(tempDir(), 'other.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE Notes (Id INTEGER PRIMARY KEY, Text TEXT); INSERT INTO Notes (Text) VALUES ('keep me');`);
    db.close();
    await expect(migrateDatabase(file)).rejects.toMatchObject({
      code: 'DATABASE_INCOMPATIBLE',
      message: expect.stringContaining('Notes'),
    });
    const after = new Database(file, { readonly: true });
    expect(
      (after.prepare(`SELECT name FROM sqlite_master WHERE type='table'`).all() as { name: string }[]).map(
        (r) => r.name,
      ),
    ).toEqual(['Notes']);
    after.close();
  });

  it('gives an actionable error for a file that is not SQLite at all', async () => {
    const file = path.join(tempDir(), 'garbage.db');
    writeFileSync(file, 'this is not a database, just text that is long enough to have a header'.repeat(20));
    await expect(migrateDatabase(file)).rejects.toMatchObject({
      code: 'DATABASE_CORRUPT',
      message: expect.stringMatching(/is damaged \(file is not a database\).*restore/),
    });
  });
});

describe('createMigration (offline authoring)', () => {
  it('says there is nothing to do when schema and migrations agree', async () => {
    const source = copyOfPrismaDir();
    expect(await createMigration({ name: 'Nothing', source })).toBeNull();
    expect(listMigrations(source.dir)).toHaveLength(listMigrations(MIGRATIONS_DIR).length);
  });

  it('writes an additive migration that applies to an existing database', async () => {
    const base = copyOfPrismaDir();
    const file = path.join(tempDir(), 'evolve.db');
    await migrateDatabase(file, { source: base });
    const source = withSchemaText(base, (text) =>
      text.replace(
        '  avatarUrl String?  @map("AvatarUrl")',
        '  avatarUrl String?  @map("AvatarUrl")\n  bio       String?  @map("Bio")',
      ),
    );
    const created = await createMigration({ name: 'AddCreatorBio', source, now: new Date('2999-01-01T00:00:00Z') });
    expect(created?.name).toBe('29990101000000_AddCreatorBio');
    expect(created?.sql).toMatch(/ALTER TABLE "Creators" ADD COLUMN "Bio" TEXT;/);
    expect(await diffMigrationsToSchema(source)).toBe(EMPTY_MIGRATION_SQL);
    const result = await migrateDatabase(file, { source });
    expect(result.appliedNow).toEqual(['29990101000000_AddCreatorBio']);
  });

  it("refuses a change that would rebuild or drop tables (it would lose the desktop app's extra columns)", async () => {
    const source = withSchemaText(copyOfPrismaDir(), (text) =>
      text.replace('  avatarUrl String?  @map("AvatarUrl")\n', ''),
    );
    const before = readdirSync(source.dir);
    await expect(createMigration({ name: 'DropAvatar', source })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('--allow-destructive'),
    });
    expect(readdirSync(source.dir)).toEqual(before);
    expect(destructiveStatements('-- RedefineTables\nPRAGMA foreign_keys=OFF;\nDROP TABLE "x";')).toHaveLength(3);
  });

  it('creates an empty migration for hand-written SQL on request, and validates names', async () => {
    const source = copyOfPrismaDir();
    const created = await createMigration({ name: 'CustomSql', source, empty: true });
    expect(created && existsSync(path.join(created.path, 'migration.sql'))).toBe(true);
    await expect(createMigration({ name: '../evil', source })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('writes hand-written PostgreSQL migrations into the PostgreSQL folder, and refuses to diff that schema offline', async () => {
    const base = copyOfPrismaDir();
    const postgresDir = path.join(path.dirname(base.dir), 'postgres');
    const schemaPath = path.join(postgresDir, 'schema.prisma');
    const source = {
      dir: path.join(postgresDir, 'migrations'),
      schema: { schemaPath, schemaText: readFileSync(schemaPath, 'utf8') },
    };
    const before = listMigrations(source.dir);
    const created = await createMigration({ name: 'AddPgThing', source, empty: true });
    expect(created?.path.startsWith(source.dir)).toBe(true);
    expect(created!.name > before.at(-1)!.name).toBe(true);
    expect(readFileSync(path.join(created!.path, 'migration.sql'), 'utf8')).toMatch(/^-- Hand-written/);
    expect(readFileSync(path.join(source.dir, 'migration_lock.toml'), 'utf8')).toMatch(/provider = "postgresql"/);
    await expect(createMigration({ name: 'Diffed', source })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(listMigrations(source.dir)).toHaveLength(before.length + 1);
  });

  it('applies the project folder by default: every migration in prisma/migrations, with its checksum, in order', async () => {
    const file = path.join(tempDir(), 'default.db');
    await migrateDatabase(file);
    const onDisk = readdirSync(path.join(PROJECT_ROOT, 'prisma', 'migrations'))
      .filter((name) => /^\d{14}_\w+$/.test(name))
      .sort();
    const db = new Database(file, { readonly: true });
    const applied = db
      .prepare('SELECT migration_name AS name, checksum FROM _prisma_migrations ORDER BY migration_name')
      .all() as { name: string; checksum: string }[];
    db.close();
    expect(applied.map((m) => m.name)).toEqual(onDisk);
    for (const migration of applied) {
      const sql = readFileSync(
        path.join(PROJECT_ROOT, 'prisma', 'migrations', migration.name, 'migration.sql'),
        'utf8',
      );
      expect(migration.checksum, migration.name).toBe(createHash('sha256').update(sql).digest('hex'));
    }
    expect(defaultMigrationsSource().schema.schemaText).toBe(
      readFileSync(path.join(PROJECT_ROOT, 'prisma', 'schema.prisma'), 'utf8'),
    );
  });
});
