/**
 * Requests an outsider can send without a token, each of which once crashed or stalled the server (hardening round
 * 2, findings 1, 2, 6, 7 and 12): every one now gets a clear coded answer quickly, /health keeps answering within
 * a second while it is processed, memory stays bounded and the catalog stays intact.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_IMPORT_BODY_BYTES, MAX_LARGE_BODY_BYTES_IN_FLIGHT, MAX_QUERY_BODY_BYTES } from '../src/config.ts';
import { integrityProblems } from '../src/db/backup.ts';
import { QUERY_LIMITS } from '../src/catalog/query-limits.ts';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { catalogChecksum } from './helpers/db-checksum.ts';
import { queryPostgres, TEST_ENGINE, withTableLocked } from './helpers/postgres.ts';
import {
  errorsOf,
  rawPost,
  rawRequest,
  probeHealth,
  searchIndexCurrent,
  startChildServer,
  whileProbingHealth,
  writeRepeated,
  type ChildServer,
} from './helpers/hostile.ts';
import { startTestServer } from './helpers/server.ts';
import { createLogger } from '../src/server/logger.ts';

const MODELS = 3000;
const TOKEN = 'hostile-requests-token-0123456789';

let catalog: SeededCatalog;
let server: ChildServer;

beforeAll(async () => {
  catalog = await seededCatalog({ models: MODELS, thumbnails: 'none' });
  server = await startChildServer(catalog.dataDir);
  // The server builds the seeded models' search documents in the background at start (3–4 s for these 3,000 models
  // on a loaded machine): the searches timed below are about their own work, so they start once it is done.
  await searchIndexCurrent(server.origin);
}, 120_000);

function post(
  body: unknown,
  headers: Record<string, string> = {},
  url = server.graphqlUrl,
  signal = AbortSignal.timeout(60_000),
) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  }).then(async (response) => ({ status: response.status, text: await response.text() }));
}

/** CPU time a process has used, in clock ticks (1/100 s): utime + stime from /proc. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const modelId = (n: number) => Buffer.from(`Model:${n}`).toString('base64');

describe('finding 1: nodes(ids) is bounded and counted by complexity', () => {
  it('refuses more ids than a page holds, naming the limit', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => modelId(i + 1));
    const answer = await post({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids } });
    expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 100 });
    const fine = await post({
      query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      variables: { ids: ids.slice(0, 100) },
    });
    expect(JSON.parse(fine.text).data.nodes).toHaveLength(100);
  });

  it('multiplies what is selected under nodes(ids) by the number of ids', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => modelId(i + 1));
    const query =
      'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Model { versions(first: 20) { nodes { images(first: 20) { nodes { prompt url thumbnail { url } } } } } } } }';
    const answer = await post({ query, variables: { ids } });
    expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: QUERY_LIMITS.complexity });
  });

  it('refuses a million ids (a 20 MB body) before reading it, and the server lives on', async () => {
    const ids = JSON.stringify(Array.from({ length: 1_000_000 }, (_, i) => modelId((i % MODELS) + 1)));
    const body = `{"query":"query($ids: [ID!]!) { nodes(ids: $ids) { ... on Model { versions(first: 20) { nodes { images(first: 20) { nodes { prompt url thumbnail { url } } } } } } } }","variables":{"ids":${ids}}}`;
    expect(body.length).toBeGreaterThan(15_000_000);
    const { result, health } = await whileProbingHealth(server.origin, () =>
      rawPost(
        server.origin,
        { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        (socket) => {
          socket.end(body);
        },
      ),
    );
    expect(result.status).toBe(413);
    expect(errorsOf(result.body)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: MAX_QUERY_BODY_BYTES });
    expect(result.ms).toBeLessThan(3000);
    expect(health).toMatchObject({ failures: 0 });
    expect(health.maxMs).toBeLessThan(1000);
    expect(server.peakRssMiB()).toBeLessThan(600);
  });
});

describe('finding 2: search cost is estimated before it runs and bounded per request', () => {
  const snippets = (query: string, first = 100) =>
    `search(query: ${JSON.stringify(query)}, first: ${first}) { totalCount edges { snippet matchedFields node { databaseId } } }`;

  it('reads a repeated term once: 32 × "l*" answers what "l*" answers, quickly', async () => {
    const { result, health } = await whileProbingHealth(server.origin, async () => {
      const started = performance.now();
      const repeated = await post({ query: `{ ${snippets(Array(32).fill('l*').join(' '))} }` });
      return { repeated, ms: performance.now() - started };
    });
    const once = await post({ query: `{ ${snippets('l*')} }` });
    expect(JSON.parse(result.repeated.text)).toEqual(JSON.parse(once.text));
    expect(JSON.parse(once.text).data.search.edges).toHaveLength(100);
    expect(result.ms).toBeLessThan(3000);
    expect(health.maxMs).toBeLessThan(1000);
  });

  it('refuses a search whose terms would match too much, before running it', async () => {
    // 32 different prefixes that each expand to many indexed words.
    const prefixes = [
      'l',
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
      'g',
      'h',
      'i',
      'k',
      'm',
      'n',
      'o',
      'p',
      'r',
      's',
      't',
      'u',
      'v',
      'w',
      'y',
      'la',
      'le',
      'li',
      'lo',
      'ma',
      'me',
      'mo',
      'pa',
      'po',
      'sa',
    ].map((p) => `${p}*`);
    const started = performance.now();
    const answer = await post({ query: `{ ${snippets(prefixes.join(' '))} }` });
    expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(typeof errorsOf(answer.text)[0]!.limit).toBe('number');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  // On PostgreSQL the database's own processes share this 2-core machine: at the default (two statements at once
  // per core) twelve broad searches held /health up for 40–66 ms on an idle machine, 60–275 ms on a loaded one (the
  // server runnable but not running, not busy). One at a time leaves a core to the event loop: 8–29 ms. That is what
  // the README advises where the database runs on a small machine beside the server, and what is tested there.
  it('runs accepted searches off the event loop: 12 at once, /health answers at once throughout', async () => {
    const target =
      TEST_ENGINE === 'postgres'
        ? await startChildServer(catalog.dataDir, { DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES: '1' })
        : server;
    try {
      // Broad but accepted: each is allowed by the cost estimate and takes real work (snippets of a full page).
      const query = `query($q: String!) { search(query: $q, first: 100) { totalCount edges { score matchedFields snippet node { name } } } }`;
      // The event loop alone: a route that reads nothing (404) answers at once throughout.
      const loop = probeHealth(target.origin, 100, { path: '/no-such-route', status: 404 });
      const { result, health } = await whileProbingHealth(target.origin, () =>
        // Twelve: seconds of work for the read worker, well inside the request time limit on a busy 2-core machine.
        Promise.all(
          Array.from({ length: 12 }, () => post({ query, variables: { q: 'l* m* p*' } }, {}, target.graphqlUrl)),
        ),
      );
      const loopReport = await loop.stop();
      for (const answer of result) expect(errorsOf(answer.text), answer.text.slice(0, 200)).toEqual([]);
      expect(health.samples).toBeGreaterThan(3);
      expect(health.failures).toBe(0);
      expect(loopReport.failures).toBe(0);
      // On the event loop each of these statements held /health up for a quarter of a second or more (measured).
      expect(loopReport.maxMs).toBeLessThan(200);
      expect(health.maxMs).toBeLessThan(200);
    } finally {
      if (target !== server) await target.stop();
    }
  });

  it('bounds the search work of one request: 50 aliases of a broad search are refused at once', async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `s${i}: ${snippets('l*')}`).join('\n');
    const { result, health } = await whileProbingHealth(server.origin, async () => {
      const started = performance.now();
      return { answer: await post({ query: `{ ${aliases} }` }), ms: performance.now() - started };
    });
    expect(errorsOf(result.answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(result.ms).toBeLessThan(3000);
    expect(health.maxMs).toBeLessThan(1000);
  });
});

describe('every request has a time limit, and work stops for a client that went away', () => {
  // Forty full pages of models in different orders, with counts and nested fields: allowed, a few hundred ms of work.
  const SLOW = `{ ${Array.from(
    { length: 40 },
    (_, i) =>
      `m${i}: models(first: 100, orderBy: [{ field: ${['NAME', 'DOWNLOADS', 'CREATED_AT', 'UPDATED_AT'][i % 4]}, ` +
      `direction: ${i % 2 ? 'ASC' : 'DESC'} }], filter: { nameContains: "${i}" }) { totalCount nodes { description hasUpdate totalDownloads versionCount ` +
      'tags { name } creator { username } } }',
  ).join('\n')} }`;

  it('answers TIMEOUT when the limit passes, and runs no statement after it', async () => {
    const statements: number[] = [];
    const log = new PassThrough();
    let logText = '';
    log.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    // On PostgreSQL, a second server on the child server's database (copying the catalog again costs seconds).
    const local = await startTestServer(
      {
        dataDir: catalog.dataDir,
        databasePath: catalog.databasePath,
        ...(server.catalog.database ? { database: server.catalog.database } : {}),
        requestTimeoutMs: 40,
      },
      {
        onStatement: () => statements.push(performance.now()),
        logger: createLogger({ level: 'info', format: 'json' }, log),
      },
    );
    const started = performance.now();
    const response = await fetch(local.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SLOW }),
    });
    const answered = performance.now();
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(errorsOf(text)[0]).toMatchObject({ code: 'TIMEOUT', limit: 40 });
    expect(answered - started).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(statements.filter((t) => t > answered + 50)).toEqual([]);
    // Its request line names the code, as every other refusal's does.
    const lines = logText
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg?: string; status?: number; errors?: string[] });
    expect(lines.find((line) => line.msg === 'request failed')).toMatchObject({ status: 503, errors: ['TIMEOUT'] });
  });

  it('answers TIMEOUT when the limit passes between statements that run back to back, not the whole answer', async () => {
    // A nested page's statements run one after another without the event loop turning (a request computes up to
    // 20 ms at a time), so the limit's timer cannot run before the page is done: the statements check it themselves.
    const local = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      ...(server.catalog.database ? { database: server.catalog.database } : {}),
      requestTimeoutMs: 3,
    });
    const PAGE = `{ models(first: 100) { nodes { name tags { name } creator { username } versions(first: 5) { nodes {
      name files { fileName hashes { sha256 } } images(first: 5) { nodes { width height } } triggerWords { word } } } } } }`;
    for (let i = 0; i < 3; i++) {
      const response = await fetch(local.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: PAGE }),
      });
      const text = await response.text();
      expect(response.status, text.slice(0, 200)).toBe(503);
      expect(errorsOf(text)[0]).toMatchObject({ code: 'TIMEOUT', limit: 3 });
    }
  });

  it('stops working for clients that hung up: the server goes idle at once', async () => {
    // Eight of the slow requests are about two seconds of work; their clients leave after a tenth of that.
    const controller = new AbortController();
    const requests = Array.from({ length: 8 }, () =>
      post({ query: SLOW }, {}, server.graphqlUrl, controller.signal).catch(() => 'aborted'),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    expect(await Promise.all(requests)).toEqual(Array(8).fill('aborted'));
    // A statement under way finishes, and the server notices closed connections between them: a moment. What is
    // left is a garbage collection of what the requests had made (V8's helper threads, up to ~0.3 s of CPU, seen
    // once in a few runs), so the test looks for a quiet second starting within 1.5 s of the hang-up: the eight
    // requests, had they run on, would keep a core busy for seconds.
    const ticks: number[] = [];
    for (let i = 0; i <= 25; i++) {
      ticks.push(cpuTicks(server.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const quietest = Math.min(...ticks.slice(3, 16).map((at, i) => ticks[i + 3 + 10]! - at));
    // Less than a tenth of a second of CPU in that second: nothing runs on for nobody.
    expect(quietest).toBeLessThan(10);
  });
});

describe.runIf(TEST_ENGINE === 'postgres')('PostgreSQL: a statement under way stops with its request', () => {
  /** The catalog server's statements still running on the database server (waiting counts as running). */
  const runningStatements = (url: string) =>
    queryPostgres<{ query: string }>(
      url,
      `SELECT query FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'diffusion-nexus' AND state = 'active'`,
    );

  /** The PostgreSQL database the child server runs on. */
  const databaseUrl = () => {
    const database = server.catalog.database;
    if (database?.engine !== 'postgres') throw new Error('the child server runs on PostgreSQL in this project');
    return database.url;
  };

  const waitFor = async (condition: () => Promise<boolean>, ms: number) => {
    const deadline = performance.now() + ms;
    while (!(await condition()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    return condition();
  };

  it('cancels a running statement when its client hangs up, and the connection serves the next request', async () => {
    const url = databaseUrl();
    await withTableLocked(url, 'Models', async () => {
      const controller = new AbortController();
      const request = post(
        { query: '{ models(first: 5) { nodes { name } } }' },
        {},
        server.graphqlUrl,
        controller.signal,
      );
      // The read is under way on the database server, waiting for the lock.
      expect(await waitFor(async () => (await runningStatements(url)).length > 0, 5000)).toBe(true);
      controller.abort();
      await expect(request).rejects.toThrow();
      // Cancelled at once, while the lock is still held: it would otherwise wait for as long as the lock.
      expect(await waitFor(async () => (await runningStatements(url)).length === 0, 2000)).toBe(true);
    });
    // Every pooled connection still works (a cancelled statement leaves its connection ready).
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => post({ query: '{ models(first: 1) { totalCount } }' })),
    );
    for (const answer of answers) expect(JSON.parse(answer.text).data.models.totalCount).toBeGreaterThan(0);
  });

  it('cancels a running statement when its time limit passes, answering TIMEOUT at the limit', async () => {
    const url = databaseUrl();
    const local = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      database: server.catalog.database,
      requestTimeoutMs: 300,
    });
    await withTableLocked(url, 'Models', async () => {
      const started = performance.now();
      const answer = await post({ query: '{ models(first: 5) { nodes { name } } }' }, {}, local.url);
      expect(answer.status).toBe(503);
      expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'TIMEOUT', limit: 300 });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(await waitFor(async () => (await runningStatements(url)).length === 0, 2000)).toBe(true);
    });
  });
});

