/**
 * Start-up as `npm start` runs it: resolve the data directory, migrate, open the catalog, listen, and shut down
 * cleanly on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { defaultConcurrentQueries, type ServerConfig } from '../config.ts';
import { schema } from '../schema/index.ts';
import { loadPersistedDocuments, PROJECT_MANIFEST } from './persisted-documents.ts';
import { AppError } from '../errors.ts';
import { createCivitaiClient, type CivitaiClient } from '../civitai/client.ts';
import { ensureDataDir } from '../db/data-dir.ts';
import { migrateCatalog, openCatalog } from '../db/open-catalog.ts';
import { type AppOptions, listen, type RunningServer } from './app.ts';
import { isLoopbackName } from './loopback.ts';
import { ScanJobs } from '../library/scan-jobs.ts';
import { DownloadQueue } from '../downloads/queue.ts';
import { CatalogChanges } from '../catalog/live-changes.ts';
import type { RetryPolicy } from '../downloads/transfer.ts';

import { exitAfterDeadline } from '../shutdown.ts';

/** How long requests in flight may take to finish after SIGTERM before their connections are closed. */
const SHUTDOWN_GRACE_MS = 3000;
import { searchIndexBuild } from '../search/search-index.ts';
import { silentLogger, type Logger } from './logger.ts';

export interface StartedServer extends RunningServer {
  /** Closes the HTTP server, then the database. */
  stop(): Promise<void>;
  /** Settles when the start-up search index refresh is done. */
  searchIndexReady: Promise<void>;
}

/** A server others can reach must not accept writes from anyone: refuse to start without a token. */
export function assertSafeBinding(config: Pick<ServerConfig, 'host' | 'apiToken'>): void {
  if (!isLoopbackName(config.host) && config.apiToken === null) {
    throw new AppError(
      'FORBIDDEN',
      `Refusing to listen on ${config.host} (reachable from other machines) without DIFFUSION_NEXUS_API_TOKEN. ` +
        'Set a token (at least 16 characters) or bind to 127.0.0.1.',
    );
  }
}

export interface StartOptions {
  /** Where start-up, request and error lines go (silent by default). */
  logger?: Logger;
  /** Sees every SQL statement the catalog runs (tests and benchmarks count them). */
  onStatement?: (sqlText: string, parameters: readonly unknown[]) => void;
  /** The Civitai client (tests point it at a local replay server); built from the config otherwise. */
  civitai?: CivitaiClient;
  /** How downloads retry (tests shorten the waits). */
  downloadRetry?: RetryPolicy;
  /** False: every GraphQL request goes through yoga whole (see `AppOptions.directAnswers`). */
  directAnswers?: boolean;
  /** yoga's parsed documents by text (see `AppOptions.documentCache`). */
  documentCache?: AppOptions['documentCache'];
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<StartedServer> {
  const logger = options.logger ?? silentLogger();
  const log = (line: string) => logger.info(line);
  assertSafeBinding(config);
  ensureDataDir(config.dataDir);
  // SQLite: always the file `databasePath` (tests and callers set it directly); PostgreSQL: the server in the URL.
  const target =
    config.database?.engine === 'postgres'
      ? config.database
      : ({ engine: 'sqlite', path: config.databasePath, dataDir: null } as const);
  await migrateCatalog(target, { log });
  const db = await openCatalog(target, {
    onStatement: options.onStatement,
    lockWaitMs: config.lockWaitMs,
  });
  const scanJobs = new ScanJobs(db);
  const catalogChanges = new CatalogChanges(db, { maxSubscribers: config.maxCatalogSubscribers });
  const civitai = options.civitai ?? createCivitaiClient(config.civitai);
  const downloadLog = logger.child({ component: 'downloads' });
  const downloads = new DownloadQueue({
    db,
    civitai,
    civitaiSettings: config.civitai,
    libraryRoots: config.libraryRoots,
    thumbnailSide: config.thumbnailSide,
    concurrency: config.downloads.concurrency,
    scope: 'all',
    retry: options.downloadRetry,
    log: (jobId, message) => downloadLog.info({ downloadId: jobId }, message),
  });
  let running: RunningServer;
  try {
    running = await listen({
      db,
      host: config.host,
      port: config.port,
      development: config.development,
      graphiql: config.graphiql,
      introspection: config.introspection,
      corsOrigins: config.corsOrigins,
      loopbackOnly: isLoopbackName(config.host),
      logger,
      maxBase64Bytes: config.maxBase64Bytes,
      apiToken: config.apiToken,
      requestTimeoutMs: config.requestTimeoutMs,
      maxConnections: config.maxConnections,
      civitai,
      settings: {
        libraryRoots: config.libraryRoots,
        maxThumbnailUploadBytes: config.maxThumbnailUploadBytes,
        thumbnailSide: config.thumbnailSide,
        queryLimits: config.queryLimits,
      },
      scanJobs,
      catalogChanges,
      downloads: { queue: downloads, db, sidecars: config.downloads.sidecars },
      persistedDocuments: loadPersistedDocuments(
        [...(existsSync(PROJECT_MANIFEST) ? [PROJECT_MANIFEST] : []), ...config.persistedDocumentFiles],
        schema,
      ),
      trustedDocumentsOnly: config.trustedDocumentsOnly,
      responseCacheBytes: config.responseCacheBytes,
      maxConcurrentQueries: config.maxConcurrentQueries ?? defaultConcurrentQueries(target),
      directAnswers: options.directAnswers,
      documentCache: options.documentCache,
    });
  } catch (error) {
    await db.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new AppError(
        'PORT_IN_USE',
        `${config.host}:${config.port} is in use by another program (another server already running?). ` +
          'Stop it, or choose another port with --port (or the PORT variable).',
        { port: config.port },
      );
    throw error;
  }
  // Downloads that were waiting or interrupted (this server stopped, or a CLI run was killed) go on.
  await downloads.start().catch((error: unknown) => logger.error({ err: error }, 'downloads could not be resumed'));
  // Documents for models written while the server was down (or by the desktop app) are built in the background;
  // searches meanwhile wait a moment for it, then say how far it is (SEARCH_INDEX_BUILDING).
  const startupBuild = searchIndexBuild(db);
  const searchIndexReady = startupBuild.finished.then(
    (built) => {
      const seconds = ((performance.now() - startupBuild.startedAt) / 1000).toFixed(1);
      if (built > 0) logger.info({ built, seconds }, `search index: ${built} models' documents built in ${seconds} s`);
    },
    (error: unknown) => logger.error({ err: error }, 'search index refresh failed'),
  );
  logger.info({ url: running.url }, `DiffusionNexus Core listening on ${running.url}`);
  logger.info({ database: db.path }, `database: ${db.path}`);
  return {
    ...running,
    searchIndexReady,
    async stop() {
      await Promise.all([running.close(SHUTDOWN_GRACE_MS), scanJobs.stopAll(), downloads.stopAll('resume-later')]);
      await searchIndexReady;
      catalogChanges.close();
      await db.close();
    },
  };
}

/** Installs SIGINT/SIGTERM handlers that stop the server once; a second signal exits at once. */
export function stopOnSignals(server: StartedServer, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, `${signal} received: finishing in-flight requests…`);
    exitAfterDeadline((message) => {
      logger.error(message);
      logger.flush();
    });
    server.stop().then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
