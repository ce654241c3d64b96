/**
 * Online sync: fetch from Civitai, import through the one mapping. A version or hash is resolved to its model
 * and the whole model is imported (its description, tags and creator come only with the model). "Not on
 * Civitai" answers are remembered for a week in CivitaiLookups, so repeated syncs do not hammer the API for
 * files that were never published; `force` asks again.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';
import {
  forgetLookup,
  isRemembered,
  type LookupKind,
  notFoundCheckedAt,
  rememberNotFound,
} from '../db/tables/civitai-lookups.ts';
import { AppError } from '../errors.ts';
import { type HashQuery, matchValues, parseHashQuery } from '../catalog/hash-lookup.ts';
import { type ImportOptions, importPayload } from './batch-import.ts';
import type { CivitaiClient } from './client.ts';
import { JsonReader } from './json-reader.ts';
import { HASH_KEYS, mapHashes } from './mapping.ts';
import { payloadFromArchive } from './archive.ts';
import { markRemovedFromCivitai, type TombstoneKind } from '../history/tombstones.ts';

export type SyncStatus = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'NOT_ON_CIVITAI' | 'REMOVED_FROM_CIVITAI';

export interface SyncOutcome {
  status: SyncStatus;
  modelId: number | null;
  /** When Civitai was asked (or, for a remembered "not on Civitai", when it was last asked). */
  checkedAt: Date;
  /** True when the answer came from CivitaiLookups without a request. */
  remembered: boolean;
  /** True when Civitai did not know it and the archive's record (CIVARCHIVE_FALLBACK) was imported instead. */
  fromArchive?: boolean;
  warnings: string[];
}

export interface SyncOptions {
  force?: boolean;
  now?: Date;
  /** The request (x-request-id) or job that asked: recorded with every change set the sync writes. */
  jobId?: string | null;
}

export const NOT_FOUND_MEMORY_MS = 7 * 24 * 60 * 60 * 1000;

/** A recent 404 remembered for this look-up (unless `force`), as the outcome to answer with. */
async function rememberedOutcome(
  db: CatalogDatabase,
  kind: LookupKind,
  key: string,
  options: SyncOptions,
  now: Date,
): Promise<SyncOutcome | null> {
  if (options.force) return null;
  const checkedAt = parseStoredTimestamp(await notFoundCheckedAt(db, kind, key));
  if (!checkedAt || now.getTime() - checkedAt.getTime() >= NOT_FOUND_MEMORY_MS) return null;
  return { status: 'NOT_ON_CIVITAI', modelId: null, checkedAt, remembered: true, warnings: [] };
}

/** Civitai answered 404: a model or version synced before is marked, anything else is remembered as not there. */
async function recordNotFound(
  db: CatalogDatabase,
  kind: LookupKind,
  key: string,
  now: Date,
  jobId: string | null = null,
): Promise<SyncOutcome> {
  // A model or version synced before and now gone keeps every row, marked. Its 404 is not remembered: the next
  // sync asks again, so it sees the model come back (and lifts the mark) without `force`.
  const tombstone: TombstoneKind | null = kind === 'hash' ? null : kind;
  const removedModelId = await db.write(async (trx) => {
    const marked = tombstone ? await markRemovedFromCivitai(trx, tombstone, Number(key), now, jobId) : null;
    if (marked === null) await rememberNotFound(trx, kind, key, now);
    return marked;
  });
  return {
    status: removedModelId === null ? 'NOT_ON_CIVITAI' : 'REMOVED_FROM_CIVITAI',
    modelId: removedModelId,
    checkedAt: now,
    remembered: false,
    warnings: [],
  };
}

/** Forgets a remembered 404 once the look-up found something and imported it. */
async function forget(db: CatalogDatabase, kind: LookupKind, key: string): Promise<void> {
  if (await isRemembered(db, kind, key)) await db.write((trx) => forgetLookup(trx, kind, key));
}

/** A positive 32-bit id at `key`, else null. */
function idAt(payload: JsonReader, key: string): number | null {
  try {
    return payload.id(key);
  } catch {
    return null;
  }
}

