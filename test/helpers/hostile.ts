/**
 * Tools for attacking a server the way an outsider would: a real server process (its memory and event loop are its
 * own), a /health probe that runs while a hostile request is processed, and raw HTTP senders that declare, trickle
 * or hold bodies.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { atFileEnd } from './file-end.ts';
import { startServerProcess, type ServerProcess } from '../../bench/load.ts';
import type { DatabaseTarget } from '../../src/config.ts';
import { databasePathIn } from '../../src/db/data-dir.ts';
import { type PostgresTarget, postgresCopyOf, TEST_ENGINE } from './postgres.ts';
import { CLI } from './cli.ts';

export interface ChildServer extends ServerProcess {
  origin: string;
  graphqlUrl: string;
  /** Current resident memory of the server process, in MiB (Linux). */
  rssMiB(): number;
  /** Highest resident memory since start, in MiB (Linux). */
  peakRssMiB(): number;
  /** The catalog it serves (for `catalogHandle`, `catalogChecksum`): the data directory's file, or a PostgreSQL copy. */
  catalog: { databasePath: string; database: DatabaseTarget | undefined };
}

function statusField(pid: number, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Every child server still running: stopped after its test file (`file-end.ts`), killed if the process exits first. */
const running = new Set<ServerProcess>();
process.on('exit', () => {
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * `npm start` as a child process on a random port over `dataDir` — in the `postgres` project over a fresh
 * PostgreSQL copy of the data directory's catalog (`DIFFUSION_NEXUS_DATABASE_URL`), unless `env` names a database.
 * `wrapper` runs it through another program (e.g. `prlimit --nofile=512:512`) to give it the limits of a smaller
 * machine.
 */
/** The PostgreSQL copy of each data directory's catalog (this test file's). */
const copies = new Map<string, Promise<PostgresTarget>>();

export async function startChildServer(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  wrapper: string[] = [],
  options: { keepOutput?: boolean } = {},
): Promise<ChildServer> {
  const databasePath = databasePathIn(dataDir);
  let database: DatabaseTarget | undefined;
  let fresh = false;
  if (TEST_ENGINE === 'postgres' && env.DIFFUSION_NEXUS_DATABASE_URL === undefined) {
    // Servers started on one data directory share its catalog, as they share its file on SQLite: one copy each.
    let copy = copies.get(databasePath);
    fresh = copy === undefined;
    if (!copy) {
      copy = postgresCopyOf(databasePath);
      copies.set(databasePath, copy);
    }
    const target = await copy;
    database = target;
    env = { ...env, DIFFUSION_NEXUS_DATABASE_URL: target.url };
  }
  const node = [...CLI, 'serve', '--port', '0', '--data-dir', dataDir];
  const args = wrapper.length ? [...wrapper.slice(1), process.execPath, ...node] : node;
  const started = await startServerProcess(args, { DIFFUSION_NEXUS_LOG_FORMAT: 'json', ...env }, wrapper[0], options);
  const server: ServerProcess = {
    ...started,
    stop: async () => {
      await started.stop();
      running.delete(server);
    },
  };
  running.add(server);
  atFileEnd(() => (running.has(server) ? server.stop() : undefined));
  // A catalog copied into PostgreSQL holds no search documents yet: the server builds them for every model after it
  // starts. The hostile tests measure requests, not that one-time build, so they start once the index is current.
  if (fresh) await searchIndexCurrent(server.url);
  return {
    ...server,
    origin: server.url,
    graphqlUrl: `${server.url}/graphql`,
    rssMiB: () => statusField(server.pid, 'VmRSS'),
    peakRssMiB: () => statusField(server.pid, 'VmHWM'),
    catalog: { databasePath, database },
  };
}

/**
 * Resolves once the server's searches answer: a search that arrives while the index is built at start is answered
 * SEARCH_INDEX_BUILDING (after a short wait), so it is asked again until it answers, for at most two minutes.
 */
export async function searchIndexCurrent(origin: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ search(query: "warm", first: 1) { totalCount } }' }),
    });
    const text = await answer.text();
    if (answer.ok && !text.includes('"errors"')) return;
    if (!text.includes('"SEARCH_INDEX_BUILDING"') || Date.now() > deadline)
      throw new Error(`waiting for the search index failed: HTTP ${answer.status} ${text}`);
  }
}

