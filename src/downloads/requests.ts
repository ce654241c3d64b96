/**
 * Turning a request into queued jobs, the same for GraphQL and the CLI: check the folder against the library
 * roots (before anything is fetched or created), make sure the catalog holds the version — imported through the
 * one Civitai mapping when it does not — and hand the catalog file to the queue. `downloadUpdates` finds the
 * models whose `hasUpdate` is true and queues their newest version beside their current file.
 */
import path from 'node:path';
import type { CivitaiClient } from '../civitai/client.ts';
import { syncModel, syncVersion } from '../civitai/sync.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import {
  catalogFileForDownload,
  newestVersionOfModel,
  outdatedModels,
  type UpdateState,
  updateStates,
} from '../db/tables/downloads.ts';
import { AppError } from '../errors.ts';
import { isInside, resolveLibraryPath } from '../library/library-paths.ts';
import { checkedSubfolder } from './names.ts';
import { checkFolderInside } from './placement.ts';
import type { DownloadJob, DownloadQueue } from './queue.ts';

export interface DownloadContext {
  db: CatalogDatabase;
  civitai: CivitaiClient;
  queue: DownloadQueue;
  libraryRoots: readonly string[];
  /** Sidecars when the request does not say (DIFFUSION_NEXUS_DOWNLOAD_SIDECARS). */
  sidecars: boolean;
  /** The request that asked, recorded with what a sync for the download changes. */
  jobId?: string | null;
}

export interface VersionDownloadRequest {
  versionCivitaiId: number;
  root: string;
  subfolder?: string | null;
  fileCivitaiId?: number | null;
  sidecars?: boolean | null;
}

const MAX_CIVITAI_ID = 2 ** 31 - 1;

function checkedId(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > MAX_CIVITAI_ID)
    throw new AppError('BAD_USER_INPUT', `\`${name}\` must be a positive 32-bit integer, got ${value}.`);
  return value;
}

/**
 * The folder a download goes to: `root` (an existing folder inside the library roots) joined with `subfolder`.
 * Nothing is created here; the job makes the folder when it starts and checks it again then. Its deepest existing
 * part is checked now with symlinks resolved: a subfolder through a link that leaves the roots is refused up front.
 */
export async function downloadFolder(
  root: string,
  subfolder: string | null | undefined,
  libraryRoots: readonly string[],
): Promise<string> {
  const checkedRoot = await resolveLibraryPath(root, libraryRoots, 'directory');
  const relative = checkedSubfolder(subfolder);
  const target = relative ? path.join(checkedRoot, relative) : checkedRoot;
  if (!isInside(checkedRoot, target)) throw new AppError('FORBIDDEN', '`subfolder` leads outside `root`.');
  if (relative) await checkFolderInside(target, libraryRoots);
  return target;
}

/** The catalog file to download, importing the version from Civitai first when the catalog does not hold it. */
async function catalogFile(context: DownloadContext, versionCivitaiId: number, fileCivitaiId: number | null) {
  let found = await catalogFileForDownload(context.db.kysely, versionCivitaiId, fileCivitaiId);
  if (!found) {
    const outcome = await syncVersion(context.db, context.civitai, versionCivitaiId, { jobId: context.jobId });
    if (outcome.status === 'NOT_ON_CIVITAI')
      throw new AppError('NOT_FOUND', `Civitai has no model version ${versionCivitaiId}.`);
    found = await catalogFileForDownload(context.db.kysely, versionCivitaiId, fileCivitaiId);
  }
  if (!found)
    throw new AppError(
      'NOT_FOUND',
      fileCivitaiId === null
        ? `Model version ${versionCivitaiId} has no files.`
        : `Model version ${versionCivitaiId} has no file ${fileCivitaiId}.`,
    );
  return found;
}

