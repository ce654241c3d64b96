/**
 * Importing whole payloads: each model of a payload (a models list has many) maps and imports on its own, so one
 * bad item or one failing model is reported — which one, and why — while the rest still import.
 */
import { looseInteger } from './mapping.ts';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { AppError, isAppError } from '../errors.ts';
import { JsonReader } from './json-reader.ts';
import {
  checkOwnIds,
  conflictsBetween,
  mapImage,
  mapModelPayload,
  mapVersionPayload,
  payloadKind,
  type MappedModel,
} from './mapping.ts';
import {
  importImagesIntoVersion,
  importMappedModel,
  type ImagesImportOutcome,
  type ModelImportOutcome,
} from './import.ts';
import { refreshSearchIndex } from '../search/search-index.ts';
import type { ChangeSource } from '../history/change-log.ts';
import {
  type ArchivedPayload,
  type PayloadKind,
  type PayloadOrigin,
  preparePayload,
} from '../history/payload-archive.ts';

export interface ImportFailure {
  /** Where the payload came from (file path, "request", "stdin"). */
  source: string;
  civitaiId: number | null;
  name: string | null;
  /** JSON path of the offending value, when the payload was malformed. */
  path: string | null;
  message: string;
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  outcomes: ModelImportOutcome[];
  /** Pages of `GET /api/v1/images` imported into a version. */
  imageBatches: ImagesImportOutcome[];
  failures: ImportFailure[];
}

export function emptySummary(): ImportSummary {
  return { created: 0, updated: 0, unchanged: 0, failed: 0, outcomes: [], imageBatches: [], failures: [] };
}

export function addOutcome(summary: ImportSummary, outcome: ModelImportOutcome): void {
  summary[outcome.status]++;
  summary.outcomes.push(outcome);
}

export function addFailure(summary: ImportSummary, failure: ImportFailure): void {
  summary.failed++;
  summary.failures.push(failure);
}

export function mergeSummaries(into: ImportSummary, from: ImportSummary): void {
  for (const outcome of from.outcomes) addOutcome(into, outcome);
  into.imageBatches.push(...from.imageBatches);
  for (const failure of from.failures) addFailure(into, failure);
}

/** Best-effort identity of a (possibly malformed) item, for the failure report. */
function identify(item: JsonReader): { civitaiId: number | null; name: string | null } {
  if (!item.isObject()) return { civitaiId: null, name: null };
  const raw = item.value as Record<string, unknown>;
  // Only an id the API could report back (ImportFailure.civitaiId is a 32-bit Int); a bad one is named by the message.
  const candidate = raw.modelId ?? raw.id;
  const id = looseInteger(candidate) === candidate ? (candidate as number) : null;
  const model = raw.model as Record<string, unknown> | undefined;
  const name = typeof raw.name === 'string' ? raw.name : typeof model?.name === 'string' ? model.name : null;
  return { civitaiId: id, name };
}

function failureFrom(error: unknown, source: string, item: JsonReader): ImportFailure {
  const path = isAppError(error) && typeof error.details?.path === 'string' ? error.details.path : null;
  return { source, ...identify(item), path, message: error instanceof Error ? error.message : String(error) };
}

/** The items of a payload, each mapped separately (a list item that fails does not sink its siblings). */
export function payloadItems(json: unknown): JsonReader[] {
  const payload = new JsonReader(json);
  return payloadKind(payload) === 'list' ? payload.array('items', 1000) : [payload];
}

function mapItem(item: JsonReader): MappedModel {
  const mapped = item.has('modelVersions')
    ? mapModelPayload(item)
    : item.has('modelId')
      ? mapVersionPayload(item)
      : null;
  if (mapped) {
    checkOwnIds(mapped);
    return mapped;
  }
  throw new AppError(
    'BAD_USER_INPUT',
    `${item.path}: not a Civitai model (no \`modelVersions\`) or model version (no \`modelId\`).`,
    { path: item.path },
  );
}

export interface ImportOptions {
  now?: Date;
  /** Where the payload was read (archived with it): a file by default. */
  origin?: PayloadOrigin;
  /** How the changes are recorded: an import (default) or a sync, and the request or job that made them. */
  history?: { source: ChangeSource; jobId?: string | null };
  /** Civitai answered 404 for the model of the version payload imported (see `ModelImportContext`). */
  modelGoneFromCivitai?: boolean;
  /** Other payloads read to make this one (a sync's version payload), archived with the model it imports. */
  alsoRead?: readonly { json: unknown; kind: PayloadKind; source: string }[];
  /**
   * What was read, when the payload is a conversion of it (CivArchive's answer in Civitai's shape; one model): the
   * archive keeps it instead of the conversion.
   */
  asRead?: { json: unknown; kind: PayloadKind };
  /** Civitai id of the version an images list belongs to (its items do not say). */
  imagesVersionCivitaiId?: number | null;
  /** Called after each model (imported or failed). */
  onModel?: (summary: ImportSummary) => void;
}

