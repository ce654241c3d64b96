/**
 * GET|HEAD /thumbnails/<imageDatabaseId>: the stored thumbnail bytes with their real Content-Type, a strong
 * content ETag and 304 revalidation, so UIs can show hundreds of previews with browser caching.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { thumbnailOf } from '../db/thumbnails.ts';
import { sendJson } from './json-response.ts';
import { effectiveMimeType, etagMatches, thumbnailEtag, THUMBNAIL_PATH_PREFIX } from '../thumbnails/facts.ts';

/** Browsers may reuse a thumbnail for an hour, then revalidate with If-None-Match (cheap: 304). */
export const THUMBNAIL_CACHE_CONTROL = 'public, max-age=3600';

export function isThumbnailPath(pathname: string): boolean {
  return pathname.startsWith(THUMBNAIL_PATH_PREFIX);
}

const sendError = (res: ServerResponse, status: number, code: string, message: string): void =>
  sendJson(res, status, { error: { code, message } });

export async function serveThumbnail(
  db: CatalogDatabase,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Thumbnails are read with GET or HEAD.');
    return;
  }
  const idText = pathname.slice(THUMBNAIL_PATH_PREFIX.length);
  const id = Number(idText);
  if (!/^[1-9]\d{0,15}$/.test(idText) || !Number.isSafeInteger(id)) {
    sendError(res, 400, 'BAD_USER_INPUT', `"${idText.slice(0, 40)}" is not an image id; use /thumbnails/<databaseId>.`);
    return;
  }
  const row = await thumbnailOf(db.kysely, id);
  if (!row?.bytes) {
    sendError(res, 404, 'NOT_FOUND', row ? `Image ${id} has no thumbnail.` : `No image with id ${id}.`);
    return;
  }
  const etag = thumbnailEtag(row.bytes);
  const headers = { etag, 'cache-control': THUMBNAIL_CACHE_CONTROL, 'x-content-type-options': 'nosniff' };
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    'content-type': effectiveMimeType(row.bytes, row.mimeType),
    'content-length': row.bytes.length,
  });
  res.end(head ? undefined : row.bytes);
}
