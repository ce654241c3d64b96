/**
 * Scanning library folders: find model files, hash only what changed (by size and modification time), link each
 * file to the catalog file it is, import sidecars, make thumbnails from previews, create entries for unknown
 * files, and notice files that moved or disappeared. Progress is reported as it goes; a scan stops between files
 * when its signal aborts (server shutdown, CLI interrupted). Only regular files inside the library roots are read.
 */
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import type { BaseModelName, ModelTypeName } from '../db/enums.ts';
import { importPayload } from '../civitai/batch-import.ts';
import type { CivitaiClient } from '../civitai/client.ts';
import { syncByHash } from '../civitai/sync.ts';
import { duplicateCounts } from './duplicates.ts';
import { FileHasher, type FileHashes } from './hashing/file-hasher.ts';
import {
  isSpecialFileError,
  neighboursUnchanged,
  previewFor,
  readLibraryFile,
  walkLibrary,
  type FoundFile,
} from './library-files.ts';
import {
  catalogFilesFor,
  createLocalModel,
  hashesOf,
  type IndexedLocalFile,
  isSettled,
  storedHashRows,
  linkAsVariant,
  linkToCatalog,
  localFilesUnder,
  localOnlyModelFile,
  markMissing,
  optionalFileColumns,
  type OptionalFileColumns,
  recordLocalFile,
  recordLocalFileIn,
  recordSettled,
  refreshLocalOnlyHashes,
  rememberPreview,
  versionOfFile,
  type LocalFileRow,
  type ScanStamp,
  type StoredHashes,
} from './linker.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import { isAppError } from '../errors.ts';
import { applyPreview } from './previews.ts';
import { refreshSearchIndex } from '../search/search-index.ts';
import { headerFacts, typeFromFolders } from './safetensors-facts.ts';
import { readSidecars, type SidecarFacts } from './sidecars.ts';

/** Preview images read for thumbnails (a 4K PNG is ~20 MB). */
const MAX_PREVIEW_BYTES = 64 * 1024 * 1024;

/**
 * How stale "seen" and "verified" times of unchanged files may grow: a rescan that finds a settled file as it was
 * rewrites its `LastSeenAt` (and its catalog file's `LocalFileVerifiedAt`) only when they are older than this. A
 * library rescanned every few minutes then writes nothing between these refreshes — 50,000 rows of two tables
 * rewritten took a third of a no-change rescan — and leaves the catalog revision, and so every client's cached
 * answer and ETag, as it was.
 */
export const SEEN_TIMES_REFRESH_MS = 60 * 60_000;

export type ScanPhase = 'walking' | 'hashing' | 'linking' | 'done';

export interface ScanProblem {
  path: string;
  message: string;
}

export interface ScanProgress {
  phase: ScanPhase;
  filesSeen: number;
  filesUnchanged: number;
  filesToHash: number;
  filesHashed: number;
  bytesToHash: number;
  bytesHashed: number;
  linked: number;
  moved: number;
  /**
   * Copies beyond the first of each content held more than once in the whole library index, counted when the scan
   * ends (what `duplicateFiles` lists): the same figure on every scan while the files stay, not only the copies this
   * scan found. 0 until then.
   */
  duplicates: number;
  /** The contents held more than once (the groups `duplicateFiles` lists), counted with `duplicates`. */
  duplicateGroups: number;
  newModels: number;
  missing: number;
  sidecarsImported: number;
  thumbnails: number;
  identifiedOnline: number;
  /** Model files, sidecars and previews that are not regular files (FIFOs, sockets, devices): never opened. */
  filesSkipped: number;
  problems: ScanProblem[];
  currentPath: string | null;
}

