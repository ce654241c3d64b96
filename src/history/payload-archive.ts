/**
 * The raw payload archive: every payload an import or sync reads is kept, gzip-compressed, once per distinct
 * content (its SHA-256), linked to the model it was read for with where and when it came from. Compression runs on
 * libuv's thread pool before the import's transaction opens, so neither the event loop nor the write lock waits
 * for it.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { PreparedPayload } from '../db/tables/metadata-history.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Where a payload came from: Civitai's API, an archive service, a file, or a GraphQL request body. */
export type PayloadOrigin = 'civitai' | 'archive' | 'file' | 'request';
export type PayloadKind = 'model' | 'version' | 'images';

export interface ArchivedPayload extends PreparedPayload {
  origin: PayloadOrigin;
  /** "Civitai model 4201", a file path, "request". */
  source: string;
}

/** The payload as it will be stored: its JSON text's hash and compressed bytes. */
export async function preparePayload(
  json: unknown,
  kind: PayloadKind,
  origin: PayloadOrigin,
  source: string,
): Promise<ArchivedPayload> {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  return {
    contentHash: createHash('sha256').update(text).digest('hex'),
    kind,
    byteSize: text.length,
    body: await gzipAsync(text, { level: 6 }),
    origin,
    source,
  };
}

/** The JSON text of a stored payload body (decompressed on the thread pool too). */
export async function payloadText(body: Uint8Array): Promise<string> {
  return (await gunzipAsync(body)).toString('utf8');
}
