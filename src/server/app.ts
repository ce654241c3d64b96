/**
 * The HTTP server: GraphQL (yoga) at /graphql with an offline GraphiQL, and small REST routes beside it.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compiledExecutionPlugin } from './compiled-execution.ts';
import { directAnswers, PreparedOperations } from './direct-answer.ts';
import { TextBoundedCache } from './document-cache.ts';
import { executionGatePlugin, Turns } from './execution-gate.ts';
import { createYoga, type GraphiQLOptions, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { schema } from '../schema/index.ts';
import type { DownloadService, GraphQLContext, ResolverSettings } from '../resolvers/context.ts';
import type { CivitaiClient } from '../civitai/client.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { createLoaders } from '../loaders/index.ts';
import { type DocumentNode, GraphQLError, printSchema } from 'graphql';
import { scopedCatalogRevision } from '../db/revision.ts';
import { type PersistedDocuments, persistedDocumentsPlugin } from './persisted-documents.ts';
import { revisionCachePlugin } from './revision-cache.ts';
import { incrementalDeliveryPlugin } from './incremental-delivery.ts';
import { rulesAddedOnce, validationCachePlugin } from './validation-cache.ts';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { readHealth } from '../db/health.ts';
import { AppError, isAppError } from '../errors.ts';
import { maskError } from './errors.ts';
import { introspectionDisabledPlugin, queryGuardPlugins } from './query-guards.ts';
import { bearerMatches, writeGuardPlugin } from './write-guard.ts';
import { searchBudgetPlugin } from './search-budget.ts';
import type { ScanJobs } from '../library/scan-jobs.ts';
import type { CatalogChanges } from '../catalog/live-changes.ts';
import { isLoopbackAddress } from './loopback.ts';
import { isThumbnailPath, serveThumbnail } from './thumbnail-route.ts';
import { isExamplePage, serveExamplePage } from './example-pages.ts';
import { sendJson } from './json-response.ts';
import {
  BODY_IDLE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  MAX_IMPORT_BODY_BYTES,
  MAX_LARGE_BODY_BYTES_IN_FLIGHT,
  MAX_QUERY_BODY_BYTES,
  type CorsOrigins,
} from '../config.ts';
import { RequestScope, turnStarts } from '../db/request-scope.ts';
import { BodyRefusal, mediaTypePlugin, readRequestBody, type LargeBodyLimits } from './request-body.ts';
import { base64Length } from '../thumbnails/facts.ts';
import { capConnections, type ConnectionCap } from './connections.ts';
import { TimeLimits } from './time-limits.ts';
import { acceptInPreferenceOrder } from './accept.ts';
import { corsOptionsFor, CSRF_HEADER, csrfPlugin, hostAllowed } from './browser-guards.ts';
import type { Logger } from './logger.ts';
import {
  requestLogPlugin,
  serverContextPlugin,
  startRequestLog,
  type RequestLog,
  type ServerContext,
} from './request-log.ts';

export const GRAPHQL_PATH = '/graphql';

export interface AppOptions {
  db: CatalogDatabase;
  development: boolean;
  graphiql: boolean;
  introspection: boolean;
  /** Browser origins that get CORS headers. */
  corsOrigins: CorsOrigins;
  /** Whether the server listens on loopback only (then requests must be addressed to a loopback host name). */
  loopbackOnly: boolean;
  logger: Logger;
  /** Most base64 thumbnail bytes one GraphQL response may carry. */
  maxBase64Bytes: number;
  apiToken: string | null;
  civitai: CivitaiClient;
  settings: ResolverSettings;
  /** GraphQL requests still running after this long are stopped and answered TIMEOUT. */
  requestTimeoutMs: number;
  /** Background library scans (one registry per server). */
  scanJobs: ScanJobs;
  /** The download queue (one per server). */
  downloads: DownloadService;
  /** Live catalog changes (one watcher per server). */
  catalogChanges: CatalogChanges;
  /** Documents clients may send by id (`persisted-documents.ts`). */
  persistedDocuments: PersistedDocuments;
  /** Only persisted documents run. */
  trustedDocumentsOnly: boolean;
  /** JSON bytes of persisted-query answers kept in memory (0: none; ETags and 304s still work). */
  responseCacheBytes: number;
  /** GraphQL requests computing at once, at most (`execution-gate.ts`). */
  maxConcurrentQueries: number;
  /**
   * Plain JSON queries skip yoga's fetch layer (`direct-answer.ts`; the default). False: every request goes through
   * yoga whole — tests send the same requests both ways.
   */
  directAnswers?: boolean;
  /** yoga's parsed documents by text (`document-cache.ts`; one made per server when absent — tests pass theirs to read). */
  documentCache?: TextBoundedCache<DocumentNode>;
}

