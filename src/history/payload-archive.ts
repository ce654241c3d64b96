/**
 * The raw payload archive: every payload an import, sync or download reads is kept with the model it was read for,
 * gzip-compressed, once per distinct content (its SHA-256), with where and when it came from. Hashing and compression
 * happen before the import's transaction opens, so the write lock never waits for them; compression always runs off
 * the event loop, and so does everything for a large payload.
 */
import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { gunzip, gzip } from 'node:zlib';
import type { CatalogQueries } from '../db/catalog-database.ts';
import { payloadBodies, payloadsOfModel, type PreparedPayload } from '../db/tables/metadata-history.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';
import { AppError } from '../errors.ts';
import { RequestWorker } from '../worker-requests.ts';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** gzip's level for stored bodies: level 9 saves ~1 % more on Civitai JSON for twice the time. */
export const PAYLOAD_GZIP_LEVEL = 6;

/** Where a payload came from: Civitai's API, an archive service, a file, or a GraphQL request body. */
export type PayloadOrigin = 'civitai' | 'archive' | 'file' | 'request';
export type PayloadKind = 'model' | 'version' | 'images';

export interface ArchivedPayload extends PreparedPayload {
  origin: PayloadOrigin;
  /** "Civitai model 4201", a file path, "request". */
  source: string;
}

interface WorkerAnswer {
  contentHash: string;
  body: Uint8Array;
  byteSize: number;
}

/** Large payloads are hashed and compressed here (see `payload.worker.mjs`). */
const payloadWorker = new RequestWorker<{ pieces: Uint8Array[]; level: number }, WorkerAnswer>(
  new URL('./payload.worker.mjs', import.meta.url),
  'payload worker',
);

/** The characters of the strings and keys in `json`, counted up to `stop` (a cheap bound on its text's length). */
function textLength(json: unknown, stop: number): number {
  let total = 0;
  const visit = (value: unknown): void => {
    if (total >= stop) return;
    if (typeof value === 'string') total += value.length;
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value !== null && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) {
        total += key.length;
        visit(item);
      }
    else total += 8;
  };
  visit(json);
  return total;
}

/** Text of this length or more is serialised in slices, yielding to the event loop between them. */
const SLICE_CHARS = 256 * 1024;

/**
 * The payload's JSON text as UTF-8 pieces, without holding the event loop for long: JSON.stringify of one 50 MB
 * description takes most of a second (it escapes character by character), so long strings are escaped a slice at a
 * time. The pieces are bytes, handed to the worker without a copy.
 */
async function serialize(json: unknown): Promise<Uint8Array[]> {
  const encoder = new TextEncoder();
  const pieces: Uint8Array[] = [];
  let pending = '';
  let sinceYield = 0;
  const emit = async (text: string) => {
    pending += text;
    sinceYield += text.length;
    if (pending.length >= SLICE_CHARS) {
      pieces.push(encoder.encode(pending));
      pending = '';
    }
    if (sinceYield >= SLICE_CHARS * 4) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  };
  const write = async (value: unknown): Promise<void> => {
    if (typeof value === 'string' && value.length > SLICE_CHARS) {
      await emit('"');
      // Slices of a string escape exactly as the whole does, except that a surrogate pair cut in two is written as
      // two \u escapes: the same text once parsed.
      for (let at = 0; at < value.length; at += SLICE_CHARS)
        await emit(JSON.stringify(value.slice(at, at + SLICE_CHARS)).slice(1, -1));
      await emit('"');
    } else if (Array.isArray(value)) {
      await emit('[');
      for (const [i, item] of value.entries()) {
        if (i > 0) await emit(',');
        await write(item === undefined || typeof item === 'function' ? null : item);
      }
      await emit(']');
    } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      await emit('{');
      let first = true;
      for (const [key, item] of Object.entries(value)) {
        if (item === undefined || typeof item === 'function') continue;
        await emit(`${first ? '' : ','}${JSON.stringify(key)}:`);
        first = false;
        await write(item);
      }
      await emit('}');
    } else await emit(JSON.stringify(value) ?? 'null');
  };
  await write(json);
  if (pending !== '') pieces.push(encoder.encode(pending));
  return pieces;
}

/** The content hash leaves out Civitai's `stats` objects: counts change on every read, they do not make a payload new. */
const withoutStatistics = (key: string, value: unknown) => (key === 'stats' ? undefined : value);

/**
 * The payload as it will be stored: its JSON text, compressed, and its content hash — taken without the statistics,
 * so a payload that differs from a kept one only in its counts is not kept again (a weekly sync of a large library
 * would otherwise store every model anew each time).
 *
 * The usual payload (tens of kilobytes) is serialised and hashed here — under a millisecond — and compressed on
 * libuv's thread pool: a round trip to the worker cost more than that work (import bench: ~0.8 ms of CPU a model
 * more, measured by alternating runs). A large one (a long description) goes to the worker whole, serialised in
 * slices, so the event loop never holds it for long (`payload.worker.mjs` hashes it the same way).
 */