export interface ScanOptions {
  /** Real paths of the folders to scan (already checked against the library roots). */
  roots: readonly string[];
  /** The configured library roots (file symlinks must stay inside them). */
  libraryRoots: readonly string[];
  /** Files hashed at once (1 = sequential, kind to spinning disks). */
  concurrency?: number;
  /** Look unknown hashes up on Civitai (needs `civitai`). */
  identifyOnline?: boolean;
  civitai?: CivitaiClient;
  /**
   * The scan job: the history's change sets of everything it changes (links, new local models, sidecar imports,
   * online identifications) carry it.
   */
  jobId?: string;
  /** Longest side of thumbnails made from preview images (DEFAULT_THUMBNAIL_SIDE when not given). */
  thumbnailSide?: number;
  onProgress?: (progress: ScanProgress) => void;
  now?: Date;
  /** Stops the scan between files (the work done so far is kept). */
  signal?: AbortSignal;
}

export function emptyProgress(): ScanProgress {
  return {
    phase: 'walking',
    filesSeen: 0,
    filesUnchanged: 0,
    filesToHash: 0,
    filesHashed: 0,
    bytesToHash: 0,
    bytesHashed: 0,
    linked: 0,
    moved: 0,
    duplicates: 0,
    duplicateGroups: 0,
    newModels: 0,
    missing: 0,
    sidecarsImported: 0,
    thumbnails: 0,
    identifiedOnline: 0,
    filesSkipped: 0,
    problems: [],
    currentPath: null,
  };
}

interface Work {
  file: FoundFile;
  previous: IndexedLocalFile | undefined;
  hashes: StoredHashes | null;
  metadata: Record<string, string> | null;
  changed: boolean;
}

/**
 * The unchanged files for which linking again would only record that they were seen: settled in the catalog (see
 * `isSettled`) and with their sidecars and preview as the last scan left them. They skip the per-file work — a
 * rescan of an unchanged library is the walk and one read of the index, whatever its size (and two UPDATEs when
 * their seen times are due: `SEEN_TIMES_REFRESH_MS`).
 */
function settledOf(work: readonly Work[]): Set<Work> {
  return new Set(
    work.filter(
      (item) =>
        !item.changed &&
        item.previous &&
        isSettled(item.previous) &&
        neighboursUnchanged(item.file, item.previous.SidecarMtimeMs, item.previous.PreviewMtimeMs, MAX_PREVIEW_BYTES),
    ),
  );
}

function formatOf(fileName: string): 'SafeTensor' | 'PickleTensor' | 'Other' {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.safetensors') || lower.endsWith('.sft')) return 'SafeTensor';
  if (lower.endsWith('.gguf')) return 'Other';
  return 'PickleTensor';
}

/** A file that changed while it was read is read again, this many times, before it is reported. */
const HASH_ATTEMPTS = 2;

/** Hashes `items` with `concurrency` hashers, reporting each file as it finishes; stops when `signal` aborts. */
async function hashAll(
  items: Work[],
  concurrency: number,
  progress: ScanProgress,
  report: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const hashers = Array.from({ length: Math.max(1, concurrency) }, () => new FileHasher());
  const stop = () => {
    for (const hasher of hashers) void hasher.close();
  };
  signal?.addEventListener('abort', stop);
  let next = 0;
  try {
    await Promise.all(
      hashers.map(async (hasher) => {
        while (next < items.length) {
          signal?.throwIfAborted();
          const item = items[next++]!;
          progress.currentPath = item.file.path;
          for (let attempt = 1; attempt <= HASH_ATTEMPTS; attempt++) {
            try {
              const hashes: FileHashes = await hasher.hash(item.file.path);
              // The index records the size and time of the content that was hashed, not of what the walk saw.
              item.file = { ...item.file, size: hashes.size, mtimeMs: hashes.mtimeMs };
              item.metadata = hashes.safetensorsMetadata;
              item.hashes = hashes;
              progress.bytesHashed += hashes.size;
              break;
            } catch (error) {
              signal?.throwIfAborted();
              if (isAppError(error) && error.code === 'FILE_CHANGED' && attempt < HASH_ATTEMPTS) continue;
              if (isSpecialFileError(error)) progress.filesSkipped++;
              progress.problems.push({ path: item.file.path, message: (error as Error).message });
              break;
            }
          }
          progress.filesHashed++;
          report();
        }
      }),
    );
  } finally {
    signal?.removeEventListener('abort', stop);
    await Promise.all(hashers.map((h) => h.close()));
  }
}

