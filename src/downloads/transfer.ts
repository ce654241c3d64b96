/**
 * One file's transfer: `GET` the Civitai download URL, follow redirects to the storage host, and stream the body
 * into a `.part` file while it is hashed. The API key goes as `Authorization: Bearer` to the Civitai host only (the
 * storage host gets a signed URL, and must not see the key); on a 401/403 the desktop app's fallback is tried once:
 * the same URL with `?token=`. A dropped transfer resumes with `Range` (with `If-Range` on the ETag, and the
 * `Content-Range` checked), or starts again from zero when the server ignores Range or the file changed. Network
 * errors, 408/425/429 and 5xx are retried with back-off (Retry-After honoured, capped); a transfer that keeps
 * failing without receiving anything stops with DOWNLOAD_FAILED. Free space is checked before bytes are written.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat, statfs } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { retryAfterMs } from '../civitai/client.ts';
import { AppError } from '../errors.ts';
import type { StreamHasher, StreamHashes } from '../library/hashing/stream-hasher.ts';
import { fileNameFromContentDisposition, MAX_URL_CHARS } from './names.ts';

export interface RetryPolicy {
  /** Attempts in a row that receive nothing before the transfer gives up (any received byte starts the count again). */
  maxAttemptsWithoutProgress: number;
  /** Wait before the first retry without Retry-After; doubles each time. */
  initialBackoffMs: number;
  /** Longest wait before a retry, whatever Retry-After asks. */
  maxWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttemptsWithoutProgress: 5,
  initialBackoffMs: 1000,
  maxWaitMs: 30_000,
};

const MAX_REDIRECTS = 10;
const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Kept free beyond the file itself: the catalog, its WAL and other programs need room too. */
export const FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

export interface TransferOptions {
  /** The Civitai download URL (with its `type`/`format`/`size`/`fp` parameters). */
  url: string;
  apiKey: string | null;
  partPath: string;
  /** The ETag of the bytes already in the .part file (from an earlier attempt or run). */
  etag: string | null;
  /** The catalog's size for the file, checked against free space before anything is asked. */
  expectedBytes: number | null;
  signal: AbortSignal;
  hasher: StreamHasher;
  /** How long a response may keep the connection silent (headers or body) before the attempt counts as failed. */
  idleTimeoutMs: number;
  retry: RetryPolicy;
  /** The response that is being written: its ETag and total size (persisted so a later run can resume it). */
  onResponse(facts: { etag: string | null; totalBytes: number | null; resumedFrom: number }): Promise<void>;
  onProgress(receivedBytes: number, totalBytes: number | null): void;
  /** One line per notable event (retries, restarts), for the job's log. */
  log(message: string): void;
}

export interface TransferResult {
  hashes: StreamHashes;
  /** The name the server suggested (sanitised), if it did. */
  suggestedName: string | null;
  etag: string | null;
}

/** A failure worth another attempt; `waitMs` is what the server asked for (Retry-After), if it did. */
class RetriableError extends Error {
  readonly waitMs: number | null;
  constructor(message: string, waitMs: number | null = null) {
    super(message);
    this.waitMs = waitMs;
  }
}

/** Throws DISK_FULL when the folder's file system has less than `bytes` (plus a margin) available. */
export async function checkFreeSpace(dir: string, bytes: number): Promise<void> {
  const info = await statfs(dir);
  const available = Number(info.bavail) * Number(info.bsize);
  if (available < bytes + FREE_SPACE_MARGIN_BYTES)
    throw new AppError(
      'DISK_FULL',
      `Not enough free space in ${dir}: ${bytes} bytes are needed (plus ${FREE_SPACE_MARGIN_BYTES} kept free), ${available} are available.`,
      { neededBytes: bytes, availableBytes: available },
    );
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

function withToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.href;
}

