/**
 * How errors reach clients: our coded `AppError`s keep their message and `extensions.code`; GraphQL's own errors
 * (syntax, validation, variable coercion) and yoga's request errors (bad JSON body) pass unchanged; anything else is an unexpected failure and is masked
 * unless the server runs with NODE_ENV=development.
 */
import { GraphQLError } from 'graphql';
import { isAppError, type AppError } from '../errors.ts';
import { classifySqliteError } from '../db/database-errors.ts';
import { SEARCH_INDEX_RETRY_AFTER_S } from '../search/search-index.ts';

export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

/**
 * Codes that are a refusal for now rather than an answer: the HTTP status and headers a request gets whichever part
 * of it met one (the search budget before execution, or a resolver), so that scripts and proxies retry it.
 */
const HTTP_OF_CODE: Partial<Record<AppError['code'], { status: number; headers: Record<string, string> }>> = {
  SEARCH_INDEX_BUILDING: { status: 503, headers: { 'retry-after': String(SEARCH_INDEX_RETRY_AFTER_S) } },
};

/** A coded error as GraphQL reports it: its message, its code and details, where it arose (if it did in a field). */
export function fromAppError(error: AppError, located?: GraphQLError): GraphQLError {
  const http = HTTP_OF_CODE[error.code];
  return new GraphQLError(error.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    originalError: error,
    extensions: { code: error.code, ...(error.details ?? {}), ...(http ? { http } : {}) },
  });
}

function innermostCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, code },
  });
}

export function maskError(error: unknown, development: boolean): GraphQLError {
  const located = error instanceof GraphQLError ? error : undefined;
  const cause = innermostCause(error);
  // graphql-js already put the AppError's code into the located error: pass it on unchanged unless it lacks its HTTP
  // status (yoga logs an error it had to replace; the log hands a coded one down to debug either way).
  if (isAppError(cause))
    return located?.extensions.code === cause.code && (!HTTP_OF_CODE[cause.code] || located.extensions.http)
      ? located
      : fromAppError(cause, located);
  // A database another program holds locked, or a damaged file: say so, with what to do.
  const database = classifySqliteError(cause, 'The catalog database');
  if (database) return fromAppError(database, located);
  // GraphQL's own errors: parse and validation errors carry yoga's codes; one without a code and without a path
  // is a request input problem (variable coercion), with a path an execution failure of graphql-js itself.
  if (cause instanceof GraphQLError) {
    if (cause.extensions.code) return cause;
    return withCode(cause, cause.path ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT');
  }
  // Request-level errors yoga raised itself (invalid JSON body, wrong method…) carry their HTTP status and a
  // message written for the client.
  if (located?.extensions.http) return located;
  const message = development && cause instanceof Error ? cause.message : UNEXPECTED_ERROR_MESSAGE;
  return new GraphQLError(message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
