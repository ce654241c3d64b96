/**
 * Keeping ModelSearch in step with the catalog, on either engine. Triggers (see the AddModelSearch migrations) list
 * changed models in ModelSearchDirty, whoever wrote; this module rebuilds their documents — after our own writes,
 * and before any search reads the index — in one write transaction per small batch, letting other work run between
 * batches. The engine stores a document its own way (`replaceDocuments`): FTS5 indexes the texts, PostgreSQL takes
 * them with a tsvector built in code.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import { requestCatalogRevision, revisionStamp } from '../db/revision.ts';
import { refreshPostingStatistics } from '../db/search-postings.ts';
import {
  dirtyModels,
  documentSources,
  replaceDocuments,
  type SearchDocument,
  searchIndexIsCurrent,
  waitingDocuments,
} from '../db/search.ts';
import { spaceCjk, stripHtml } from './text.ts';

/** Models per transaction: small, so one batch of long descriptions stays a few milliseconds of work. */
const BATCH = 50;
const MAX_PROMPT_TEXT = 20_000;
/** Description text indexed per model (Civitai's longest run to tens of thousands of characters). */
const MAX_DESCRIPTION_TEXT = 50_000;

export interface RefreshOptions {
  /** After each batch: documents rebuilt so far, of `total` (those waiting when the rebuild began, or more). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Rebuilds the documents of every model marked dirty, a batch per transaction, then refreshes the planner's
 * statistics when the rebuild was a large part of the index; returns how many were processed.
 */
export async function refreshSearchIndex(db: CatalogDatabase, options: RefreshOptions = {}): Promise<number> {
  const { onProgress } = options;
  const waiting = onProgress ? await waitingDocuments(db) : 0;
  let processed = 0;
  while (!(await searchIndexIsCurrent(db))) {
    processed += await db.write(async (trx) => {
      const ids = await dirtyModels(trx, db.dialect, BATCH);
      if (ids.length === 0) return 0;
      const source = await documentSources(trx, db.dialect, ids, MAX_PROMPT_TEXT);
      const docs = new Map<number, SearchDocument>();
      for (const m of source.models) {
        // Stripping and spacing long descriptions is work on the event loop: one model at a time, taking turns.
        await yieldIfBusy();
        const versions = source.versions.get(m.id);
        docs.set(m.id, {
          name: spaceCjk(m.name),
          tags: spaceCjk(source.tags.get(m.id)?.text ?? ''),
          triggerWords: spaceCjk(source.words.get(m.id)?.text ?? ''),
          creator: spaceCjk(m.creator ?? ''),
          fileNames: spaceCjk(source.files.get(m.id)?.text ?? ''),
          versionNames: spaceCjk(versions?.names ?? ''),
          baseModels: versions?.bases ?? '',
          description: spaceCjk(m.description ? stripHtml(m.description).slice(0, MAX_DESCRIPTION_TEXT) : ''),
          prompts: spaceCjk(source.prompts.get(m.id)?.text ?? ''),
        });
      }
      await replaceDocuments(trx, db.dialect, ids, docs);
      return ids.length;
    });
    onProgress?.(processed, Math.max(waiting, processed));
    await yieldIfBusy();
  }
  await refreshPostingStatistics(db.kysely, db.dialect, processed);
  return processed;
}

/**
 * Per catalog (its `probe`): the revision at which the index was last found current, and when. Models are marked
 * dirty by the triggers of tables whose writes raise the revision in the same transaction (`revision.ts`), so an
 * index current at revision N stays current while the revision is N, and a search need not look at
 * ModelSearchDirty again. Marks made without a write to those tables — a migration or a schema repair run by another
 * process — are seen at the next look, at most RECHECK_MS later.
 */
const currentAt = new WeakMap<object, { revision: string; at: number }>();
const RECHECK_MS = 1000;

/** Brings the index up to date when a model is marked dirty (for a request: at most once per revision, see above). */
export async function ensureSearchIndexCurrent(db: CatalogDatabase): Promise<void> {
  // Read before the look at ModelSearchDirty: no mark found then means none for any write up to this revision.
  const read = await requestCatalogRevision(db);
  const revision = read && revisionStamp(read);
  const seen = currentAt.get(db.probe);
  if (revision && seen?.revision === revision && performance.now() - seen.at < RECHECK_MS) return;
  if (!(await searchIndexIsCurrent(db))) await refreshSearchIndex(db);
  if (revision) currentAt.set(db.probe, { revision, at: performance.now() });
}
