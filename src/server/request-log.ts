/**
 * One log line per HTTP request: id, method, path (never the query string: GET queries can carry variables),
 * status, duration and, for GraphQL, the operation and the error codes it produced.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { rememberedByObject } from '../memo.ts';
import type { Plugin } from 'graphql-yoga';
import { logLine, requestIdFrom, type Logger } from './logger.ts';
import type { RequestScope } from '../db/request-scope.ts';

export interface RequestLog {
  id: string;
  operation?: string;
  errorCodes?: string[];
  /** The operation ran compiled (`compiled-execution.ts`). */
  compiled?: boolean;
  /** Answered without yoga's fetch layer (`direct-answer.ts`). */
  direct?: boolean;
  /** A query answered before: parsed and validated then, executed now (`PreparedOperations`). */
  prepared?: boolean;
  /** Answered without running: a 304 for a still-current ETag, or a cached answer (`revision-cache.ts`). */
  cache?: 'not-modified' | 'cached';
  /** Milliseconds the request waited for its turn (`execution-gate.ts`), when it waited. */
  waitedMs?: number;
}

/** The yoga server context: the request's log record travels with it. */
export interface ServerContext {
  requestLog?: RequestLog;
  /** What the request may still do (its time limit, its client); see `RequestScope`. */
  scope?: RequestScope;
}

/**
 * Gives yoga's server context the request listener's per-request state, which the listener files under the Node
 * request beforehand. Handing it as yoga's third argument would make whatwg-node merge two context objects property
 * by property, descriptors and all (`completeAssign`): ~15 µs a request, the adapter's largest single cost in the
 * profiles of issue 14. Node's adapter passes one fresh context per request, holding `req`; this fills it in first.
 */
export function serverContextPlugin(
  handed: WeakMap<IncomingMessage, ServerContext>,
): Plugin<Record<string, unknown>, ServerContext> {
  return {
    onRequest({ serverContext }) {
      const state = handed.get((serverContext as { req?: IncomingMessage }).req as IncomingMessage);
      if (state) Object.assign(serverContext, state);
    },
  };
}

export const REQUEST_ID_HEADER = 'x-request-id';

/** Starts a request's record, echoes its id, and logs the line when the response is done (or the client left). */
export function startRequestLog(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  quiet: boolean,
): RequestLog {
  const record: RequestLog = { id: requestIdFrom(req.headers[REQUEST_ID_HEADER]) };
  res.setHeader(REQUEST_ID_HEADER, record.id);
  const started = performance.now();
  const done = () => {
    const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
    const line: Record<string, unknown> = {
      reqId: record.id,
      method: req.method,
      path: pathname,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (record.operation) line.operation = record.operation;
    if (record.errorCodes?.length) line.errors = record.errorCodes;
    if (record.compiled) line.compiled = true;
    if (record.direct) line.direct = true;
    if (record.prepared) line.prepared = true;
    if (record.cache) line.cache = record.cache;
    if (record.waitedMs) line.waitedMs = record.waitedMs;
    // A refusal for now, with a Retry-After (the search index being built): the server working as designed, which
    // scripts retry; an error line would page someone for it.
    if (status >= 500 && res.hasHeader('retry-after')) logLine(logger, 'warn', line, 'request');
    else if (status >= 500) logLine(logger, 'error', line, 'request failed');
    else logLine(logger, quiet ? 'debug' : 'info', line, 'request');
  };
  // A response emits 'close' once it is done, after 'finish' when it was sent whole (Node ≥ 14).
  res.once('close', done);
  return record;
}

function codesOf(result: ExecutionResult): string[] {
  return (result.errors ?? []).map((error) => String(error.extensions?.code ?? 'GRAPHQL_ERROR'));
}

/** `query ListPage`: per parsed operation, made once (yoga's parse cache hands out one document per text). */
const operationLabel = rememberedByObject(
  (operation: OperationDefinitionNode) => `${operation.operation}${operation.name ? ` ${operation.name.value}` : ''}`,
);

/** Records the operation (`query ListPage`) and the error codes of the result on the request's log record. */
export function requestLogPlugin(): Plugin<Record<string, unknown>, ServerContext> {
  return {
    onExecute({ args }) {
      const record = (args.contextValue as ServerContext).requestLog;
      const operation = getOperationAST(args.document, args.operationName);
      if (record && operation) record.operation = operationLabel(operation);
    },
    onResultProcess({ result, serverContext }) {
      const record = serverContext.requestLog;
      if (!record) return;
      // Most results have no errors: nothing to list.
      if (!Array.isArray(result) && !(result as ExecutionResult | null)?.errors) return;
      const results = Array.isArray(result) ? result : [result];
      const codes = results.flatMap((r) =>
        r && typeof r === 'object' && 'errors' in r ? codesOf(r as ExecutionResult) : [],
      );
      if (codes.length) record.errorCodes = [...new Set(codes)];
    },
  };
}
