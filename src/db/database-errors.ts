/**
 * SQLite failures as coded errors that tell the user what to do: a database another program holds locked, a damaged
 * file, a file the user may not read or write. Used at start-up (open, migrations) and for errors at run time.
 */
import { AppError } from '../errors.ts';

/** How long a statement waits for another program's lock before failing with DATABASE_LOCKED. */
export const BUSY_TIMEOUT_MS = 5000;

function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Another program held the write lock for longer than `waitedMs`. */
export function lockedError(databasePath: string, waitedMs: number): AppError {
  return new AppError(
    'DATABASE_LOCKED',
    `${databasePath} is locked by another program (the DiffusionNexus desktop app in the middle of a write, ` +
      `another DiffusionNexus Core server, or a backup tool); waited ${waitedMs / 1000} s. Let that program finish or close it, then try again.`,
  );
}

/** A coded error for a SQLite failure on `databasePath`, or null when the error is not one of these kinds. */
export function classifySqliteError(error: unknown, databasePath: string): AppError | null {
  const code = sqliteCode(error);
  const message = messageOf(error);
  if (
    code.startsWith('SQLITE_BUSY') ||
    code.startsWith('SQLITE_LOCKED') ||
    /database (table )?is locked/i.test(message)
  )
    return lockedError(databasePath, BUSY_TIMEOUT_MS);
  if (
    code === 'SQLITE_NOTADB' ||
    code.startsWith('SQLITE_CORRUPT') ||
    /file is not a database|malformed/i.test(message)
  ) {
    return new AppError(
      'DATABASE_CORRUPT',
      `${databasePath} is damaged (${message}). Restore a backup with ` +
        '`diffusion-nexus restore <backup file>` (the damaged file is saved beside it), or point --data-dir elsewhere.',
    );
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_PERM') ||
    code === 'SQLITE_AUTH' ||
    /EACCES|EPERM/.test(message)
  ) {
    return new AppError(
      'DATABASE_UNAVAILABLE',
      `Cannot open ${databasePath} (${message}). Check that the file and its folder exist and that this ` +
        'user may read and write them.',
    );
  }
  return null;
}

/** `classifySqliteError`, falling back to DATABASE_UNAVAILABLE with the original message. */
export function databaseError(error: unknown, databasePath: string, doing: string): AppError {
  if (error instanceof AppError) return error;
  return (
    classifySqliteError(error, databasePath) ??
    new AppError('DATABASE_UNAVAILABLE', `${doing} ${databasePath} failed: ${messageOf(error)}`)
  );
}
