/**
 * A real server on 127.0.0.1 (random port) over a real migrated SQLite file in a temp data directory — or, in the
 * `postgres` vitest project, over a fresh PostgreSQL database holding the same rows.
 */
import path from 'node:path';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { atFileEnd } from './file-end.ts';
import { resolveServerConfig, type ServerConfig } from '../../src/config.ts';
import { startServer, type StartedServer, type StartOptions } from '../../src/server/start.ts';
import { tempDir } from './temp.ts';
import { postgresCopyOf, TEST_ENGINE } from './postgres.ts';
import { createCivitaiClient } from '../../src/civitai/client.ts';
import { type EmptyCatalog, emptyCatalog, seededCatalog, type SeededCatalog } from './catalog.ts';
import { type CivitaiReplay, startCivitaiReplay } from './civitai-replay.ts';

export interface TestServer extends StartedServer {
  config: ServerConfig;
  origin: string;
  /** POSTs a GraphQL operation (text, or a typed document from codegen) and returns the parsed JSON body. */
  graphql<T = unknown, V = Record<string, unknown>>(
    query: string | TypedDocumentNode<T, V>,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? path.join(tempDir('dn-server-'), 'data');
  let config: ServerConfig = { ...resolveServerConfig({ host: '127.0.0.1', port: '0', dataDir }, {}), ...overrides };
  // The postgres project: the same catalog (the SQLite file's rows, if any) on a fresh PostgreSQL database.
  if (TEST_ENGINE === 'postgres' && overrides.database === undefined)
    config = { ...config, database: await postgresCopyOf(config.databasePath) };
  const server = await startServer(config, options);
  // Start-up work in the background would otherwise show up in statement counts.
  await server.searchIndexReady;
  atFileEnd(() => server.stop());
  const origin = new URL(server.url).origin;
  return {
    ...server,
    config,
    origin,
    async graphql<T, V>(query: string | TypedDocumentNode<T, V>, variables?: V, headers: Record<string, string> = {}) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
      });
      return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
    },
  };
}

/**
 * A server over a freshly seeded catalog that records every SQL statement it runs into `statements` (and, given
 * `parameters`, each statement's parameters there, at the same index).
 */
export async function startSeededServer(
  statements: string[],
  parameters?: (readonly unknown[])[],
): Promise<{ catalog: SeededCatalog; server: TestServer }> {
  const catalog = await seededCatalog();
  const server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath },
    {
      onStatement: (sql, values) => {
        statements.push(sql);
        parameters?.push(values);
      },
    },
  );
  return { catalog, server };
}

/**
 * A server over an empty catalog whose Civitai is a local replay (CivArchive under its `/archive`): one try per
 * request and short waits, so a scripted failure is answered at once.
 */
export async function startReplayedServer(
  apiKey: string,
): Promise<{ replay: CivitaiReplay; catalog: EmptyCatalog; server: TestServer }> {
  const replay = await startCivitaiReplay();
  const catalog = await emptyCatalog();
  const civitai = createCivitaiClient({
    baseUrl: replay.url,
    apiKey,
    archiveBaseUrl: `${replay.url}/archive`,
    timeoutMs: 2000,
    maxRetries: 0,
    initialBackoffMs: 10,
    maxRetryWaitMs: 100,
  });
  const server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath, database: catalog.database },
    { civitai },
  );
  return { replay, catalog, server };
}
