/**
 * Keeping ModelSearch in step with the catalog, on either engine. Triggers (see the AddModelSearch migrations) list
 * changed models in ModelSearchDirty, whoever wrote; this module rebuilds their documents — after our own writes,
 * and before any search reads the index — in one write transaction per small batch, letting other work run between
 * batches. The engine stores a document its own way (`replaceDocuments`): FTS5 indexes the texts, PostgreSQL takes
 * them with a tsvector built in code.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { RequestScope, yieldIfBusy } from '../db/request-scope.ts';
import { AppError } from '../errors.ts';
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
import { searchTerms } from './query.ts';
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
  onProgress?.(0, waiting);
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

/**
 * How long a search waits for a rebuild before it looks at how much is left: a few hundred models (a sync, an
 * import, the desktop app's edits) are built within it and the search simply answers.
 */
export const SEARCH_INDEX_WAIT_MS = 1000;
/** What a search refused SEARCH_INDEX_BUILDING is told to wait before asking again (HTTP Retry-After). */
export const SEARCH_INDEX_RETRY_AFTER_S = 5;
/** The share of a request's time limit a search keeps for itself when it waits for a rebuild. */
const SEARCH_SHARE_OF_LIMIT = 0.25;
/** What a document takes to build, for judging whether a rebuild fits in a request (measured: ~1.5 ms a model). */
const ASSUMED_MS_PER_DOCUMENT = 1.5;

/** A rebuild under way: how many documents it has built of how many, and when it ends. */
export interface SearchIndexBuild {
  done: number;
  total: number;
  readonly startedAt: number;
  readonly finished: Promise<number>;
}

/** Per catalog (its `probe`, shared by every request's view of it): the rebuild under way, if any. */
const builds = new WeakMap<object, SearchIndexBuild>();

/**
 * The catalog's one rebuild of its waiting documents, started if none is under way. It runs outside any request
 * (a request stopped by its time limit or its client would otherwise stop it midway), and it is the one the server
 * starts at start-up, so every search meanwhile reports the same progress.
 */
export function searchIndexBuild(db: CatalogDatabase): SearchIndexBuild {
  const running = builds.get(db.probe);
  if (running) return running;
  const outside = db.scope ? db.forRequest(new RequestScope()) : db;
  const build: { -readonly [K in keyof SearchIndexBuild]: SearchIndexBuild[K] } = {
    done: 0,
    total: 0,
    startedAt: performance.now(),
    finished: Promise.resolve(0),
  };
  build.finished = refreshSearchIndex(outside, {
    onProgress: (done, total) => {
      build.done = done;
      build.total = total;
    },
  }).finally(() => {
    if (builds.get(db.probe) === build) builds.delete(db.probe);
  });
  // A failure reaches the searches waiting for this build; one nobody waits for is tried again by the next search.
  build.finished.catch(() => undefined);
  builds.set(db.probe, build);
  return build;
}

/** A rebuild as /health and Query.health report it: documents built of those waiting when it began. */
export interface SearchIndexProgress {
  building: boolean;
  done: number;
  total: number;
}

export function searchIndexProgress(db: CatalogDatabase): SearchIndexProgress {
  const build = builds.get(db.probe);
  return { building: build !== undefined, done: build?.done ?? 0, total: build?.total ?? 0 };
}

function buildingError(build: SearchIndexBuild): AppError {
  const { done, total } = build;
  const seconds = (performance.now() - build.startedAt) / 1000;
  const left = done > 0 ? Math.ceil(((total - done) * seconds) / done) : null;
  return new AppError(
    'SEARCH_INDEX_BUILDING',
    `The search index is being built: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} models done` +
      `${left === null ? '' : `, about ${left} s to go`}. Searches answer once it is done; everything else answers now.`,
    { done, total },
  );
}

/**
 * Waits for the catalog's rebuild — handing a request's turn to others meanwhile, as any wait that is not computing.
 * A request waits SEARCH_INDEX_WAIT_MS (half its time limit at most), then on only if what is left fits well in what
 * its time limit leaves (a few documents held up by another program's write lock, a scan's thousand new models),
 * keeping a share of the limit for the search itself; a whole catalog's build (a first start over the desktop app's
 * file: ~1.5 ms a model, 70,000 models in about two minutes) does not, and neither does a build that falls behind the
 * estimate (a lock held longer, a loaded machine): the search is answered SEARCH_INDEX_BUILDING with the progress
 * instead of TIMEOUT at its time limit.
 */
async function waitForSearchIndex(db: CatalogDatabase): Promise<void> {
  const scope = db.scope;
  // Until none is waiting: a model marked after the build took its last batch is built by the next one.
  do {
    const build = searchIndexBuild(db);
    if (!scope || scope.timeoutMs === null) {
      await (scope ? scope.away(() => build.finished) : build.finished);
      continue;
    }
    // What the search may spend waiting: its time limit but the share kept for the search itself.
    const mayWaitMs = () => scope.msLeft() - scope.timeoutMs! * SEARCH_SHARE_OF_LIMIT;
    // Half the time limit at most, so that a short limit still leaves time to answer with the progress.
    const waitMs = Math.min(SEARCH_INDEX_WAIT_MS, scope.timeoutMs / 2, mayWaitMs());
    if (await scope.away(() => settlesWithin(build.finished, waitMs))) continue;
    // At the nominal pace, twice over: a loaded machine, or importers holding the notes, build slower.
    const leftMs = (build.total - build.done) * ASSUMED_MS_PER_DOCUMENT * 2;
    const rest = mayWaitMs();
    if (leftMs > rest || !(await scope.away(() => settlesWithin(build.finished, rest)))) throw buildingError(build);
  } while (!(await searchIndexIsCurrent(db)));
}

/** Whether `work` settles within `ms` (true once it has; a rejection is thrown). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * For a list filtered by search text (absent: nothing to do): text that is no search is refused as such first —
 * BAD_USER_INPUT whether or not a build is under way, not SEARCH_INDEX_BUILDING now and BAD_USER_INPUT later.
 */
export async function ensureSearchIndexFor(db: CatalogDatabase, text: string | null | undefined): Promise<void> {
  if (text == null) return;
  searchTerms(text);
  await ensureSearchIndexCurrent(db);
}

/**
 * Brings the index up to date when a model is marked dirty (for a request: at most once per revision, see above),
 * or says how far its build is (see `waitForSearchIndex`).
 */
export async function ensureSearchIndexCurrent(db: CatalogDatabase): Promise<void> {
  // Read before the look at ModelSearchDirty: no mark found then means none for any write up to this revision.
  const read = await requestCatalogRevision(db);
  const revision = read && revisionStamp(read);
  const seen = currentAt.get(db.probe);
  if (revision && seen?.revision === revision && performance.now() - seen.at < RECHECK_MS) return;
  if (!(await searchIndexIsCurrent(db))) await waitForSearchIndex(db);
  if (revision) currentAt.set(db.probe, { revision, at: performance.now() });
}
