/** Resolvers of ModelFile: its version, look-ups by id and by hash, and linking it to a file on disk. */
import type { GraphQLResolveInfo } from 'graphql';
import { type HashInput, linkLocalFile, unlinkLocalFile } from '../catalog/edits.ts';
import { type HashAlgorithm, parseHashBatch, parseHashQuery } from '../catalog/hash-lookup.ts';
import type { ModelFile } from '../generated/prisma/client.ts';
import type { MatchedFile } from '../loaders/hashes.ts';
import type { GraphQLContext } from './context.ts';
import { idOf, loadNodes, lookupKey, referenced } from './lookup.ts';
import { plannedRowFields } from './selection.ts';

/** Where a HashMatch's files sit below `filesByHashes`. */
const MATCHED_FILE_PATHS = [['file'], ['files']];

export interface HashMatchShape {
  hash: string;
  matches: MatchedFile[];
}

export const fileFields = {
  version: (f: ModelFile, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    referenced(ctx.loaders.versions.byId(plannedRowFields(info, 'ModelVersion')), f.modelVersionId),
};

export const fileQueries = {
  modelFile: (_root: unknown, args: { id?: string | null; databaseId?: number | null }, ctx: GraphQLContext) =>
    ctx.loaders.files.byId().load(lookupKey('modelFile', 'ModelFile', args).id!),
  fileByHash: async (
    _root: unknown,
    args: { hash: string; algorithm?: HashAlgorithm | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) => {
    const matches = await ctx.loaders.hashes
      .byQuery(plannedRowFields(info, 'ModelFile'))
      .load(parseHashQuery(args.hash, args.algorithm));
    return matches[0]?.file ?? null;
  },
  filesByHashes: async (
    _root: unknown,
    args: { hashes: readonly string[]; algorithm?: HashAlgorithm | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ): Promise<HashMatchShape[]> => {
    const queries = parseHashBatch(args.hashes, args.algorithm);
    const results = await ctx.loaders.hashes.byQueries(
      plannedRowFields(info, 'ModelFile', MATCHED_FILE_PATHS),
      queries,
    );
    return queries.map((query, i) => ({ hash: query.input, matches: results[i]! }));
  },
};

async function written(ctx: GraphQLContext, id: number): Promise<ModelFile> {
  const file = await ctx.loaders.files.byId().clear(id).load(id);
  if (!file) throw new Error(`Model file ${id} vanished after it was written.`);
  return file;
}

export const fileMutations = {
  linkLocalFile: async (
    _root: unknown,
    args: { id: string; path: string; hashes?: HashInput | null },
    ctx: GraphQLContext,
  ) => {
    const id = idOf(args.id, 'ModelFile');
    await linkLocalFile(ctx.db, id, args.path, args.hashes ?? {}, ctx.settings.libraryRoots, {
      jobId: ctx.requestId,
    });
    return written(ctx, id);
  },
  unlinkLocalFile: async (_root: unknown, args: { id: string }, ctx: GraphQLContext) => {
    const id = idOf(args.id, 'ModelFile');
    await unlinkLocalFile(ctx.db, id, { jobId: ctx.requestId });
    return written(ctx, id);
  },
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadFileNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('ModelFile', ctx.loaders.files.byId(), ids);