/** `bytes start-end/total` (total may be `*`). */
function parseContentRange(header: string | undefined): { start: number; total: number | null } | null {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === '*' ? null : Number(match[3]) };
}

function request(url: string, headers: Record<string, string>, options: TransferOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const client = parsed.protocol === 'https:' ? https : http;
    const req = client.get(parsed, { headers, signal: options.signal, timeout: options.idleTimeoutMs }, resolve);
    req.on('timeout', () =>
      req.destroy(new RetriableError(`no data for ${options.idleTimeoutMs} ms from ${parsed.host}`)),
    );
    req.on('error', reject);
  });
}

/** Reads and discards a response that is not the file (a redirect, an error page), so its connection is freed. */
function discard(response: IncomingMessage): void {
  response.resume();
  response.on('error', () => undefined);
}

/**
 * Follows the redirect chain from `url` to the response that carries the file. Returns it, or throws: AppError for
 * answers that will not change (404, refusal), RetriableError for ones worth another attempt.
 */
async function openFile(
  url: string,
  rangeFrom: number,
  etag: string | null,
  options: TransferOptions,
): Promise<IncomingMessage> {
  const apiOrigin = new URL(options.url).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'DiffusionNexus-Core' };
    if (options.apiKey && new URL(current).origin === apiOrigin) headers.authorization = `Bearer ${options.apiKey}`;
    if (rangeFrom > 0) {
      headers.range = `bytes=${rangeFrom}-`;
      // The server answers the whole file (200) instead of a range when it no longer has the same bytes.
      if (etag && !etag.startsWith('W/')) headers['if-range'] = etag;
    }
    const response = await request(current, headers, options);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      discard(response);
      const location = response.headers.location;
      if (location.length > MAX_URL_CHARS)
        throw new AppError('DOWNLOAD_FAILED', `A redirect longer than ${MAX_URL_CHARS} characters was not followed.`);
      const next = new URL(location, current);
      if (next.protocol !== 'https:' && next.protocol !== 'http:')
        throw new AppError('DOWNLOAD_FAILED', `A redirect to a ${next.protocol} URL was not followed.`);
      current = next.href;
      continue;
    }
    if (status === 200 || status === 206) return response;
    discard(response);
    const host = new URL(current).host;
    if (status === 401 || status === 403)
      throw Object.assign(new AppError('DOWNLOAD_FAILED', `${host} refused the download (HTTP ${status}).`), {
        refused: true,
      });
    if (status === 416)
      throw Object.assign(new RetriableError(`${host} cannot serve the range asked for`, 0), { rangeRefused: true });
    if (RETRIABLE_STATUS.has(status)) {
      const header = response.headers['retry-after'];
      throw new RetriableError(`HTTP ${status} from ${host}`, retryAfterMs(typeof header === 'string' ? header : null));
    }
    throw new AppError(
      'DOWNLOAD_FAILED',
      status === 404 || status === 410
        ? `${host} has no such file (HTTP ${status}).`
        : `${host} answered HTTP ${status}.`,
    );
  }
  throw new AppError('DOWNLOAD_FAILED', `More than ${MAX_REDIRECTS} redirects.`);
}

function isNetworkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    error instanceof RetriableError ||
    (typeof code === 'string' &&
      /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_.*)$/.test(
        code,
      )) ||
    /aborted|socket hang up|premature close/i.test((error as Error).message ?? '')
  );
}

