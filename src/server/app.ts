/**
 * The HTTP server: GraphQL (yoga) at /graphql with an offline GraphiQL, and small REST routes beside it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type GraphiQLOptions, type YogaServerInstance } from 'graphql-yoga';
import { schema } from '../schema/index.ts';
import type { GraphQLContext, ResolverSettings } from '../schema/context.ts';
import type { CivitaiClient } from '../resolvers/civitai/client.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { createLoaders } from '../loaders/index.ts';
import { readHealth } from '../resolvers/health.ts';
import { maskError } from './errors.ts';
import { introspectionDisabledPlugin, queryGuardPlugins } from './query-guards.ts';
import { bearerMatches, writeGuardPlugin } from './write-guard.ts';
import { ScanJobs } from '../resolvers/local-library/scan-jobs.ts';
import { isThumbnailPath, serveThumbnail } from './thumbnail-route.ts';
import { sendJson } from './json-response.ts';
import type { CorsOrigins } from '../config.ts';
import { corsOptionsFor, CSRF_HEADER, csrfPlugin, hostAllowed } from './browser-guards.ts';
import type { Logger } from './logger.ts';
import { requestLogPlugin, startRequestLog, type RequestLog, type ServerContext } from './request-log.ts';

export const GRAPHQL_PATH = '/graphql';
/** Largest GraphQL request body: room for a big Civitai payload passed to importCivitaiPayload. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

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

/** yoga's internal log lines, through our logger. */
function yogaLogger(logger: Logger) {
  const child = logger.child({ component: 'yoga' });
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => {
    const [first, ...rest] = args;
    if (first instanceof Error) child[level]({ err: first }, first.message);
    else child[level](rest.length ? { details: rest.map(String) } : {}, String(first));
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

export function createGraphQLHandler(options: AppOptions): YogaServerInstance<ServerContext, GraphQLContext> {
  const { db } = options;
  const scanJobs = new ScanJobs();
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: options.graphiql ? { title: 'DiffusionNexus Core', defaultQuery: DEFAULT_GRAPHIQL_QUERY, headers: JSON.stringify({ [CSRF_HEADER]: '1' }) } : false,
    // Assets inline: the default page loads GraphiQL from a CDN, which offline users cannot reach.
    renderGraphiQL: renderGraphiQLOnDemand,
    maskedErrors: { maskError: (error) => maskError(error, options.development) },
    // The request listener is the one body gate (Content-Length required, at most MAX_REQUEST_BYTES, and Node's HTTP
    // parser never delivers more than declared). Yoga's own, smaller default limit would make ours unreachable, and
    // it streams every body through an extra pipeline per request.
    maxRequestBodySize: false,
    context: ({ request }) => ({
      db,
      loaders: createLoaders(db, { maxBase64Bytes: options.maxBase64Bytes }),
      origin: requestOrigin(request.headers.get('host')),
      canWrite: bearerMatches(request.headers.get('authorization'), options.apiToken),
      civitai: options.civitai,
      settings: options.settings,
      scanJobs,
      signal: request.signal,
    }),
    cors: corsOptionsFor(options.corsOrigins),
    logging: yogaLogger(options.logger),
    plugins: [
      // First, so it sees every operation, also those a later plugin stops.
      requestLogPlugin(),
      csrfPlugin(), ...queryGuardPlugins(), ...(options.introspection ? [] : [introspectionDisabledPlugin()]), writeGuardPlugin(),
    ],
  });
}

function healthRoute(db: CatalogDatabase, res: ServerResponse): void {
  try {
    sendJson(res, 200, { status: 'ok', ...readHealth(db) });
  } catch {
    sendJson(res, 503, { status: 'unavailable' });
  }
}

/** A coded JSON error for requests refused before GraphQL sees them (the body is drained, not read). */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
  req.resume();
}

export function createRequestListener(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const yoga = createGraphQLHandler(options);
  const route = (req: IncomingMessage, res: ServerResponse, pathname: string, requestLog: RequestLog) => {
    if (!hostAllowed(req.headers.host, options.loopbackOnly)) {
      refuse(req, res, 421, 'FORBIDDEN', `This server answers requests to localhost or 127.0.0.1 only, not to "${String(req.headers.host).slice(0, 100)}".`);
      return;
    }
    if (pathname === GRAPHQL_PATH) {
      const length = req.headers['content-length'];
      if (req.method === 'POST' && length === undefined) {
        refuse(req, res, 411, 'BAD_REQUEST', 'POST bodies need a Content-Length header (chunked uploads are not accepted).');
        return;
      }
      if (Number(length ?? 0) > MAX_REQUEST_BYTES) {
        refuse(req, res, 413, 'LIMIT_EXCEEDED', `Request bodies are at most ${MAX_REQUEST_BYTES} bytes.`);
        return;
      }
      void yoga(req, res, { requestLog });
      return;
    }
    if (isThumbnailPath(pathname)) {
      serveThumbnail(options.db, req, res, pathname);
      return;
    }
    if (pathname === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      healthRoute(options.db, res);
      return;
    }
    if (pathname === '/') {
      res.writeHead(302, { location: GRAPHQL_PATH });
      res.end();
      return;
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No route for ${req.method} ${pathname}. GraphQL is at ${GRAPHQL_PATH}.` } });
  };
  return (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const requestLog = startRequestLog(options.logger, req, res, pathname, isThumbnailPath(pathname));
    try {
      route(req, res, pathname, requestLog);
    } catch (error) {
      // A failing REST route must answer, not take the process down.
      options.logger.error({ reqId: requestLog.id, err: error }, 'route failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
      else res.destroy();
    }
  };
}

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes idle sockets. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(options: AppOptions & { host: string; port: number }): Promise<RunningServer> {
  const server = createServer(createRequestListener(options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
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
