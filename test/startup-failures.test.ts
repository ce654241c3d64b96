/**
 * Starting on a database that cannot be used: a damaged file and a file another program holds locked each stop
 * start-up with a coded message that says what to do, and a damaged catalog can be replaced from a backup.
 *
 * On PostgreSQL there is no file to damage, lock or restore: its counterparts are a server that cannot be reached or
 * lets us in (a coded message naming the URL without its password), and catalog tables another program holds
 * locked (a coded error or a server that starts regardless, after a bounded wait, never a silent hang).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../bench/load.ts';
import { resolveServerConfig } from '../src/config.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migratePostgres } from '../src/db/postgres/migrations.ts';
import { AppError } from '../src/errors.ts';
import { maskError } from '../src/server/errors.ts';
import { startServer } from '../src/server/start.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { exactChecksum } from './helpers/db-checksum.ts';
import { freshPostgresDatabase, TEST_ENGINE, withTableLocked } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

/** The SQLite file's own failures (damaged, locked by another program, restored over): none exists on PostgreSQL. */
const sqliteOnly = it.skipIf(TEST_ENGINE === 'postgres');
/** Their PostgreSQL counterparts. */
const postgresOnly = it.runIf(TEST_ENGINE === 'postgres');

/** Runs `serve` and returns its outcome when it stops by itself (it must: it cannot start). */
async function serveFails(dataDir: string, more: string[] = []) {
  const child = spawnCli(['serve', '--data-dir', dataDir, '--port', '0', ...more]);
  child.stdin.end();
  // One that waits forever is a failure of its own: ended after 40 s, it shows as killed, not as a test timeout.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const run = await outcome(child);
  clearTimeout(deadline);
  expect(run.code, `${run.signal ?? ''} ${run.stdout}`).toBe(1);
  return run.stderr;
}

/** Another connection to `url`, for holding locks (its end, when the file's database is dropped, is expected). */
async function holderOn(url: string): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: url });
  holder.on('error', () => {});
  await holder.connect();
  return holder;
}

