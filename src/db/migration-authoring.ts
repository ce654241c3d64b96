/**
 * Authoring migrations without a shadow database (the WASM engine has none): apply the existing migrations to a
 * scratch file, then let the engine diff that file against `schema.prisma`. The same scratch build proves that
 * migrations and schema agree (no drift).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.ts';
import { SCHEMA_FILTERS, schemasContainer } from './schema-engine.ts';
import {
  INITIAL_MIGRATION_SUFFIX,
  MIGRATION_LOCK_FILE,
  defaultMigrationsSource,
  listMigrations,
  toEngineMigrationList,
  withSchemaEngine,
  type MigrationsSource,
} from './migrations.ts';

export const EMPTY_MIGRATION_SQL = '-- This is an empty migration.';

/** SQL that would take from the current migrations to `schema.prisma` (EMPTY_MIGRATION_SQL when they agree). */
export async function diffMigrationsToSchema(source: MigrationsSource = defaultMigrationsSource()): Promise<string> {
  const scratchDir = mkdtempSync(path.join(tmpdir(), 'dn-migrations-'));
  const scratchDb = path.join(scratchDir, 'scratch.db');
  try {
    return await withSchemaEngine(scratchDb, source.schema, async (engine) => {
      const migrations = listMigrations(source.dir);
      if (migrations.length > 0) {
        await engine.applyMigrations({
          migrationsList: toEngineMigrationList(source.dir, migrations),
          filters: SCHEMA_FILTERS,
        });
      }
      const result = await engine.diff({
        from: {
          tag: 'schemaDatasource',
          ...schemasContainer(source.schema),
          configDir: path.dirname(source.schema.schemaPath),
        },
        to: { tag: 'schemaDatamodel', ...schemasContainer(source.schema) },
        script: true,
        exitCode: null,
        filters: SCHEMA_FILTERS,
      });
      return (result.stdout ?? '').trim();
    });
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** The `provider` of a schema's datasource block ("sqlite", "postgresql"). */
export function datasourceProvider(schemaText: string): string {
  return /datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*"([^"]+)"/.exec(schemaText)?.[1] ?? 'sqlite';
}

export function isEmptyMigration(sql: string): boolean {
  return sql.trim() === '' || sql.trim() === EMPTY_MIGRATION_SQL;
}

/**
 * Statements that would lose data in a database shared with the desktop app: dropping, or SQLite's table rebuild
 * (which copies only the columns Prisma knows and so silently drops the desktop app's extra columns).
 */
export function destructiveStatements(sql: string): string[] {
  return sql.split('\n').filter((line) => /^\s*(DROP\s|PRAGMA\s+foreign_keys\s*=\s*OFF|-- RedefineTables)/i.test(line));
}

export function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export interface CreateMigrationOptions {
  name: string;
  /** Create an empty migration for hand-written SQL (triggers, FTS tables). */
  empty?: boolean;
  allowDestructive?: boolean;
  source?: MigrationsSource;
  now?: Date;
}

export interface CreatedMigration {
  name: string;
  path: string;
  sql: string;
}

/** Writes `prisma/migrations/<timestamp>_<Name>/migration.sql`; returns null when there is nothing to migrate. */
export async function createMigration(options: CreateMigrationOptions): Promise<CreatedMigration | null> {
  const source = options.source ?? defaultMigrationsSource();
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(options.name)) {
    throw new AppError(
      'BAD_USER_INPUT',
      `Migration name "${options.name}" must be letters, digits and underscores, starting with a letter.`,
    );
  }
  const existing = listMigrations(source.dir);
  if (existing.length === 0 && `_${options.name}` !== INITIAL_MIGRATION_SUFFIX) {
    throw new AppError('BAD_USER_INPUT', `The first migration must be named ${INITIAL_MIGRATION_SUFFIX.slice(1)}.`);
  }
  const provider = datasourceProvider(source.schema.schemaText);
  if (provider !== 'sqlite' && !options.empty) {
    // The engine diffs a PostgreSQL schema only against a live server (the WASM engine has no shadow database),
    // so there is no offline diff to write: test/postgres-engine.test.ts checks migrations against the schema.
    throw new AppError(
      'BAD_USER_INPUT',
      `Migrations for a ${provider} schema are hand-written: pass --empty and write the SQL, then check for drift.`,
    );
  }
  const diff = provider === 'sqlite' ? await diffMigrationsToSchema(source) : EMPTY_MIGRATION_SQL;
  if (isEmptyMigration(diff) && !options.empty) return null;
  const destructive = destructiveStatements(diff);
  if (destructive.length > 0 && !options.allowDestructive) {
    throw new AppError(
      'BAD_USER_INPUT',
      "This change would drop or rebuild tables, which loses the desktop app's extra " +
        `columns in shared databases:\n  ${destructive.join('\n  ')}\nMake the change additive (new nullable columns, new ` +
        'indexes) or pass --allow-destructive if you are sure.',
    );
  }
  let stamp = migrationTimestamp(options.now ?? new Date());
  const last = existing.at(-1)?.name.slice(0, 14);
  if (last && stamp <= last) stamp = String(BigInt(last) + 1n);
  const name = `${stamp}_${options.name}`;
  const dir = path.join(source.dir, name);
  const sql = isEmptyMigration(diff) ? '-- Hand-written migration: add SQL below.\n' : `${diff}\n`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration.sql'), sql);
  const lock = path.join(source.dir, MIGRATION_LOCK_FILE);
  if (!existsSync(lock)) {
    writeFileSync(
      lock,
      `# Written by \`npm run db:migration:create\`; keep it in version control.\nprovider = "${provider}"\n`,
    );
  }
  return { name, path: dir, sql };
}
