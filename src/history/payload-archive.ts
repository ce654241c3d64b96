/**
 * The raw payload archive: every payload an import or sync reads is kept with the model it was read for,
 * gzip-compressed, once per distinct content (its SHA-256), with where and when it came from. Compression runs on
 * libuv's thread pool before the import's transaction opens, so neither the event loop nor the write lock waits
 * for it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { CatalogQueries } from '../db/catalog-database.ts';
import { payloadBodies, payloadsOfModel, type PreparedPayload } from '../db/tables/metadata-history.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';
import { AppError } from '../errors.ts';

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

/** Leaves out Civitai's `stats` objects (download counts, ratings, likes), which change on nearly every read. */
const withoutStatistics = (key: string, value: unknown) => (key === 'stats' ? undefined : value);

/**
 * The payload as it will be stored: its JSON text, compressed, and its content hash — taken without the statistics,
 * so a payload that differs from a kept one only in its counts is not kept again (a weekly sync of a large library
 * would otherwise store every model anew each time).
 */
export async function preparePayload(
  json: unknown,
  kind: PayloadKind,
  origin: PayloadOrigin,
  source: string,
): Promise<ArchivedPayload> {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  return {
    contentHash: createHash('sha256').update(JSON.stringify(json, withoutStatistics)).digest('hex'),
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

/** Most payloads one export writes (a model read daily for years stays far below it). */
export const MAX_EXPORTED_PAYLOADS = 10_000;

export interface ExportedPayload {
  file: string;
  bytes: number;
  /** False when the file was already there with the same content. */
  written: boolean;
}

/**
 * Writes every payload archived for a model into `dir`, one JSON file each, named by when it was first read, where
 * from and its content hash (`2026-03-04T05-06-07Z_civitai_1a2b3c4d5e6f.json`). Existing files are never
 * overwritten: one with the same name and content counts as exported, a different one is an error.
 */
export async function exportModelPayloads(
  db: CatalogQueries,
  modelId: number,
  dir: string,
): Promise<ExportedPayload[]> {
  const rows = await payloadsOfModel(db, modelId, MAX_EXPORTED_PAYLOADS);
  await mkdir(dir, { recursive: true });
  const exported: ExportedPayload[] = [];
  for (const row of rows) {
    const body = (await payloadBodies(db, [row.Id])).get(row.Id);
    if (!body) continue;
    const text = await payloadText(body);
    const stamp = (parseStoredTimestamp(row.FetchedAt) ?? new Date(0)).toISOString().replace(/\.\d+Z$/, 'Z');
    const file = path.join(dir, `${stamp.replaceAll(':', '-')}_${row.Origin}_${row.ContentHash.slice(0, 12)}.json`);
    exported.push({ file, bytes: Buffer.byteLength(text), written: await writeNew(file, text) });
  }
  return exported;
}

/** Writes `text` to a new file; true when written, false when the same content is already there. */
async function writeNew(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if ((await readFile(file, 'utf8')) === text) return false;
    throw new AppError('CONFLICT', `${file} exists with other content; export into an empty folder.`);
  }
}