/** What a Civitai answer holds, for a message: "model 4201", "a list of 3 items", "null"… */
function describeAnswer(payload: JsonReader): string {
  const value = payload.value;
  if (!payload.isObject()) return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  const items = (value as Record<string, unknown>).items;
  if (Array.isArray(items)) return `a list of ${items.length} items`;
  if (payload.has('modelVersions')) return `model ${idAt(payload, 'id') ?? 'without a valid id'}`;
  if (payload.has('modelId'))
    return `version ${idAt(payload, 'id') ?? '(no valid id)'} of model ${idAt(payload, 'modelId') ?? '(no valid id)'}`;
  return 'an object that is neither a model nor a model version';
}

/**
 * Civitai's answer, if it is what was asked for: one model payload with id `id`, or one version payload (with id
 * `id`, when given). Anything else — a list, another model, `{}` — is Civitai's answer gone wrong, not the user's
 * input: UPSTREAM_ERROR naming what came back and where from (the URL's path), and nothing of it is imported.
 */
function askedFor(answer: { json: unknown; path: string }, kind: 'model' | 'version', id: number | null): unknown {
  const payload = new JsonReader(answer.json);
  const shaped =
    payload.isObject() &&
    !payload.has('items') &&
    (kind === 'model'
      ? payload.has('modelVersions')
      : !payload.has('modelVersions') && idAt(payload, 'modelId') !== null);
  const found = shaped ? idAt(payload, 'id') : null;
  if (found !== null && (id === null || found === id)) return answer.json;
  const wanted = id === null ? 'a model version' : `${kind} ${id}`;
  throw new AppError(
    'UPSTREAM_ERROR',
    `Civitai answered ${answer.path} with ${describeAnswer(payload)}, not ${wanted}; nothing was imported.`,
  );
}

/**
 * A by-hash answer is imported only if one of its files carries the hash asked for: the import links local files to
 * the version through their hashes, so a version answered for the wrong hash (a caching proxy, a mirror, an upstream
 * fault) would otherwise give a local file another model's name, trigger words and licence without a word.
 */
function holdsAskedHash(json: unknown, query: HashQuery, path: string): void {
  const files = new JsonReader(json).optArray('files') ?? [];
  const held = files.some((file) => {
    const hashes = mapHashes(file.optObject('hashes'));
    return query.algorithms.some((algorithm) => {
      const value = hashes[HASH_KEYS[algorithm.toLowerCase()]!];
      return value !== null && matchValues(algorithm, query.hash).includes(matchValues(algorithm, value)[0]!);
    });
  });
  if (held) return;
  throw new AppError(
    'UPSTREAM_ERROR',
    `Civitai answered ${path} with a version none of whose ${files.length} files has the ${query.algorithms.join(' or ')} hash ${query.hash}; nothing was imported.`,
  );
}

interface FetchedImport {
  now: Date;
  jobId?: string | null | undefined;
  /** Civitai answered 404 for the model of the version payload imported. */
  modelGoneFromCivitai?: boolean;
  alsoRead?: ImportOptions['alsoRead'];
}

async function importFetched(
  db: CatalogDatabase,
  json: unknown,
  source: string,
  context: FetchedImport,
): Promise<SyncOutcome> {
  const summary = await importPayload(db, json, source, {
    now: context.now,
    origin: 'civitai',
    history: { source: 'sync', jobId: context.jobId ?? null },
    modelGoneFromCivitai: context.modelGoneFromCivitai ?? false,
    alsoRead: context.alsoRead ?? [],
  });
  const failure = summary.failures[0];
  if (failure)
    throw new AppError('UPSTREAM_ERROR', `Civitai's answer for ${source} could not be imported: ${failure.message}`);
  const outcome = summary.outcomes[0];
  if (!outcome) throw new AppError('UPSTREAM_ERROR', `Civitai's answer for ${source} held no model.`);
  const status: SyncStatus =
    outcome.status === 'created' ? 'CREATED' : outcome.status === 'updated' ? 'UPDATED' : 'UNCHANGED';
  return { status, modelId: outcome.modelId, checkedAt: context.now, remembered: false, warnings: outcome.warnings };
}

export async function syncModel(
  db: CatalogDatabase,
  client: CivitaiClient,
  civitaiId: number,
  options: SyncOptions = {},
): Promise<SyncOutcome> {
  const now = options.now ?? new Date();
  const key = String(civitaiId);
  const remembered = await rememberedOutcome(db, 'model', key, options, now);
  if (remembered) return remembered;
  const answer = await client.getModel(civitaiId);
  if (!answer.found) return recordNotFound(db, 'model', key, now, options.jobId);
  const json = askedFor(answer, 'model', civitaiId);
  const outcome = await importFetched(db, json, `Civitai model ${civitaiId}`, { now, jobId: options.jobId });
  await forget(db, 'model', key);
  return outcome;
}

