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
  | 'UPSTREAM_ERROR';

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

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
