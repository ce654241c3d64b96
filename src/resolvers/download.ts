/** Resolvers of downloads: starting them (a version, or every update), the queue's jobs, control, and progress. */
import type { GraphQLResolveInfo } from 'graphql';
import { databaseIdFrom } from '../catalog/global-id.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../catalog/pagination.ts';
import type { DownloadState } from '../db/tables/downloads.ts';
import type { DownloadJob } from '../downloads/queue.ts';
import { type DownloadContext, downloadUpdates, downloadVersion } from '../downloads/requests.ts';
import { AppError, limitExceeded } from '../errors.ts';
import type { GraphQLContext } from './context.ts';
import { plannedRowFields } from './selection.ts';

/** Models one `downloadUpdates` call may name. */
export const MAX_UPDATE_MODELS = 1000;
const CURSOR_PREFIX = 'download:';

function downloadContext(ctx: GraphQLContext): DownloadContext {
  return {
    db: ctx.downloads.db,
    civitai: ctx.civitai,
    queue: ctx.downloads.queue,
    libraryRoots: ctx.settings.libraryRoots,
    sidecars: ctx.downloads.sidecars,
    jobId: ctx.requestId,
  };
}

/** A download's `id` is its database id (jobs are not Relay nodes). */
export function downloadIdFrom(id: string | number, name = 'id'): number {
  const text = String(id);
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 2 ** 31 - 1)
    throw new AppError(
      'BAD_USER_INPUT',
      `\`${name}\` is a download id (a positive integer), got ${JSON.stringify(text.slice(0, 40))}.`,
    );
  return Number(text);
}

function cursorOf(job: DownloadJob): string {
  return Buffer.from(`${CURSOR_PREFIX}${job.id}`, 'utf8').toString('base64url');
}

function idFromCursor(cursor: string): number {
  const text = cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = new RegExp(`^${CURSOR_PREFIX}([1-9]\\d{0,9})$`).exec(text);
  if (!match) throw new AppError('BAD_USER_INPUT', '`after` is not a cursor of this list.');
  return Number(match[1]);
}

export const downloadFields = {
  modelFile: (job: DownloadJob, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    job.modelFileId === null ? null : ctx.loaders.files.byId(plannedRowFields(info, 'ModelFile')).load(job.modelFileId),
};

export const downloadQueries = {
  download: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.get(downloadIdFrom(args.id)),
  downloads: async (
    _root: unknown,
    args: { state?: DownloadState | null; first?: number | null; after?: string | null },
    ctx: GraphQLContext,
  ) => {
    const first = args.first ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(first) || first < 0)
      throw new AppError('BAD_USER_INPUT', '`first` must be a non-negative integer.');
    if (first > MAX_PAGE_SIZE) throw limitExceeded(`\`first\` is at most ${MAX_PAGE_SIZE} per page.`, MAX_PAGE_SIZE);
    const page = await ctx.downloads.queue.page(
      args.state ?? null,
      args.after ? idFromCursor(args.after) : null,
      first,
    );
    const edges = page.jobs.map((job) => ({ cursor: cursorOf(job), node: job }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasMore,
        hasPreviousPage: args.after !== null && args.after !== undefined,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: page.count,
    };
  },
};

export const downloadMutations = {
  downloadModelVersion: (
    _root: unknown,
    args: {
      civitaiVersionId: number;
      root: string;
      subfolder?: string | null;
      fileId?: number | null;
      sidecars?: boolean | null;
    },
    ctx: GraphQLContext,
  ) =>
    downloadVersion(downloadContext(ctx), {
      versionCivitaiId: args.civitaiVersionId,
      root: args.root,
      subfolder: args.subfolder,
      fileCivitaiId: args.fileId,
      sidecars: args.sidecars,
    }),
  downloadUpdates: (
    _root: unknown,
    args: { modelIds?: readonly (string | number)[] | null; root?: string | null },
    ctx: GraphQLContext,
  ) => {
    if (args.modelIds && args.modelIds.length > MAX_UPDATE_MODELS)
      throw limitExceeded(`\`modelIds\` takes at most ${MAX_UPDATE_MODELS} ids.`, MAX_UPDATE_MODELS);
    const ids = args.modelIds?.map((id) => databaseIdFrom(String(id), 'Model')) ?? null;
    return downloadUpdates(downloadContext(ctx), ids, args.root ?? null);
  },
  cancelDownload: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.cancel(downloadIdFrom(args.id)),
  pauseDownload: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.pause(downloadIdFrom(args.id)),
  resumeDownload: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.resume(downloadIdFrom(args.id)),
  retryDownload: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.retry(downloadIdFrom(args.id)),
};

export const downloadSubscriptions = {
  downloadProgress: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) =>
    ctx.downloads.queue.follow(downloadIdFrom(args.id), ctx.scope.signal),
};