export interface HealthReport {
  samples: number;
  maxMs: number;
  failures: number;
}

/** Asks GET /health every `everyMs` until stopped; each sample waits at most 5 s. */
export function probeHealth(
  origin: string,
  everyMs = 100,
  route: { path: string; status: number } = { path: '/health', status: 200 },
): { stop(): Promise<HealthReport> } {
  let running = true;
  const report: HealthReport = { samples: 0, maxMs: 0, failures: 0 };
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await fetch(`${origin}${route.path}`, { signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        if (response.status !== route.status) report.failures++;
      } catch {
        report.failures++;
      }
      report.maxMs = Math.max(report.maxMs, performance.now() - started);
      report.samples++;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}

/** Runs `work` while probing /health; returns what work returned and the probe's report. */
export async function whileProbingHealth<T>(
  origin: string,
  work: () => Promise<T>,
): Promise<{ result: T; health: HealthReport }> {
  const probe = probeHealth(origin);
  await new Promise((resolve) => setTimeout(resolve, 50));
  try {
    const result = await work();
    await new Promise((resolve) => setTimeout(resolve, 150));
    return { result, health: await probe.stop() };
  } catch (error) {
    await probe.stop();
    throw error;
  }
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

function parseResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = split < 0 ? '' : text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body };
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line < 0) return out;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!size) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/**
 * Sends a POST to `/graphql` over a raw socket: the head as given, then `body` in pieces as `send` writes them.
 * Resolves with the response once the server answers and closes or the response is complete, or with status 0
 * when the connection ends without an answer.
 */
export function rawPost(
  origin: string,
  headers: Record<string, string | number>,
  send: (socket: Socket) => void | Promise<void>,
  timeoutMs = 30_000,
): Promise<RawAnswer> {
  return rawRequest(origin, 'POST /graphql', headers, send, timeoutMs);
}

/** `rawPost` for any request line (`GET //[`: a target as written, which fetch would normalise or refuse). */
export function rawRequest(
  origin: string,
  requestLine: string,
  headers: Record<string, string | number> = {},
  send: (socket: Socket) => void | Promise<void> = () => {},
  timeoutMs = 30_000,
): Promise<RawAnswer> {
  const url = new URL(origin);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(Buffer.concat(chunks).toString('utf8'));
      resolve({ ...parsed, ms: performance.now() - started });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const parsed = parseResponse(text);
      const length = Number(parsed.headers['content-length']);
      if (parsed.status && Number.isFinite(length) && Buffer.byteLength(parsed.body) >= length) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => {
      const head = [
        `${requestLine} HTTP/1.1`,
        `Host: ${url.host}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      void Promise.resolve(send(socket)).catch(() => undefined);
    });
  });
}

/** Writes `total` bytes of `pattern` in 1 MiB pieces, honouring backpressure; stops quietly when the socket closes. */
export async function writeRepeated(socket: Socket, pattern: string, total: number): Promise<void> {
  const piece = Buffer.from(pattern.repeat(Math.ceil((1024 * 1024) / pattern.length)).slice(0, 1024 * 1024));
  let written = 0;
  while (written < total && !socket.destroyed) {
    const part = piece.subarray(0, Math.min(piece.length, total - written));
    written += part.length;
    if (!socket.write(part))
      await new Promise((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
  }
}

/** The GraphQL error codes and `extensions.limit` values of a JSON answer (`errors[]`), or `[]`. */
export function errorsOf(body: string): { code: unknown; limit: unknown; message: string }[] {
  try {
    const parsed = JSON.parse(body) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    return (parsed.errors ?? []).map((e) => ({
      code: e.extensions?.code,
      limit: e.extensions?.limit,
      message: e.message,
    }));
  } catch {
    return [];
  }
}
