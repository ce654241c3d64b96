/**
 * A baseline on node:http: the physical-limit program (`honest`, the default), our SQL strategy without GraphQL
 * (`mirror`), or the physical-limit program on PostgreSQL (`postgres`, given a database URL instead of a file). The
 * benchmark runs each as its own process, compiled (`compiled-servers.ts`; by hand: `node --import tsx
 * bench/baseline-server.ts <db> [kind]`), which prints `listening on <url>` once ready, and in-process to count their
 * statements.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createBaseline, type Baseline, type ListArgs } from './baseline.ts';
import { createHonestBaseline } from './honest-baseline.ts';
import { createPostgresBaseline } from './honest-baseline-pg.ts';

export type BaselineKind = 'honest' | 'mirror' | 'postgres';
export const BASELINE_KINDS: readonly BaselineKind[] = ['honest', 'mirror', 'postgres'];

/** `database` is a SQLite file, or a PostgreSQL URL for `postgres`. */
export function openBaseline(database: string, kind: BaselineKind): Baseline {
  if (kind === 'postgres') return createPostgresBaseline(database);
  return kind === 'honest' ? createHonestBaseline(database) : createBaseline(database);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(baseline: Baseline, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const origin = `http://${req.headers.host ?? 'localhost'}`;
  const [, route, param] = url.pathname.split('/');
  switch (route) {
    case 'list':
      return sendJson(res, await baseline.list(JSON.parse(await readBody(req)) as ListArgs, origin));
    case 'list-wide':
      return sendJson(res, await baseline.listWide(JSON.parse(await readBody(req)) as ListArgs, origin));
    case 'detail':
      return sendJson(res, await baseline.detail(Number(param), origin));
    case 'hashes':
      return sendJson(res, await baseline.hashes(JSON.parse(await readBody(req)) as string[]));
    case 'search':
      return sendJson(
        res,
        await baseline.search(url.searchParams.get('q') ?? '', Number(url.searchParams.get('first') ?? 20)),
      );
    case 'typename':
      // The floor scenario's answer: what a server sends for a request that reads nothing.
      return sendJson(res, { data: { __typename: 'Query' } });
    case 'thumbnails': {
      const thumbnail = await baseline.thumbnail(Number(param));
      if (!thumbnail) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': thumbnail.mimeType, 'content-length': thumbnail.bytes.length });
      res.end(thumbnail.bytes);
      return;
    }
    default:
      res.writeHead(404).end();
  }
}

export interface BaselineHttp {
  url: string;
  baseline: Baseline;
  close(): Promise<void>;
}

export function startBaselineHttp(database: string, kind: BaselineKind = 'honest'): Promise<BaselineHttp> {
  const baseline = openBaseline(database, kind);
  const server: Server = createServer((req, res) => {
    handle(baseline, req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        baseline,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => {
              void Promise.resolve(baseline.close()).then(done);
            });
          }),
      });
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [databasePath, kind = 'honest'] = process.argv.slice(2);
  if (!databasePath || !BASELINE_KINDS.includes(kind as BaselineKind)) {
    console.error(`usage: baseline-server.ts <database file> [${BASELINE_KINDS.join('|')}]`);
    process.exit(2);
  }
  const running = await startBaselineHttp(databasePath, kind as BaselineKind);
  console.log(`listening on ${running.url}`);
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
}