/** The request's origin for absolute URLs; the Host header is client input, so only a plain host[:port] is used. */
export function requestOrigin(host: string | null | undefined): string | null {
  if (!host || !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) return null;
  return `http://${host}`;
}

const DEFAULT_GRAPHIQL_QUERY = `# DiffusionNexus Core — press the run button (or Ctrl-Enter).
query Health {
  health {
    ok
    schemaVersion
    sqliteVersion
  }
}
`;

/**
 * The inline GraphiQL bundle is 9 MB of JavaScript (about 80 MiB resident once parsed), so it is loaded on the first
 * page view rather than at start-up: a server that is only queried by scripts never pays for it.
 */
async function renderGraphiQLOnDemand(options: GraphiQLOptions): Promise<string> {
  return (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options);
}

/**
 * Execution stops with the request's scope: the executor checks the signal between fields, so a request whose
 * client left (or whose time ran out) resolves none of its remaining fields — not even into errors.
 */
function stopWithScopePlugin(): Plugin<GraphQLContext> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const { scope } = args.contextValue as GraphQLContext;
      // Given to the standard executor only: an operation that runs compiled (its plugin, later, replaces this
      // function) never asks for the signal, and the scope makes none (see `RequestScope`).
      setExecuteFn((executionArgs) => executeFn({ ...executionArgs, signal: scope.signal } as typeof executionArgs));
    },
  };
}

/**
 * yoga's internal log lines, through our logger. yoga logs every error a plugin throws as unexpected; ours with a
 * code (`AppError`: a refusal, a client that left) are the client's, already named in the request's line, so they
 * go to debug: a client cannot fill the log with error lines (and their stacks) by sending bad requests.
 */
