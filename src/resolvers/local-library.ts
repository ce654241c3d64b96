/** Resolvers of the local library: scan jobs (start, look up, follow) and duplicate files, with their limits. */
import type { GraphQLResolveInfo } from 'graphql';
import { AppError } from '../errors.ts';
import { duplicateGroups, type LocalFileShape } from '../library/duplicates.ts';
import { resolveLibraryPath } from '../library/library-paths.ts';
import type { GraphQLContext } from './context.ts';
import { plannedRowFields } from './selection.ts';

export const MAX_SCAN_CONCURRENCY = 8;
export const MAX_SCAN_ROOTS = 50;
export const DEFAULT_DUPLICATE_GROUPS = 100;
export const MAX_DUPLICATE_GROUPS = 1000;

export const localFileFields = {
  modelFile: (f: LocalFileShape, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    f.modelFileId === null ? null : ctx.loaders.files.byId(plannedRowFields(info, 'ModelFile')).load(f.modelFileId),
};

export const libraryQueries = {
  scanJob: (_root: unknown, args: { id: string | number }, ctx: GraphQLContext) => ctx.scanJobs.get(String(args.id)),
  duplicateFiles: (_root: unknown, args: { limit?: number | null }, ctx: GraphQLContext) => {
    const limit = args.limit ?? DEFAULT_DUPLICATE_GROUPS;
    if (limit < 1 || limit > MAX_DUPLICATE_GROUPS)
      throw new AppError('BAD_USER_INPUT', `\`limit\` is between 1 and ${MAX_DUPLICATE_GROUPS}.`);
    return duplicateGroups(ctx.db, limit);
  },
};

export const libraryMutations = {
  scanLibrary: async (
    _root: unknown,
    args: { roots: readonly string[]; concurrency?: number | null; identifyOnline?: boolean | null },
    ctx: GraphQLContext,
  ) => {
    const concurrency = args.concurrency ?? 1;
    if (concurrency < 1 || concurrency > MAX_SCAN_CONCURRENCY)
      throw new AppError('BAD_USER_INPUT', `\`concurrency\` is between 1 and ${MAX_SCAN_CONCURRENCY}.`);
    if (args.roots.length === 0 || args.roots.length > MAX_SCAN_ROOTS)
      throw new AppError('BAD_USER_INPUT', `Give between 1 and ${MAX_SCAN_ROOTS} folders.`);
    const roots = await Promise.all(
      args.roots.map((root) => resolveLibraryPath(root, ctx.settings.libraryRoots, 'directory')),
    );
    return ctx.scanJobs.start({
      roots,
      libraryRoots: ctx.settings.libraryRoots,
      thumbnailSide: ctx.settings.thumbnailSide,
      concurrency,
      identifyOnline: args.identifyOnline ?? false,
      civitai: ctx.civitai,
    });
  },
};

export const librarySubscriptions = {
  scanProgress: (_root: unknown, args: { jobId: string | number }, ctx: GraphQLContext) =>
    ctx.scanJobs.follow(String(args.jobId), ctx.scope.signal),
};
