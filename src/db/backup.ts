/**
 * Online backup and restore through SQLite's backup API: a consistent copy of the catalog while the server keeps
 * serving and writing (the API copies a snapshot and restarts if another connection writes mid-copy), and a restore
 * that replaces the live database page by page, so running servers see the restored catalog on their next
 * statement. A restore first saves the current database beside it, brings an older backup up to date with the
 * migrations, and moves the catalog revision past where it stood.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../errors.ts';
import { BUSY_TIMEOUT_MS } from './catalog-database.ts';
import { migrateDatabase, migrationStatus } from './migrations.ts';
import { advanceSqliteRevision, type CatalogRevision, sqliteRevision } from './revision.ts';

export interface CopyProgress {
  totalPages: number;
  remainingPages: number;
}

export interface BackupResult {
  path: string;
  bytes: number;
  seconds: number;
}

export interface RestoreResult {
  /** Where the database as it was before the restore was saved (null when there was none). */
  savedPreviousAs: string | null;
  migrationsApplied: string[];
  seconds: number;
}

/** Pages copied per step: small steps let writers in between (the copy restarts when they write). */
const PAGES_PER_STEP = 2048;

function same(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/** `PRAGMA integrity_check` (or the faster `quick_check`) of a file: no problems, or the first ones. */
export function integrityProblems(file: string, quick = false): string[] {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    return [(error as Error).message];
  }
  try {
    const rows = db.pragma(`${quick ? 'quick_check' : 'integrity_check'}(5)`, { simple: false }) as Record<
      string,
      string
    >[];
    return rows.map((r) => Object.values(r)[0]!).filter((line) => line !== 'ok');
  } catch (error) {
    return [(error as Error).message];
  } finally {
    db.close();
  }
}

/** A backup never replaces a file unless asked (`--force`), whichever engine the catalog is on. */
export function refuseExistingBackup(target: string, overwrite: boolean): void {
  if (existsSync(target) && !overwrite)
    throw new AppError('BAD_USER_INPUT', `${target} exists; pass --force to replace it.`);
}

/** Copies the live database at `databasePath` to `target` (a single self-contained file, rollback-journal mode). */
export async function backupDatabase(
  databasePath: string,
  target: string,
  options: { overwrite?: boolean; onProgress?: (p: CopyProgress) => void } = {},
): Promise<BackupResult> {
  const started = performance.now();
  if (!existsSync(databasePath)) throw new AppError('NOT_FOUND', `There is no catalog database at ${databasePath}.`);
  if (same(databasePath, target))
    throw new AppError('BAD_USER_INPUT', 'The backup file must not be the database itself.');
  refuseExistingBackup(target, options.overwrite ?? false);
  mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  const source = new Database(databasePath, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    await source.backup(partial, {
      progress: (progress) => {
        options.onProgress?.(progress);
        return PAGES_PER_STEP;
      },
    });
    const copy = new Database(partial);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const problems = integrityProblems(partial);
    if (problems.length > 0)
      throw new AppError('DATABASE_CORRUPT', `The copy failed its integrity check: ${problems.join('; ')}`);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof AppError) throw error;
    throw new AppError('BACKUP_FAILED', `Backing up ${databasePath} failed: ${(error as Error).message}`);
  } finally {
    source.close();
  }
  return { path: path.resolve(target), bytes: statSync(target).size, seconds: (performance.now() - started) / 1000 };
}

/** Checks that `file` is an intact catalog (ours or the desktop app's) before anything is replaced with it. */
export function assertRestorableBackup(file: string): void {
  if (!existsSync(file)) throw new AppError('NOT_FOUND', `There is no backup file at ${file}.`);
  // SQLite would wait forever on a FIFO (and a device is no backup): only a regular file is opened.
  if (!statSync(file).isFile())
    throw new AppError('BAD_USER_INPUT', `${file} is not a regular file; give the path of a backup file.`);
  const problems = integrityProblems(file);
  if (problems.length > 0)
    throw new AppError('BAD_USER_INPUT', `${file} is not an intact SQLite database: ${problems.join('; ')}`);
  const { kind } = migrationStatus(file);
  if (kind !== 'managed' && kind !== 'adoptable') {
    throw new AppError(
      'BAD_USER_INPUT',
      `${file} is not a DiffusionNexus catalog (${kind === 'empty' ? 'it is empty' : 'unknown tables'}).`,
    );
  }
}

/**
 * Saves the live database before a restore: through the backup API when it is readable; a damaged file (the usual
 * reason to restore) is moved aside as it is, with its WAL, so the restore writes a fresh file.
 */
async function saveCurrent(databasePath: string, savedAs: string): Promise<void> {
  if (integrityProblems(databasePath, true).length === 0) {
    await backupDatabase(databasePath, savedAs);
    return;
  }
  renameSync(databasePath, savedAs);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(`${databasePath}${suffix}`)) renameSync(`${databasePath}${suffix}`, `${savedAs}${suffix}`);
  }
}

/** The revision of a catalog file, or null when it has none or cannot be read (a damaged file is restored over). */
function revisionOf(file: string): CatalogRevision | null {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    try {
      return sqliteRevision(db);
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/**
 * Replaces the catalog at `databasePath` with the backup `file`. The current database is saved first as
 * `<database>.before-restore-<time>.db`; then the backup is copied in through the backup API and migrated.
 */
export async function restoreDatabase(
  databasePath: string,
  file: string,
  options: { onProgress?: (p: CopyProgress) => void; log?: (line: string) => void } = {},
): Promise<RestoreResult> {
  const started = performance.now();
  if (same(databasePath, file)) throw new AppError('BAD_USER_INPUT', 'The backup file is the database itself.');
  assertRestorableBackup(file);
  mkdirSync(path.dirname(databasePath), { recursive: true });
  const savedPreviousAs = existsSync(databasePath) ? `${databasePath}.before-restore-${timestamp()}.db` : null;
  const revisionBefore = savedPreviousAs ? revisionOf(databasePath) : null;
  if (savedPreviousAs) await saveCurrent(databasePath, savedPreviousAs);
  const backup = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await backup.backup(databasePath, {
      progress: (progress) => {
        options.onProgress?.(progress);
        return PAGES_PER_STEP;
      },
    });
  } catch (error) {
    throw new AppError(
      'RESTORE_FAILED',
      `Restoring ${file} into ${databasePath} failed: ${(error as Error).message}. ` +
        (savedPreviousAs ? `The database before the restore is saved as ${savedPreviousAs}.` : ''),
    );
  } finally {
    backup.close();
  }
  // The live file keeps WAL mode (the setting is stored in the database) for concurrent readers.
  const live = new Database(databasePath, { timeout: BUSY_TIMEOUT_MS });
  try {
    live.pragma('journal_mode = WAL');
  } finally {
    live.close();
  }
  const migrated = await migrateDatabase(databasePath, { log: options.log ?? (() => {}) });
  // The backup brings back the number it was taken at; writes after the restore would count up again through
  // numbers that named other contents (a running server's cached answers, clients' ETags). So the revision moves
  // past where it stood before the restore, under a new epoch.
  const restored = new Database(databasePath, { timeout: BUSY_TIMEOUT_MS });
  try {
    advanceSqliteRevision(restored, { atLeast: revisionBefore?.revision ?? 0, newEpoch: true });
  } finally {
    restored.close();
  }
  return { savedPreviousAs, migrationsApplied: migrated.appliedNow, seconds: (performance.now() - started) / 1000 };
}