function yogaLogger(logger: Logger) {
  const child = logger.child({ component: 'yoga' });
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      // A coded error is an answer, not a failure of ours: yoga reports one it re-made with its HTTP status too.
      const coded = isAppError(first) ? first : first instanceof GraphQLError ? first.originalError : undefined;
      if (isAppError(coded)) child.debug({ code: coded.code }, coded.message);
      else if (first instanceof Error) child[level]({ err: first }, first.message);
      else child[level](rest.length ? { details: rest.map(String) } : {}, String(first));
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

export function createGraphQLHandler(
  options: AppOptions,
  handed: WeakMap<IncomingMessage, ServerContext>,
  prepared?: PreparedOperations,
): YogaServerInstance<ServerContext, GraphQLContext> {
  const { db, scanJobs, downloads, catalogChanges } = options;
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: options.graphiql
      ? {
          title: 'DiffusionNexus Core',
          defaultQuery: DEFAULT_GRAPHIQL_QUERY,
          headers: JSON.stringify({ [CSRF_HEADER]: '1' }),
        }
      : false,
    // Assets inline: the default page loads GraphiQL from a CDN, which offline users cannot reach.
    renderGraphiQL: renderGraphiQLOnDemand,
    maskedErrors: { maskError: (error) => maskError(error, options.development) },
    // The request listener is the one body gate (see `readGraphQLBody`): it hands yoga a body it has read and
    // checked whole. Yoga's own limit would only add a second, different one.
    maxRequestBodySize: false,
    // Validation results are kept by `validationCachePlugin` (last of the plugins); yoga keeps the parsed documents,
    // in caches bounded by the texts' characters (`document-cache.ts`).
    parserAndValidationCache: {
      validationCache: false,
      documentCache: options.documentCache ?? new TextBoundedCache(),
      errorCache: new TextBoundedCache(),
    },
    // No GraphQL multipart uploads: the schema takes no files (a library's files are read where they lie), and the
    // parser would be one more check of every request's content type.
    multipart: false,
    context: ({ request, scope = new RequestScope(), requestLog }) => {
      const requestDb = db.forRequest(scope);
      return {
        db: requestDb,
        scope,
        loaders: createLoaders(requestDb, { maxBase64Bytes: options.maxBase64Bytes }),
        origin: requestOrigin(request.headers.get('host')),
        canWrite: bearerMatches(request.headers.get('authorization'), options.apiToken),
        civitai: options.civitai,
        settings: options.settings,
        scanJobs,
        requestId: requestLog?.id ?? null,
        downloads,
        catalogChanges,
      };
    },
    cors: corsOptionsFor(options.corsOrigins),
    logging: yogaLogger(options.logger),
    plugins: [
      serverContextPlugin(handed),
      // Before any hook that may run another document than the one parsed.
      ...(prepared ? [prepared.plugin()] : []),
      // First of the operation's hooks, so it sees every operation, also those a later plugin stops.
      requestLogPlugin(),
      csrfPlugin(),
      mediaTypePlugin(),
      // @defer and @stream (multipart/mixed or SSE): a grid asks for names first, thumbnails after. Deferred parts run
      // in the request's one context, so its loaders and their base64 budget count the whole response.
      rulesAddedOnce(useDeferStream()),
      incrementalDeliveryPlugin(),
      // Before the persisted documents: it reads the request's `documentId`, which they replace with the text.
      revisionCachePlugin<ServerContext>({
        documents: options.persistedDocuments,
        // Kept in the request's scope, where a search executed for it finds it (its cost estimate and index check).
        readRevision: ({ scope }) => scopedCatalogRevision(db, scope),
        variant: (request) =>
          [
            bearerMatches(request.headers.get('authorization'), options.apiToken) ? 'writer' : 'reader',
            // Thumbnail URLs are absolute, made from the Host the request was sent to.
            requestOrigin(request.headers.get('host')) ?? '',
            request.headers.get('accept') ?? '',
          ].join('\n'),
        fingerprint: () =>
          createHash('sha256').update(printSchema(schema)).update(`\n${options.maxBase64Bytes}`).digest('base64url'),
        maxBytes: options.responseCacheBytes,
        onServed: ({ requestLog }, outcome) => {
          if (requestLog) requestLog.cache = outcome;
        },
      }),
      ...persistedDocumentsPlugin({ documents: options.persistedDocuments, trustedOnly: options.trustedDocumentsOnly }),
      ...queryGuardPlugins(options.settings.queryLimits),
      ...(options.introspection ? [] : [introspectionDisabledPlugin()]),
      writeGuardPlugin(),
      searchBudgetPlugin(),
      stopWithScopePlugin(),
      // Last: every guard above decides before anything is compiled or run.
      compiledExecutionPlugin({
        onCompileFailure: (name, errors) =>
          options.logger.warn({ operation: name, errors: errors.map((e) => e.message) }, 'operation runs uncompiled'),
        onCompiledRun: (run) => {
          const record = (run.contextValue as ServerContext).requestLog;
          if (record) record.compiled = true;
          prepared?.ranCompiled(run);
        },
      }),
      // Ends the request's turn once its operation has executed, or at once when it is not a query.
      executionGatePlugin(),
      // After every plugin that adds a validation rule.
      validationCachePlugin(),
    ],
  });
}

function healthRoute(db: CatalogDatabase, res: ServerResponse): void {
  readHealth(db).then(
    (health) => sendJson(res, 200, { status: 'ok', ...health }),
    () => sendJson(res, 503, { status: 'unavailable' }),
  );
}

/** A GET request's `variables` and `extensions` parameters are JSON objects (yoga would fail uncoded otherwise). */
function badGetParameters(url: string): BodyRefusal | null {
  const parameters = new URL(url, 'http://localhost').searchParams;
  for (const name of ['variables', 'extensions']) {
    const text = parameters.get(name);
    if (text === null) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (value !== null && (typeof value !== 'object' || Array.isArray(value)))
      return new BodyRefusal(400, 'BAD_REQUEST', `The \`${name}\` parameter must be a JSON object.`);
  }
  return null;
}

/**
 * A coded JSON error for a request refused before GraphQL sees it, its code named in the request's log line. The
 * rest of its body is not read: the connection closes after the answer (what is still arriving is discarded for a
 * moment, so the client can read it).
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  requestLog: RequestLog,
  refusal: BodyRefusal,
  headers: Record<string, string> = {},
): void {
  requestLog.errorCodes = [refusal.code];
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  for (const [name, value] of Object.entries({ ...headers, connection: 'close' })) res.setHeader(name, value);
  const extensions = { code: refusal.code, ...(refusal.limit === undefined ? {} : { limit: refusal.limit }) };
  sendJson(res, refusal.status, { errors: [{ message: refusal.message, extensions }] });
  lingerThenClose(req);
}

/** How long a refused request's remaining body is read and discarded: after its last bytes, and at most in all. */
const LINGER_IDLE_MS = 2000;
const LINGER_MAX_MS = 10_000;

