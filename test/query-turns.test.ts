/**
 * Queries take turns (`src/server/execution-gate.ts`): at most DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES compute at
 * once, the rest wait in line; waiting counts towards a request's time limit, a client that leaves the line is
 * gone from it, and a request waiting for something other than computing (a write lock, the read worker) lets the
 * next one go meanwhile.
 *
 * A query holding its turn while it waits is made here the way a busy PostgreSQL catalog makes one: its read waits
 * on the database server for a table another session has locked. On SQLite a query holding its turn computes,
 * and nothing else runs on the event loop anyway; what SQLite shows is the turn handed over while a search waits for
 * another program's write lock (to bring the index up to date).
 */
import Database from 'better-sqlite3';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/server/logger.ts';
import { documentIdFor } from '../src/server/persisted-documents.ts';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startChildServer, whileProbingHealth } from './helpers/hostile.ts';
import { TEST_ENGINE, withTableLocked } from './helpers/postgres.ts';
import { manifestFile } from './helpers/persisted.ts';
import { startTestServer } from './helpers/server.ts';

let catalog: SeededCatalog;

beforeAll(async () => {
  catalog = await seededCatalog({ models: 20, thumbnails: 'none' });
}, 60_000);

interface Answer {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  /** Milliseconds from sending to the answer. */
  ms: number;
}