async function importSidecars(
  db: CatalogDatabase,
  payloads: { source: string; json: unknown }[],
  progress: ScanProgress,
  { now, jobId }: ScanStamp,
): Promise<void> {
  for (const payload of payloads) {
    try {
      const summary = await importPayload(db, payload.json, payload.source, {
        now,
        history: { source: 'scan', jobId },
      });
      progress.sidecarsImported += summary.created + summary.updated + summary.unchanged;
      for (const failure of summary.failures)
        progress.problems.push({ path: payload.source, message: failure.message });
    } catch (error) {
      progress.problems.push({ path: payload.source, message: (error as Error).message });
    }
  }
}

async function identifyOnline(
  db: CatalogDatabase,
  civitai: CivitaiClient,
  hashes: StoredHashes,
  progress: ScanProgress,
  now: Date,
  jobId: string | undefined,
): Promise<boolean> {
  try {
    const outcome = await syncByHash(db, civitai, hashes.sha256, { now, jobId });
    if (outcome.status === 'NOT_ON_CIVITAI') return false;
    progress.identifiedOnline++;
    return true;
  } catch (error) {
    progress.problems.push({
      path: hashes.sha256,
      message: `online identification failed: ${(error as Error).message}`,
    });
    return false;
  }
}

/** The catalog file a file is, and which count of the progress linking it adds to (once committed). */
interface Linked {
  modelFileId: number;
  counts: 'linked' | 'moved' | 'newModels' | null;
}

/**
 * Links one hashed (or unchanged) file, importing sidecars first and creating a local entry when nothing matches.
 * The file's index row, its link and whatever entry it needs are written in one transaction: a few statements and
 * one commit per file (round trips are most of a first scan's time on PostgreSQL). Returns the file's index row
 * and the catalog file it is linked to.
 */