/**
 * Reads and discards what is still arriving of a refused body, then closes. Closing while the client still sends
 * makes the kernel answer with a reset, which can destroy the refusal before the client reads it. Node itself closes
 * a `Connection: close` answer's socket as soon as the answer is written (`destroySoon`), which is such a close: a
 * client still sending a 20 MB body then often saw no answer at all (status 0), on either engine. So this socket
 * only half-closes after the answer (the client sees its end) and goes on reading; it closes once the client has
 * ended its side, once the body has stopped arriving for LINGER_IDLE_MS, or after LINGER_MAX_MS.
 */
function lingerThenClose(req: IncomingMessage): void {
  const socket = req.socket;
  const close = () => {
    clearTimeout(idle);
    clearTimeout(cap);
    socket.destroy();
  };
  // `destroySoon` is how Node's HTTP server ends a `Connection: close` exchange; here it ends only our side.
  Object.assign(socket, { destroySoon: () => socket.end() });
  let idle = setTimeout(close, LINGER_IDLE_MS).unref();
  const cap = setTimeout(close, LINGER_MAX_MS).unref();
  socket.on('data', () => {
    clearTimeout(idle);
    idle = setTimeout(close, LINGER_IDLE_MS).unref();
  });
  socket.once('end', close);
  req.resume();
}

/**
 * What yoga gets as `req.body`: a JSON object already parsed (the bytes were checked while they arrived), else the
 * raw bytes for yoga to parse and refuse in its own words. Never a large Buffer: yoga's adapter lists the keys of
 * a body it is given, which for a Buffer means one string per byte.
 */
function parsedJsonBody(body: Buffer): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BodyRefusal(400, 'BAD_REQUEST', 'POST body sent invalid JSON.');
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && hasKeys(parsed);
  return isObject || body.length > MAX_QUERY_BODY_BYTES ? parsed : body;
}

