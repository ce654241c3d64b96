/**
 * Cacheable reads (issue 18): the list page sent as a persisted query over GET, as a frontend re-opening a page
 * does, three ways on the same server process:
 *  - executed: no `If-None-Match`, and no response cache (DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES=0), so every request
 *    runs the operation — the cost a revalidation saves;
 *  - revalidated: `If-None-Match` with the ETag the page was answered with, so every request is a `304` after one
 *    read of the catalog revision;
 *  - cached: a second server with the default response cache, where the same GET without `If-None-Match` is answered
 *    from memory (a client without the ETag, e.g. another browser).
 * Inputs rotate over the same 16 list pages as the list scenario (each page its own ETag). Throughput is paired per
 * round as everywhere in the bench; "server time" is the server process's CPU time (user + system, from /proc) per
 * request under that load — what a request costs the server whatever the client and the loopback add.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { documentIdFor } from '../src/server/persisted-documents.ts';
import type { BenchCatalog } from './catalog.ts';
import { type LatencyResult, type LoadResult, median, probeLatency, runLoad, type ServerProcess } from './load.ts';
import { combine, startOurServer } from './query-bench.ts';
import { type HttpRequest, LIST_QUERY } from './scenarios.ts';

export interface RevalidationSide extends LoadResult {
  /** The server's CPU milliseconds per request during the timed rounds. */
  cpuMsPerRequest: number | null;
  single: LatencyResult;
}

export interface RevalidationResult {
  catalog: string;
  executed: RevalidationSide;
  revalidated: RevalidationSide;
  cached: RevalidationSide;
  /** revalidated / executed throughput, the median of per-round pairs. */
  ratio: number;
  ratioRange: [number, number];
  /** cached / executed, paired the same way. */
  cachedRatio: number;
}

export interface RevalidationOptions {
  connections: number;
  roundSeconds: number;
  rounds: number;
  warmupSeconds: number;
  probeSeconds: number;
  cacheDir: string;
  log: (line: string) => void;
}

const PAGE_SIZE = 20;
/** What a GET from a script or app carries (`CSRF_HEADER`; browsers' cross-site pages cannot add it). */
const GET_HEADERS = { accept: 'application/json', 'x-graphql-yoga-csrf': '1' };
const PAGES = 16;

