/**
 * Cacheable reads: a persisted query (`persisted-documents.ts`) whose fields the catalog revision covers
 * (`revision-coverage.ts`) is answered with an `ETag` made from what its answer depends on — the document, the
 * operation, the variables, the caller's variant (token class, host, accepted media type), the server's fingerprint
 * — and the catalog revision (`src/db/revision.ts`), which every write to those rows raises, whoever writes. With
 * `Cache-Control: no-cache`, browsers and HTTP caches revalidate every time; an `If-None-Match` that still matches
 * is answered `304 Not Modified` after one read of the revision, executing nothing.
 *
 * The same key serves an in-process cache of answers: exact, because the key holds the revision, and an answer
 * is kept only while the revision it was made at is the newest one seen (older entries are dropped when a newer
 * revision shows up). Bounded by the JSON size of the answers kept (least recently used go first) and their number.
 *
 * The revision is read before the operation runs, and an answer is never older than the revision read before it
 * (a write commits its rows and its revision together): an answer may be filed under a revision older than the
 * rows it saw, which only costs a later miss, never a stale answer.
 *
 * Only error-free answers get an ETag or are cached: errors may be passing (a time limit, a locked database).
 * Mutations and subscriptions are never cached (they are not covered); neither are documents sent as text.
 */
import { createHash } from 'node:crypto';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { type CatalogRevision, revisionStamp } from '../db/revision.ts';
import { BoundedCache } from './bounded-cache.ts';
import { documentIdOf, type PersistedDocuments } from './persisted-documents.ts';

export type CacheOutcome = 'not-modified' | 'cached';

export interface RevisionCacheOptions<TServerContext> {
  documents: PersistedDocuments;
  /** The catalog revision (one statement), or null when it cannot be read: then the request runs as usual. */
  readRevision(serverContext: TServerContext): Promise<CatalogRevision | null>;
  /** What an answer depends on beyond document, variables and revision, per request (token class, host, Accept). */
  variant(request: Request): string;
  /**
   * What answers depend on beyond the request (schema, settings), so that another server's ETags never match;
   * asked once, when the first persisted query arrives.
   */
  fingerprint(): string;
  /** JSON bytes of answers kept at most; 0 keeps none (ETags and 304s only). */
  maxBytes: number;
  /** Told when a request is answered without running: a 304, or a cached answer. */
  onServed?(serverContext: TServerContext, outcome: CacheOutcome): void;
}

/** Most answers kept, whatever their size (each costs a map entry and its key). */
export const MAX_CACHED_ANSWERS = 2000;
/** One answer may take at most this share of the cache (a page of base64 thumbnails would push out everything). */
const MAX_ENTRY_SHARE = 8;

interface RequestState {
  etag: string;
  key: string;
  stamp: string;
  /** The answer is error-free: it gets the ETag. */
  ok?: boolean;
  fromCache?: boolean;
}

interface CachedAnswer {
  result: ExecutionResult;
  bytes: number;
}

/** The answer of a request whose If-None-Match still matches (turned into a 304 when the response is made). */
const NOT_MODIFIED: ExecutionResult = Object.freeze({});

function digest(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('base64url');
}

/** The variables an operation declares, of those a request sent: the others change nothing of its answer. */
function declaredOnly(variables: Record<string, unknown> | undefined, declared: readonly string[]) {
  const kept: Record<string, unknown> = {};
  for (const name of declared) if (variables && Object.hasOwn(variables, name)) kept[name] = variables[name];
  return kept;
}

/** JSON with object keys sorted, so variables sent in another order make the same key. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for If-None-Match). */
function noneMatchHas(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || value.replace(/^W\//, '') === etag;
  });
}

// Origin: the CORS headers of an answer depend on it (`browser-guards.ts`).
const HEADERS = { 'cache-control': 'no-cache', vary: 'Accept, Authorization, Origin' } as const;