export async function downloadVersion(context: DownloadContext, request: VersionDownloadRequest): Promise<DownloadJob> {
  const versionCivitaiId = checkedId(request.versionCivitaiId, 'civitaiVersionId')!;
  const fileCivitaiId = checkedId(request.fileCivitaiId, 'fileId');
  const targetDir = await downloadFolder(request.root, request.subfolder, context.libraryRoots);
  const catalog = await catalogFile(context, versionCivitaiId, fileCivitaiId);
  return context.queue.enqueue({
    catalog,
    fileCivitaiId,
    targetDir,
    sidecars: request.sidecars ?? context.sidecars,
  });
}

/** The newest version of Civitai model `modelCivitaiId` (the model imported first), for a URL naming a model. */
export async function newestVersionOf(context: DownloadContext, modelCivitaiId: number): Promise<number> {
  const outcome = await syncModel(context.db, context.civitai, modelCivitaiId, { jobId: context.jobId });
  if (outcome.status === 'NOT_ON_CIVITAI' || outcome.modelId === null)
    throw new AppError('NOT_FOUND', `Civitai has no model ${modelCivitaiId}.`);
  const newest = await newestVersionOfModel(context.db.kysely, context.db.dialect, outcome.modelId);
  if (newest === null)
    throw new AppError('NOT_FOUND', `Civitai model ${modelCivitaiId} has no versions that Civitai still serves.`);
  return newest;
}

export interface SkippedUpdate {
  modelId: number;
  reason: string;
}

export interface UpdatesOutcome {
  downloads: DownloadJob[];
  skipped: SkippedUpdate[];
}

/** Why a model has no update to queue, in the order `hasUpdate` decides it. */
function noUpdateReason(state: UpdateState | undefined): string {
  if (!state) return 'There is no model with this id.';
  if (state.ignoresUpdates) return 'Its updates are ignored (setIgnoreUpdates).';
  if (state.removedFromCivitai) return 'It is gone from Civitai: there is nothing to download.';
  if (!state.hasLocalFile)
    return 'It has no local file to update: download a version of it with downloadModelVersion instead.';
  if (state.newerVersionGone) return 'Its versions newer than the local file are gone from Civitai.';
  return 'It is up to date: Civitai has no version newer than its local file.';
}

/**
 * Queues the newest version of every model whose `hasUpdate` is true (or of those in `modelIds`), into `root` or
 * else the folder its newest local file is in. A model that cannot be queued is reported, the others go on; so is
 * every model `modelIds` names that has no update, with why (a script asking for one model hears why nothing came).
 */
export async function downloadUpdates(
  context: DownloadContext,
  modelIds: readonly number[] | null,
  root: string | null,
): Promise<UpdatesOutcome> {
  const rootFolder = root === null ? null : await downloadFolder(root, null, context.libraryRoots);
  const outcome: UpdatesOutcome = { downloads: [], skipped: [] };
  const outdated = await outdatedModels(context.db.kysely, context.db.dialect, modelIds);
  if (modelIds) {
    const queued = new Set(outdated.map((model) => model.modelId));
    const rest = [...new Set(modelIds)].filter((id) => !queued.has(id));
    const states = new Map(
      (await updateStates(context.db.kysely, context.db.dialect, rest)).map((state) => [state.modelId, state]),
    );
    for (const modelId of rest) outcome.skipped.push({ modelId, reason: noUpdateReason(states.get(modelId)) });
  }
  for (const model of outdated) {
    try {
      const folder =
        rootFolder ??
        (model.localPath === null
          ? null
          : await downloadFolder(path.dirname(model.localPath), null, context.libraryRoots));
      if (folder === null) throw new AppError('BAD_USER_INPUT', 'Its local file is gone: give `root`.');
      outcome.downloads.push(
        await downloadVersion(context, {
          versionCivitaiId: model.newestVersionCivitaiId,
          root: folder,
        }),
      );
    } catch (error) {
      outcome.skipped.push({ modelId: model.modelId, reason: (error as Error).message });
    }
  }
  return outcome;
}