/** The clock ticks per second /proc counts CPU time in. */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU milliseconds a process has used (Linux), or null. */
function cpuMs(pid: number): number | null {
  try {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The list document in a manifest of its own, as an app using the codegen preset ships one (id = its SHA-256). */
function writeManifest(cacheDir: string): { file: string; id: string } {
  const id = documentIdFor(LIST_QUERY);
  const file = path.join(cacheDir, 'bench-persisted-documents.json');
  writeFileSync(file, `${JSON.stringify({ [id]: LIST_QUERY })}\n`);
  return { file, id };
}

const pagePath = (id: string, after: string | null) =>
  `/graphql?documentId=${encodeURIComponent(id)}&variables=${encodeURIComponent(JSON.stringify({ first: PAGE_SIZE, after }))}`;

async function listPages(server: ServerProcess, id: string): Promise<{ path: string; etag: string; body: string }[]> {
  const pages: { path: string; etag: string; body: string }[] = [];
  let after: string | null = null;
  while (pages.length < PAGES) {
    const request = pagePath(id, after);
    const response = await fetch(`${server.url}${request}`, { headers: GET_HEADERS });
    const answer = { status: response.status, text: await response.text() };
    const etag = response.headers.get('etag');
    if (answer.status !== 200 || !etag) throw new Error(`revalidation: HTTP ${answer.status}, ETag ${etag}`);
    const body = JSON.parse(answer.text) as {
      errors?: unknown;
      data: { models: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
    };
    if (body.errors) throw new Error(`revalidation: GraphQL errors ${answer.text.slice(0, 300)}`);
    pages.push({ path: request, etag, body: answer.text });
    const { endCursor, hasNextPage } = body.data.models.pageInfo;
    if (!hasNextPage || !endCursor) break;
    after = endCursor;
  }
  return pages;
}

export async function runRevalidationBench(
  catalog: BenchCatalog,
  options: RevalidationOptions,
): Promise<RevalidationResult> {
  const manifest = writeManifest(options.cacheDir);
  const env = { DIFFUSION_NEXUS_PERSISTED_DOCUMENTS: manifest.file };
  const started = await Promise.allSettled([
    startOurServer(catalog, { ...env, DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES: '0' }),
    startOurServer(catalog, env),
  ]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [plain, caching] = servers as [ServerProcess, ServerProcess];
    const pages = await listPages(plain, manifest.id);
    // Both servers give the same answers (the caching one's first answer of each page is executed, and kept).
    for (const page of pages) {
      const again = await fetch(`${caching.url}${page.path}`, { headers: GET_HEADERS });
      // Thumbnail URLs name the server that answered.
      const text = (await again.text()).replaceAll(caching.url, plain.url);
      if (text !== page.body) throw new Error('revalidation: the caching server answers a page differently');
    }
    const at = (i: number) => pages[i % pages.length]!;
    const executed = (i: number): HttpRequest => ({ method: 'GET', path: at(i).path, headers: GET_HEADERS });
    const revalidated = (i: number): HttpRequest => ({
      method: 'GET',
      path: at(i).path,
      headers: { ...GET_HEADERS, 'if-none-match': at(i).etag },
    });
    const sides = [
      { name: 'executed', server: plain, request: executed, status: 200 },
      { name: 'revalidated', server: plain, request: revalidated, status: 304 },
      { name: 'cached', server: caching, request: executed, status: 200 },
    ] as const;
    const warmup = { connections: options.connections, durationSeconds: options.warmupSeconds };
    for (const side of sides) await runLoad(side.server.url, side.request, { ...warmup, expectedStatus: side.status });
    const rounds = sides.map(() => [] as LoadResult[]);
    const cpu = sides.map(() => ({ ms: 0, requests: 0, known: true }));
    for (let round = 0; round < options.rounds; round++) {
      for (const [k, side] of sides.entries()) {
        const before = cpuMs(side.server.pid);
        const result = await runLoad(side.server.url, side.request, {
          connections: options.connections,
          durationSeconds: options.roundSeconds,
          expectedStatus: side.status,
        });
        const after = cpuMs(side.server.pid);
        if (before === null || after === null) cpu[k]!.known = false;
        else {
          cpu[k]!.ms += after - before;
          cpu[k]!.requests += result.requests;
        }
        rounds[k]!.push(result);
      }
    }
    // One at a time, after the load (never two sides at once: they share the machine).
    const results: RevalidationSide[] = [];
    for (const [k, side] of sides.entries()) {
      const { peakRssMiB: _, ...load } = combine(rounds[k]!, null);
      if (load.errors) throw new Error(`revalidation ${side.name}: ${load.errors} answers were not ${side.status}`);
      results.push({
        ...load,
        cpuMsPerRequest: cpu[k]!.known && cpu[k]!.requests ? cpu[k]!.ms / cpu[k]!.requests : null,
        single: await probeLatency(side.server.url, side.request, options.probeSeconds, side.status),
      });
    }
    const pairs = (k: number) => rounds[k]!.map((r, i) => r.requestsPerSecond / rounds[0]![i]!.requestsPerSecond);
    const result: RevalidationResult = {
      catalog: catalog.label,
      executed: results[0]!,
      revalidated: results[1]!,
      cached: results[2]!,
      ratio: median(pairs(1)),
      ratioRange: [Math.min(...pairs(1)), Math.max(...pairs(1))],
      cachedRatio: median(pairs(2)),
    };
    const line = (name: string, s: RevalidationSide) =>
      `${name} ${s.requestsPerSecond.toFixed(0).padStart(6)} req/s, ${s.cpuMsPerRequest?.toFixed(3) ?? 'n/a'} ms CPU, single p50 ${s.single.p50Ms.toFixed(2)} ms`;
    options.log(
      `  ${catalog.label} persisted list page: ${line('executed', result.executed)} | ${line('304', result.revalidated)} | ${line('cached', result.cached)} | 304 / executed ${result.ratio.toFixed(1)} ×`,
    );
    return result;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