/** A version payload names its model: import the whole model, or just the version if the model is gone. */
async function syncFromVersionPayload(
  db: CatalogDatabase,
  client: CivitaiClient,
  json: unknown,
  source: string,
  now: Date,
  jobId: string | null | undefined,
): Promise<SyncOutcome> {
  const modelId = new JsonReader(json).id('modelId');
  const model = await client.getModel(modelId);
  if (!model.found)
    // The model gone but its version still served: the version is imported and the model marked, in one transaction.
    return importFetched(db, json, source, { now, jobId, modelGoneFromCivitai: true });
  return importFetched(db, askedFor(model, 'model', modelId), `Civitai model ${modelId}`, {
    now,
    jobId,
    // The version payload read first is kept too.
    alsoRead: [{ json, kind: 'version', source }],
  });
}

export async function syncVersion(
  db: CatalogDatabase,
  client: CivitaiClient,
  civitaiId: number,
  options: SyncOptions = {},
): Promise<SyncOutcome> {
  const now = options.now ?? new Date();
  const key = String(civitaiId);
  const remembered = await rememberedOutcome(db, 'version', key, options, now);
  if (remembered) return remembered;
  const answer = await client.getModelVersion(civitaiId);
  if (!answer.found) return recordNotFound(db, 'version', key, now, options.jobId);
  const json = askedFor(answer, 'version', civitaiId);
  const source = `Civitai model version ${civitaiId}`;
  const outcome = await syncFromVersionPayload(db, client, json, source, now, options.jobId);
  await forget(db, 'version', key);
  return outcome;
}

export async function syncByHash(
  db: CatalogDatabase,
  client: CivitaiClient,
  hash: string,
  options: SyncOptions = {},
): Promise<SyncOutcome> {
  const query = parseHashQuery(hash);
  const { hash: normalized, algorithms } = query;
  const now = options.now ?? new Date();
  const remembered = await rememberedOutcome(db, 'hash', normalized, options, now);
  if (remembered) return remembered;
  const answer = await client.getModelVersionByHash(normalized);
  if (answer.found) {
    const json = askedFor(answer, 'version', null);
    holdsAskedHash(json, query, answer.path);
    const source = `Civitai file hash ${normalized}`;
    const outcome = await syncFromVersionPayload(db, client, json, source, now, options.jobId);
    await forget(db, 'hash', normalized);
    return outcome;
  }
  // Civitai does not know it: the archive may, for a SHA-256. The miss is remembered once the archive has answered
  // too, so a failure to ask it (which throws) writes nothing, and the next call asks both again.
  const archived = algorithms.includes('SHA256') ? await fromArchive(db, client, normalized, now, options.jobId) : null;
  const missed = await recordNotFound(db, 'hash', normalized, now, options.jobId);
  return archived ?? missed;
}

/**
 * Imports CivArchive's record of a SHA-256 Civitai does not know, marked as coming from the archive (and as gone
 * from Civitai); the archive's answer itself is kept, not its conversion to Civitai's shape.
 */
async function fromArchive(
  db: CatalogDatabase,
  client: CivitaiClient,
  sha256: string,
  now: Date,
  jobId: string | null | undefined,
): Promise<SyncOutcome | null> {
  const answer = await client.getArchivedBySha256(sha256);
  if (!answer.found) return null;
  const payload = payloadFromArchive(answer.json, sha256);
  if (!payload) return null;
  const source = `CivArchive sha256 ${sha256}`;
  const summary = await importPayload(db, payload, source, {
    now,
    origin: 'archive',
    history: { source: 'sync', jobId: jobId ?? null },
    asRead: { json: answer.json, kind: 'version' },
  });
  const failure = summary.failures[0];
  if (failure)
    throw new AppError('UPSTREAM_ERROR', `CivArchive's answer for ${sha256} could not be imported: ${failure.message}`);
  const imported = summary.outcomes[0]!;
  const status: SyncStatus =
    imported.status === 'created' ? 'CREATED' : imported.status === 'updated' ? 'UPDATED' : 'UNCHANGED';
  return {
    status,
    modelId: imported.modelId,
    checkedAt: now,
    remembered: false,
    warnings: imported.warnings,
    fromArchive: true,
  };
}
