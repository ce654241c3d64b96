/**
 * Two local hosts for download tests, as Civitai's are: an API host (`/api/v1/...` payloads, and
 * `/api/download/models/<version>` answering with a redirect) and a storage host serving the bytes — with Range,
 * an ETag and a Content-Disposition — whose misbehaviour each test scripts: a connection dropped half-way, Range
 * ignored, a 401 unless the key came as `?token=`, a 429 with Retry-After, a transfer that stalls until released,
 * wrong bytes. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface HostedFile {
  bytes: Buffer;
  /** Sent as Content-Disposition (default: `attachment; filename="<name>"`). */
  contentDisposition?: string | null;
  name: string;
  /** The first request sends the headers and this many bytes, then drops the connection. */
  dropAt?: number;
  /** Range requests get the whole file (200). */
  ignoreRange?: boolean;
  /** The storage host refuses (401) unless the API host was asked with `?token=`. */
  requireToken?: boolean;
  /** The first request is answered 429 with this Retry-After. */
  tooManyRequests?: string;
  /** Requests send bytes up to here, then wait until `release()` (the connection stays open). */
  stallAt?: number;
  /** Bytes sent instead of `bytes` (the catalog expects `bytes`). */
  servedBytes?: Buffer;
}

export interface HostRequest {
  host: 'api' | 'storage';
  path: string;
  query: URLSearchParams;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
  at: number;
}

export interface DownloadHosts {
  apiUrl: string;
  storageUrl: string;
  requests: HostRequest[];
  /** Serves `/api/v1/<path>` (a model or version payload). */
  payload(path: string, json: unknown): void;
  /** The file a version's download serves. */
  file(versionId: number, file: HostedFile): void;
  /** An image under `<storageUrl>/images/<name>`. */
  image(name: string, bytes: Buffer): void;
  /** Lets stalled transfers of a version go on. */
  release(versionId: number): void;
  fileRequests(versionId: number): HostRequest[];
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`;
}

export async function startDownloadHosts(apiKey: string): Promise<DownloadHosts> {
  const payloads = new Map<string, unknown>();
  const files = new Map<number, HostedFile>();
  const served = new Map<number, number>();
  const stalls = new Map<number, { released: boolean; waiting: (() => void)[] }>();
  const images = new Map<string, Buffer>();
  const requests: HostRequest[] = [];
  let storageUrl = '';

  const record = (host: HostRequest['host'], req: IncomingMessage, status: number) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      host,
      path: url.pathname,
      query: url.searchParams,
      range: req.headers.range,
      authorization: req.headers.authorization,
      status,
      at: Date.now(),
    });
  };

  const api = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const download = /^\/api\/download\/models\/(\d+)$/.exec(url.pathname);
    if (download) {
      const versionId = Number(download[1]);
      const viaToken = url.searchParams.get('token') === apiKey;
      const bearer = req.headers.authorization === `Bearer ${apiKey}`;
      if (!files.has(versionId) || (!viaToken && !bearer)) {
        record('api', req, 404);
        res.writeHead(404).end();
        return;
      }
      record('api', req, 302);
      res.writeHead(302, { location: `${storageUrl}/files/${versionId}?auth=${viaToken ? 'token' : 'bearer'}` }).end();
      return;
    }
    const json = payloads.get(url.pathname.replace(/^\/api\/v1\//, ''));
    record('api', req, json === undefined ? 404 : 200);
    res.writeHead(json === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json ?? { error: 'Not found' }));
  });

  const serveFile = async (req: IncomingMessage, res: ServerResponse, versionId: number, file: HostedFile) => {
    const count = (served.get(versionId) ?? 0) + 1;
    served.set(versionId, count);
    const url = new URL(req.url ?? '/', 'http://x');
    if (file.requireToken && url.searchParams.get('auth') !== 'token') {
      record('storage', req, 401);
      res.writeHead(401).end();
      return;
    }
    if (file.tooManyRequests && count === 1) {
      record('storage', req, 429);
      res.writeHead(429, { 'retry-after': file.tooManyRequests }).end();
      return;
    }
    const bytes = file.servedBytes ?? file.bytes;
    const etag = etagOf(bytes);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const start = range && !file.ignoreRange && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : 0;
    const status = start > 0 ? 206 : 200;
    record('storage', req, status);
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length - start),
      etag,
      'accept-ranges': 'bytes',
      ...(file.contentDisposition === null
        ? {}
        : { 'content-disposition': file.contentDisposition ?? `attachment; filename="${file.name}"` }),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    const dropAt = file.dropAt !== undefined && count === 1 ? file.dropAt : null;
    const stall = stalls.get(versionId);
    const stallAt = file.stallAt !== undefined && !stall?.released ? file.stallAt : null;
    const firstEnd = Math.min(bytes.length, dropAt ?? stallAt ?? bytes.length);
    if (firstEnd > start)
      await new Promise<void>((resolve) => res.write(bytes.subarray(start, firstEnd), () => resolve()));
    if (dropAt !== null) {
      res.socket?.destroy();
      return;
    }
    if (stallAt !== null && firstEnd < bytes.length) {
      const entry = stall ?? { released: false, waiting: [] };
      stalls.set(versionId, entry);
      await new Promise<void>((resolve) => entry.waiting.push(resolve));
      if (res.destroyed) return;
    }
    res.end(bytes.subarray(Math.max(start, firstEnd)));
  };

  const storage = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const fileMatch = /^\/files\/(\d+)$/.exec(url.pathname);
    const file = fileMatch ? files.get(Number(fileMatch[1])) : undefined;
    if (fileMatch && file) {
      serveFile(req, res, Number(fileMatch[1]), file).catch(() => res.destroy());
      return;
    }
    const image = images.get(url.pathname.replace(/^\/images\//, ''));
    record('storage', req, image ? 200 : 404);
    if (!image) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(image.length) }).end(image);
  });

  const apiUrl = await listenOnLoopback(api);
  storageUrl = await listenOnLoopback(storage);
  return {
    apiUrl,
    storageUrl,
    requests,
    payload: (path, json) => payloads.set(path, json),
    file: (versionId, file) => {
      files.set(versionId, file);
      served.delete(versionId);
    },
    image: (name, bytes) => images.set(name, bytes),
    release: (versionId) => {
      const entry = stalls.get(versionId) ?? { released: true, waiting: [] };
      entry.released = true;
      stalls.set(versionId, entry);
      for (const resume of entry.waiting.splice(0)) resume();
    },
    fileRequests: (versionId) => requests.filter((r) => r.host === 'storage' && r.path === `/files/${versionId}`),
  };
}