export function revisionCachePlugin<TServerContext extends object>(
  options: RevisionCacheOptions<TServerContext>,
): Plugin<Record<string, unknown>, TServerContext> {
  const { documents, maxBytes } = options;
  let fingerprint: string | undefined;
  const states = new WeakMap<Request, RequestState>();
  const answers = new BoundedCache<CachedAnswer>({
    maxEntries: MAX_CACHED_ANSWERS,
    maxSize: maxBytes,
    maxEntrySize: maxBytes / MAX_ENTRY_SHARE,
    sizeOf: (_key, answer) => answer.bytes,
  });
  /** The newest revision seen; answers are kept for it only. */
  let newest: CatalogRevision | null = null;
  let newestStamp = '';

  const keep = (key: string, result: ExecutionResult) =>
    answers.set(key, { result, bytes: Buffer.byteLength(JSON.stringify(result)) });

  type OnParams = NonNullable<Plugin<Record<string, unknown>, TServerContext>['onParams']>;
  const servePersisted = async (
    { params, request, setResult, context }: Parameters<OnParams>[0],
    document: NonNullable<ReturnType<typeof documents.get>>,
  ) => {
    const serverContext = context as unknown as TServerContext;
    const revision = await options.readRevision(serverContext);
    if (revision === null) return;
    const stamp = revisionStamp(revision);
    fingerprint ??= options.fingerprint();
    const key = digest([
      fingerprint,
      document.id,
      params.operationName ?? '',
      stableJson(declaredOnly(params.variables, document.declaredVariables(params.operationName))),
      options.variant(request),
    ]);
    const state: RequestState = { key, stamp, etag: `"${digest([key, stamp]).slice(0, 27)}"` };
    states.set(request, state);
    if (request.method === 'GET' && noneMatchHas(request.headers.get('if-none-match'), state.etag)) {
      setResult(NOT_MODIFIED);
      options.onServed?.(serverContext, 'not-modified');
      return;
    }
    if (maxBytes === 0) return;
    // Concurrent requests may read the revision out of order: only a newer one (or another epoch: a restore)
    // drops the answers kept; a request that read an older one neither finds nor keeps any.
    if (newest === null || revision.epoch !== newest.epoch || revision.revision > newest.revision) {
      newest = revision;
      newestStamp = stamp;
      answers.clear();
    }
    const cached = answers.get(`${key}:${stamp}`);
    if (cached) {
      state.fromCache = true;
      setResult(cached.result);
      options.onServed?.(serverContext, 'cached');
    }
  };

  return {
    // Only a cacheable persisted document reads the revision: any other request passes without a promise (yoga's
    // hooks then stay synchronous for it).
    onParams(payload) {
      const { params, request } = payload;
      if (params.query) return;
      const id = documentIdOf(params, request);
      const document = id === null ? undefined : documents.get(id);
      if (!document?.cacheable(params.operationName)) return;
      return servePersisted(payload, document);
    },
    onResultProcess({ request, result, setResultProcessor }) {
      const state = states.get(request);
      if (!state) return;
      if (result === NOT_MODIFIED) {
        setResultProcessor(
          (_result, fetchAPI) =>
            new fetchAPI.Response(null, { status: 304, headers: { etag: state.etag, ...HEADERS } }),
          'application/json',
        );
        return;
      }
      if (isAsyncIterable(result) || Array.isArray(result)) return;
      const single = result as ExecutionResult;
      if (single.errors?.length || single.extensions) return;
      state.ok = true;
      if (maxBytes > 0 && !state.fromCache && state.stamp === newestStamp) keep(`${state.key}:${state.stamp}`, single);
    },
    onResponse({ request, response }) {
      const state = states.get(request);
      if (!state?.ok || response.status !== 200 || request.method !== 'GET') return;
      response.headers.set('etag', state.etag);
      response.headers.set('cache-control', HEADERS['cache-control']);
      response.headers.append('vary', HEADERS.vary);
    },
  };
}
