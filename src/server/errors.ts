/**
 * How errors reach clients: our coded `AppError`s keep their message and `extensions.code`; GraphQL's own errors
 * (syntax, validation, variable coercion) and yoga's request errors (bad JSON body) pass unchanged; anything else is an unexpected failure and is masked
 * unless the server runs with NODE_ENV=development.
 */
import { GraphQLError } from 'graphql';
import { isAppError, type AppError } from '../errors.ts';
import { classifySqliteError } from '../db/database-errors.ts';

export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

function fromAppError(error: AppError, located?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    originalError: error,
    extensions: { code: error.code, ...(error.details ?? {}) },
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
  // graphql-js already put the AppError's code into the located error: pass it on unchanged (yoga then does not
  // log it as an unexpected failure).
  if (isAppError(cause)) return located?.extensions.code === cause.code ? located : fromAppError(cause, located);
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