async function post(
  server: { graphqlUrl: string },
  query: string,
  signal?: AbortSignal,
  requestId?: string,
): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ query }),
    signal,
  });
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` has settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    sleep(ms).then(() => false),
  ]);
}

describe.runIf(TEST_ENGINE === 'postgres')('a query holding the one turn (PostgreSQL)', () => {
  let server: { origin: string; graphqlUrl: string; databaseUrl: string };
  let logText = '';
  beforeAll(async () => {
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    const started = await startTestServer(
      {
        dataDir: catalog.dataDir,
        databasePath: catalog.databasePath,
        maxConcurrentQueries: 1,
        requestTimeoutMs: 4000,
        log: { level: 'info', format: 'json' },
      },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
    const database = started.config.database;
    if (database?.engine !== 'postgres') throw new Error('the server runs on PostgreSQL in this project');
    server = { origin: started.origin, graphqlUrl: started.url, databaseUrl: database.url };
  }, 60_000);

  /** The request lines logged so far, by request id. */
  const requestLines = () =>
    new Map(
      logText
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.msg === 'request')
        .map((line) => [line.reqId, line]),
    );

  /** Holds "Models" locked from another session while `body` runs: the server's reads of it wait. */
  const withModelsLocked = <T>(body: (release: () => Promise<void>) => Promise<T>) =>
    withTableLocked(server.databaseUrl, 'Models', body);

  it('makes the next query wait in line until it is done, first come first served; /health answers all the while', async () => {
    const { result, health } = await whileProbingHealth(server.origin, () =>
      withModelsLocked(async (release) => {
        const holder = post(server, '{ models(first: 3) { nodes { name } } }');
        await sleep(300);
        // Reads no table the lock covers: it would answer at once if it did not wait for its turn.
        const next = post(server, '{ health { ok } }', undefined, 'turns-next');
        const waited = !(await settlesWithin(next, 800));
        await release();
        return { holder: await holder, next: await next, waited };
      }),
    );
    expect(result.waited).toBe(true);
    expect(result.holder.body.data.models.nodes).toHaveLength(3);
    expect(result.next.body.data.health.ok).toBe(true);
    // Its log line says how long it waited for its turn.
    await sleep(50);
    expect(requestLines().get('turns-next')?.waitedMs).toBeGreaterThan(800);
    expect(health.failures).toBe(0);
    expect(health.maxMs).toBeLessThan(500);
  });

  it("drops a waiting request whose client leaves, and counts the wait towards a request's time limit", async () => {
    await withModelsLocked(async (release) => {
      // Holds the turn until its time limit (4 s) stops it.
      const holder = post(server, '{ models(first: 3) { nodes { name } } }');
      await sleep(300);
      const controller = new AbortController();
      const leaving = post(server, '{ health { ok } }', controller.signal);
      // Reads the locked table too, once its turn comes: it waits ~3.7 s in line, then on the lock until its limit.
      const late = post(server, '{ models(first: 2) { nodes { name } } }');
      await sleep(300);
      controller.abort();
      await expect(leaving).rejects.toThrow();
      const answer = await late;
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
      expect(answer.status).toBe(503);
      // 4 s from its arrival, not 4 s from its turn (which would be ~7.7 s).
      expect(answer.ms).toBeGreaterThan(3500);
      expect(answer.ms).toBeLessThan(5500);
      expect((await holder).status).toBe(503);
      await release();
    });
    // The turn is free again: queries answer at once.
    const after = await post(server, '{ models(first: 1) { totalCount } }');
    expect(after.body.data.models.totalCount).toBe(20);
    expect(after.ms).toBeLessThan(1000);
  }, 20_000);
});

describe.runIf(TEST_ENGINE === 'sqlite')('a query waiting for a write lock (SQLite)', () => {
  it('hands its turn to the next query while its search waits for another program to finish writing', async () => {
    const server = await startChildServer(catalog.dataDir, {
      DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES: '1',
      DIFFUSION_NEXUS_LOCK_WAIT_MS: '3000',
    });
    try {
      // Another program renames a model and keeps writing: the search index is behind, and a search must wait for
      // the write lock before it can bring it up to date.
      const other = new Database(catalog.databasePath);
      other.prepare(`UPDATE "Models" SET "Name" = 'Zyxquorbel Harbor' WHERE "Id" = 1`).run();
      other.exec('BEGIN IMMEDIATE');
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        other.exec('COMMIT');
        other.close();
      };
      try {
        const search = post(server, '{ search(query: "zyxquorbel", first: 5) { nodes { databaseId } } }');
        await sleep(300);
        const read = await post(server, '{ models(first: 5) { nodes { name } } }');
        expect(read.body.data.models.nodes).toHaveLength(5);
        expect(read.ms).toBeLessThan(700);
        expect(await settlesWithin(search, 0)).toBe(false);
        release();
        const found = await search;
        expect(found.body.data.search.nodes).toEqual([{ databaseId: 1 }]);
      } finally {
        release();
      }
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('a client that reads its answer slowly, or leaves while it is being sent', () => {
  it('holds no turn meanwhile: a cached answer too large to send at once does not keep the next query waiting', async () => {
    // Twelve 2 MiB thumbnails: their base64 (34 MB) is far more than the sockets take while the client reads nothing.
    const big = await seededCatalog({ models: 20 });
    const sql = new Database(big.databasePath);
    const ids = sql
      .prepare(`SELECT "Id" FROM "ModelImages" WHERE "ThumbnailData" IS NOT NULL ORDER BY "Id" LIMIT 12`)
      .pluck()
      .all() as number[];
    sql.prepare(`UPDATE "ModelImages" SET "ThumbnailData" = zeroblob(2097152) WHERE "Id" IN (${ids.join(',')})`).run();
    sql.close();
    expect(ids).toHaveLength(12);
    const text = `query BigThumbnails { ${ids.map((id) => `i${id}: modelImage(databaseId: ${id}) { thumbnail { base64 } }`).join(' ')} }`;
    const id = documentIdFor(text);
    const manifest = manifestFile({ [id]: text });
    const server = await startTestServer({
      dataDir: big.dataDir,
      databasePath: big.databasePath,
      persistedDocumentFiles: [manifest],
      maxBase64Bytes: 64 * 2 ** 20,
      responseCacheBytes: 512 * 2 ** 20,
      maxConcurrentQueries: 1,
      requestTimeoutMs: 3000,
    });
    const { host, port } = new URL(server.origin);
    const headers = { accept: 'application/graphql-response+json', 'x-graphql-yoga-csrf': '1' };
    const target = `/graphql?documentId=${encodeURIComponent(id)}`;
    // Executed once, then kept by the response cache: the answers below are sent without running anything.
    for (let i = 0; i < 2; i++) {
      const answer = await fetch(`${server.origin}${target}`, { headers });
      expect(answer.status).toBe(200);
      expect((await answer.text()).length).toBeGreaterThan(30_000_000);
    }
    const next = async () => {
      const answer = await post({ graphqlUrl: server.url }, '{ models(first: 1) { totalCount } }');
      expect(answer.status).toBe(200);
      expect(answer.body.data.models.totalCount).toBe(20);
      expect(answer.ms).toBeLessThan(1500);
    };
    // A client that asks and reads nothing: the rest of the answer waits to be sent.
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `GET ${target} HTTP/1.1\r\nhost: ${host}\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n`,
    );
    await sleep(500);
    await next();
    // It leaves mid-answer (the socket then never drains).
    socket.destroy();
    await sleep(100);
    await next();
  }, 30_000);
});