async function linkFile(
  db: CatalogDatabase,
  work: Work,
  sidecars: SidecarFacts,
  seenPaths: ReadonlySet<string>,
  columns: OptionalFileColumns,
  options: ScanOptions,
  progress: ScanProgress,
  now: Date,
): Promise<{ row: LocalFileRow; modelFileId: number }> {
  const hashes = work.hashes!;
  const { file } = work;
  const stamp: ScanStamp = { now, jobId: options.jobId ?? null };
  // The index row as the scan read it (again after hashing, for unchanged files): what the sidecars were then.
  const sidecarsChanged = sidecars.mtimeMs !== null && sidecars.mtimeMs !== (work.previous?.SidecarMtimeMs ?? null);
  if (sidecarsChanged || work.changed) await importSidecars(db, sidecars.payloads, progress, stamp);

  let candidates = await catalogFilesFor(db.kysely, hashes);
  if (candidates.same.length === 0 && options.identifyOnline && options.civitai && work.changed) {
    if (await identifyOnline(db, options.civitai, hashes, progress, now, options.jobId))
      candidates = await catalogFilesFor(db.kysely, hashes);
  }
  const recordedHashes = work.changed ? hashes : null;
  let linked: { row: LocalFileRow } & Linked;
  try {
    linked = await db.write(async (trx) => {
      const row = await recordLocalFileIn(trx, file, recordedHashes, now, { SidecarMtimeMs: sidecars.mtimeMs });
      return { row, ...(await linkIn(trx, row)) };
    });
  } catch (error) {
    // What was read is kept: the next scan links the file without reading its content again.
    await recordLocalFile(db, file, recordedHashes, now).catch(() => undefined);
    throw error;
  }
  if (linked.counts) progress[linked.counts]++;
  return linked;

  async function linkIn(trx: CatalogTransaction, row: LocalFileRow): Promise<Linked> {
    if (candidates.same.length > 0) {
      const { modelFileId, outcome } = await linkToCatalog(
        trx,
        row.Id,
        file.path,
        hashes,
        candidates.same,
        seenPaths,
        columns,
        stamp,
      );
      return { modelFileId, counts: outcome === 'linked' || outcome === 'moved' ? outcome : null };
    }
    // Same weights as a catalog file (AutoV3) but other bytes (another header): a file of that version with its own hashes.
    const lookalike = candidates.lookalikes[0];
    const localOnly = row.ModelFileId === null ? undefined : await localOnlyModelFile(trx, row.ModelFileId);
    if (lookalike && !localOnly)
      return {
        modelFileId: await linkAsVariant(trx, row.Id, file, hashes, lookalike, columns, stamp),
        counts: 'linked',
      };
    // Its content changed, but it is still the same local-only entry: refresh that entry's hashes.
    if (row.ModelFileId !== null && localOnly) {
      if (work.changed) await refreshLocalOnlyHashes(trx, row.ModelFileId, hashes, columns, stamp);
      return { modelFileId: row.ModelFileId, counts: null };
    }
    const header = headerFacts(work.metadata);
    const type: ModelTypeName = header.type ?? typeFromFolders(file.folders) ?? 'Other';
    // What a person wrote in a sidecar beats what a header suggests.
    const baseModel: BaseModelName = sidecars.baseModel ?? header.baseModel ?? 'Unknown';
    const modelFileId = await createLocalModel(
      trx,
      row.Id,
      file.path,
      hashes,
      {
        name: sidecars.title ?? header.title ?? file.stem,
        type,
        description: sidecars.description,
        baseModel,
        baseModelRaw: header.baseModelRaw,
        triggerWords: sidecars.triggerWords.length > 0 ? sidecars.triggerWords : header.triggerWords,
        fileName: file.fileName,
        format: formatOf(file.fileName),
        fileMtime: new Date(file.mtimeMs),
      },
      columns,
      stamp,
    );
    return { modelFileId, counts: 'newModels' };
  }
}

async function applyPreviewOf(
  db: CatalogDatabase,
  work: Work,
  row: LocalFileRow,
  modelFileId: number,
  options: ScanOptions,
  progress: ScanProgress,
  now: Date,
): Promise<number | null> {
  const preview = previewFor(work.file);
  if (!preview) return null;
  try {
    const { bytes, mtimeMs } = await readLibraryFile(preview, options.libraryRoots, MAX_PREVIEW_BYTES);
    if (mtimeMs === row.PreviewMtimeMs && !work.changed) return mtimeMs;
    const versionId = await versionOfFile(db.kysely, modelFileId);
    if (versionId !== null && (await applyPreview(db, versionId, preview, bytes, now, options.thumbnailSide)))
      progress.thumbnails++;
    return mtimeMs;
  } catch (error) {
    if (isSpecialFileError(error)) progress.filesSkipped++;
    progress.problems.push({ path: preview, message: (error as Error).message });
    return null;
  }
}

