/**
 * The Civitai REST client: configurable base URL (civitai.com or a mirror such as civitai.red), the API key as a
 * Bearer token, a timeout per attempt, and retries on 429/5xx/network errors that honour `Retry-After` up to a
 * cap. A 404 is an answer ("not on Civitai"), not an error. The same rules apply to the optional archive fallback
 * (CivArchive), which never gets the Civitai key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CivitaiSettings } from '../config.ts';
import { AppError } from '../errors.ts';

/** `path`: the path of the URL that answered (for messages; unlike the whole URL it never holds credentials). */
export type CivitaiAnswer = { found: true; json: unknown; path: string } | { found: false };

export interface CivitaiClientOptions extends CivitaiSettings {
  /** Attempts after the first (default 3). */
  maxRetries?: number;
  /** Longest wait before a retry, whatever Retry-After asks (default 30 s). */
  maxRetryWaitMs?: number;
  /** Wait before the first retry when the server gives no Retry-After; doubles each time (default 1 s). */
  initialBackoffMs?: number;
}

export interface CivitaiClient {
  getModel(civitaiId: number): Promise<CivitaiAnswer>;
  getModelVersion(civitaiId: number): Promise<CivitaiAnswer>;
  getModelVersionByHash(hash: string): Promise<CivitaiAnswer>;
  /** CivArchive's record of a file by SHA-256 (`GET /api/sha256/:hash`); not found when the fallback is off. */
  getArchivedBySha256(sha256: string): Promise<CivitaiAnswer>;
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const RETRIABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export function createCivitaiClient(options: CivitaiClientOptions): CivitaiClient {
  const maxRetries = options.maxRetries ?? 3;
  const maxWait = options.maxRetryWaitMs ?? 30_000;
  const initialBackoff = options.initialBackoffMs ?? 1000;
  interface Service {
    name: string;
    baseUrl: string;
  }
  const CIVITAI: Service = { name: 'Civitai', baseUrl: options.baseUrl };
  const archive: Service | null = options.archiveBaseUrl
    ? { name: 'CivArchive', baseUrl: options.archiveBaseUrl }
    : null;

  async function get(pathAndQuery: string, service: Service = CIVITAI): Promise<CivitaiAnswer> {
    const url = `${service.baseUrl}${pathAndQuery}`;
    const apiKey = service === CIVITAI ? options.apiKey : null;
    let lastProblem = '';
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      let wait = initialBackoff * 2 ** attempt;
      try {
        const response = await fetch(url, {
          headers: {
            accept: 'application/json',
            ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        if (response.status === 404) {
          await response.body?.cancel();
          return { found: false };
        }
        if (response.ok) {
          const text = await response.text();
          if (text.length > MAX_RESPONSE_BYTES)
            throw new AppError(
              'UPSTREAM_ERROR',
              `${service.name} answered ${url} with more than ${MAX_RESPONSE_BYTES} bytes.`,
            );
          try {
            return { found: true, json: JSON.parse(text) as unknown, path: new URL(url).pathname };
          } catch {
            throw new AppError('UPSTREAM_ERROR', `${service.name} answered ${url} with something that is not JSON.`);
          }
        }
        await response.body?.cancel();
        if (response.status === 401 || response.status === 403) {
          throw new AppError(
            'UPSTREAM_ERROR',
            `${service.name} refused ${url} (HTTP ${response.status})${service === CIVITAI ? ': check CIVITAI_API_KEY' : ''}.`,
          );
        }
        if (!RETRIABLE.has(response.status))
          throw new AppError('UPSTREAM_ERROR', `${service.name} answered ${url} with HTTP ${response.status}.`);
        lastProblem = `HTTP ${response.status}`;
        wait = retryAfterMs(response.headers.get('retry-after')) ?? wait;
      } catch (error) {
        if (error instanceof AppError) throw error;
        lastProblem =
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${options.timeoutMs} ms`
            : (error as Error).message;
      }
      if (attempt < maxRetries) await sleep(Math.min(wait, maxWait));
    }
    throw new AppError(
      'UPSTREAM_ERROR',
      `${service.name} did not answer ${url} after ${maxRetries + 1} attempts (last: ${lastProblem}).`,
    );
  }

  return {
    getModel: (id) => get(`/api/v1/models/${id}`),
    getModelVersion: (id) => get(`/api/v1/model-versions/${id}`),
    getModelVersionByHash: (hash) => get(`/api/v1/model-versions/by-hash/${encodeURIComponent(hash)}`),
    getArchivedBySha256: async (sha256) =>
      archive ? get(`/api/sha256/${encodeURIComponent(sha256.toLowerCase())}`, archive) : { found: false },
  };
}