export async function preparePayload(
  json: unknown,
  kind: PayloadKind,
  origin: PayloadOrigin,
  source: string,
): Promise<ArchivedPayload> {
  if (textLength(json, SLICE_CHARS) < SLICE_CHARS) {
    const text = JSON.stringify(json);
    const contentHash = createHash('sha256').update(JSON.stringify(json, withoutStatistics)).digest('hex');
    const body = await gzipAsync(text, { level: PAYLOAD_GZIP_LEVEL });
    return { contentHash, kind, byteSize: Buffer.byteLength(text), body, origin, source };
  }
  const pieces = await serialize(json);
  const answer = await payloadWorker.run(
    { pieces, level: PAYLOAD_GZIP_LEVEL },
    pieces.map((piece) => piece.buffer as ArrayBuffer),
  );
  return {
    contentHash: answer.contentHash,
    kind,
    byteSize: answer.byteSize,
    body: Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength),
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
 * overwritten: one with the same name and content counts as exported; a different one, or a folder or link of that
 * name, is an error. Every name is checked before anything is written, so a refusal leaves `dir` as it was.
 */
export async function exportModelPayloads(
  db: CatalogQueries,
  modelId: number,
  dir: string,
): Promise<ExportedPayload[]> {
  const rows = await payloadsOfModel(db, modelId, MAX_EXPORTED_PAYLOADS);
  await exportFolder(dir);
  const files = rows.map((row) => {
    const stamp = (parseStoredTimestamp(row.FetchedAt) ?? new Date(0)).toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      id: row.Id,
      file: path.join(dir, `${stamp.replaceAll(':', '-')}_${row.Origin}_${row.ContentHash.slice(0, 12)}.json`),
    };
  });
  const text = async (id: number) => {
    const body = (await payloadBodies(db, [id])).get(id);
    return body ? payloadText(body) : null;
  };
  /** Bytes of the payloads already there (same name, same content), by file. */
  const present = new Map<string, number>();
  for (const { id, file } of files) {
    const existing = await lstat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw refused(`read ${file}`, error);
    });
    const json = existing ? await text(id) : null;
    if (json === null) continue;
    await checkSameContent(file, json);
    present.set(file, Buffer.byteLength(json));
  }
  const exported: ExportedPayload[] = [];
  for (const { id, file } of files) {
    const bytes = present.get(file);
    if (bytes !== undefined) {
      exported.push({ file, bytes, written: false });
      continue;
    }
    const json = await text(id);
    if (json === null) continue;
    exported.push({ file, bytes: Buffer.byteLength(json), written: await writeNew(file, json) });
  }
  return exported;
}

/** The file system's refusal as a coded error (the CLI prints it as one line, not a stack trace). */
function refused(what: string, error: unknown): AppError {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  return new AppError('BAD_USER_INPUT', `Cannot ${what} (${code}).`);
}

/**
 * Makes sure `dir` is a folder to export into: an existing folder, or a new one whose parent exists. Created one
 * level only, never recursively (Node 20's recursive mkdir spins forever under /proc).
 */
async function exportFolder(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw refused(`read ${dir}`, error);
  });
  if (info?.isDirectory()) return;
  if (info) throw new AppError('BAD_USER_INPUT', `${dir} exists and is not a folder.`);
  const parent = await stat(path.dirname(target)).catch(() => null);
  if (!parent?.isDirectory())
    throw new AppError('BAD_USER_INPUT', `${path.dirname(target)} does not exist: create it, or export elsewhere.`);
  await mkdir(target).catch((error: unknown) => {
    throw refused(`create ${dir}`, error);
  });
}

/** Writes `text` to a new file; true when written, false when the same content is already there. */
async function writeNew(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw refused(`write ${file}`, error);
    await checkSameContent(file, text);
    return false;
  }
}

/**
 * Refuses `file` unless it is a file holding `text`, with a coded error. A folder or a link (dangling, or even to
 * such a file) is refused, not read through: the write never follows a link (`wx`), so neither does the check.
 */
async function checkSameContent(file: string, text: string): Promise<void> {
  const info = await lstat(file).catch((error: unknown) => {
    throw refused(`read ${file}`, error);
  });
  if (!info.isFile())
    throw new AppError(
      'CONFLICT',
      `${file} exists and is not a file (a folder or a link); export into an empty folder.`,
    );
  const existing = await readFile(file, 'utf8').catch((error: unknown) => {
    throw refused(`read ${file}`, error);
  });
  if (existing !== text)
    throw new AppError('CONFLICT', `${file} exists with other content; export into an empty folder.`);
}