describe('finding 6: bodies are small unless they must be large, and checked while they arrive', () => {
  /**
   * Sends a whole request at once, as simple clients do (no waiting for an early answer), and reports what came
   * back: the status of the answer, if any arrived, and the socket error the client saw, if any.
   */
  function sendWhole(body: string): Promise<{ status: number; error: string | null }> {
    const url = new URL(server.origin);
    return new Promise((resolve) => {
      let received = '';
      let error: string | null = null;
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n`,
        );
        socket.end(body);
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message;
      });
      socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0), error }));
      setTimeout(() => socket.destroy(), 30_000).unref();
    });
  }

  it('answers a refused body while it still arrives, and the connection is closed, never reset (8 in a row)', async () => {
    // Node closed such a connection as soon as the answer was written, with the body still arriving: the kernel
    // then resets it, which often destroyed the answer before the client read it (status 0) and broke its write.
    const body = `{"query":"{ health { ok } }","extensions":{"pad":"${'x'.repeat(20 * 1024 * 1024)}"}}`;
    const outcomes = [];
    for (let attempt = 0; attempt < 8; attempt++) outcomes.push(await sendWhole(body));
    expect(outcomes).toEqual(Array(8).fill({ status: 413, error: null }));
  });

  it('refuses 64 MiB of nested arrays in an unused variable while it arrives, without parsing it', async () => {
    const head =
      '{"query":"mutation($p: JSON!) { importCivitaiPayload(payload: $p) { failed } }","variables":{"p":{},"unused":';
    const total = 64 * 1024 * 1024 - 64;
    const { result, health } = await whileProbingHealth(server.origin, () =>
      rawPost(server.origin, { 'content-type': 'application/json', 'content-length': total }, async (socket) => {
        socket.write(head);
        await writeRepeated(socket, '[', total - head.length);
      }),
    );
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(result.ms).toBeLessThan(5000);
    expect(health.maxMs).toBeLessThan(1000);
    expect(server.peakRssMiB()).toBeLessThan(600);
  });

  it('refuses 22 million empty objects (a 64 MiB import body) by counting values while it arrives', async () => {
    const head =
      '{"query":"mutation($p: JSON!) { importCivitaiPayload(payload: $p) { failed } }","variables":{"p":{"items":[';
    const total = 64 * 1024 * 1024 - 64;
    const { result, health } = await whileProbingHealth(server.origin, () =>
      rawPost(server.origin, { 'content-type': 'application/json', 'content-length': total }, async (socket) => {
        socket.write(head);
        await writeRepeated(socket, '{},', total - head.length);
      }),
    );
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(health.maxMs).toBeLessThan(1000);
    expect(server.peakRssMiB()).toBeLessThan(600);
  });

  it('keeps the large limit for the import mutation: a 2 MiB query is refused, a 2 MiB import is not', async () => {
    const pad = 'x'.repeat(2 * 1024 * 1024);
    const query = await post({ query: '{ health { ok } }', extensions: { pad } });
    expect(query.status).toBe(413);
    expect(errorsOf(query.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: MAX_QUERY_BODY_BYTES });
    const payload = {
      id: 990001,
      name: 'Large import',
      type: 'LORA',
      description: pad,
      modelVersions: [{ id: 990002, name: 'v1', files: [], images: [] }],
    };
    const imported = await post({
      query: 'mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created failed } }',
      variables: { p: payload },
    });
    expect(JSON.parse(imported.text)).toEqual({ data: { importCivitaiPayload: { created: 1, failed: 0 } } });
  });

  it('lets at most two of the largest bodies arrive at once', async () => {
    const head = '{"query":"mutation($p: JSON!) { importCivitaiPayload(payload: $p) { failed } }","variables":{"p":';
    const slow = () =>
      rawPost(
        server.origin,
        { 'content-type': 'application/json', 'content-length': MAX_IMPORT_BODY_BYTES },
        (socket) => {
          socket.write(head);
        },
        3000,
      );
    const first = slow();
    const second = slow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const third = await slow();
    expect(third.status).toBe(429);
    expect(errorsOf(third.body)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: MAX_LARGE_BODY_BYTES_IN_FLIGHT });
    expect(third.ms).toBeLessThan(1500);
    await Promise.all([first, second]);
  });

  it('with a token configured, a large body without the token is refused before it is read', async () => {
    const guarded = await startChildServer(catalog.dataDir, { DIFFUSION_NEXUS_API_TOKEN: TOKEN });
    const declared = await rawPost(
      guarded.origin,
      { 'content-type': 'application/json', 'content-length': 8 * 1024 * 1024 },
      (socket) => {
        socket.write('{"query":');
      },
      3000,
    );
    expect(declared.status).toBe(413);
    expect(declared.ms).toBeLessThan(1500);
    const pad = 'x'.repeat(2 * 1024 * 1024);
    const payload = {
      id: 990003,
      name: 'Large import with token',
      type: 'LORA',
      description: pad,
      modelVersions: [{ id: 990004, name: 'v1', files: [], images: [] }],
    };
    const imported = await post(
      {
        query: 'mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created failed } }',
        variables: { p: payload },
      },
      { authorization: `Bearer ${TOKEN}` },
      guarded.graphqlUrl,
    );
    expect(JSON.parse(imported.text)).toEqual({ data: { importCivitaiPayload: { created: 1, failed: 0 } } });
  });
});

describe('finding 7: slow clients cannot take every connection', () => {
  it('keeps answering normal requests while hundreds of connections trickle headers and bodies', async () => {
    // A machine with 512 file descriptors: without a connection cap, 600 slow clients take them all.
    const small = await startChildServer(catalog.dataDir, {}, ['prlimit', '--nofile=512:512', '--']);
    const url = new URL(small.origin);
    const { connect } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const open = (head: string) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write(head));
      socket.on('error', () => undefined);
      sockets.push(socket);
    };
    for (let i = 0; i < 200; i++) open(`POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nX-Slow: `);
    for (let i = 0; i < 200; i++)
      open(
        `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"query":`,
      );
    for (let i = 0; i < 200; i++)
      open(
        `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 67000000\r\n\r\n{"query":`,
      );
    const trickle = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write('a');
    }, 500);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const times: number[] = [];
      let failures = 0;
      for (let i = 0; i < 40; i++) {
        const started = performance.now();
        try {
          const answer = await post({ query: '{ models(first: 2) { nodes { name } } }' }, {}, small.graphqlUrl);
          if (answer.status !== 200) failures++;
        } catch {
          failures++;
        }
        times.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(failures).toBe(0);
      expect(Math.max(...times)).toBeLessThan(1000);
    } finally {
      clearInterval(trickle);
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('finding 12: every refusal is coded and names its limit the same way', () => {
  it('900 __typename fields: LIMIT_EXCEEDED, not "Validation aborted."', async () => {
    const answer = await post({ query: `{ ${Array(900).fill('__typename').join(' ')} }` });
    expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: QUERY_LIMITS.fieldsPerSelection });
  });

  it('a 4,000-deep list literal: LIMIT_EXCEEDED, not a stack overflow', async () => {
    const answer = await post({
      query: `{ models(filter: { types: ${'['.repeat(4000)}${']'.repeat(4000)} }) { totalCount } }`,
    });
    expect(errorsOf(answer.text)[0]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(typeof errorsOf(answer.text)[0]!.limit).toBe('number');
  });

  it('import counts beyond 32 bits or fractional: BAD_USER_INPUT with the JSON path, nothing stored', async () => {
    const before = await catalogChecksum(server.catalog);
    const cases: [Record<string, unknown>, string][] = [
      [{ stats: { downloadCount: 3_000_000_000 } }, '$.modelVersions[0].stats.downloadCount'],
      [{ stats: { ratingCount: 2.5 } }, '$.modelVersions[0].stats.ratingCount'],
      [{ earlyAccessTimeFrame: 1e12 }, '$.modelVersions[0].earlyAccessTimeFrame'],
    ];
    for (const [extra, path] of cases) {
      const payload = {
        id: 990100,
        name: 'Counts',
        type: 'LORA',
        modelVersions: [{ id: 990101, name: 'v1', files: [], images: [], ...extra }],
      };
      const answer = JSON.parse(
        (
          await post({
            query: 'mutation($p: JSON!) { importCivitaiPayload(payload: $p) { failed failures { path message } } }',
            variables: { p: payload },
          })
        ).text,
      );
      expect(answer.errors).toBeUndefined();
      expect(answer.data.importCivitaiPayload).toMatchObject({ failed: 1, failures: [{ path }] });
    }
    expect(await catalogChecksum(server.catalog)).toBe(before);
  });

  it('names the limit in extensions.limit for page sizes, complexity, aliases and base64 budgets alike', async () => {
    const refusals = [
      '{ models(first: 1000) { totalCount } }',
      `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: health { ok }`).join(' ')} }`,
      '{ models(first: 100) { nodes { versions(first: 100) { nodes { images(first: 100) { nodes { prompt } } } } } } }',
    ];
    for (const query of refusals) {
      const [error] = errorsOf((await post({ query })).text);
      expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
      expect(typeof error!.limit).toBe('number');
      expect(JSON.stringify(error)).not.toContain('"max"');
    }
  });
});

describe('request targets that are no URL', () => {
  it('answers each with a coded 400, and the server lives on', async () => {
    for (const target of ['//[', '//%', '//a%00b/', 'http://[::1']) {
      const answer = await rawRequest(server.origin, `GET ${target}`, {}, () => {}, 10_000);
      expect(answer.status, target).toBe(400);
      expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('BAD_REQUEST');
    }
    expect((await fetch(`${server.origin}/health`)).status).toBe(200);
  });

  it('refuses other methods than GET and POST at the GraphQL path with 405 and the methods it takes', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const response = await fetch(server.graphqlUrl, {
        method,
        headers: { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
      expect(errorsOf(await response.text())[0]).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});

describe('after all of it', () => {
  it('the server still answers and the catalog is intact', async () => {
    const answer = await post({ query: '{ models(first: 1) { totalCount } }' });
    expect(JSON.parse(answer.text).data.models.totalCount).toBeGreaterThanOrEqual(MODELS);
    // SQLite's own check of its file; a PostgreSQL server keeps its pages itself.
    if (TEST_ENGINE === 'sqlite') expect(integrityProblems(catalog.databasePath)).toEqual([]);
  });
});