/** Transfers the file into `partPath`, hashing it; resumes what an earlier attempt left there. */
export async function transferFile(options: TransferOptions): Promise<TransferResult> {
  const { partPath, signal } = options;
  let etag = options.etag;
  let useToken = false;
  let failuresWithoutProgress = 0;
  let lastProblem = '';
  for (;;) {
    signal.throwIfAborted();
    let offset = await sizeOf(partPath);
    // Bytes on disk that no ETag vouches for cannot be continued safely: start again.
    if (offset > 0 && etag === null) {
      await rm(partPath, { force: true });
      offset = 0;
    }
    if (options.expectedBytes !== null)
      await checkFreeSpace(path.dirname(partPath), Math.max(0, options.expectedBytes - offset));
    let receivedThisAttempt = 0;
    try {
      const url = useToken && options.apiKey ? withToken(options.url, options.apiKey) : options.url;
      const response = await openFile(url, offset, etag, options);
      const range = response.statusCode === 206 ? parseContentRange(response.headers['content-range']) : null;
      if (response.statusCode === 206 && (!range || range.start !== offset)) {
        discard(response);
        options.log(
          `the server answered another range (${response.headers['content-range'] ?? 'none'}): starting again`,
        );
        await rm(partPath, { force: true });
        etag = null;
        continue;
      }
      if (response.statusCode === 200 && offset > 0) {
        options.log(
          'the server sent the whole file instead of the rest (Range ignored or file changed): starting again',
        );
        offset = 0;
      }
      const length = Number(response.headers['content-length']);
      const totalBytes = range ? range.total : Number.isFinite(length) ? length : null;
      if (totalBytes !== null) await checkFreeSpace(path.dirname(partPath), Math.max(0, totalBytes - offset));
      const responseEtag = typeof response.headers.etag === 'string' ? response.headers.etag : null;
      etag = responseEtag;
      await options.onResponse({ etag, totalBytes, resumedFrom: offset });
      await options.hasher.start(offset > 0 ? { path: partPath, length: offset } : undefined);
      const suggestedName = fileNameFromContentDisposition(response.headers['content-disposition']);
      let received = offset;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          receivedThisAttempt += chunk.length;
          options.onProgress(received, totalBytes);
          options.hasher.update(chunk).then(() => callback(null, chunk), callback);
        },
      });
      await pipeline(
        response,
        counter,
        createWriteStream(partPath, { flags: offset > 0 ? 'a' : 'w', highWaterMark: 1024 * 1024 }),
        { signal },
      );
      if (totalBytes !== null && received < totalBytes)
        throw new RetriableError(`the connection ended after ${received} of ${totalBytes} bytes`);
      return { hashes: await options.hasher.finish(), suggestedName, etag };
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        await rm(partPath, { force: true });
        throw new AppError('DISK_FULL', `The disk filled up while writing ${partPath}; the partial file was removed.`);
      }
      if ((error as { refused?: boolean }).refused && options.apiKey && !useToken) {
        // The desktop app's fallback: some storage hosts want the key as a query parameter.
        options.log(`${(error as Error).message}: trying again with ?token=`);
        useToken = true;
        continue;
      }
      if ((error as { refused?: boolean }).refused)
        throw new AppError(
          'DOWNLOAD_FAILED',
          `${(error as Error).message}${options.apiKey ? '' : ' Set CIVITAI_API_KEY: Civitai wants a key for this file.'}`,
        );
      if ((error as { rangeRefused?: boolean }).rangeRefused) {
        await rm(partPath, { force: true });
        etag = null;
      }
      if (!isNetworkError(error)) throw error;
      lastProblem = (error as Error).message;
      failuresWithoutProgress = receivedThisAttempt > 0 ? 1 : failuresWithoutProgress + 1;
      if (failuresWithoutProgress >= options.retry.maxAttemptsWithoutProgress)
        throw new AppError(
          'DOWNLOAD_FAILED',
          `The transfer failed ${failuresWithoutProgress} times in a row (last: ${lastProblem}); what arrived is kept for a retry.`,
        );
      const backoff = options.retry.initialBackoffMs * 2 ** (failuresWithoutProgress - 1);
      const wait = Math.min(
        (error instanceof RetriableError ? error.waitMs : null) ?? backoff,
        options.retry.maxWaitMs,
      );
      options.log(`${lastProblem}: retrying in ${wait} ms`);
      await sleep(wait, undefined, { signal });
    }
  }
}