describe('start-up on an unusable database', () => {
  sqliteOnly('names a damaged file and the restore command', async () => {
    const dataDir = path.join(tempDir('dn-damaged-'), 'data');
    mkdirSync(dataDir);
    writeFileSync(databasePathIn(dataDir), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0xa5)]));
    const stderr = await serveFails(dataDir);
    expect(stderr).toMatch(/error \[DATABASE_CORRUPT\]: .*Diffusion_Nexus-core\.db is damaged/);
    expect(stderr).toMatch(/diffusion-nexus restore <backup file>/);
  });

  sqliteOnly('names a lock held by another program instead of calling the file damaged', async () => {
    const catalog = await seededCatalog();
    const holder = new Database(catalog.databasePath);
    holder.pragma('journal_mode = DELETE');
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const started = Date.now();
      const stderr = await serveFails(catalog.dataDir);
      expect(stderr).toMatch(/error \[DATABASE_LOCKED\]: .* is locked by another program .* waited 5 s/);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  sqliteOnly('restores a backup over a damaged catalog, keeping the damaged file aside', async () => {
    const catalog = await seededCatalog();
    const backup = path.join(tempDir('dn-damaged-backup-'), 'good.db');
    expect((await cli(['backup', backup, '--data-dir', catalog.dataDir])).code).toBe(0);
    catalog.sql.close();
    const damaged = Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0x5a)]);
    writeFileSync(catalog.databasePath, damaged);
    const run = await cli(['restore', backup, '--data-dir', catalog.dataDir]);
    expect(run.code, run.stderr).toBe(0);
    const saved = /saved as (\S+)/.exec(run.stdout)![1]!;
    expect(readFileSync(saved).equals(damaged)).toBe(true);
    expect(exactChecksum(catalog.databasePath)).toBe(exactChecksum(backup));
    expect(existsSync(catalog.databasePath)).toBe(true);
  });

  sqliteOnly('turns SQLite lock and corruption errors at run time into coded errors', () => {
    const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(maskError(sqliteError('SQLITE_BUSY', 'database is locked'), false).extensions.code).toBe('DATABASE_LOCKED');
    expect(maskError(sqliteError('SQLITE_CORRUPT', 'database disk image is malformed'), false).extensions.code).toBe(
      'DATABASE_CORRUPT',
    );
    expect(maskError(new Error('something else'), false).extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });

  const SECRET = 'startup-s3cret';
  /** `url` with SECRET as its password (trust authentication lets any password in). */
  const withPassword = (url: string) => {
    const parsed = new URL(url);
    parsed.password = SECRET;
    return parsed.toString();
  };

  postgresOnly(
    'a server that cannot be reached or refuses us is DATABASE_UNREACHABLE, naming the URL without its password',
    async () => {
      const { url } = await freshPostgresDatabase();
      const role = new URL(withPassword(url));
      role.username = 'dn_no_such_role';
      const database = new URL(withPassword(url));
      database.pathname = '/dn_no_such_database';
      const refused = new URL(withPassword(url));
      refused.port = '1';
      const dataDir = path.join(tempDir('dn-pg-unusable-'), 'data');
      // In this process: what `serve` prints is the error's code and message (see the SQLite tests above, and the
      // engine's own tests for the CLI's output without a stack trace); three server processes would add only start-up.
      for (const target of [role, database, refused]) {
        const started = Date.now();
        const config = resolveServerConfig({ port: '0', dataDir, databaseUrl: target.toString() }, {});
        const failure = await startServer(config).then(
          () => new Error('the server started'),
          (error: unknown) => error,
        );
        const shown = new URL(target);
        shown.password = '***';
        expect(failure, target.pathname).toBeInstanceOf(AppError);
        expect((failure as AppError).code).toBe('DATABASE_UNREACHABLE');
        expect((failure as AppError).message).toMatch(/^Cannot connect to the PostgreSQL catalog /);
        expect((failure as AppError).message).toContain(shown.toString());
        expect((failure as AppError).message).not.toContain(SECRET);
        expect(Date.now() - started).toBeLessThan(15_000);
      }
    },
  );

  postgresOnly('names a lock another program holds on the migrations table, after a bounded wait', async () => {
    const target = await freshPostgresDatabase();
    await migratePostgres(target);
    await withTableLocked(target.url, '_prisma_migrations', async () => {
      const started = Date.now();
      const stderr = await serveFails(path.join(tempDir('dn-pg-locked-'), 'data'), [
        '--database-url',
        withPassword(target.url),
      ]);
      expect(stderr).toMatch(
        /^error \[DATABASE_LOCKED\]: .*PostgreSQL catalog postgres:\/\/postgres:\*\*\*@.* locked by another connection .* waited 5 s/m,
      );
      expect(stderr).not.toContain(SECRET);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(Date.now() - started).toBeLessThan(30_000);
    });
  });

  postgresOnly(
    'starts while another program holds a catalog table locked; what needs that table is DATABASE_LOCKED',
    async () => {
      const target = await freshPostgresDatabase();
      await migratePostgres(target);
      const holder = await holderOn(target.url);
      try {
        // A change to the table's definition left uncommitted: it holds the table against reads and writes.
        await holder.query('BEGIN');
        await holder.query('ALTER TABLE "Downloads" ADD COLUMN "Elsewhere" integer');
        const started = Date.now();
        const server = await startServerProcess(
          [
            '--import',
            'tsx',
            'src/cli/main.ts',
            'serve',
            '--port',
            '0',
            '--data-dir',
            path.join(tempDir('dn-pg-held-'), 'data'),
          ],
          { DIFFUSION_NEXUS_DATABASE_URL: withPassword(target.url), DIFFUSION_NEXUS_LOCK_WAIT_MS: '1000' },
        );
        try {
          expect(Date.now() - started).toBeLessThan(30_000);
          const post = async (query: string) =>
            (await (
              await fetch(`${server.url}/graphql`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ query }),
                signal: AbortSignal.timeout(30_000),
              })
            ).json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
          const downloads = await post('{ downloads(first: 1) { totalCount } }');
          expect(downloads.errors?.[0]?.extensions?.code).toBe('DATABASE_LOCKED');
          expect(JSON.stringify(downloads)).not.toContain(SECRET);
          expect(await post('{ models(first: 1) { totalCount } }')).toEqual({ data: { models: { totalCount: 0 } } });
        } finally {
          await server.stop();
        }
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    },
    90_000,
  );
});
