/**
 * Errors with a stable machine-readable code. The GraphQL layer exposes `code` in `extensions.code`; the CLI prints
 * the message and exits non-zero. Anything that is not an `AppError` is an unexpected failure and gets masked.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'DATA_DIR_NOT_WRITABLE'
  | 'DATABASE_INCOMPATIBLE'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_CORRUPT'
  | 'DATABASE_LOCKED'
  | 'BACKUP_FAILED'
  | 'RESTORE_FAILED'
  | 'MIGRATION_FAILED'
  | 'UPSTREAM_ERROR'
  /** The server's port is taken by another program. */
  | 'PORT_IN_USE'
  /** The request ran past DIFFUSION_NEXUS_REQUEST_TIMEOUT_MS and was stopped. */
  | 'TIMEOUT'
  /** A search arrived while the search index is being built (`extensions.done` of `extensions.total` models). */
  | 'SEARCH_INDEX_BUILDING'
  /** The client disconnected; what it asked for was stopped. */
  | 'CLIENT_GONE'
  /** A file changed (size, modification time, identity) while it was read. */
  | 'FILE_CHANGED'
  /** Text that should be JSON is not. */
  | 'INVALID_JSON'
  /** JSON that is none of the Civitai API's payloads (model, model version, models or images list). */
  | 'NOT_CIVITAI_PAYLOAD'
  /** A download could not be completed (the server refused it, or it kept failing after its retries). */
  | 'DOWNLOAD_FAILED'
  /** Downloaded bytes whose hash is not the catalog's: nothing was kept. */
  | 'HASH_MISMATCH'
  /** Not enough free space for a download (checked before it starts), or the disk filled up while writing. */
  | 'DISK_FULL'
  /** DIFFUSION_NEXUS_DATABASE_URL / --database-url is not a file: or postgres(ql):// URL. */
  | 'INVALID_DATABASE_URL'
  /** The database server refused the connection, did not answer, or rejected the credentials. */
  | 'DATABASE_UNREACHABLE'
  /** What was asked exists only on the other engine (e.g. SQLite backup files on a PostgreSQL catalog). */
  | 'NOT_SUPPORTED_ON_ENGINE'
  /** A transfer's target already holds catalog rows (or a file that is not an empty catalog): nothing was written. */
  | 'TARGET_NOT_EMPTY'
  /** A source row the target cannot hold as it is (text with NUL, no timestamp, a broken reference…): nothing was kept. */
  | 'INVALID_SOURCE_ROW'
  /** After a transfer, the target's row counts or content checksums differ from the source's: nothing was kept. */
  | 'TRANSFER_MISMATCH'
  /** A transfer failed for another reason (the message says which): nothing was kept. */
  | 'TRANSFER_FAILED'
  /** A request named a persisted document (`documentId`) the server does not know. */
  | 'PERSISTED_DOCUMENT_NOT_FOUND'
  /** The server runs persisted documents only (DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY) and got a document's text. */
  | 'PERSISTED_DOCUMENTS_ONLY';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  /** graphql-js copies an original error's `extensions` onto the located error it reports. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...(this.details ?? {}) };
  }
}

/** A refusal because a limit was reached: `extensions.limit` names the limit (the one key every limit uses). */
export function limitExceeded(message: string, limit: number, details: Record<string, unknown> = {}): AppError {
  return new AppError('LIMIT_EXCEEDED', message, { ...details, limit });
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