/**
 * Imports every model in a parsed payload. Throws only when the payload as a whole is not a Civitai payload;
 * per-model problems become failures in the summary.
 */
export async function importPayload(
  db: CatalogDatabase,
  json: unknown,
  source: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const summary = emptySummary();
  if (payloadKind(new JsonReader(json)) === 'images') {
    await importImagesPage(db, new JsonReader(json), source, options, summary);
    // Images carry the prompts the index holds: rebuild now, not in whichever import or search comes next.
    await refreshSearchIndex(db);
    return summary;
  }
  const items = payloadItems(json).map((item) => {
    try {
      return { item, model: mapItem(item), error: null };
    } catch (error) {
      return { item, model: null, error };
    }
  });
  const conflicts = conflictsBetween(items.map((i) => i.model));
  // Payloads are compressed for the archive on the thread pool a few items ahead, while earlier items import.
  const archived = new Map<number, Promise<ArchivedPayload>>();
  const prepareAhead = (from: number) => {
    for (let next = from; next < Math.min(items.length, from + PREPARE_AHEAD); next++) {
      if (archived.has(next) || !items[next]!.model) continue;
      const promise = preparePayload(
        options.asRead?.json ?? items[next]!.item.value,
        options.asRead?.kind ?? kindOf(items[next]!.item),
        options.origin ?? 'file',
        source,
      );
      promise.catch(() => {}); // awaited (and its failure reported) when its item imports
      archived.set(next, promise);
    }
  };
  for (const [index, { item, model, error }] of items.entries()) {
    prepareAhead(index);
    const payload = archived.get(index);
    archived.delete(index);
    try {
      if (!model) throw error;
      const conflict = conflicts.get(index);
      if (conflict) throw conflict;
      addOutcome(summary, await importItem(db, item, model, source, await payload!, options));
    } catch (failure) {
      addFailure(summary, failureFrom(failure, source, item));
    }
    options.onModel?.(summary);
    // One model per turn of the event loop: a long import never stalls the server's readers.
    await yieldToEventLoop();
  }
  await refreshSearchIndex(db);
  return summary;
}

/** How many items ahead of the one importing have their payloads compressed. */
const PREPARE_AHEAD = 4;

function kindOf(item: JsonReader): 'model' | 'version' {
  return item.has('modelVersions') ? 'model' : 'version';
}

/** Imports one mapped item, archiving the item's JSON with it and recording what it changed. */
async function importItem(
  db: CatalogDatabase,
  item: JsonReader,
  model: MappedModel,
  source: string,
  payload: ArchivedPayload,
  options: ImportOptions,
): Promise<ModelImportOutcome> {
  const origin = options.origin ?? 'file';
  const kind = kindOf(item);
  return importMappedModel(db, model, options.now, {
    history: { source: options.history?.source ?? 'import', detail: source, jobId: options.history?.jobId ?? null },
    // Only a whole model as Civitai serves it may empty a stored value; an archive's copy may be stale or partial.
    full: kind === 'model' && origin !== 'archive',
    payload,
    foundOnCivitai: origin === 'civitai',
    fromArchive: origin === 'archive',
    modelGoneFromCivitai: options.modelGoneFromCivitai ?? false,
    alsoRead: await Promise.all(
      (options.alsoRead ?? []).map((read) => preparePayload(read.json, read.kind, origin, read.source)),
    ),
  });
}

async function importImagesPage(
  db: CatalogDatabase,
  page: JsonReader,
  source: string,
  options: ImportOptions,
  summary: ImportSummary,
): Promise<void> {
  try {
    const items = page.array('items', 1000);
    const versionId = options.imagesVersionCivitaiId ?? items[0]?.optId('modelVersionId') ?? null;
    if (versionId === null) {
      throw new AppError(
        'BAD_USER_INPUT',
        `${source} is a page of images, which does not say which model version it shows: give the version's Civitai id (CLI: --images-version <id>, GraphQL: imagesVersionCivitaiId).`,
      );
    }
    summary.imageBatches.push(
      await importImagesIntoVersion(
        db,
        versionId,
        items.map((item, i) => mapImage(item, i)),
        await preparePayload(page.value, 'images', options.origin ?? 'file', source),
        options.now,
      ),
    );
  } catch (error) {
    addFailure(summary, failureFrom(error, source, page));
  }
}