export async function scanLibrary(db: CatalogDatabase, options: ScanOptions): Promise<ScanProgress> {
  const now = options.now ?? new Date();
  const progress = emptyProgress();
  let lastReport = 0;
  const report = (force = false) => {
    if (!options.onProgress) return;
    const time = Date.now();
    if (!force && time - lastReport < 100) return;
    lastReport = time;
    options.onProgress({ ...progress, problems: [...progress.problems] });
  };

  // 1. Walk, and compare with what the index remembers (read in one statement a root).
  const columns = await optionalFileColumns(db.kysely);
  const seenSince = new Date(now.getTime() - SEEN_TIMES_REFRESH_MS);
  const found: FoundFile[] = [];
  const known = new Map<string, IndexedLocalFile>();
  for (const root of options.roots) {
    const { files, problems, skipped } = await walkLibrary(root, options.libraryRoots, options.signal);
    for (const file of files) found.push(file);
    for (const problem of problems) progress.problems.push(problem);
    progress.filesSkipped += skipped;
    for (const row of await localFilesUnder(db.kysely, root, columns, seenSince)) known.set(row.Path, row);
  }
  const seenPaths = new Set(found.map((f) => f.path));
  progress.filesSeen = found.length;
  const work: Work[] = found.map((file) => {
    const previous = known.get(file.path);
    const unchanged =
      previous?.HasHashes === 1 && Number(previous.Size) === file.size && previous.MtimeMs === file.mtimeMs;
    return { file, previous, hashes: null, metadata: null, changed: !unchanged };
  });
  progress.filesUnchanged = work.filter((w) => !w.changed).length;

  // 2. Files the index knew but the walk did not find are missing (before linking, so moved files can take over).
  progress.missing = await markMissing(
    db,
    [...known.values()].filter((row) => !seenPaths.has(row.Path)),
    now,
  );

  // 3. Hash what changed: one sequential read per file.
  const toHash = work.filter((w) => w.changed);
  progress.phase = 'hashing';
  progress.filesToHash = toHash.length;
  progress.bytesToHash = toHash.reduce((n, w) => n + w.file.size, 0);
  report(true);
  await hashAll(toHash, options.concurrency ?? 1, progress, report, options.signal);

  // 4. Index, link, sidecars, previews: files that need nothing but "seen now" are recorded together first. Hashing
  // may have taken hours, during which an import or a download may have changed the catalog: whether the unchanged
  // files are settled is then read again (one more statement a root; none when nothing was hashed).
  progress.phase = 'linking';
  if (toHash.length > 0) {
    const current = new Map<string, IndexedLocalFile>();
    for (const root of options.roots)
      for (const row of await localFilesUnder(db.kysely, root, columns, seenSince)) current.set(row.Path, row);
    for (const item of work) if (!item.changed) item.previous = current.get(item.file.path) ?? item.previous;
  }
  const settled = settledOf(work);
  await recordSettled(
    db,
    [...settled].map((item) => item.previous!).filter((row) => row.SeenSince === 0),
    now,
  );
  // The unchanged files that are linked again are known by the hashes their index rows hold.
  const relinked = work.filter((item) => !item.changed && !settled.has(item));
  const stored = new Map(
    (
      await storedHashRows(
        db.kysely,
        db.dialect,
        relinked.map((item) => item.previous!.Id),
      )
    ).map((row) => [row.Id, hashesOf(row)]),
  );
  for (const item of relinked) item.hashes = stored.get(item.previous!.Id) ?? null;
  for (const item of work) {
    if (!item.hashes || settled.has(item)) continue; // unreadable files were reported while hashing
    options.signal?.throwIfAborted();
    await yieldIfBusy();
    progress.currentPath = item.file.path;
    try {
      const sidecars = await readSidecars(item.file, options.libraryRoots);
      progress.problems.push(...sidecars.problems);
      progress.filesSkipped += sidecars.skipped;
      const { row, modelFileId } = await linkFile(db, item, sidecars, seenPaths, columns, options, progress, now);
      const previewMtime = await applyPreviewOf(db, item, row, modelFileId, options, progress, now);
      if (previewMtime !== row.PreviewMtimeMs) await rememberPreview(db, row.Id, previewMtime);
    } catch (error) {
      progress.problems.push({ path: item.file.path, message: (error as Error).message });
    }
    report();
  }
  await refreshSearchIndex(db);
  const copies = await duplicateCounts(db);
  progress.duplicates = copies.extraCopies;
  progress.duplicateGroups = copies.contents;
  progress.phase = 'done';
  progress.currentPath = null;
  report(true);
  return progress;
}
