/**
 * Start-up as `npm start` runs it: resolve the data directory, migrate, open the catalog, listen, and shut down
 * cleanly on SIGINT/SIGTERM.
 */
import type { ServerConfig } from '../config.ts';
import { ensureDataDir } from '../db/data-dir.ts';
import { migrateDatabase } from '../db/migrations.ts';
import { openCatalogDatabase } from '../db/catalog-database.ts';
import { listen, type RunningServer } from './app.ts';

export interface StartedServer extends RunningServer {
  /** Closes the HTTP server, then the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
  /** Sees every SQL statement the catalog runs (tests and benchmarks count them). */
  onStatement?: (sqlText: string) => void;
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<StartedServer> {
  const log = options.log ?? console.log;
  ensureDataDir(config.dataDir);
  await migrateDatabase(config.databasePath, { log });
  const db = await openCatalogDatabase(config.databasePath, { onStatement: options.onStatement });
  let running: RunningServer;
  try {
    running = await listen({ db, host: config.host, port: config.port, development: config.development, graphiql: config.graphiql, maxBase64Bytes: config.maxBase64Bytes });
  } catch (error) {
    await db.close();
    throw error;
  }
  log(`DiffusionNexus Core listening on ${running.url}`);
  log(`database: ${config.databasePath}`);
  return {
    ...running,
    async stop() {
      await running.close();
      await db.close();
    },
  };
}

/** Installs SIGINT/SIGTERM handlers that stop the server once; a second signal exits at once. */
export function stopOnSignals(server: StartedServer, log: (line: string) => void = console.log): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal} received: finishing in-flight requests…`);
    server.stop().then(() => {
      log('stopped');
      process.exit(0);
    }, (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
