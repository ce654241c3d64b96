/**
 * Starting on a database that cannot be used: a damaged file and a file another program holds locked each stop
 * start-up with a coded message that says what to do, and a damaged catalog can be replaced from a backup.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databasePathIn } from '../src/db/data-dir.ts';
import { maskError } from '../src/server/errors.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { cli } from './helpers/cli.ts';
import { exactChecksum } from './helpers/db-checksum.ts';
import { tempDir } from './helpers/temp.ts';

/** Runs `serve` and returns its outcome when it stops by itself (it must: it cannot start). */
async function serveFails(dataDir: string) {
  const run = await cli(['serve', '--data-dir', dataDir, '--port', '0']);
  expect(run.code, run.stdout).toBe(1);
  return run.stderr;
}

describe('start-up on an unusable database', () => {
  it('names a damaged file and the restore command', async () => {
    const dataDir = path.join(tempDir('dn-damaged-'), 'data');
    mkdirSync(dataDir);
    writeFileSync(databasePathIn(dataDir), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0xa5)]));
    const stderr = await serveFails(dataDir);
    expect(stderr).toMatch(/error \[DATABASE_CORRUPT\]: .*Diffusion_Nexus-core\.db is damaged/);
    expect(stderr).toMatch(/diffusion-nexus restore <backup file>/);
  });

  it('names a lock held by another program instead of calling the file damaged', async () => {
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

  it('restores a backup over a damaged catalog, keeping the damaged file aside', async () => {
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

  it('turns SQLite lock and corruption errors at run time into coded errors', () => {
    const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(maskError(sqliteError('SQLITE_BUSY', 'database is locked'), false).extensions.code).toBe('DATABASE_LOCKED');
    expect(maskError(sqliteError('SQLITE_CORRUPT', 'database disk image is malformed'), false).extensions.code).toBe(
      'DATABASE_CORRUPT',
    );
    expect(maskError(new Error('something else'), false).extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });
});
