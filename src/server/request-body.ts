/**
 * Reading a GraphQL request body with its limits enforced while the bytes arrive, before anything parses it:
 * the declared size against the caller's limit, JSON nesting depth and value count (a 64 MiB `[[[…` or 22 million
 * `{}` cost nothing to refuse this way, but seconds and gigabytes to JSON.parse), a body that stops arriving, and —
 * for bodies over the query limit — that the operation is the import mutation, decided from the `query` member as
 * soon as it has arrived.
 */
import type { IncomingMessage } from 'node:http';
import { Kind, parse } from 'graphql';
import { MAX_QUERY_BODY_BYTES } from '../config.ts';
import { JsonShapeScanner } from '../json-shape.ts';
import { isAppError } from '../errors.ts';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** A request refused before GraphQL saw it: HTTP status, code, message and the limit it broke. */
export class BodyRefusal extends Error {
  readonly status: number;
  readonly code: string;
  readonly limit: number | undefined;

  constructor(status: number, code: string, message: string, limit?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.limit = limit;
  }
}

/** The mutations whose arguments may be large: a Civitai payload, an uploaded thumbnail. */
export type LargeBodyLimits = Readonly<Record<'importCivitaiPayload' | 'setImageThumbnail', number>>;

/**
 * How large a body may be for a GraphQL document: when it only runs mutations that take large arguments, the
 * largest of their limits; otherwise null (the query limit applies).
 */
export function largeBodyLimit(query: string, limits: LargeBodyLimits): number | null {
  if (query.length > MAX_QUERY_BODY_BYTES) return null;
  try {
    let limit = 0;
    for (const definition of parse(query, { maxTokens: 2000 }).definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'mutation') return null;
      for (const selection of definition.selectionSet.selections) {
        if (selection.kind !== Kind.FIELD || !Object.hasOwn(limits, selection.name.value)) return null;
        limit = Math.max(limit, limits[selection.name.value as keyof LargeBodyLimits]);
      }
    }
    return limit;
  } catch {
    return null;
  }
}

export interface BodyOptions {
  /** The declared Content-Length (already checked against the caller's limit). */
  declared: number;
  /** Scan as JSON (for `application/json` bodies). */
  json: boolean;
  /** Over the query limit: must be a mutation that takes large arguments, within its limit. */
  large: LargeBodyLimits | null;
  idleTimeoutMs: number;
}

/** Reads the whole body, refusing it (BodyRefusal) as soon as it breaks a limit. */
export function readRequestBody(req: IncomingMessage, options: BodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.allocUnsafe(options.declared);
    // The `query` member is read only for a large body: whether it is a mutation that may be large.
    const scanner = options.json ? new JsonShapeScanner({ readsQuery: options.large !== null }) : null;
    let received = 0;
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('close', onAborted);
      if (error) reject(error);
      else resolve(body.subarray(0, received));
    };
    const refuseIdle = () =>
      finish(
        new BodyRefusal(
          408,
          'TIMEOUT',
          `The request body stopped arriving for ${options.idleTimeoutMs / 1000} s.`,
          options.idleTimeoutMs,
        ),
      );
    let idle = setTimeout(refuseIdle, options.idleTimeoutMs);
    let limit: number | null = options.large ? null : options.declared;
    const checkLarge = () => {
      if (limit === null) {
        const query = scanner?.query ?? null;
        if (query === null && received <= MAX_QUERY_BODY_BYTES) return;
        limit = query === null ? null : largeBodyLimit(query, options.large!);
        if (limit === null) {
          throw new BodyRefusal(
            413,
            'LIMIT_EXCEEDED',
            `Request bodies are at most ${MAX_QUERY_BODY_BYTES} bytes, except for importCivitaiPayload and ` +
              'setImageThumbnail mutations (with their `query` before their `variables`).',
            MAX_QUERY_BODY_BYTES,
          );
        }
      }
      if (options.declared > limit)
        throw new BodyRefusal(
          413,
          'LIMIT_EXCEEDED',
          `This mutation's request bodies are at most ${limit} bytes.`,
          limit,
        );
    };
    const onData = (chunk: Buffer) => {
      clearTimeout(idle);
      idle = setTimeout(refuseIdle, options.idleTimeoutMs);
      if (received + chunk.length > options.declared) {
        finish(new BodyRefusal(400, 'BAD_REQUEST', 'The body is longer than its Content-Length.'));
        return;
      }
      chunk.copy(body, received);
      received += chunk.length;
      try {
        scanner?.push(chunk);
        checkLarge();
      } catch (error) {
        finish(
          isAppError(error)
            ? new BodyRefusal(400, error.code, error.message, error.details?.limit as number | undefined)
            : (error as Error),
        );
      }
    };
    const onEnd = () =>
      finish(
        received === options.declared
          ? null
          : new BodyRefusal(400, 'BAD_REQUEST', 'The body is shorter than its Content-Length.'),
      );
    const onAborted = () => finish(new BodyRefusal(400, 'CLIENT_GONE', 'The client went away while sending the body.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('close', onAborted);
  });
}

/**
 * A POST body yoga has no parser for (text, a multipart form: the schema takes no uploads) is refused with a code
 * and what to send, where yoga would answer 415 with no body. After the CSRF guard, which refuses the content types a
 * web page can send cross-site first.
 */
export function mediaTypePlugin(): Plugin {
  return {
    onRequestParse({ request, requestParser }) {
      if (requestParser) return;
      throw createGraphQLError(
        `A POST body of type "${(request.headers.get('content-type') ?? 'none').slice(0, 100)}" cannot be read: send ` +
          'JSON (`Content-Type: application/json`) with `query` and `variables`, or use GET.',
        { extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } } },
      );
    },
  };
}