/** Whether an object has a key of its own (without listing them all, as `Object.keys` would). */
function hasKeys(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

function isJsonBody(req: IncomingMessage): boolean {
  return /^application\/(graphql-response\+)?json\b/i.test(req.headers['content-type'] ?? '');
}

/** Bytes of large bodies being received or processed (at most MAX_LARGE_BODY_BYTES_IN_FLIGHT), held until the answer is sent. */
function largeBodyBudget() {
  let used = 0;
  return {
    take(res: ServerResponse, bytes: number): boolean {
      if (used + bytes > MAX_LARGE_BODY_BYTES_IN_FLIGHT) return false;
      used += bytes;
      res.once('close', () => {
        used -= bytes;
      });
      return true;
    },
  };
}

export function createRequestListener(
  options: AppOptions,
  connections?: ConnectionCap,
): (req: IncomingMessage, res: ServerResponse) => void {
  const handed = new WeakMap<IncomingMessage, ServerContext>();
  const prepared = new PreparedOperations();
  const yoga = createGraphQLHandler(options, handed, prepared);
  const direct = directAnswers(yoga, options, prepared);
  const turns = new Turns(options.maxConcurrentQueries);
  const timeLimits = new TimeLimits(options.requestTimeoutMs);
  const largeBodies = largeBodyBudget();
  // An uploaded thumbnail arrives as base64 (4 bytes per 3), with room for the rest of the request.
  const largeLimits: LargeBodyLimits = {
    importCivitaiPayload: MAX_IMPORT_BODY_BYTES,
    setImageThumbnail: base64Length(options.settings.maxThumbnailUploadBytes) + MAX_QUERY_BODY_BYTES,
  };

  /**
   * Reads and checks a POST body whole (see request-body.ts); `hand` then gives it to yoga as `req.body` (parsed
   * only once the request has its turn). False: the request was refused (or its client left).
   */
  const readGraphQLBody = async (
    req: IncomingMessage,
    res: ServerResponse,
    requestLog: RequestLog,
  ): Promise<false | { hand(): boolean }> => {
    const nothing = { hand: () => true };
    if (req.method === 'GET') {
      const refusal = badGetParameters(req.url ?? '/');
      if (refusal) refuse(req, res, requestLog, refusal);
      return refusal === null && nothing;
    }
    if (req.method !== 'POST') return nothing;
    const length = req.headers['content-length'];
    if (length === undefined) {
      refuse(
        req,
        res,
        requestLog,
        new BodyRefusal(
          411,
          'BAD_REQUEST',
          'POST bodies need a Content-Length header (chunked uploads are not accepted).',
        ),
      );
      return false;
    }
    const declared = Number(length);
    // Only a client that may write gets the import's large limit (loopback without a token, or the right token).
    const limit = bearerMatches(req.headers.authorization ?? null, options.apiToken)
      ? MAX_IMPORT_BODY_BYTES
      : MAX_QUERY_BODY_BYTES;
    if (declared > limit) {
      refuse(
        req,
        res,
        requestLog,
        new BodyRefusal(
          413,
          'LIMIT_EXCEEDED',
          `Request bodies are at most ${limit} bytes` +
            `${limit === MAX_QUERY_BODY_BYTES ? ' (an importCivitaiPayload mutation may send more with the API token)' : ''}.`,
          limit,
        ),
      );
      return false;
    }
    const large = declared > MAX_QUERY_BODY_BYTES ? largeLimits : null;
    if (large && !largeBodies.take(res, declared)) {
      refuse(
        req,
        res,
        requestLog,
        new BodyRefusal(
          429,
          'LIMIT_EXCEEDED',
          `At most ${MAX_LARGE_BODY_BYTES_IN_FLIGHT} bytes of large request bodies are handled at once; ` +
            'try again shortly.',
          MAX_LARGE_BODY_BYTES_IN_FLIGHT,
        ),
        { 'retry-after': '1' },
      );
      return false;
    }
    const refused = (error: unknown) => {
      if (!(error instanceof BodyRefusal)) throw error;
      if (error.code === 'CLIENT_GONE') req.socket.destroy();
      else refuse(req, res, requestLog, error);
      return false as const;
    };
    try {
      const json = isJsonBody(req);
      const body = await readRequestBody(req, { declared, json, large, idleTimeoutMs: BODY_IDLE_TIMEOUT_MS });
      return {
        hand: () => {
          try {
            (req as IncomingMessage & { body?: unknown }).body = json ? parsedJsonBody(body) : body;
            return true;
          } catch (error) {
            return refused(error);
          }
        },
      };
    } catch (error) {
      return refused(error);
    }
  };

  /** yoga with a time limit: past it the request's statements stop and the client gets a coded TIMEOUT. */
  const graphql = async (req: IncomingMessage, res: ServerResponse, requestLog: RequestLog) => {
    const body = await readGraphQLBody(req, res, requestLog);
    if (!body) return;
    // A request parsed from a connection that has closed meanwhile (its client gave up while it queued): nobody waits.
    if (req.socket.destroyed) return;
    const scope = new RequestScope(options.requestTimeoutMs);
    connections?.busy(req.socket);
    const expire = () => {
      // A subscription has answered already and runs on. A query whose deferred parts are still coming has answered
      // too, but what is left of it stops here: its remaining fields fail with TIMEOUT in the parts still to come.
      if (res.headersSent) {
        if (!requestLog.operation?.startsWith('subscription')) scope.stop('TIMEOUT');
        return;
      }
      scope.stop('TIMEOUT');
      requestLog.errorCodes = ['TIMEOUT'];
      sendJson(res, 503, {
        errors: [
          {
            message: `The request ran past its time limit of ${options.requestTimeoutMs} ms and was stopped.`,
            extensions: { code: 'TIMEOUT', limit: options.requestTimeoutMs },
          },
        ],
      });
    };
    const limit = timeLimits.start(expire);
    // A statement that finds the limit passed before its timer has run answers as the timer would.
    scope.whenTimeLimitPasses(() => {
      limit.clear();
      expire();
    });
    res.once('close', () => {
      connections?.idle(req.socket);
      limit.clear();
      if (!res.writableFinished) scope.stop('CLIENT_GONE');
    });
    let turn = turns.takeNow(scope);
    if (!turn) {
      // Stopped while waiting: the time limit has answered already, or the client has gone.
      const queued = performance.now();
      turn = await turns.take(scope).catch(() => null);
      const waitedMs = Math.round(performance.now() - queued);
      if (waitedMs > 0) requestLog.waitedMs = waitedMs;
      if (!turn) return;
    }
    scope.holdTurn(turns, turn);
    try {
      if (body.hand()) {
        const serverContext = { requestLog, scope };
        if (direct.takes(req)) await direct.answer(req, res, serverContext);
        else {
          handed.set(req, serverContext);
          await yoga(req, res);
        }
      }
    } finally {
      scope.endTurn();
    }
  };

  const route = (req: IncomingMessage, res: ServerResponse, pathname: string, requestLog: RequestLog) => {
    if (!hostAllowed(req.headers.host, options.loopbackOnly)) {
      refuse(
        req,
        res,
        requestLog,
        new BodyRefusal(
          421,
          'FORBIDDEN',
          `This server answers requests to localhost or 127.0.0.1 only, not to "${String(req.headers.host).slice(0, 100)}".`,
        ),
      );
      return;
    }
    const failed = (error: unknown) => {
      options.logger.error({ reqId: requestLog.id, err: error }, 'request failed');
      if (!res.headersSent)
        sendJson(res, 500, {
          errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        });
      else res.destroy();
    };
    if (pathname === GRAPHQL_PATH) {
      // HEAD is GET without the body (RFC 9110): yoga knows only GET and POST, and Node leaves the body of a HEAD
      // request's answer out by itself, whatever is written.
      if (req.method === 'HEAD') req.method = 'GET';
      // GraphQL over HTTP is GET and POST (OPTIONS: a browser's preflight, which the CORS handling answers).
      if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'OPTIONS') {
        refuse(
          req,
          res,
          requestLog,
          new BodyRefusal(405, 'BAD_REQUEST', `${GRAPHQL_PATH} takes GET and POST requests, not ${req.method}.`),
          { allow: 'GET, HEAD, POST' },
        );
        return;
      }
      const accept = acceptInPreferenceOrder(req.headers.accept);
      if (accept !== undefined) req.headers.accept = accept;
      graphql(req, res, requestLog).catch(failed);
      return;
    }
    if (isThumbnailPath(pathname)) {
      serveThumbnail(options.db, req, res, pathname).catch(failed);
      return;
    }
    if (pathname === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      healthRoute(options.db, res);
      return;
    }
    if (isExamplePage(pathname) && (req.method === 'GET' || req.method === 'HEAD')) {
      serveExamplePage(res, pathname, req.method === 'HEAD').catch(failed);
      return;
    }
    if (pathname === '/') {
      res.writeHead(302, { location: GRAPHQL_PATH });
      res.end();
      return;
    }
    sendJson(res, 404, {
      error: { code: 'NOT_FOUND', message: `No route for ${req.method} ${pathname}. GraphQL is at ${GRAPHQL_PATH}.` },
    });
  };
  return (req, res) => {
    turnStarts();
    const pathname = pathnameOf(req.url);
    if (pathname === null) {
      // A target no URL parser takes (`//[`, `http://[::1`): answered, never thrown out of the listener.
      const requestLog = startRequestLog(options.logger, req, res, '(unparsable)', false);
      refuse(req, res, requestLog, new BodyRefusal(400, 'BAD_REQUEST', 'The request target is not a valid URL path.'));
      return;
    }
    const requestLog = startRequestLog(options.logger, req, res, pathname, isThumbnailPath(pathname));
    try {
      route(req, res, pathname, requestLog);
    } catch (error) {
      // A failing REST route must answer, not take the process down.
      options.logger.error({ reqId: requestLog.id, err: error }, 'route failed');
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
      else res.destroy();
    }
  };
}

/**
 * The request target's path: most requests are to GraphQL's path as is; anything else is read as WHATWG URLs
 * normalise it. Null for a target that is no URL (Node's parser lets through what the WHATWG one refuses).
 */
function pathnameOf(target: string | undefined): string | null {
  if (target === GRAPHQL_PATH) return GRAPHQL_PATH;
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes idle sockets. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(
  options: AppOptions & { host: string; port: number; maxConnections: number },
): Promise<RunningServer> {
  // Timeouts for slow clients: headers within HEADERS_TIMEOUT_MS (checked every second, not Node's default 30 s).
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 });
  server.on('request', createRequestListener(options, capConnections(server, options.maxConnections)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // The name was checked before (see `assertSafeBinding`); what it resolved to is what counts.
  if (options.apiToken === null && !isLoopbackAddress(address.address)) {
    await new Promise((resolve) => server.close(resolve));
    throw new AppError(
      'FORBIDDEN',
      `${options.host} resolved to ${address.address}, which other machines can reach; set DIFFUSION_NEXUS_API_TOKEN or bind to 127.0.0.1.`,
    );
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}${GRAPHQL_PATH}`,
    close: (graceMs = 10_000) => closeGracefully(server, graceMs),
  };
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
