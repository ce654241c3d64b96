/** Resolvers of Model: its related rows through the loaders, the look-ups and lists of models, and its mutations. */
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../catalog/pagination.ts';
import { deleteModel, type ModelEdit, setIgnoreUpdates, setModelTags, updateModel } from '../catalog/edits.ts';
import {
  type ModelFilter,
  type ModelOrderField,
  modelList,
  modelOrdering,
  type ModelVersionOrderField,
  type OrderInput,
  versionOrdering,
} from '../db/lists.ts';
import { rowMapper } from '../db/row-mapping.ts';
import type { Model } from '../generated/prisma/client.ts';
import { pageWindow } from '../catalog/pagination.ts';
import { ensureSearchIndexFor } from '../search/search-index.ts';
import { nestedConnection, rootConnection } from './connections.ts';
import type { GraphQLContext } from './context.ts';
import { idOf, loadNodes, lookupKey } from './lookup.ts';
import { loadPlannedImage } from './model-image.ts';
import { CONNECTION_NODE_PATHS, nestedPagePlan, plannedRowFields } from './selection.ts';

const mapModel = rowMapper('Model');

export const modelFields = {
  hasUpdate: async (m: Model, _args: unknown, ctx: GraphQLContext) =>
    (await ctx.loaders.models.hasUpdate.load(m.id)) === 1,
  versionCount: (m: Model, _args: unknown, ctx: GraphQLContext) => ctx.loaders.versions.countByModel.load(m.id),
  totalDownloads: (m: Model, _args: unknown, ctx: GraphQLContext) => ctx.loaders.versions.downloadsByModel.load(m.id),
  creator: (m: Model, _args: unknown, ctx: GraphQLContext) =>
    m.creatorId === null ? null : ctx.loaders.creators.byId.load(m.creatorId),
  tags: (m: Model, _args: unknown, ctx: GraphQLContext) => ctx.loaders.tags.byModel.load(m.id),
  versions: (
    m: Model,
    args: PageArgs & { orderBy?: readonly OrderInput<ModelVersionOrderField>[] | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) =>
    nestedConnection(
      ctx.loaders.versions.pagesByModel,
      versionOrdering(ctx.db.dialect, args.orderBy),
      args,
      m.id,
      () => ctx.loaders.versions.countByModel.load(m.id),
      nestedPagePlan(info, 'ModelVersion'),
    ),
  latestVersion: async (m: Model, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
    const ordering = versionOrdering(ctx.db.dialect, null);
    const window = pageWindow({ first: 1 }, ordering, { looksAhead: false, cursors: false });
    const page = await ctx.loaders.versions
      .pagesByModel(ordering, window, plannedRowFields(info, 'ModelVersion'))
      .load(m.id);
    return page.edges[0]?.node ?? null;
  },
  primaryImage: async (m: Model, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    loadPlannedImage(ctx, info, await ctx.loaders.images.primaryByModel.load(m.id)),
};

export const modelQueries = {
  /** Looks rows up through the request's loader of whole rows, shared with `node(id)`: one read per model. */
  model: async (
    _root: unknown,
    args: { id?: string | null; databaseId?: number | null; civitaiId?: number | null },
    ctx: GraphQLContext,
  ) => {
    const key = lookupKey('model', 'Model', args, { civitaiId: args.civitaiId });
    const id = key.key ? await ctx.loaders.models.idByCivitaiId.load(key.value) : key.id;
    return id === null ? null : ctx.loaders.models.byId().load(id);
  },
  models: async (
    _root: unknown,
    args: PageArgs & { filter?: ModelFilter | null; orderBy?: readonly OrderInput<ModelOrderField>[] | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) => {
    await ensureSearchIndexFor(ctx.db, args.filter?.query);
    const source = modelList(ctx.db.dialect, args.filter, plannedRowFields(info, 'Model', CONNECTION_NODE_PATHS));
    // A full-text filter estimated to take long runs on the read worker, off the event loop.
    const queries = args.filter?.query != null ? ctx.db.searchStatements : ctx.db.statements;
    return rootConnection(queries, source, mapModel, modelOrdering(ctx.db.dialect, args.orderBy), args);
  },
};

/** A row after a mutation wrote it: read fresh (this request's loaders may hold it from before). */
async function written(ctx: GraphQLContext, id: number): Promise<Model> {
  const model = await ctx.loaders.models.byId().clear(id).load(id);
  if (!model) throw new Error(`Model ${id} vanished after it was written.`);
  return model;
}

export const modelMutations = {
  updateModel: async (_root: unknown, args: { id: string; input: ModelEdit }, ctx: GraphQLContext) => {
    const id = idOf(args.id, 'Model');
    await updateModel(ctx.db, id, args.input, { jobId: ctx.requestId });
    return written(ctx, id);
  },
  deleteModel: async (_root: unknown, args: { id: string }, ctx: GraphQLContext) => {
    const databaseId = idOf(args.id, 'Model');
    await deleteModel(ctx.db, databaseId);
    return { type: 'Model' as const, databaseId };
  },
  setIgnoreUpdates: async (_root: unknown, args: { id: string; ignore: boolean }, ctx: GraphQLContext) => {
    const id = idOf(args.id, 'Model');
    await setIgnoreUpdates(ctx.db, id, args.ignore);
    return written(ctx, id);
  },
  setModelTags: async (_root: unknown, args: { id: string; tags: readonly string[] }, ctx: GraphQLContext) => {
    const id = idOf(args.id, 'Model');
    await setModelTags(ctx.db, id, args.tags, { jobId: ctx.requestId });
    return written(ctx, id);
  },
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadModelNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('Model', ctx.loaders.models.byId(), ids);
